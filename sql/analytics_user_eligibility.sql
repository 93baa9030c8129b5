-- analytics_user_eligibility: per user, how many snacks are eligible on the
-- session's date with stock set aside (SPEC 4: active, launched, no NG tag,
-- not delivered in (D - repeat_window_days, D], latest rating above
-- never_again_rating), whether the user ships that day, and how many
-- candidate snacks each rule blocks (a snack blocked by two rules counts in
-- both columns, once in eligible_snacks). Counting blocked snacks instead of
-- pairing every user with every snack keeps it fast at millions of users.
-- Parameters: :date (DATE literal), :repeat_window_days,
-- :never_again_rating, :latest the latest-ratings relation.
WITH cand AS (
    SELECT snack_id FROM snacks WHERE active AND launched_on <= {{date}}
),
ncand AS (SELECT count(*)::INTEGER AS n FROM cand),
blocks AS (
    SELECT n.user_id, c.snack_id, 'ng' AS rule
    FROM user_ng n
    JOIN snack_tags t ON t.tag = n.tag
    JOIN cand c ON c.snack_id = t.snack_id
    UNION ALL
    SELECT dl.user_id, dl.snack_id, 'delivered'
    FROM deliveries dl
    JOIN cand c ON c.snack_id = dl.snack_id
    WHERE dl.shipped_on > {{date}} - {{repeat_window_days}}::INTEGER AND dl.shipped_on <= {{date}}
    UNION ALL
    SELECT l.user_id, l.snack_id, 'rated'
    FROM {{latest}} l
    JOIN cand c ON c.snack_id = l.snack_id
    WHERE l.rating <= {{never_again_rating}}
),
per_user AS (
    SELECT user_id,
           count(DISTINCT snack_id)::INTEGER AS blocked,
           count(DISTINCT snack_id) FILTER (WHERE rule = 'ng')::INTEGER AS blocked_by_ng,
           count(DISTINCT snack_id) FILTER (WHERE rule = 'delivered')::INTEGER AS blocked_by_delivery,
           count(DISTINCT snack_id) FILTER (WHERE rule = 'rated')::INTEGER AS blocked_by_rating
    FROM blocks
    GROUP BY user_id
)
SELECT u.user_id,
       u.status,
       u.box_size,
       (u.status = 'active'
        AND {{date}} >= u.next_ship_on
        AND ({{date}} - u.next_ship_on) % u.cadence_days = 0
        AND NOT EXISTS (SELECT 1 FROM skips k WHERE k.user_id = u.user_id AND k.ship_on = {{date}})) AS ships,
       ncand.n - coalesce(p.blocked, 0) AS eligible_snacks,
       coalesce(p.blocked_by_ng, 0) AS blocked_by_ng,
       coalesce(p.blocked_by_delivery, 0) AS blocked_by_delivery,
       coalesce(p.blocked_by_rating, 0) AS blocked_by_rating
FROM users u
CROSS JOIN ncand
LEFT JOIN per_user p ON p.user_id = u.user_id
