-- inputs_rating_users_count: how many users rated something. No parameters.
SELECT count(*)::BIGINT AS n FROM eng_rating_users
