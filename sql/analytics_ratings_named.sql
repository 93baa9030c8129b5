-- analytics_ratings_named: the latest rating of every (user, snack) pair
-- (the one SPEC 4 counts: latest rated_at, a tie the lower rating) with the
-- snack's name, category and active flag, for reading ratings without
-- joins. Parameters: :latest, the latest-ratings relation (the
-- snapshot's latest_ratings table, or the same query inline when absent).
SELECT l.user_id,
       l.snack_id,
       s.name,
       s.category,
       s.active,
       l.rating
FROM {{latest}} l
JOIN snacks s ON s.snack_id = l.snack_id
