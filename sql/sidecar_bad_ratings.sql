-- sidecar_bad_ratings: every latest rating of 0..5 as (ui, rating * 65536 +
-- sidx), in any order (the writer groups the rows by user and sorts each
-- user's, so the ratings <= any never_again_rating of 0..5 are a prefix).
-- Parameters: :latest, the latest-ratings table.
SELECT u.ui, l.rating::BIGINT * 65536 + s.sidx AS packed
FROM {{latest}} l
JOIN sc_users u USING (user_id)
JOIN sc_snacks s USING (snack_id)
WHERE l.rating BETWEEN 0 AND 5
