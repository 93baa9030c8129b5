-- inputs_count_users: the number of shipping users in eng_users (inputs_prepare_users). No parameters.
SELECT count(*)::BIGINT AS n FROM eng_users
