-- check_tables: the aggregate tables against the box lines and the stock:
-- demand per (ship_on, snack) equals the lines, covered within 0..demand,
-- shortage = demand - covered (run: covered = demand), snack_summary has one
-- row per snack with the sums of demand and the units usable on D0.
-- Returns (rule, ship_on, user_id, snack_id, detail).
-- Parameters: :d0 (DATE literal), :min_shelf (days), :mode.
WITH counted AS (
    SELECT ship_on, snack_id, count(*) AS n FROM chk_boxes GROUP BY ALL
), sums AS (
    SELECT snack_id, sum(demand) AS demand, sum(covered) AS covered, sum(shortage) AS shortage
    FROM chk_demand GROUP BY snack_id
), usable AS (
    SELECT snack_id, sum(quantity) AS q FROM stock WHERE best_before >= DATE '{{d0}}' + {{min_shelf}}::INTEGER GROUP BY snack_id
)
SELECT 'demand' AS rule, coalesce(c.ship_on, d.ship_on) AS ship_on, NULL::BIGINT AS user_id, coalesce(c.snack_id, d.snack_id) AS snack_id,
       'box lines ' || coalesce(c.n, 0) || ', demand row ' || coalesce(d.demand::VARCHAR, 'missing') AS detail
FROM counted c FULL JOIN chk_demand d USING (ship_on, snack_id)
WHERE c.n IS DISTINCT FROM d.demand
UNION ALL
SELECT 'demand', ship_on, NULL, snack_id, 'covered ' || covered || ', shortage ' || shortage || ' for demand ' || demand
FROM chk_demand
WHERE covered < 0 OR covered > demand OR shortage <> demand - covered OR ('{{mode}}' = 'run' AND covered <> demand)
UNION ALL
SELECT 'snack_summary', NULL, NULL, coalesce(k.snack_id, s.snack_id),
       CASE WHEN s.snack_id IS NULL THEN 'snack missing from snack_summary'
            WHEN k.snack_id IS NULL THEN 'snack_summary row for an unknown snack'
            ELSE 'demand ' || s.demand || ' covered ' || s.covered || ' shortage ' || s.shortage || ' stock_usable ' || s.stock_usable
                 || '; expected ' || coalesce(m.demand, 0) || ', ' || coalesce(m.covered, 0) || ', ' || coalesce(m.shortage, 0) || ', ' || coalesce(u.q, 0) END
FROM snacks k
FULL JOIN chk_summary s USING (snack_id)
LEFT JOIN sums m USING (snack_id)
LEFT JOIN usable u USING (snack_id)
WHERE s.snack_id IS NULL OR k.snack_id IS NULL
   OR s.demand <> coalesce(m.demand, 0) OR s.covered <> coalesce(m.covered, 0)
   OR s.shortage <> coalesce(m.shortage, 0) OR s.stock_usable <> coalesce(u.q, 0)
