-- inputs_user_ng: (user_id, tidx) for the users' NG tags; the engine keeps
-- the rows of shipping users. Tags no snack carries exclude nothing and are
-- left out. No parameters.
SELECT n.user_id::BIGINT AS user_id, t.tidx
FROM user_ng n
JOIN eng_tags t USING (tag)
