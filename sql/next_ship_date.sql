-- next_ship_date: the first date on or after $1 (a DATE) on which an active
-- user is scheduled to ship: for each active user the first D >= $1 with
-- D >= next_ship_on and (D - next_ship_on) mod cadence_days = 0, the
-- smallest over users. Skips are not considered (a scheduled date may be
-- skipped by every user due then). NULL when no user is active.
SELECT min(CASE WHEN next_ship_on >= $1::DATE THEN next_ship_on
                ELSE next_ship_on + (((($1::DATE - next_ship_on) + cadence_days - 1) // cadence_days) * cadence_days)::INTEGER
           END) AS next_ship_on
FROM users
WHERE status = 'active'
