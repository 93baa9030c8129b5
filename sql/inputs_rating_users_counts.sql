-- inputs_rating_users_counts: the number of ratings of every rating user,
-- in rix order. No parameters.
SELECT n FROM eng_rating_users ORDER BY rix
