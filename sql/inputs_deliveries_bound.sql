-- inputs_deliveries_bound: an upper bound of the rows of inputs_deliveries
-- (the same date filter without the joins, so no more than a scan of one
-- column), to size the engine's arrays once. Parameters: :d0, :dend (DATE
-- literals), :window (days), :users (empty, or a predicate keeping the
-- rows of the users in eng_users when the job plans only some users).
SELECT count(*)::BIGINT AS n
FROM deliveries d
WHERE d.shipped_on > DATE '{{d0}}' - {{window}}::INTEGER
  AND d.shipped_on <= DATE '{{dend}}'
  {{users}}
