-- inputs_prepare_users: the ship calendar and the shipping users as temp
-- tables, for the input queries that join eng_users (those the engine
-- sidecar replaces, run when a snapshot has none). The engine computes the
-- same calendar itself (engine/calendar.go) and checks that eng_users holds
-- as many users.
--
-- Parameters:
--   :d0, :dend   first and last ship date of the horizon (DATE literals)
--   :user_filter    an extra predicate on users (e.g. "AND user_id = 42"), or empty
--
-- uidx orders the users that ship at least once in the horizon by user_id.

-- Ship calendar (SPEC 4): active users, D >= next_ship_on,
-- (D - next_ship_on) mod cadence_days = 0, (user, D) not skipped. first_on is
-- the first schedule date on or after d0; next_ship_on may lie before d0.
CREATE OR REPLACE TEMP TABLE eng_ship AS
WITH sched AS (
    SELECT user_id, box_size, cadence_days,
           CASE WHEN next_ship_on >= DATE '{{d0}}' THEN next_ship_on
                ELSE next_ship_on + (((DATE '{{d0}}' - next_ship_on) + cadence_days - 1) // cadence_days * cadence_days)::INTEGER
           END AS first_on
    FROM users
    WHERE status = 'active' {{user_filter}}
), dates AS (
    SELECT user_id, box_size,
           (first_on + (cadence_days * unnest(range(0, (DATE '{{dend}}' - first_on) // cadence_days + 1)))::INTEGER) AS ship_on
    FROM sched
    WHERE first_on <= DATE '{{dend}}'
)
SELECT d.user_id, d.box_size, d.ship_on
FROM dates d
ANTI JOIN skips k ON k.user_id = d.user_id AND k.ship_on = d.ship_on;

CREATE OR REPLACE TEMP TABLE eng_users AS
SELECT (row_number() OVER (ORDER BY user_id) - 1)::INTEGER AS uidx, user_id, box_size
FROM (SELECT DISTINCT user_id, box_size FROM eng_ship);
