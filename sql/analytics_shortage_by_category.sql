-- analytics_shortage_by_category: per snack category, over the whole horizon
-- of a preassign run, the units the boxes need (demand), the units the lots
-- cover FEFO, the shortage, its share of demand, how many snacks are short,
-- and the snack short the most (ties: lower snack_id). Ordered by shortage
-- descending, then category. Parameters: {{run}}, the catalog holding the
-- run's views (latest or latest_preassign); {{snacks}}, the snacks table of
-- the snapshot the run was made on (names and categories).
WITH per_snack AS (
    SELECT d.snack_id, s.name, s.category,
           sum(d.demand)::BIGINT AS demand,
           sum(d.covered)::BIGINT AS covered,
           sum(d.shortage)::BIGINT AS shortage
    FROM {{run}}.demand d
    JOIN {{snacks}} s ON s.snack_id = d.snack_id
    GROUP BY d.snack_id, s.name, s.category
)
SELECT category,
       count(*)::INTEGER AS snacks_in_boxes,
       count(*) FILTER (WHERE shortage > 0)::INTEGER AS snacks_short,
       sum(demand)::BIGINT AS demand,
       sum(covered)::BIGINT AS covered,
       sum(shortage)::BIGINT AS shortage,
       round(100.0 * sum(shortage) / nullif(sum(demand), 0), 1) AS shortage_pct,
       first(name ORDER BY shortage DESC, snack_id) FILTER (WHERE shortage > 0) AS worst_snack,
       max(shortage)::BIGINT AS worst_snack_shortage
FROM per_snack
GROUP BY category
ORDER BY shortage DESC, category
