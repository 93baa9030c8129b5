-- sidecar_affinity: per user and category, the count n and sum of the
-- user's latest ratings there, as (user_id, cidx, n, total) in any order
-- (the writer numbers the users, groups the rows by user and sorts each
-- user's by cidx). cidx numbers the categories as sidecar_categories lists
-- them. Parameters: :user_category_ratings, the derived table.
SELECT r.user_id::BIGINT AS user_id, c.cidx, r.n::INTEGER AS n, r.total::BIGINT AS total
FROM {{user_category_ratings}} r
JOIN (SELECT (row_number() OVER (ORDER BY category) - 1)::INTEGER AS cidx, category
      FROM (SELECT DISTINCT category FROM snacks)) c USING (category)
