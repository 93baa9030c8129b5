-- diff_dates: per ship date of either run, boxes, short boxes, units of
-- demand and units short of stock in run a and in run b, by date. A box is
-- counted by its line at position 1 (every box has one).
-- Parameters: :a_boxes, :a_short_boxes, :a_demand and the same for :b_, the
-- runs' Parquet files (quoted).
WITH t AS (
    SELECT 'a' AS side, ship_on, count(*) FILTER (WHERE position = 1) AS boxes, 0 AS short_boxes, 0 AS units, 0 AS shortage
    FROM read_parquet({{a_boxes}}) GROUP BY ship_on
    UNION ALL
    SELECT 'a', ship_on, 0, count(*), 0, 0 FROM read_parquet({{a_short_boxes}}) GROUP BY ship_on
    UNION ALL
    SELECT 'a', ship_on, 0, 0, sum(demand), sum(shortage) FROM read_parquet({{a_demand}}) GROUP BY ship_on
    UNION ALL
    SELECT 'b', ship_on, count(*) FILTER (WHERE position = 1), 0, 0, 0 FROM read_parquet({{b_boxes}}) GROUP BY ship_on
    UNION ALL
    SELECT 'b', ship_on, 0, count(*), 0, 0 FROM read_parquet({{b_short_boxes}}) GROUP BY ship_on
    UNION ALL
    SELECT 'b', ship_on, 0, 0, sum(demand), sum(shortage) FROM read_parquet({{b_demand}}) GROUP BY ship_on
)
SELECT ship_on,
       coalesce(sum(boxes) FILTER (WHERE side = 'a'), 0)::BIGINT AS boxes_a,
       coalesce(sum(boxes) FILTER (WHERE side = 'b'), 0)::BIGINT AS boxes_b,
       coalesce(sum(short_boxes) FILTER (WHERE side = 'a'), 0)::BIGINT AS short_boxes_a,
       coalesce(sum(short_boxes) FILTER (WHERE side = 'b'), 0)::BIGINT AS short_boxes_b,
       coalesce(sum(units) FILTER (WHERE side = 'a'), 0)::BIGINT AS units_a,
       coalesce(sum(units) FILTER (WHERE side = 'b'), 0)::BIGINT AS units_b,
       coalesce(sum(shortage) FILTER (WHERE side = 'a'), 0)::BIGINT AS shortage_a,
       coalesce(sum(shortage) FILTER (WHERE side = 'b'), 0)::BIGINT AS shortage_b
FROM t
GROUP BY ship_on
ORDER BY ship_on
