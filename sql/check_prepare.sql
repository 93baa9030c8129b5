-- check_prepare: the temp tables the run checker reads. The run's tables are
-- already loaded as chk_boxes, chk_demand, chk_summary and chk_short; this
-- derives, independently of the engine, what every check needs.
-- Parameters: :d0, :dend (DATE literals), :min_shelf (days), :prior_weight
-- (DOUBLE literal), :shards (the shard count of a merged run, else 1; the
-- caller defines the assign_shard macro and chk_quota(shard, snack_id,
-- lot_id, quantity)).

-- Latest rating per pair: the rows at the pair's latest rated_at, the lowest
-- rating among them.
CREATE OR REPLACE TEMP TABLE chk_latest AS
WITH m AS (SELECT user_id, snack_id, max(rated_at) AS at FROM ratings GROUP BY ALL)
SELECT r.user_id, r.snack_id, min(r.rating) AS rating
FROM ratings r JOIN m ON m.user_id = r.user_id AND m.snack_id = r.snack_id AND m.at = r.rated_at
GROUP BY r.user_id, r.snack_id
ORDER BY r.user_id;

-- Popularity per snack, with C = mean of all latest ratings (3.0 if none).
CREATE OR REPLACE TEMP TABLE chk_pop AS
WITH g AS (SELECT coalesce(sum(rating)::DOUBLE / nullif(count(*), 0)::DOUBLE, 3.0) AS c FROM chk_latest),
     s AS (SELECT snack_id, count(*)::DOUBLE AS n, sum(rating)::DOUBLE AS total FROM chk_latest GROUP BY snack_id)
SELECT k.snack_id, k.category, k.active, k.launched_on,
       ((coalesce(s.total, 0.0) + {{prior_weight}} * g.c) / (coalesce(s.n, 0.0) + {{prior_weight}}) - 1.0) / 4.0 AS popn
FROM snacks k CROSS JOIN g LEFT JOIN s USING (snack_id);

-- Ship calendar of the horizon.
CREATE OR REPLACE TEMP TABLE chk_ship AS
WITH d AS (SELECT (DATE '{{d0}}' + i::INTEGER) AS ship_on FROM range(0, DATE '{{dend}}' - DATE '{{d0}}' + 1) t(i))
SELECT u.user_id, u.box_size, d.ship_on
FROM users u JOIN d ON d.ship_on >= u.next_ship_on AND (d.ship_on - u.next_ship_on) % u.cadence_days = 0
WHERE u.status = 'active'
  AND NOT EXISTS (SELECT 1 FROM skips k WHERE k.user_id = u.user_id AND k.ship_on = d.ship_on);

-- Per shipping user and category: preference and affinity.
CREATE OR REPLACE TEMP TABLE chk_usercat AS
SELECT u.user_id, c.category,
       coalesce(p.weight, 0)::DOUBLE / 2.0 AS pref,
       CASE WHEN coalesce(a.n, 0) = 0 THEN 0.0
            ELSE (a.n::DOUBLE / (a.n::DOUBLE + 3.0)) * (((a.total::DOUBLE / a.n::DOUBLE) - 3.0) / 2.0) END AS aff
FROM (SELECT DISTINCT user_id FROM chk_ship) u
CROSS JOIN (SELECT DISTINCT category FROM snacks) c
LEFT JOIN user_prefs p ON p.user_id = u.user_id AND p.category = c.category
LEFT JOIN (SELECT l.user_id, s.category, count(*) AS n, sum(l.rating) AS total
           FROM chk_latest l JOIN snacks s USING (snack_id) GROUP BY ALL) a
       ON a.user_id = u.user_id AND a.category = c.category;

-- Deliveries as seen on each date: the snapshot's, plus the run's boxes of
-- earlier dates (a box on D itself is not a delivery for D).
-- Sorted by user_id so the per-chunk user ranges prune by zone maps.
-- src tells them apart: a snapshot delivery on D blocks D, a run box on D is
-- the line itself.
CREATE OR REPLACE TEMP TABLE chk_hist AS
SELECT user_id, snack_id, shipped_on, 'snapshot' AS src FROM deliveries
WHERE user_id IN (SELECT user_id FROM chk_ship)
UNION ALL
SELECT user_id, snack_id, ship_on, 'run' FROM chk_boxes
ORDER BY user_id;

-- Units taken per lot and date (run mode), and the usable units left per
-- snack at the end of each date: a snack with units left at the end of a
-- date had units at every user's turn that date. A run merged from shards
-- ({{shards}} > 1) gave each shard a quota of every lot (chk_quota) and
-- each shard chose within its own: units are counted per shard, a user's
-- shard being assign_shard(user_id, {{shards}}). On one machine there is
-- one shard holding all the stock.
CREATE OR REPLACE TEMP TABLE chk_lot_use AS
SELECT assign_shard(user_id, {{shards}}) AS shard, ship_on, snack_id, lot_id, count(*) AS units
FROM chk_boxes WHERE lot_id IS NOT NULL GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE chk_left AS
WITH d AS (SELECT DISTINCT ship_on FROM chk_ship),
used AS (
    SELECT u.shard, d.ship_on, u.snack_id, u.lot_id, sum(u.units) AS units
    FROM d JOIN chk_lot_use u ON u.ship_on <= d.ship_on
    GROUP BY ALL)
SELECT q.shard, d.ship_on, l.snack_id, sum(q.quantity - coalesce(used.units, 0)) AS units_left
FROM d
JOIN stock l ON l.best_before >= d.ship_on + {{min_shelf}}::INTEGER
JOIN chk_quota q ON q.snack_id = l.snack_id AND q.lot_id = l.lot_id
LEFT JOIN used ON used.shard = q.shard AND used.ship_on = d.ship_on AND used.snack_id = l.snack_id AND used.lot_id = l.lot_id
GROUP BY q.shard, d.ship_on, l.snack_id;
