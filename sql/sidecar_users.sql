-- sidecar_users: every user id once, ascending: the sidecar's ui order.
-- No parameters.
SELECT DISTINCT user_id::BIGINT AS user_id FROM users ORDER BY user_id
