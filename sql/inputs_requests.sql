-- inputs_requests: requests of shipping users that can be open on some ship
-- date of the horizon: date(requested_at) < dend, and not already closed by a
-- snapshot delivery of the snack with shipped_on >= date(requested_at).
-- Boxes chosen earlier in the horizon close more of them; the engine tracks
-- that. requested_us is microseconds since the epoch (ordering key).
-- Parameters: :dend (DATE literal).
SELECT u.uidx, s.sidx, epoch_us(r.requested_at) AS requested_us,
       CAST(r.requested_at AS DATE) AS requested_on
FROM requests r
JOIN eng_users u USING (user_id)
JOIN eng_snacks s USING (snack_id)
WHERE CAST(r.requested_at AS DATE) < DATE '{{dend}}'
  AND NOT EXISTS (
      SELECT 1 FROM deliveries d
      WHERE d.user_id = r.user_id AND d.snack_id = r.snack_id
        AND d.shipped_on >= CAST(r.requested_at AS DATE))
