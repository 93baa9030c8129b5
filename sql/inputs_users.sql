-- inputs_users: the users shipping at least once in the horizon, in uidx
-- order, with their box size. No parameters.
SELECT uidx, user_id, box_size FROM eng_users ORDER BY uidx
