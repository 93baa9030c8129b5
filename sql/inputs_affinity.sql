-- inputs_affinity: per shipping user and category, the count n and sum of the
-- user's latest ratings of snacks in that category (all snacks, inactive and
-- unlaunched ones too). No parameters.
SELECT u.uidx, s.cidx, count(*)::INTEGER AS n, sum(l.rating)::BIGINT AS total
FROM eng_latest l
JOIN eng_users u USING (user_id)
JOIN eng_snacks s USING (snack_id)
GROUP BY u.uidx, s.cidx
