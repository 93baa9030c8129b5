-- derive_ratings: every rating as stored, in any order: one plain scan,
-- which the derived tables computed in Go (engine/derive_go.go) group by
-- user. No parameters.
SELECT user_id, snack_id, rating, rated_at FROM ratings
