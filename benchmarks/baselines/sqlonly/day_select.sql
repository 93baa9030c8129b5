-- day_select: box selection steps 2 and 3 on ship date D, then the day's
-- box lines, short boxes and shipping-user count appended to the results.
-- Step 2 walks the rest by (score desc, snack_id) and skips a snack whose
-- category already holds max_per_category snacks (requested ones count).
-- Walking in that order, a category c with q_c requested snacks takes
-- exactly its first cap - q_c snacks (none when q_c >= cap) until the box
-- is full, so step 2 = the snacks with q_c + cat_rank <= cap, in score
-- order, up to box_size. Step 3 (when fill_ignoring_caps) walks the same
-- order from the top taking snacks not yet in the box until it is full.
-- Positions are 1..filled in selection order (step 1, then 2, then 3).
-- Parameters:
--   {{d}}     the ship date D, DATE
--   {{cap}}   max_per_category, INTEGER
--   {{fill}}  fill_ignoring_caps, BOOLEAN

CREATE OR REPLACE TABLE day_step2 AS
WITH req_cat AS (
    SELECT user_id, cat_id, count(*) AS n FROM day_step1 GROUP BY user_id, cat_id
), req_all AS (
    SELECT user_id, count(*) AS n FROM day_step1 GROUP BY user_id
), passing AS (
    SELECT c.user_id, c.snack_id, c.score, c.box_size, coalesce(a.n, 0) AS n_req
    FROM day_cand c
    LEFT JOIN req_cat q ON q.user_id = c.user_id AND q.cat_id = c.cat_id
    LEFT JOIN req_all a ON a.user_id = c.user_id
    WHERE coalesce(q.n, 0) + c.cat_rank <= {{cap}}
), ranked AS (
    SELECT user_id, snack_id, score, box_size,
           n_req + row_number() OVER (PARTITION BY user_id ORDER BY score DESC, snack_id) AS position
    FROM passing
)
SELECT user_id, snack_id, score, CAST(position AS INTEGER) AS position
FROM ranked
WHERE position <= box_size;

CREATE OR REPLACE TABLE day_step3 AS
WITH filled AS (
    SELECT user_id, count(*) AS n
    FROM (SELECT user_id FROM day_step1 UNION ALL SELECT user_id FROM day_step2)
    GROUP BY user_id
), rest AS (
    SELECT c.user_id, c.snack_id, c.score, c.box_size, coalesce(f.n, 0) AS n_filled
    FROM day_cand c
    LEFT JOIN filled f ON f.user_id = c.user_id
    ANTI JOIN day_step2 t ON t.user_id = c.user_id AND t.snack_id = c.snack_id
    WHERE {{fill}}
), ranked AS (
    SELECT user_id, snack_id, score, box_size,
           n_filled + row_number() OVER (PARTITION BY user_id ORDER BY score DESC, snack_id) AS position
    FROM rest
)
SELECT user_id, snack_id, score, CAST(position AS INTEGER) AS position
FROM ranked
WHERE position <= box_size;

CREATE OR REPLACE TABLE day_box AS
SELECT user_id, position, snack_id, score, true AS requested FROM day_step1
UNION ALL
SELECT user_id, position, snack_id, score, false AS requested FROM day_step2
UNION ALL
SELECT user_id, position, snack_id, score, false AS requested FROM day_step3;

INSERT INTO boxes
SELECT {{d}}, user_id, position, snack_id, score, requested FROM day_box;

-- Every shipping user whose box is short, an empty box included.
INSERT INTO short_boxes
SELECT {{d}}, s.user_id, s.box_size, CAST(coalesce(f.n, 0) AS INTEGER)
FROM day_ship s
LEFT JOIN (SELECT user_id, count(*) AS n FROM day_box GROUP BY user_id) f ON f.user_id = s.user_id
WHERE coalesce(f.n, 0) < s.box_size;

INSERT INTO ship_counts SELECT {{d}}, count(*) FROM day_ship;
