-- inputs_snacks: one row per snack in sidx order with its category index,
-- launch date, active flag and popularity counts over latest ratings
-- (n = count, total = sum; zero when unrated).
-- Parameters: :snack_ratings, the relation of derived_snack_ratings.
SELECT s.sidx, s.snack_id, s.cidx, s.launched_on, s.active,
       coalesce(p.n, 0)::BIGINT AS n, coalesce(p.total, 0)::BIGINT AS total
FROM eng_snacks s
LEFT JOIN {{snack_ratings}} p USING (snack_id)
ORDER BY s.sidx
