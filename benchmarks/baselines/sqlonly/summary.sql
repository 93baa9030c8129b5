-- summary: one row per snack in snacks over the horizon: demand, covered
-- and shortage summed over the dates, and stock_usable = the quantity of its
-- lots usable on the first date before any consumption. Zeros included.
-- Parameters: none.

CREATE OR REPLACE TABLE snack_summary AS
SELECT s.snack_id,
       CAST(coalesce(d.demand, 0) AS BIGINT) AS demand,
       CAST(coalesce(u.stock_usable, 0) AS BIGINT) AS stock_usable,
       CAST(coalesce(d.covered, 0) AS BIGINT) AS covered,
       CAST(coalesce(d.shortage, 0) AS BIGINT) AS shortage
FROM snap.snacks s
LEFT JOIN (SELECT snack_id, sum(demand) AS demand, sum(covered) AS covered, sum(shortage) AS shortage
           FROM demand GROUP BY snack_id) d ON d.snack_id = s.snack_id
LEFT JOIN stock_usable_d0 u ON u.snack_id = s.snack_id;
