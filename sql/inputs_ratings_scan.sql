-- inputs_ratings_scan: every rating of a snack in snacks, as (rix, sidx * 8
-- + rating, latest_key), in no particular order: the engine groups the rows
-- by rix and keeps each pair's latest rating in Go. latest_key is
-- derived_latest_ratings' arg_max key: the largest key of a pair is its
-- latest rated_at, on a tie the lower rating. Ratings are 1..5 (the
-- loader's rule), so they fit the three low bits. No parameters.
SELECT ru.rix, s.sidx * 8 + r.rating::INTEGER AS snack_rating,
       epoch_us(r.rated_at) * 8 + (7 - r.rating) AS latest_key
FROM ratings r
JOIN eng_rating_users ru USING (user_id)
JOIN eng_snacks s USING (snack_id)
