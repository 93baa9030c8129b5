-- dash_dates: the dashboard overview's ship dates: demand, covered and
-- short units per ship date of the run, for one category or all.
-- Parameters: :demand, the run's demand Parquet file (quoted).
-- Bound: $1 category ('' = all).
SELECT d.ship_on, sum(d.demand)::BIGINT, sum(d.covered)::BIGINT, sum(d.shortage)::BIGINT
FROM read_parquet({{demand}}) d
LEFT JOIN snacks s USING (snack_id)
WHERE $1 = '' OR s.category = $1
GROUP BY d.ship_on
ORDER BY d.ship_on
