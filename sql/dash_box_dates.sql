-- dash_box_dates: per ship date of a run, the boxes, the box lines and the
-- lines taken as requests (requests honoured). Parameters: :boxes, the
-- run's boxes Parquet file (quoted).
SELECT ship_on, count(DISTINCT user_id)::BIGINT, count(*)::BIGINT, count(*) FILTER (WHERE requested)::BIGINT
FROM read_parquet({{boxes}})
GROUP BY ship_on
ORDER BY ship_on
