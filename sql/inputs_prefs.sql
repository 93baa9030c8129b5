-- inputs_prefs: (uidx, cidx, weight) of shipping users' category preferences,
-- for categories that some snack has. No parameters.
SELECT u.uidx, c.cidx, p.weight
FROM user_prefs p
JOIN eng_users u USING (user_id)
JOIN eng_cats c USING (category)
