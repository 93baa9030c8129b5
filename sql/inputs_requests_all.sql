-- inputs_requests_all: inputs_requests by user_id and without the test
-- against the snapshot's deliveries: every request with date(requested_at)
-- < dend (the engine keeps those of shipping users). A job that reads the
-- engine sidecar drops the requests a snapshot delivery closed using the
-- sidecar's delivery rows (engine/sidecar_read.go, openRequests), which
-- hold every delivery; the NOT EXISTS of inputs_requests scans every
-- delivery row in SQL. requested_us is microseconds since the epoch.
-- Parameters: :dend (DATE literal).
SELECT r.user_id::BIGINT AS user_id, s.sidx, epoch_us(r.requested_at) AS requested_us,
       CAST(r.requested_at AS DATE) AS requested_on
FROM requests r
JOIN eng_snacks s USING (snack_id)
WHERE CAST(r.requested_at AS DATE) < DATE '{{dend}}'
