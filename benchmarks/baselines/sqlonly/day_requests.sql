-- day_requests: box selection step 1 on ship date D. A request (u, s, t) is
-- open on D when date(t) < D and u has no delivery of s with shipped_on >=
-- date(t), snapshot deliveries and boxes chosen on earlier dates of the
-- horizon alike. Open requests of one pair count once, at their earliest
-- requested_at; requests for snacks ineligible on D use no slot. The
-- remaining ones are taken by (requested_at, snack_id) up to box_size; the
-- rest stay open for later dates.
-- Parameters:
--   {{d}}  the ship date D, DATE

CREATE OR REPLACE TABLE day_step1 AS
WITH open_pair AS (
    SELECT r.user_id, r.snack_id, min(r.requested_at) AS first_at
    FROM request_state r
    SEMI JOIN day_ship s ON s.user_id = r.user_id
    WHERE r.req_day < {{d}}
      AND (r.last_shipped IS NULL OR r.last_shipped < r.req_day)
      AND NOT EXISTS (SELECT 1 FROM boxes b
                      WHERE b.user_id = r.user_id AND b.snack_id = r.snack_id AND b.ship_on >= r.req_day)
    GROUP BY r.user_id, r.snack_id
), eligible AS (
    SELECT o.user_id, o.snack_id, o.first_at, c.box_size, f.cat_id,
           ((f.pop_term + c.pref_term) + c.aff_term) + f.nov_term AS score
    FROM open_pair o
    JOIN day_snacks f ON f.snack_id = o.snack_id
    JOIN day_user_cat c ON c.user_id = o.user_id AND c.cat_id = f.cat_id
    ANTI JOIN day_blocked x ON x.user_id = o.user_id AND x.snack_id = o.snack_id
), ranked AS (
    SELECT user_id, snack_id, cat_id, score, box_size,
           row_number() OVER (PARTITION BY user_id ORDER BY first_at, snack_id) AS position
    FROM eligible
)
SELECT user_id, snack_id, cat_id, score, CAST(position AS INTEGER) AS position
FROM ranked
WHERE position <= box_size;
