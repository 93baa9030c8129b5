-- day_calendar: who ships on ship date D, which snacks are live on D with
-- their per-snack score terms, the per-(user, category) score terms of the
-- shipping users, and the (user, snack) pairs that are ineligible on D for a
-- per-user reason (NG tag, repeat window, never-again).
-- Parameters:
--   {{d}}         the ship date D, DATE
--   {{window}}    repeat_window_days, INTEGER
--   {{new_days}}  new_snack_days, INTEGER
--   {{w_pref}}    w_preference, DOUBLE
--   {{w_aff}}     w_affinity, DOUBLE
--   {{w_nov}}     w_novelty, DOUBLE

-- Users shipping on D: active, on their cadence counted from next_ship_on
-- (which may lie before the horizon), not skipping D. Skips do not shift
-- the schedule.
CREATE OR REPLACE TABLE day_ship AS
SELECT u.user_id, u.box_size
FROM snap.users u
WHERE u.status = 'active'
  AND u.next_ship_on <= {{d}}
  AND ({{d}} - u.next_ship_on) % u.cadence_days = 0
  AND NOT EXISTS (SELECT 1 FROM snap.skips k WHERE k.user_id = u.user_id AND k.ship_on = {{d}});

-- Snacks eligible for everyone on D (active and launched), with
-- w_nov * novelty, novelty = 1 iff 0 <= D - launched_on < new_snack_days.
CREATE OR REPLACE TABLE day_snacks AS
SELECT snack_id, cat_id, pop_term,
       {{w_nov}} * (CASE WHEN {{d}} - launched_on >= 0 AND {{d}} - launched_on < {{new_days}}
                         THEN CAST(1 AS DOUBLE) ELSE CAST(0 AS DOUBLE) END) AS nov_term
FROM snack_terms
WHERE active AND launched_on <= {{d}};

-- w_pref * (weight / 2) and w_aff * aff for every shipping user and every
-- category with a live snack; a missing weight or affinity is 0 (and still
-- multiplied, so the terms are exactly those of the formula).
CREATE OR REPLACE TABLE day_user_cat AS
SELECT s.user_id, s.box_size, k.cat_id,
       {{w_pref}} * (CAST(coalesce(p.weight, 0) AS DOUBLE) / CAST(2 AS DOUBLE)) AS pref_term,
       {{w_aff}} * coalesce(a.aff, CAST(0 AS DOUBLE)) AS aff_term
FROM day_ship s
CROSS JOIN (SELECT DISTINCT cat_id FROM day_snacks) k
LEFT JOIN user_cat_pref p ON p.user_id = s.user_id AND p.cat_id = k.cat_id
LEFT JOIN user_cat_affinity a ON a.user_id = s.user_id AND a.cat_id = k.cat_id;

-- Pairs blocked on D for shipping users: a snack tag among the user's NG
-- tags; a delivery (snapshot, or a box chosen on an earlier date of the
-- horizon) with D - window < shipped_on <= D; a latest rating <=
-- never_again_rating. A pair may appear more than once: it is only ever
-- anti-joined, and dropping duplicates would cost a hash aggregate.
CREATE OR REPLACE TABLE day_blocked AS
SELECT n.user_id, t.snack_id
FROM snap.user_ng n
SEMI JOIN day_ship s ON s.user_id = n.user_id
JOIN snap.snack_tags t ON t.tag = n.tag
UNION ALL
SELECT d.user_id, d.snack_id
FROM snap.deliveries d
SEMI JOIN day_ship s ON s.user_id = d.user_id
WHERE d.shipped_on > {{d}} - {{window}} AND d.shipped_on <= {{d}}
UNION ALL
SELECT b.user_id, b.snack_id
FROM boxes b
SEMI JOIN day_ship s ON s.user_id = b.user_id
WHERE b.ship_on > {{d}} - {{window}} AND b.ship_on <= {{d}}
UNION ALL
SELECT g.user_id, g.snack_id
FROM never_again g
SEMI JOIN day_ship s ON s.user_id = g.user_id;
