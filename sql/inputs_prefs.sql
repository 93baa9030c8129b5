-- inputs_prefs: (user_id, cidx, weight) of the users' category preferences,
-- for categories that some snack has; the engine keeps the rows of shipping
-- users. No parameters.
SELECT p.user_id::BIGINT AS user_id, c.cidx, p.weight
FROM user_prefs p
JOIN eng_cats c USING (category)
