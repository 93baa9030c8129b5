-- report_dates: per ship date of the run exposed as `latest`: users
-- shipping (boxes plus users whose box stayed empty), boxes with at least
-- one snack, short boxes, box lines filled and missing (box_size - filled
-- summed over short boxes), demand, covered and shortage units. Dates
-- without a shipping user have no row. Ordered by ship_on. No parameters.
WITH b AS (
    SELECT ship_on, count(DISTINCT user_id)::BIGINT AS boxes, count(*)::BIGINT AS lines
    FROM latest.boxes GROUP BY ship_on
),
sb AS (
    SELECT ship_on, count(*)::BIGINT AS short_boxes,
           count(*) FILTER (WHERE filled = 0)::BIGINT AS empty_boxes,
           sum(box_size - filled)::BIGINT AS missing
    FROM latest.short_boxes GROUP BY ship_on
),
d AS (
    SELECT ship_on, sum(demand)::BIGINT AS demand, sum(covered)::BIGINT AS covered, sum(shortage)::BIGINT AS shortage
    FROM latest.demand GROUP BY ship_on
)
SELECT ship_on,
       coalesce(b.boxes, 0) + coalesce(sb.empty_boxes, 0) AS users,
       coalesce(b.boxes, 0) AS boxes,
       coalesce(sb.short_boxes, 0) AS short_boxes,
       coalesce(b.lines, 0) AS lines,
       coalesce(sb.missing, 0) AS missing,
       coalesce(d.demand, 0) AS demand,
       coalesce(d.covered, 0) AS covered,
       coalesce(d.shortage, 0) AS shortage
FROM b
FULL JOIN sb USING (ship_on)
FULL JOIN d USING (ship_on)
ORDER BY ship_on
