-- sidecar_schedules: every user's row as (user_id, active, box_size,
-- cadence_days, next_ship_on), ascending by user_id: the sidecar's ui order
-- (the writer keeps each id once) and what inputs_calendar reads of a user
-- (active: status = 'active'), so that a planning job computes its ship
-- calendar from the file. No parameters.
SELECT user_id::BIGINT AS user_id, (status = 'active') AS active, box_size::INTEGER AS box_size,
       cadence_days::INTEGER AS cadence_days, (next_ship_on - DATE '1970-01-01')::INTEGER AS next_day
FROM users
ORDER BY user_id
