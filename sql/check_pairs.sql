-- check_pairs: violations that need every snack a user could have had: the
-- ranking (a better eligible snack left out), the category cap and the fill
-- pass, short boxes with snacks left, and requests. Evaluated for the boxes
-- listed in chk_chunk(ship_on, user_id, box_size), a slice of users, so the
-- user x snack pairs stay bounded.
-- A snack is "available" to a box when it is eligible on the date, not in
-- the box and, in run mode, has usable units left at the END of the date:
-- stock only shrinks within a date, so it had units at the user's turn.
-- Scores are recomputed here (SPEC order of operations) for both sides.
-- Returns (rule, ship_on, user_id, snack_id, detail).
-- Parameters: :window, :never_again, :cap, :new_days (integers), :fill
-- (true/false), :mode, :w_pop, :w_pref, :w_aff, :w_nov (DOUBLE literals).
WITH scored AS (
    SELECT c.ship_on, c.user_id, p.snack_id, p.category, p.active, p.launched_on,
           ((({{w_pop}} * p.popn + {{w_pref}} * uc.pref) + {{w_aff}} * uc.aff)
            + {{w_nov}} * (CASE WHEN c.ship_on - p.launched_on >= 0 AND c.ship_on - p.launched_on < {{new_days}} THEN 1.0 ELSE 0.0 END)) AS score
    FROM chk_chunk c
    CROSS JOIN chk_pop p
    JOIN chk_usercat uc ON uc.user_id = c.user_id AND uc.category = p.category
), lines AS (
    SELECT b.ship_on, b.user_id, b.snack_id, b.requested, s.category, s.score
    FROM chk_boxes b JOIN scored s USING (ship_on, user_id, snack_id)
), cand AS (
    SELECT s.* FROM scored s
    WHERE s.active AND s.launched_on <= s.ship_on
      AND NOT EXISTS (SELECT 1 FROM snack_tags t JOIN user_ng n ON n.tag = t.tag
                      WHERE t.snack_id = s.snack_id AND n.user_id = s.user_id)
      AND NOT EXISTS (SELECT 1 FROM chk_hist h
                      WHERE h.user_id = s.user_id AND h.snack_id = s.snack_id
                        AND h.shipped_on > s.ship_on - {{window}}::INTEGER
                        AND (h.shipped_on < s.ship_on OR (h.src = 'snapshot' AND h.shipped_on = s.ship_on)))
      AND NOT EXISTS (SELECT 1 FROM chk_latest r
                      WHERE r.user_id = s.user_id AND r.snack_id = s.snack_id AND r.rating <= {{never_again}})
      AND ('{{mode}}' = 'preassign' OR EXISTS (SELECT 1 FROM chk_left k
                      WHERE k.ship_on = s.ship_on AND k.snack_id = s.snack_id AND k.units_left > 0))
      AND NOT EXISTS (SELECT 1 FROM chk_boxes b
                      WHERE b.ship_on = s.ship_on AND b.user_id = s.user_id AND b.snack_id = s.snack_id)
), catcnt AS (
    SELECT ship_on, user_id, category, count(*) AS cnt, count(*) FILTER (WHERE requested) AS req
    FROM lines GROUP BY ALL
), box AS (
    SELECT c.ship_on, c.user_id, c.box_size,
           coalesce((SELECT count(*) FROM lines l WHERE l.ship_on = c.ship_on AND l.user_id = c.user_id), 0) AS filled,
           coalesce((SELECT count(*) FROM lines l WHERE l.ship_on = c.ship_on AND l.user_id = c.user_id AND l.requested), 0) AS nreq,
           EXISTS (SELECT 1 FROM catcnt k WHERE k.ship_on = c.ship_on AND k.user_id = c.user_id
                   AND k.cnt - k.req > greatest({{cap}} - k.req, 0)) AS over_cap
    FROM chk_chunk c
), cand_cat AS (
    SELECT x.*, coalesce(k.cnt, 0) AS cat_cnt
    FROM cand x LEFT JOIN catcnt k USING (ship_on, user_id, category)
), open_req AS (
    SELECT q.user_id, c.ship_on, q.snack_id, min(q.requested_at) AS requested_at
    FROM requests q JOIN chk_chunk c ON c.user_id = q.user_id
    WHERE CAST(q.requested_at AS DATE) < c.ship_on
      AND NOT EXISTS (SELECT 1 FROM chk_hist h
                      WHERE h.user_id = q.user_id AND h.snack_id = q.snack_id
                        AND h.shipped_on >= CAST(q.requested_at AS DATE)
                        AND (h.src = 'snapshot' OR h.shipped_on < c.ship_on))
    GROUP BY ALL
)
SELECT 'ranking' AS rule, y.ship_on, y.user_id, x.snack_id,
       'snack ' || x.snack_id || ' (score ' || x.score || ') ranks above boxed snack ' || y.snack_id || ' (score ' || y.score || ') of its category'
FROM lines y JOIN cand x ON x.ship_on = y.ship_on AND x.user_id = y.user_id AND x.category = y.category
WHERE NOT y.requested AND (x.score > y.score OR (x.score = y.score AND x.snack_id < y.snack_id))
UNION ALL
SELECT 'ranking', y.ship_on, y.user_id, x.snack_id,
       'snack ' || x.snack_id || ' (score ' || x.score || ', category below the cap) ranks above boxed snack ' || y.snack_id || ' (score ' || y.score || ')'
FROM lines y JOIN cand_cat x ON x.ship_on = y.ship_on AND x.user_id = y.user_id
WHERE NOT y.requested AND x.cat_cnt < {{cap}} AND (x.score > y.score OR (x.score = y.score AND x.snack_id < y.snack_id))
UNION ALL
SELECT 'short box', b.ship_on, b.user_id, min(x.snack_id),
       'filled ' || b.filled || ' of ' || b.box_size || ' while ' || count(*) || ' snacks were available'
FROM box b JOIN cand_cat x ON x.ship_on = b.ship_on AND x.user_id = b.user_id
WHERE b.filled < b.box_size AND ({{fill}} OR x.cat_cnt < {{cap}})
GROUP BY b.ship_on, b.user_id, b.filled, b.box_size
UNION ALL
SELECT 'cap', b.ship_on, b.user_id, NULL,
       CASE WHEN NOT {{fill}} THEN 'a category holds more than the cap allows and fill_ignoring_caps is off'
            ELSE 'a category went over the cap while snacks of categories below the cap were available' END
FROM box b
WHERE b.over_cap AND (NOT {{fill}} OR EXISTS (SELECT 1 FROM cand_cat x WHERE x.ship_on = b.ship_on AND x.user_id = b.user_id AND x.cat_cnt < {{cap}}))
UNION ALL
SELECT 'request', r.ship_on, r.user_id, r.snack_id,
       'open request of ' || r.requested_at || ' for an available snack not honoured (' || b.nreq || ' requested of ' || b.box_size || ')'
FROM open_req r
JOIN box b USING (ship_on, user_id)
JOIN cand x ON x.ship_on = r.ship_on AND x.user_id = r.user_id AND x.snack_id = r.snack_id
WHERE b.nreq < b.box_size
UNION ALL
SELECT 'request', l.ship_on, l.user_id, l.snack_id, 'line marked requested without an open request'
FROM lines l ANTI JOIN open_req r ON r.ship_on = l.ship_on AND r.user_id = l.user_id AND r.snack_id = l.snack_id
WHERE l.requested
