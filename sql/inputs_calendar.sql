-- inputs_calendar: the active users, from which the engine computes the
-- ship calendar of the horizon (SPEC 4; engine/calendar.go): a user ships on
-- D >= next_ship_on with (D - next_ship_on) mod cadence_days = 0, unless
-- (user, D) is in skips (inputs_skips).
-- Parameters: :user_filter, an extra predicate on users (e.g.
-- "AND user_id = 42"), or empty.
SELECT user_id::BIGINT AS user_id, box_size::INTEGER AS box_size, cadence_days::INTEGER AS cadence_days, next_ship_on
FROM users
WHERE status = 'active' {{user_filter}}
