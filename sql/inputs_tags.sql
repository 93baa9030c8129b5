-- inputs_tags: tag names in tidx order (only tags some snack carries). No parameters.
SELECT tidx, tag FROM eng_tags ORDER BY tidx
