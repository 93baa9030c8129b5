-- sidecar_users: every user id, in ui order (ascending). No parameters.
SELECT user_id FROM sc_users ORDER BY ui
