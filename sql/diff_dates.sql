-- diff_dates: per ship date of either run, boxes, short boxes, units of
-- demand and units short of stock in run a and in run b, by date.
-- Parameters: :a_boxes, :a_short_boxes, :a_demand and the same for :b_, the
-- runs' Parquet files (quoted).
WITH bx AS (
    SELECT 'a' AS side, ship_on, count(DISTINCT user_id)::BIGINT AS boxes FROM read_parquet({{a_boxes}}) GROUP BY ship_on
    UNION ALL
    SELECT 'b', ship_on, count(DISTINCT user_id)::BIGINT FROM read_parquet({{b_boxes}}) GROUP BY ship_on
),
sb AS (
    SELECT 'a' AS side, ship_on, count(*)::BIGINT AS short_boxes FROM read_parquet({{a_short_boxes}}) GROUP BY ship_on
    UNION ALL
    SELECT 'b', ship_on, count(*)::BIGINT FROM read_parquet({{b_short_boxes}}) GROUP BY ship_on
),
dm AS (
    SELECT 'a' AS side, ship_on, sum(demand)::BIGINT AS units, sum(shortage)::BIGINT AS shortage FROM read_parquet({{a_demand}}) GROUP BY ship_on
    UNION ALL
    SELECT 'b', ship_on, sum(demand)::BIGINT, sum(shortage)::BIGINT FROM read_parquet({{b_demand}}) GROUP BY ship_on
),
dates AS (
    SELECT ship_on FROM bx UNION SELECT ship_on FROM sb UNION SELECT ship_on FROM dm
)
SELECT d.ship_on,
       coalesce((SELECT boxes FROM bx WHERE side = 'a' AND bx.ship_on = d.ship_on), 0) AS boxes_a,
       coalesce((SELECT boxes FROM bx WHERE side = 'b' AND bx.ship_on = d.ship_on), 0) AS boxes_b,
       coalesce((SELECT short_boxes FROM sb WHERE side = 'a' AND sb.ship_on = d.ship_on), 0) AS short_boxes_a,
       coalesce((SELECT short_boxes FROM sb WHERE side = 'b' AND sb.ship_on = d.ship_on), 0) AS short_boxes_b,
       coalesce((SELECT units FROM dm WHERE side = 'a' AND dm.ship_on = d.ship_on), 0) AS units_a,
       coalesce((SELECT units FROM dm WHERE side = 'b' AND dm.ship_on = d.ship_on), 0) AS units_b,
       coalesce((SELECT shortage FROM dm WHERE side = 'a' AND dm.ship_on = d.ship_on), 0) AS shortage_a,
       coalesce((SELECT shortage FROM dm WHERE side = 'b' AND dm.ship_on = d.ship_on), 0) AS shortage_b
FROM dates d
ORDER BY d.ship_on
