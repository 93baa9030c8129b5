-- derive_count: the number of ratings, which sizes the array the derived
-- tables computed in Go (engine/derive_go.go) collect them in. No parameters.
SELECT count(*)::BIGINT AS n FROM ratings
