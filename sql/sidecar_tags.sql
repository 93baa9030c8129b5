-- sidecar_tags: the tag names in tidx order (byte order of the tags some
-- snack carries, as inputs_prepare's eng_tags numbers them), which the
-- sidecar's header fingerprints (with sidecar_catalogue and
-- sidecar_categories). No parameters.
SELECT DISTINCT tag FROM snack_tags ORDER BY tag
