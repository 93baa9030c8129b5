-- sidecar_catalogue: the snack ids in sidx order (snack_id order, the
-- snacks with a category, as inputs_prepare's eng_snacks numbers them),
-- which the sidecar's header fingerprints (with sidecar_categories) and
-- the writer numbers the rows' snacks by. No parameters.
SELECT snack_id::BIGINT AS snack_id FROM snacks WHERE category IS NOT NULL ORDER BY snack_id
