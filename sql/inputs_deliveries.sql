-- inputs_deliveries: deliveries of shipping users that can block a snack on
-- some ship date D of the horizon: D - window < shipped_on <= D for some D in
-- [d0, dend], i.e. shipped_on in (d0 - window, dend].
-- Parameters: :d0, :dend (DATE literals), :window (days).
SELECT u.uidx, s.sidx, d.shipped_on
FROM deliveries d
JOIN eng_users u USING (user_id)
JOIN eng_snacks s USING (snack_id)
WHERE d.shipped_on > DATE '{{d0}}' - {{window}}::INTEGER
  AND d.shipped_on <= DATE '{{dend}}'
