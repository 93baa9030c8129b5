-- inputs_bad_ratings: (uidx, sidx, rating) where a shipping user's latest
-- rating of a snack is <= never_again_rating: never eligible again.
-- Parameters: :never_again (integer); :latest, the latest-ratings relation.
SELECT u.uidx, s.sidx, l.rating
FROM {{latest}} l
JOIN eng_users u USING (user_id)
JOIN eng_snacks s USING (snack_id)
WHERE l.rating <= {{never_again}}
