-- check_pairs: violations that need every snack a user could have had: the
-- ranking (a better eligible snack left out), the category cap and the fill
-- pass, short boxes with snacks left, and requests. Evaluated for the boxes
-- listed in chk_chunk(ship_on, user_id, box_size), a slice of users.
-- A snack is "available" to a box when it is eligible on the date, not in
-- the box and, in run mode, has usable units left at the END of the date:
-- stock only shrinks within a date, so it had units at the user's turn (in
-- a run merged from shards: units of the user's shard's quota).
-- Scores are recomputed here (SPEC order of operations) for both sides. Only
-- pairs that could matter are tested against the blocking rules: snacks
-- scoring at least the box's worst unrequested line, every snack of a short
-- or over-cap box, and requested snacks.
-- Returns (rule, ship_on, user_id, snack_id, detail).
-- Parameters: :window, :never_again, :cap, :new_days (integers), :fill
-- (true/false), :mode, :w_pop, :w_pref, :w_aff, :w_nov (DOUBLE literals),
-- :lo, :hi (the chunk's user_id range, for pruning).
WITH lines0 AS (
    SELECT b.ship_on, b.user_id, b.snack_id, b.requested, p.category
    FROM chk_boxes b
    JOIN chk_chunk c USING (ship_on, user_id)
    JOIN chk_pop p USING (snack_id)
), catcnt AS (
    SELECT ship_on, user_id, category, count(*) AS cnt, count(*) FILTER (WHERE requested) AS req
    FROM lines0 GROUP BY ALL
), box AS (
    SELECT c.ship_on, c.user_id, c.box_size,
           coalesce(n.filled, 0) AS filled, coalesce(n.nreq, 0) AS nreq, coalesce(o.over_cap, false) AS over_cap
    FROM chk_chunk c
    LEFT JOIN (SELECT ship_on, user_id, count(*) AS filled, count(*) FILTER (WHERE requested) AS nreq
               FROM lines0 GROUP BY ALL) n USING (ship_on, user_id)
    LEFT JOIN (SELECT ship_on, user_id, bool_or(cnt - req > greatest({{cap}} - req, 0)) AS over_cap
               FROM catcnt GROUP BY ALL) o USING (ship_on, user_id)
), open_req AS (
    SELECT q.user_id, c.ship_on, q.snack_id, min(q.requested_at) AS requested_at
    FROM requests q JOIN chk_chunk c ON c.user_id = q.user_id
    WHERE q.user_id BETWEEN {{lo}} AND {{hi}} AND CAST(q.requested_at AS DATE) < c.ship_on
      AND NOT EXISTS (SELECT 1 FROM chk_hist h
                      WHERE h.user_id BETWEEN {{lo}} AND {{hi}} AND h.user_id = q.user_id AND h.snack_id = q.snack_id
                        AND h.shipped_on >= CAST(q.requested_at AS DATE)
                        AND (h.src = 'snapshot' OR h.shipped_on < c.ship_on))
    GROUP BY ALL
), scored AS (
    SELECT c.ship_on, c.user_id, p.snack_id, p.category, p.active, p.launched_on,
           ((({{w_pop}} * p.popn + {{w_pref}} * uc.pref) + {{w_aff}} * uc.aff)
            + {{w_nov}} * (CASE WHEN c.ship_on - p.launched_on >= 0 AND c.ship_on - p.launched_on < {{new_days}} THEN 1.0 ELSE 0.0 END)) AS score
    FROM chk_chunk c
    CROSS JOIN chk_pop p
    JOIN chk_usercat uc ON uc.user_id = c.user_id AND uc.category = p.category
), lines AS (
    SELECT l.*, s.score FROM lines0 l JOIN scored s USING (ship_on, user_id, snack_id)
), floor AS (
    SELECT ship_on, user_id, min(score) FILTER (WHERE NOT requested) AS lo FROM lines GROUP BY ALL
), pre AS (
    SELECT s.ship_on, s.user_id, s.snack_id, s.category, s.score
    FROM scored s
    JOIN box b USING (ship_on, user_id)
    LEFT JOIN floor f USING (ship_on, user_id)
    LEFT JOIN open_req r USING (ship_on, user_id, snack_id)
    WHERE s.active AND s.launched_on <= s.ship_on
      AND (b.filled < b.box_size OR b.over_cap OR s.score >= f.lo OR r.snack_id IS NOT NULL)
), blocked AS (
    SELECT p.ship_on, p.user_id, p.snack_id
    FROM pre p JOIN snack_tags t ON t.snack_id = p.snack_id
    JOIN user_ng n ON n.user_id = p.user_id AND n.tag = t.tag AND n.user_id BETWEEN {{lo}} AND {{hi}}
    UNION
    SELECT p.ship_on, p.user_id, p.snack_id
    FROM pre p JOIN chk_hist h ON h.user_id = p.user_id AND h.snack_id = p.snack_id
    WHERE h.user_id BETWEEN {{lo}} AND {{hi}} AND h.shipped_on > p.ship_on - {{window}}::INTEGER
      AND (h.shipped_on < p.ship_on OR (h.src = 'snapshot' AND h.shipped_on = p.ship_on))
    UNION
    SELECT p.ship_on, p.user_id, p.snack_id
    FROM pre p JOIN chk_latest r ON r.user_id = p.user_id AND r.snack_id = p.snack_id
    WHERE r.user_id BETWEEN {{lo}} AND {{hi}} AND r.rating <= {{never_again}}
    UNION
    SELECT ship_on, user_id, snack_id FROM lines0
    UNION
    SELECT p.ship_on, p.user_id, p.snack_id
    FROM pre p LEFT JOIN chk_left k ON k.ship_on = p.ship_on AND k.snack_id = p.snack_id
                                 AND k.shard = assign_shard(p.user_id, {{shards}})
    WHERE '{{mode}}' = 'run' AND coalesce(k.units_left, 0) <= 0
), cand AS (
    SELECT p.* FROM pre p ANTI JOIN blocked USING (ship_on, user_id, snack_id)
), cand_cat AS (
    SELECT x.*, coalesce(k.cnt, 0) AS cat_cnt
    FROM cand x LEFT JOIN catcnt k USING (ship_on, user_id, category)
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
FROM lines0 l ANTI JOIN open_req r ON r.ship_on = l.ship_on AND r.user_id = l.user_id AND r.snack_id = l.snack_id
WHERE l.requested
