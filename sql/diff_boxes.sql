-- diff_boxes: the boxes (ship date, user) whose set of snacks differs
-- between two runs, a box present in one run only included. Each box is
-- reduced to a fingerprint (the XOR of its snacks' hashes and its size), so
-- the comparison is one aggregation per run and one join, not a comparison
-- of lists; lot and position changes alone do not count as a change.
-- Returns how many boxes and users changed and, for the first :limit
-- changed boxes by (ship_on, user_id), each run's box in position order.
-- Parameters: :a, :b, the runs' boxes Parquet files (quoted); :limit.
WITH fa AS (
    SELECT ship_on, user_id, bit_xor(hash(snack_id)) AS h, count(*) AS n FROM read_parquet({{a}}) GROUP BY ship_on, user_id
),
fb AS (
    SELECT ship_on, user_id, bit_xor(hash(snack_id)) AS h, count(*) AS n FROM read_parquet({{b}}) GROUP BY ship_on, user_id
),
changed AS (
    SELECT ship_on, user_id
    FROM fa FULL JOIN fb USING (ship_on, user_id)
    WHERE fa.h IS DISTINCT FROM fb.h OR fa.n IS DISTINCT FROM fb.n
),
counts AS (
    SELECT count(*)::BIGINT AS boxes_changed, count(DISTINCT user_id)::BIGINT AS users_changed FROM changed
),
pick AS (
    SELECT ship_on, user_id FROM changed ORDER BY ship_on, user_id LIMIT {{limit}}
),
la AS (
    SELECT x.ship_on, x.user_id, list(x.snack_id ORDER BY x.position) AS box
    FROM read_parquet({{a}}) x SEMI JOIN pick p ON p.ship_on = x.ship_on AND p.user_id = x.user_id
    GROUP BY x.ship_on, x.user_id
),
lb AS (
    SELECT x.ship_on, x.user_id, list(x.snack_id ORDER BY x.position) AS box
    FROM read_parquet({{b}}) x SEMI JOIN pick p ON p.ship_on = x.ship_on AND p.user_id = x.user_id
    GROUP BY x.ship_on, x.user_id
)
SELECT c.boxes_changed, c.users_changed, p.ship_on, p.user_id, la.box AS box_a, lb.box AS box_b
FROM counts c
LEFT JOIN pick p ON true
LEFT JOIN la ON la.ship_on = p.ship_on AND la.user_id = p.user_id
LEFT JOIN lb ON lb.ship_on = p.ship_on AND lb.user_id = p.user_id
ORDER BY p.ship_on, p.user_id
