-- dash_snack_eligibility: why the users shipping on one date do or do not
-- get one snack: each shipping user (SPEC 4 calendar) counted once under
-- the first rule that holds, in SPEC order: the snack is inactive, not
-- launched, carries one of the user's NG tags, was delivered within the
-- repeat window (snapshot deliveries, and boxes of the run's earlier dates),
-- was rated at or below never_again_rating; else it is in the user's box on
-- that date, or eligible and not chosen (ranked lower, a category cap, or in
-- run mode no stock left at the user's turn).
-- Parameters: :date (DATE literal), :from (the run's first date, DATE
-- literal), :window, :never_again, :boxes (the run's boxes file, quoted).
-- Bound: $1 snack_id.
WITH ship AS (
    SELECT u.user_id FROM users u
    WHERE u.status = 'active' AND {{date}} >= u.next_ship_on
      AND ({{date}} - u.next_ship_on) % u.cadence_days = 0
      AND NOT EXISTS (SELECT 1 FROM skips k WHERE k.user_id = u.user_id AND k.ship_on = {{date}})
),
snack AS (SELECT active, launched_on FROM snacks WHERE snack_id = $1),
ng AS (
    SELECT DISTINCT n.user_id FROM user_ng n JOIN snack_tags t ON t.tag = n.tag WHERE t.snack_id = $1
),
del AS (
    SELECT user_id FROM deliveries
    WHERE snack_id = $1 AND shipped_on > {{date}} - {{window}}::INTEGER AND shipped_on <= {{date}}
    UNION
    SELECT user_id FROM read_parquet({{boxes}})
    WHERE snack_id = $1 AND ship_on >= {{from}} AND ship_on < {{date}} AND ship_on > {{date}} - {{window}}::INTEGER
),
rated AS (SELECT user_id FROM ratings_named WHERE snack_id = $1 AND rating <= {{never_again}}),
inbox AS (SELECT user_id FROM read_parquet({{boxes}}) WHERE snack_id = $1 AND ship_on = {{date}}),
verdicts AS (
    SELECT CASE
             WHEN NOT sn.active THEN 1
             WHEN sn.launched_on > {{date}} THEN 2
             WHEN ship.user_id IN (SELECT user_id FROM ng) THEN 3
             WHEN ship.user_id IN (SELECT user_id FROM del) THEN 4
             WHEN ship.user_id IN (SELECT user_id FROM rated) THEN 5
             WHEN ship.user_id IN (SELECT user_id FROM inbox) THEN 7
             ELSE 6
           END AS rule
    FROM ship CROSS JOIN snack sn
)
SELECT rule, count(*)::BIGINT FROM verdicts GROUP BY rule ORDER BY rule
