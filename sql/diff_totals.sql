-- diff_totals: the headline figures of one run, for assign diff: boxes
-- (ship date and user pairs with at least one line, counted by their line
-- at position 1), box lines, the total
-- score of the lines, lines taken as requests (requests honoured), short
-- boxes and their unfilled slots, and the units of demand, covered and short
-- of stock. The score is summed as DECIMAL so the total does not depend on
-- the order DuckDB's threads add in (two equal runs give equal totals).
-- Parameters: :boxes, :short_boxes, :demand, the run's Parquet files (quoted).
WITH b AS (
    SELECT count(*)::BIGINT AS box_lines,
           coalesce(sum(score::DECIMAL(38, 12)), 0)::DOUBLE AS score,
           count(*) FILTER (WHERE requested)::BIGINT AS requests_honoured,
           count(*) FILTER (WHERE position = 1)::BIGINT AS boxes
    FROM read_parquet({{boxes}})
),
s AS (
    SELECT count(*)::BIGINT AS short_boxes,
           coalesce(sum(box_size - filled), 0)::BIGINT AS unfilled_slots
    FROM read_parquet({{short_boxes}})
),
d AS (
    SELECT coalesce(sum(demand), 0)::BIGINT AS demand_units,
           coalesce(sum(covered), 0)::BIGINT AS covered_units,
           coalesce(sum(shortage), 0)::BIGINT AS shortage_units
    FROM read_parquet({{demand}})
)
SELECT b.boxes, b.box_lines, b.score, b.requests_honoured, s.short_boxes, s.unfilled_slots,
       d.demand_units, d.covered_units, d.shortage_units
FROM b, s, d
