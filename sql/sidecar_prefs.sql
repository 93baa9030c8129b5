-- sidecar_prefs: (user_id, cidx, weight) of the users' category
-- preferences, for categories that some snack has, in any order (as
-- inputs_prefs; the writer groups the rows by user and sorts each user's by
-- cidx). cidx numbers the categories as sidecar_categories lists them. No
-- parameters.
SELECT p.user_id::BIGINT AS user_id, c.cidx, p.weight::INTEGER AS weight
FROM user_prefs p
JOIN (SELECT (row_number() OVER (ORDER BY category) - 1)::INTEGER AS cidx, category
      FROM (SELECT DISTINCT category FROM snacks)) c USING (category)
