-- sidecar_deliveries: every delivery as (ui, day offset * 65536 + sidx), in
-- any order (the writer groups the rows by user and sorts each user's); the
-- day offset counts from :base. Parameters: :base (DATE literal, the first
-- delivery day).
SELECT u.ui, (d.shipped_on - DATE '{{base}}')::BIGINT * 65536 + s.sidx AS packed
FROM deliveries d
JOIN sc_users u USING (user_id)
JOIN sc_snacks s USING (snack_id)
