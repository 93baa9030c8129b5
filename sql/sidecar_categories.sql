-- sidecar_categories: the category names in cidx order, which the sidecar's
-- header fingerprints (with sidecar_catalogue). No parameters.
SELECT category FROM sc_cats ORDER BY cidx
