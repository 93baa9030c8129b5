-- derived_latest_ratings: the latest rating of every (user, snack) pair
-- (SPEC 2 and 4): the latest rated_at counts, a tie goes to the lower rating.
-- No parameters. epoch_us(rated_at) * 8 + (7 - rating) orders by rated_at,
-- then the lower rating first (rating is 1..5); it stays inside BIGINT for
-- every 4-digit year. Ordered by user_id so per-user scans prune well.
SELECT user_id, snack_id,
       arg_max(rating, epoch_us(rated_at) * 8 + (7 - rating))::INTEGER AS rating
FROM ratings
GROUP BY user_id, snack_id
ORDER BY user_id, snack_id
