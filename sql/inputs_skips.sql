-- inputs_skips: the skipped ship dates inside the horizon.
-- Parameters: :d0, :dend (DATE literals).
SELECT user_id::BIGINT AS user_id, ship_on
FROM skips
WHERE ship_on BETWEEN DATE '{{d0}}' AND DATE '{{dend}}'
