-- sidecar_catalogue: the snack ids in sidx order, which the sidecar's header
-- fingerprints (with sidecar_categories). No parameters.
SELECT snack_id FROM sc_snacks ORDER BY sidx
