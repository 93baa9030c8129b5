-- inputs_snacks: one row per snack in sidx order with its category index,
-- launch date, active flag and popularity counts over latest ratings
-- (n = count, total = sum; zero when unrated). No parameters.
SELECT s.sidx, s.snack_id, s.cidx, s.launched_on, s.active,
       coalesce(p.n, 0)::BIGINT AS n, coalesce(p.total, 0)::BIGINT AS total
FROM eng_snacks s
LEFT JOIN (SELECT snack_id, count(*) AS n, sum(rating) AS total FROM eng_latest GROUP BY snack_id) p
       USING (snack_id)
ORDER BY s.sidx
