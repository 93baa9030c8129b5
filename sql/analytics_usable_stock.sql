-- analytics_usable_stock: usable units of every snack on every date of the
-- session's range, before any consumption (what the shelf holds, not what a
-- run left): a lot counts on D when best_before >= D + min_shelf_days
-- (SPEC 3). Every (date, snack) pair has a row, zeros included, so a snack
-- with nothing usable shows 0 instead of vanishing.
-- Parameters: :date first date (DATE literal), :days number of dates,
-- :min_shelf_days the policy's shelf margin in days.
SELECT d.ship_on,
       s.snack_id,
       s.name,
       s.category,
       s.active,
       coalesce(sum(st.quantity), 0)::BIGINT AS usable_units,
       count(st.lot_id) FILTER (WHERE st.quantity > 0)::INTEGER AS usable_lots,
       min(st.best_before) FILTER (WHERE st.quantity > 0) AS earliest_best_before
FROM (SELECT ({{date}} + i::INTEGER)::DATE AS ship_on FROM range({{days}}) r(i)) d
CROSS JOIN snacks s
LEFT JOIN stock st
       ON st.snack_id = s.snack_id
      AND st.best_before >= d.ship_on + {{min_shelf_days}}::INTEGER
GROUP BY d.ship_on, s.snack_id, s.name, s.category, s.active
