-- sidecar_skips: every skipped ship date as (user_id, day: days since
-- 1970-01-01), in any order (the writer numbers the users, leaves out rows
-- of none, groups the rows by user and sorts each user's by day); a
-- planning job keeps those inside its horizon, as inputs_skips does. No
-- parameters.
SELECT user_id::BIGINT AS user_id, (ship_on - DATE '1970-01-01')::INTEGER AS day
FROM skips
