-- sidecar_bad_ratings: every latest rating of 0..5 as (user_id, snack_id,
-- rating), in any order: one plain scan (the writer numbers users and
-- snacks, groups the rows by user and sorts each user's by rating, then
-- sidx, so the ratings <= any never_again_rating of 0..5 are a prefix).
-- Parameters: :latest, the latest-ratings table.
SELECT user_id::BIGINT AS user_id, snack_id::BIGINT AS snack_id, rating::INTEGER AS rating
FROM {{latest}}
WHERE rating BETWEEN 0 AND 5
