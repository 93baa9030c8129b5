-- inputs_rating_users_shipping: (rix, uidx) of the rating users that ship in
-- the horizon. No parameters.
SELECT r.rix, u.uidx
FROM eng_rating_users r
JOIN eng_users u USING (user_id)
