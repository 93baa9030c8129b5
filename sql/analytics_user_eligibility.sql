-- analytics_user_eligibility: per user, how many snacks are eligible on the
-- session's date with stock set aside (SPEC 4: active, launched, no NG tag,
-- not delivered in (D - repeat_window_days, D], latest rating above
-- never_again_rating), whether the user ships that day, and how many
-- candidate snacks each rule blocks (a snack blocked by two rules counts in
-- both columns, once in eligible_snacks).
-- Users sharing a set of NG tags share the snacks it blocks, and there are
-- only a few thousand such sets, so NG blocks are computed per set, not per
-- user: pairing every user with every tagged snack would be tens of
-- millions of rows at 300k users. Deliveries and bad ratings are per user.
-- Parameters: :date (DATE literal), :repeat_window_days,
-- :never_again_rating, :latest the latest-ratings relation.
WITH cand AS (
    SELECT snack_id FROM snacks WHERE active AND launched_on <= {{date}}
),
ncand AS (SELECT count(*)::INTEGER AS n FROM cand),
user_tags AS (
    SELECT user_id, string_agg(DISTINCT tag, chr(31) ORDER BY tag) AS tag_set
    FROM user_ng GROUP BY user_id
),
sets AS (
    SELECT tag_set, row_number() OVER (ORDER BY tag_set)::INTEGER AS set_id
    FROM (SELECT DISTINCT tag_set FROM user_tags)
),
user_set AS (
    SELECT ut.user_id, s.set_id FROM user_tags ut JOIN sets s ON s.tag_set = ut.tag_set
),
set_block AS (
    SELECT DISTINCT s.set_id, c.snack_id
    FROM sets s
    CROSS JOIN unnest(string_split(s.tag_set, chr(31))) AS u(tag)
    JOIN snack_tags t ON t.tag = u.tag
    JOIN cand c ON c.snack_id = t.snack_id
),
set_n AS (SELECT set_id, count(*)::INTEGER AS n FROM set_block GROUP BY set_id),
other AS (
    SELECT user_id, snack_id, bool_or(rule = 'delivered') AS delivered, bool_or(rule = 'rated') AS rated
    FROM (
        SELECT dl.user_id, dl.snack_id, 'delivered' AS rule
        FROM deliveries dl
        JOIN cand c ON c.snack_id = dl.snack_id
        WHERE dl.shipped_on > {{date}} - {{repeat_window_days}}::INTEGER AND dl.shipped_on <= {{date}}
        UNION ALL
        SELECT l.user_id, l.snack_id, 'rated'
        FROM {{latest}} l
        JOIN cand c ON c.snack_id = l.snack_id
        WHERE l.rating <= {{never_again_rating}}
    )
    GROUP BY user_id, snack_id
),
per_user AS (
    SELECT o.user_id,
           count(*) FILTER (WHERE sb.snack_id IS NULL)::INTEGER AS not_ng,
           count(*) FILTER (WHERE o.delivered)::INTEGER AS blocked_by_delivery,
           count(*) FILTER (WHERE o.rated)::INTEGER AS blocked_by_rating
    FROM other o
    LEFT JOIN user_set us ON us.user_id = o.user_id
    LEFT JOIN set_block sb ON sb.set_id = us.set_id AND sb.snack_id = o.snack_id
    GROUP BY o.user_id
)
SELECT u.user_id,
       u.status,
       u.box_size,
       (u.status = 'active'
        AND {{date}} >= u.next_ship_on
        AND ({{date}} - u.next_ship_on) % u.cadence_days = 0
        AND NOT EXISTS (SELECT 1 FROM skips k WHERE k.user_id = u.user_id AND k.ship_on = {{date}})) AS ships,
       ncand.n - coalesce(sn.n, 0) - coalesce(p.not_ng, 0) AS eligible_snacks,
       coalesce(sn.n, 0) AS blocked_by_ng,
       coalesce(p.blocked_by_delivery, 0) AS blocked_by_delivery,
       coalesce(p.blocked_by_rating, 0) AS blocked_by_rating
FROM users u
CROSS JOIN ncand
LEFT JOIN user_set us ON us.user_id = u.user_id
LEFT JOIN set_n sn ON sn.set_id = us.set_id
LEFT JOIN per_user p ON p.user_id = u.user_id
