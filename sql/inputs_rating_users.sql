-- inputs_rating_users: the users that rated something, numbered (rix) in
-- user_id order, with their number of ratings n, as a temp table: the
-- engine places every rating at its user's slot. No parameters.
CREATE OR REPLACE TEMP TABLE eng_rating_users AS
SELECT user_id, count(*)::INTEGER AS n, (row_number() OVER (ORDER BY user_id) - 1)::INTEGER AS rix
FROM ratings
GROUP BY user_id;
