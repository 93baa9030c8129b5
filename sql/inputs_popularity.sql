-- inputs_popularity: per snack (sidx) the count n and sum of its latest
-- ratings, from a derived snack_ratings relation; snacks without ratings
-- have no row. Parameters: :snack_ratings, the relation of derived_snack_ratings.
SELECT s.sidx, p.n::BIGINT AS n, p.total::BIGINT AS total
FROM eng_snacks s
JOIN {{snack_ratings}} p USING (snack_id)
