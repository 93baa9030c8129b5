-- derived_user_category_ratings: per user and category, the count n and sum
-- of the user's latest ratings of snacks in that category, over all snacks
-- (inactive and unlaunched ones too): the inputs of the affinity term.
-- Parameters: :latest, the latest-ratings relation.
SELECT l.user_id, s.category, count(*)::INTEGER AS n, sum(l.rating)::BIGINT AS total
FROM {{latest}} l
JOIN snacks s USING (snack_id)
GROUP BY l.user_id, s.category
ORDER BY l.user_id, s.category
