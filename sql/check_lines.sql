-- check_lines: violations visible on single box lines and boxes: ship dates,
-- duplicates, positions, box sizes, eligibility of every line (inactive, not
-- launched, NG tag, repeat window, never-again rating), lots, scores.
-- Returns (rule, ship_on, user_id, snack_id, detail).
-- Parameters: :window, :never_again, :min_shelf (integers), :mode ('preassign'
-- or 'run'), :w_pop, :w_pref, :w_aff, :w_nov, :new_days (literals).
WITH lines AS (
    SELECT b.*, p.category, p.active, p.launched_on, p.popn
    FROM chk_boxes b LEFT JOIN chk_pop p USING (snack_id)
), per_box AS (
    SELECT ship_on, user_id, count(*) AS filled, max(position) AS maxpos, count(DISTINCT position) AS npos
    FROM chk_boxes GROUP BY ALL
)
SELECT 'unknown snack' AS rule, ship_on, user_id, snack_id, 'snack_id is not in the snapshot' AS detail
FROM lines WHERE category IS NULL
UNION ALL
SELECT 'not a ship date', b.ship_on, b.user_id, NULL, 'the user does not ship on this date'
FROM per_box b ANTI JOIN chk_ship s ON s.user_id = b.user_id AND s.ship_on = b.ship_on
UNION ALL
SELECT 'not a ship date', k.ship_on, k.user_id, NULL, 'short box for a user who does not ship on this date'
FROM chk_short k ANTI JOIN chk_ship s ON s.user_id = k.user_id AND s.ship_on = k.ship_on
UNION ALL
SELECT 'missing box', s.ship_on, s.user_id, NULL, 'the user ships on this date but has no box lines and no short_boxes row'
FROM chk_ship s
ANTI JOIN per_box b ON b.user_id = s.user_id AND b.ship_on = s.ship_on
ANTI JOIN chk_short k ON k.user_id = s.user_id AND k.ship_on = s.ship_on
UNION ALL
SELECT 'duplicate snack', ship_on, user_id, snack_id, 'the snack is in the box ' || count(*) || ' times'
FROM chk_boxes GROUP BY ship_on, user_id, snack_id HAVING count(*) > 1
UNION ALL
SELECT 'positions', ship_on, user_id, NULL, 'positions are not 1..' || filled
FROM per_box WHERE maxpos <> filled OR npos <> filled
UNION ALL
SELECT 'requests first', a.ship_on, a.user_id, a.snack_id, 'requested line at position ' || a.position || ' after an unrequested one'
FROM chk_boxes a JOIN chk_boxes b ON a.ship_on = b.ship_on AND a.user_id = b.user_id
WHERE a.requested AND NOT b.requested AND b.position < a.position
UNION ALL
SELECT 'box size', b.ship_on, b.user_id, NULL, b.filled || ' lines for box size ' || s.box_size
FROM per_box b JOIN chk_ship s USING (user_id, ship_on) WHERE b.filled > s.box_size
UNION ALL
SELECT 'short boxes', s.ship_on, s.user_id, NULL,
       'filled ' || coalesce(b.filled, 0) || ' of ' || s.box_size || ' but short_boxes says ' || coalesce(k.filled::VARCHAR, 'nothing')
FROM chk_ship s
LEFT JOIN per_box b ON b.user_id = s.user_id AND b.ship_on = s.ship_on
LEFT JOIN chk_short k ON k.user_id = s.user_id AND k.ship_on = s.ship_on
WHERE (coalesce(b.filled, 0) < s.box_size) <> (k.user_id IS NOT NULL)
   OR (k.user_id IS NOT NULL AND (k.filled <> coalesce(b.filled, 0) OR k.box_size <> s.box_size))
UNION ALL
SELECT 'inactive', ship_on, user_id, snack_id, 'snack is inactive' FROM lines WHERE NOT active
UNION ALL
SELECT 'not launched', ship_on, user_id, snack_id, 'snack launches ' || launched_on FROM lines WHERE launched_on > ship_on
UNION ALL
SELECT 'NG tag', l.ship_on, l.user_id, l.snack_id, 'snack carries NG tag ' || min(t.tag)
FROM lines l JOIN snack_tags t USING (snack_id) JOIN user_ng n ON n.user_id = l.user_id AND n.tag = t.tag
GROUP BY l.ship_on, l.user_id, l.snack_id
UNION ALL
SELECT 'repeat window', l.ship_on, l.user_id, l.snack_id, 'delivered on ' || max(h.shipped_on)
FROM lines l JOIN chk_hist h ON h.user_id = l.user_id AND h.snack_id = l.snack_id
WHERE h.shipped_on > l.ship_on - {{window}}::INTEGER
  AND (h.shipped_on < l.ship_on OR (h.src = 'snapshot' AND h.shipped_on = l.ship_on))
GROUP BY l.ship_on, l.user_id, l.snack_id
UNION ALL
SELECT 'rated', l.ship_on, l.user_id, l.snack_id, 'latest rating ' || r.rating
FROM lines l JOIN chk_latest r USING (user_id, snack_id) WHERE r.rating <= {{never_again}}
UNION ALL
SELECT 'lot', ship_on, user_id, snack_id,
       CASE WHEN '{{mode}}' = 'preassign' THEN 'preassign lines have no lot, found ' || lot_id
            ELSE 'run lines need a lot' END
FROM chk_boxes WHERE ('{{mode}}' = 'preassign') <> (lot_id IS NULL)
UNION ALL
SELECT 'lot', b.ship_on, b.user_id, b.snack_id,
       CASE WHEN s.lot_id IS NULL THEN 'lot ' || b.lot_id || ' is not a lot of this snack'
            ELSE 'lot ' || b.lot_id || ' best before ' || s.best_before || ' is not usable on the ship date' END
FROM chk_boxes b LEFT JOIN stock s ON s.snack_id = b.snack_id AND s.lot_id = b.lot_id
WHERE b.lot_id IS NOT NULL AND (s.lot_id IS NULL OR s.best_before < b.ship_on + {{min_shelf}}::INTEGER)
UNION ALL
SELECT 'lot quantity', NULL, NULL, u.snack_id, 'lot ' || u.lot_id || ' gave ' || sum(u.units) || ' units but holds ' || any_value(s.quantity)
FROM chk_lot_use u JOIN stock s USING (snack_id, lot_id)
GROUP BY u.snack_id, u.lot_id HAVING sum(u.units) > any_value(s.quantity)
UNION ALL
SELECT 'score', l.ship_on, l.user_id, l.snack_id, 'score ' || l.score || ', recomputed ' || x.score
FROM lines l
JOIN (SELECT l2.ship_on, l2.user_id, l2.snack_id,
             ((({{w_pop}} * l2.popn + {{w_pref}} * uc.pref) + {{w_aff}} * uc.aff)
              + {{w_nov}} * (CASE WHEN l2.ship_on - l2.launched_on >= 0 AND l2.ship_on - l2.launched_on < {{new_days}} THEN 1.0 ELSE 0.0 END)) AS score
      FROM lines l2 JOIN chk_usercat uc ON uc.user_id = l2.user_id AND uc.category = l2.category) x
  USING (ship_on, user_id, snack_id)
WHERE abs(l.score - x.score) > 1e-9 OR l.score IS NULL
