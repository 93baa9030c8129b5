-- inputs_ratings_scan: every rating as (rix, sidx * 8 + rating, latest_key)
-- in no particular order; a rating of a snack missing from snacks has -1 in
-- place of sidx * 8 + rating (it still counts in its user's n). The engine
-- places the rows by rix and keeps each pair's latest rating in Go.
-- latest_key is derived_latest_ratings' arg_max key: the largest key of a
-- pair is its latest rated_at, on a tie the lower rating. Ratings are 1..5
-- (the loader's rule), so they fit the three low bits. No parameters.
SELECT ru.rix, coalesce(s.sidx * 8 + r.rating::INTEGER, -1)::INTEGER AS snack_rating,
       epoch_us(r.rated_at) * 8 + (7 - r.rating) AS latest_key
FROM ratings r
JOIN eng_rating_users ru USING (user_id)
LEFT JOIN eng_snacks s USING (snack_id)
