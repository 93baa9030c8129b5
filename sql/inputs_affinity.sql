-- inputs_affinity: per shipping user and category, the count n and sum of
-- the user's latest ratings of snacks in that category.
-- Parameters: :user_category_ratings, the relation of derived_user_category_ratings.
SELECT u.uidx, c.cidx, r.n, r.total
FROM {{user_category_ratings}} r
JOIN eng_users u USING (user_id)
JOIN eng_cats c USING (category)
