-- sidecar_ng: (user_id, tidx) of the users' NG tags, in any order (the
-- writer numbers the users, groups the rows by user and sorts each user's
-- by tidx). Tags no snack carries exclude nothing and are left out, as in
-- inputs_user_ng; tidx numbers the tags as sidecar_tags lists them. No
-- parameters.
SELECT n.user_id::BIGINT AS user_id, t.tidx
FROM user_ng n
JOIN (SELECT (row_number() OVER (ORDER BY tag) - 1)::INTEGER AS tidx, tag
      FROM (SELECT DISTINCT tag FROM snack_tags)) t USING (tag)
