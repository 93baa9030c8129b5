-- inputs_rating_users: the users that rated something, numbered (rix) in
-- user_id order, as a temp table: the engine groups ratings by rix.
-- No parameters.
CREATE OR REPLACE TEMP TABLE eng_rating_users AS
SELECT user_id, (row_number() OVER (ORDER BY user_id) - 1)::INTEGER AS rix
FROM (SELECT DISTINCT user_id FROM ratings);
