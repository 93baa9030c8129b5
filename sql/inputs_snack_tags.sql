-- inputs_snack_tags: (sidx, tidx) for every tag of every snack. No parameters.
SELECT s.sidx, t.tidx
FROM snack_tags st
JOIN eng_snacks s USING (snack_id)
JOIN eng_tags t USING (tag)
