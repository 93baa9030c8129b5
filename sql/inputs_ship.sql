-- inputs_ship: (uidx, ship_on) for every ship date in the horizon. No parameters.
SELECT u.uidx, s.ship_on
FROM eng_ship s JOIN eng_users u USING (user_id)
