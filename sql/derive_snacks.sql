-- derive_snacks: every snack id with its category, in snack_id order, which
-- the derived tables computed in Go (engine/derive_go.go) number snacks
-- and categories by. No parameters.
SELECT snack_id, category FROM snacks ORDER BY snack_id
