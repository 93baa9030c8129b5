-- day_candidates: for every user shipping on D, the eligible snacks not
-- taken in step 1 ("the rest"), scored, keeping per (user, category) only
-- the box_size best by (score desc, snack_id). That cut loses nothing: a
-- box holds at most box_size snacks, and a snack with box_size better
-- snacks of its own category ahead of it is reached by neither step 2 (the
-- cap is below box_size or the box is full first) nor step 3 (the snacks
-- ahead of it fill the box first).
-- score = ((w_pop*popn + w_pref*pref) + w_aff*aff) + w_nov*novelty, DOUBLE,
-- in exactly that order of operations.
-- Parameters: none (reads the day_* tables of day_calendar and day_requests).

CREATE OR REPLACE TABLE day_cand AS
WITH scored AS (
    SELECT c.user_id, f.snack_id, f.cat_id, c.box_size,
           ((f.pop_term + c.pref_term) + c.aff_term) + f.nov_term AS score
    FROM day_user_cat c
    JOIN day_snacks f ON f.cat_id = c.cat_id
    WHERE NOT EXISTS (SELECT 1 FROM day_blocked x WHERE x.user_id = c.user_id AND x.snack_id = f.snack_id)
      AND NOT EXISTS (SELECT 1 FROM day_step1 q WHERE q.user_id = c.user_id AND q.snack_id = f.snack_id)
), ranked AS (
    SELECT user_id, snack_id, cat_id, box_size, score,
           row_number() OVER (PARTITION BY user_id, cat_id ORDER BY score DESC, snack_id) AS cat_rank
    FROM scored
)
SELECT user_id, snack_id, cat_id, box_size, score, cat_rank
FROM ranked
WHERE cat_rank <= box_size;
