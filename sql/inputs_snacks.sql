-- inputs_snacks: one row per snack in sidx order with its category index,
-- launch date and active flag. Popularity counts come from the ratings
-- (inputs_popularity). No parameters.
SELECT s.sidx, s.snack_id, s.cidx, s.launched_on, s.active
FROM eng_snacks s
ORDER BY s.sidx
