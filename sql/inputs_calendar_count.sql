-- inputs_calendar_count: how many rows inputs_calendar returns, so that the
-- engine allocates their columns once (growing them batch by batch, with
-- the page faults of every new array, took 10-15 ms of a medium job's
-- serial start; the count takes about 1 ms).
-- Parameters: :user_filter, as inputs_calendar's.
SELECT count(*)::BIGINT AS n
FROM users
WHERE status = 'active' {{user_filter}}
