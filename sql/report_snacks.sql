-- report_snacks: one row per snack of the snapshot with its forecast over
-- the horizon of the run exposed as `latest` (demand, stock usable on the
-- first date, covered and shortage units), for the report's charts and
-- snacks.csv. Ordered by snack_id. No parameters.
SELECT m.snack_id,
       s.name,
       s.category,
       m.demand::BIGINT AS demand,
       m.stock_usable::BIGINT AS stock_usable,
       m.covered::BIGINT AS covered,
       m.shortage::BIGINT AS shortage
FROM latest.snack_summary m
JOIN snacks s ON s.snack_id = m.snack_id
ORDER BY m.snack_id
