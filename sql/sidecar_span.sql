-- sidecar_span: the number of deliveries and their first and last days
-- (days since 1970-01-01; 0 when there are none), and the number of latest
-- ratings below 0, which the sidecar cannot store. Parameters: :latest, the
-- latest-ratings table.
SELECT count(*)::BIGINT AS n,
       coalesce(min(shipped_on) - DATE '1970-01-01', 0)::BIGINT AS first_day,
       coalesce(max(shipped_on) - DATE '1970-01-01', 0)::BIGINT AS last_day,
       (SELECT count(*) FROM {{latest}} WHERE rating < 0)::BIGINT AS negative
FROM deliveries
