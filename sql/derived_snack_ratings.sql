-- derived_snack_ratings: per snack, the count n and sum of its latest
-- ratings: the inputs of the popularity term. Parameters: :latest, the
-- latest-ratings relation.
SELECT snack_id, count(*)::BIGINT AS n, sum(rating)::BIGINT AS total
FROM {{latest}}
GROUP BY snack_id
ORDER BY snack_id
