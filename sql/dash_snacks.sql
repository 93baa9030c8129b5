-- dash_snacks: the dashboard overview's snacks: per snack, the units its
-- boxes need (demand), the units covered by stock and short, over the run's
-- horizon or on one ship date, with the stock usable on the run's first date
-- (snack_summary.stock_usable, which includes a scenario's stock changes).
-- Most demanded first (ties: snack_id), at most :limit.
-- Parameters: :demand, :summary, the run's Parquet files (quoted); :limit.
-- Bound: $1 category ('' = all), $2 ship date ('' = all).
WITH d AS (
    SELECT snack_id, sum(demand)::BIGINT AS demand, sum(covered)::BIGINT AS covered, sum(shortage)::BIGINT AS shortage
    FROM read_parquet({{demand}})
    WHERE TRY_CAST($2 AS DATE) IS NULL OR ship_on = TRY_CAST($2 AS DATE)
    GROUP BY snack_id
)
SELECT d.snack_id, coalesce(s.name, ''), coalesce(s.category, ''), d.demand, coalesce(ss.stock_usable, 0)::BIGINT, d.covered, d.shortage
FROM d
LEFT JOIN read_parquet({{summary}}) ss USING (snack_id)
LEFT JOIN snacks s USING (snack_id)
WHERE $1 = '' OR s.category = $1
ORDER BY d.demand DESC, d.snack_id
LIMIT {{limit}}
