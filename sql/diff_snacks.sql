-- diff_snacks: per snack, the units two runs put in boxes (demand), the
-- stock usable on their first dates, and the units short of stock, for every
-- snack where any of these differ; ordered by the change in units (largest
-- first, then by change in shortage), then snack_id.
-- Parameters: :a, :b, the runs' snack_summary Parquet files (quoted);
-- :names, a relation (snack_id, name, category) (empty when the snapshot is
-- not at hand).
WITH j AS (
    SELECT snack_id,
           coalesce(a.demand, 0)::BIGINT AS units_a,
           coalesce(b.demand, 0)::BIGINT AS units_b,
           coalesce(a.stock_usable, 0)::BIGINT AS stock_a,
           coalesce(b.stock_usable, 0)::BIGINT AS stock_b,
           coalesce(a.shortage, 0)::BIGINT AS shortage_a,
           coalesce(b.shortage, 0)::BIGINT AS shortage_b
    FROM read_parquet({{a}}) a
    FULL JOIN read_parquet({{b}}) b USING (snack_id)
)
SELECT j.snack_id, n.name, n.category, units_a, units_b, stock_a, stock_b, shortage_a, shortage_b
FROM j
LEFT JOIN {{names}} n ON n.snack_id = j.snack_id
WHERE units_a <> units_b OR stock_a <> stock_b OR shortage_a <> shortage_b
ORDER BY abs(units_b - units_a) DESC, abs(shortage_b - shortage_a) DESC, j.snack_id
