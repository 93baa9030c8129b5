-- sidecar_deliveries_count: the number of rows of sidecar_deliveries per user
-- index ui, by which the sidecar writer places them. No parameters.
SELECT u.ui, count(*)::BIGINT AS n
FROM deliveries d
JOIN sc_users u USING (user_id)
JOIN sc_snacks s USING (snack_id)
GROUP BY u.ui
