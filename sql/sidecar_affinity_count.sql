-- sidecar_affinity_count: the number of rows of sidecar_affinity per user
-- index ui, by which the sidecar writer places them. Parameters: as sidecar_affinity.
SELECT u.ui, count(*)::BIGINT AS n
FROM {{user_category_ratings}} r
JOIN sc_users u USING (user_id)
JOIN sc_cats c USING (category)
GROUP BY u.ui
