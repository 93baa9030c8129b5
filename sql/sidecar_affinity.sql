-- sidecar_affinity: per user and category, the count n and sum of the
-- user's latest ratings there, as (ui, cidx, n, total) in any order (the
-- writer groups the rows by user, each user's by cidx).
-- Parameters: :user_category_ratings, the derived table.
SELECT u.ui, c.cidx, r.n::INTEGER AS n, r.total::BIGINT AS total
FROM {{user_category_ratings}} r
JOIN sc_users u USING (user_id)
JOIN sc_cats c USING (category)
