-- sidecar_span: the number of deliveries and their first and last days
-- (days since 1970-01-01; 0 when there are none), the number of latest
-- ratings below 0, which the sidecar cannot store, and the row counts of
-- sidecar_bad_ratings and sidecar_affinity (upper bounds the writer sizes
-- its arrays by). Parameters: :latest, the latest-ratings table;
-- :user_category_ratings, the derived table.
SELECT count(*)::BIGINT AS n,
       coalesce(min(shipped_on) - DATE '1970-01-01', 0)::BIGINT AS first_day,
       coalesce(max(shipped_on) - DATE '1970-01-01', 0)::BIGINT AS last_day,
       (SELECT count(*) FILTER (WHERE rating < 0) FROM {{latest}})::BIGINT AS negative,
       (SELECT count(*) FILTER (WHERE rating BETWEEN 0 AND 5) FROM {{latest}})::BIGINT AS bad,
       (SELECT count(*) FROM {{user_category_ratings}})::BIGINT AS affinity
FROM deliveries
