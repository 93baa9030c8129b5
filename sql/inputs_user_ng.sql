-- inputs_user_ng: (uidx, tidx) for the NG tags of shipping users. Tags no
-- snack carries exclude nothing and are left out. No parameters.
SELECT u.uidx, t.tidx
FROM user_ng n
JOIN eng_users u USING (user_id)
JOIN eng_tags t USING (tag)
