-- day_stock: demand of ship date D per snack and its FEFO cover. Demand is
-- the number of box lines of the snack on D; it takes units from the lots
-- usable on D (best_before >= D + min_shelf_days) with units left, in
-- (best_before, lot_id as bytes) order; what earlier dates took is gone.
-- covered = units taken, shortage = demand - covered.
-- Parameters:
--   {{d}}      the ship date D, DATE
--   {{shelf}}  min_shelf_days, INTEGER

CREATE OR REPLACE TABLE day_take AS
WITH dem AS (
    SELECT snack_id, count(*) AS demand FROM day_box GROUP BY snack_id
), usable AS (
    SELECT l.snack_id, l.lot_id, l.remaining,
           sum(l.remaining) OVER (PARTITION BY l.snack_id ORDER BY l.best_before, l.lot_key
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - l.remaining AS before
    FROM lots l
    SEMI JOIN dem ON dem.snack_id = l.snack_id
    WHERE l.best_before >= {{d}} + {{shelf}} AND l.remaining > 0
)
SELECT d.snack_id, d.demand, u.lot_id,
       CAST(coalesce(least(u.remaining, greatest(d.demand - u.before, 0)), 0) AS BIGINT) AS take
FROM dem d
LEFT JOIN usable u ON u.snack_id = d.snack_id;

UPDATE lots SET remaining = lots.remaining - t.take
FROM day_take t
WHERE lots.snack_id = t.snack_id AND lots.lot_id = t.lot_id AND t.take > 0;

INSERT INTO demand
SELECT {{d}}, snack_id, CAST(demand AS INTEGER), CAST(covered AS INTEGER), CAST(demand - covered AS INTEGER)
FROM (SELECT snack_id, any_value(demand) AS demand, sum(take) AS covered FROM day_take GROUP BY snack_id);
