-- inputs_requests_all: inputs_requests without the test against the
-- snapshot's deliveries: every request of a shipping user with
-- date(requested_at) < dend. A job that reads the engine sidecar drops the
-- requests a snapshot delivery closed from the sidecar's delivery rows
-- (engine/sidecar_read.go, openRequests), which hold every delivery; the
-- NOT EXISTS of inputs_requests scans every delivery row in SQL.
-- Parameters: :dend (DATE literal).
SELECT u.uidx, s.sidx, epoch_us(r.requested_at) AS requested_us,
       CAST(r.requested_at AS DATE) AS requested_on
FROM requests r
JOIN eng_users u USING (user_id)
JOIN eng_snacks s USING (snack_id)
WHERE CAST(r.requested_at AS DATE) < DATE '{{dend}}'
