-- dash_categories: the dashboard overview's categories: demand, covered and
-- short units per snack category, over the horizon or on one ship date;
-- most short first (ties: category).
-- Parameters: :demand, the run's demand Parquet file (quoted).
-- Bound: $1 ship date ('' = all).
SELECT coalesce(s.category, '(not in the snapshot)') AS category,
       sum(d.demand)::BIGINT, sum(d.covered)::BIGINT, sum(d.shortage)::BIGINT
FROM read_parquet({{demand}}) d
LEFT JOIN snacks s USING (snack_id)
WHERE TRY_CAST($1 AS DATE) IS NULL OR d.ship_on = TRY_CAST($1 AS DATE)
GROUP BY ALL
ORDER BY 4 DESC, 1
