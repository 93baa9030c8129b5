-- sidecar_bad_ratings_count: the number of rows of sidecar_bad_ratings per user
-- index ui, by which the sidecar writer places them. Parameters: as sidecar_bad_ratings.
SELECT u.ui, count(*)::BIGINT AS n
FROM {{latest}} l
JOIN sc_users u USING (user_id)
JOIN sc_snacks s USING (snack_id)
WHERE l.rating BETWEEN 0 AND 5
GROUP BY u.ui
