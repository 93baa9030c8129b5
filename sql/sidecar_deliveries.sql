-- sidecar_deliveries: every delivery as (user_id, snack_id, day offset from
-- :base), in any order: one plain scan (the writer numbers users and snacks,
-- leaves out rows of neither, groups the rows by user and sorts each
-- user's). Parameters: :base (DATE literal, the first delivery day).
SELECT user_id::BIGINT AS user_id, snack_id::BIGINT AS snack_id,
       (shipped_on - DATE '{{base}}')::INTEGER AS day
FROM deliveries
