-- sidecar_categories: the category names in cidx order (byte order, as
-- inputs_prepare's eng_cats numbers them), which the sidecar's header
-- fingerprints (with sidecar_catalogue). No parameters.
SELECT DISTINCT category FROM snacks ORDER BY category
