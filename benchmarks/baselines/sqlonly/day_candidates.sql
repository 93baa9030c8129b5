-- day_candidates: for every user shipping on D, the eligible snacks not
-- taken in step 1 ("the rest"), scored, keeping per (user, category) only
-- the box_size best by (score desc, snack_id), with cat_rank = that rank.
-- The cut loses nothing: a box holds at most box_size snacks, and a snack
-- with box_size better snacks of its own category ahead of it is reached by
-- neither step 2 (its category is full or the box is) nor step 3 (the
-- snacks ahead of it fill the box first).
-- score = ((w_pop*popn + w_pref*pref) + w_aff*aff) + w_nov*novelty, DOUBLE,
-- in exactly that order of operations.
-- Ranking all ~10^7 scored pairs of a date with one window costs a full
-- sort, so the DuckDB top-N aggregate max_by(score, score, kmax) first finds
-- the box_size-th best score of each (user, category); only pairs scoring at
-- least that (ties included, so the cut is exact) reach the window. The
-- scored pairs are recomputed for the second pass rather than materialized:
-- the join is cheaper than writing the rows.
-- Parameters:
--   {{kmax}}  the largest box_size of any user, INTEGER constant

CREATE OR REPLACE TABLE day_cand AS
WITH scored AS NOT MATERIALIZED (
    SELECT c.user_id, f.snack_id, f.cat_id, c.box_size,
           ((f.pop_term + c.pref_term) + c.aff_term) + f.nov_term AS score
    FROM day_user_cat c
    JOIN day_snacks f ON f.cat_id = c.cat_id
    ANTI JOIN day_blocked x ON x.user_id = c.user_id AND x.snack_id = f.snack_id
    ANTI JOIN day_step1 q ON q.user_id = c.user_id AND q.snack_id = f.snack_id
), best AS (
    SELECT user_id, cat_id, max_by(score, score, {{kmax}}) AS top
    FROM scored
    GROUP BY user_id, cat_id
), kept AS (
    SELECT s.user_id, s.snack_id, s.cat_id, s.box_size, s.score
    FROM scored s
    JOIN best b ON b.user_id = s.user_id AND b.cat_id = s.cat_id
    WHERE len(b.top) < s.box_size OR s.score >= b.top[s.box_size]
), ranked AS (
    SELECT user_id, snack_id, cat_id, box_size, score,
           row_number() OVER (PARTITION BY user_id, cat_id ORDER BY score DESC, snack_id) AS cat_rank
    FROM kept
)
SELECT user_id, snack_id, cat_id, box_size, score, cat_rank
FROM ranked
WHERE cat_rank <= box_size;
