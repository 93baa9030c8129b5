-- synthetic: a deterministic synthetic snapshot in the shape of SPEC section
-- 6 (about 85% active users, cadence 14 or 28, box_size 6..10 mostly 8,
-- skewed popularity, 0-3 NG tags of 30, ratings following a latent taste per
-- user and category, a few percent of users with requests), for the
-- baseline's thread-determinism test and its by-hand speed check. Run in a
-- database that holds the tables of sql/schema.sql. "Random" values are
-- hashes of row numbers, so the data is the same at any thread count.
-- The stand-in until the project's generator exists; not a product format.
-- Parameters: {{users}}, {{snacks}}, {{categories}}, {{deliveries_per_user}},
-- {{ratings_per_user}}, {{d0}} (DATE literal the data is built around).

INSERT INTO snacks
SELECT i, 'snack ' || i, 'cat' || (hash(i, 'cat') % {{categories}}),
       {{d0}} - 390 + CAST(hash(i, 'launch') % 400 AS INTEGER),
       hash(i, 'active') % 20 <> 0
FROM range(1, {{snacks}} + 1) t(i);

INSERT INTO snack_tags
SELECT DISTINCT i, 'tag' || (hash(i, j, 'tag') % 30)
FROM range(1, {{snacks}} + 1) t(i), range(3) s(j)
WHERE hash(i, j, 'ntag') % 3 > j;

INSERT INTO users
SELECT u,
       CASE WHEN hash(u, 'status') % 100 < 85 THEN 'active'
            WHEN hash(u, 'status') % 2 = 0 THEN 'paused' ELSE 'cancelled' END,
       [6, 7, 8, 8, 8, 8, 8, 9, 9, 10][1 + CAST(hash(u, 'box') % 10 AS INTEGER)],
       CASE WHEN hash(u, 'cad') % 2 = 0 THEN 14 ELSE 28 END,
       {{d0}} - 10 + CAST(hash(u, 'next') % CASE WHEN hash(u, 'cad') % 2 = 0 THEN 14 ELSE 28 END AS INTEGER)
FROM range(1, {{users}} + 1) t(u);

INSERT INTO skips
SELECT user_id, next_ship_on + cadence_days FROM users WHERE hash(user_id, 'skip') % 50 = 0;

INSERT INTO user_ng
SELECT DISTINCT u, 'tag' || (hash(u, j, 'ng') % 30)
FROM range(1, {{users}} + 1) t(u), range(3) s(j)
WHERE hash(u, j, 'nng') % 4 > j;

INSERT INTO user_prefs
SELECT u, 'cat' || c, CAST(hash(u, c, 'w') % 5 AS INTEGER) - 2
FROM (SELECT DISTINCT u, hash(u, j, 'pc') % {{categories}} AS c
      FROM range(1, {{users}} + 1) t(u), range(3) s(j)
      WHERE hash(u, 'haspref') % 3 <> 0);

-- Popularity skew: snack id = 1 + floor(snacks * x^2) for x uniform in [0, 1).
INSERT INTO deliveries
SELECT u, 1 + CAST(floor({{snacks}} * pow((hash(u, j, 'ds') % 1000000) / 1000000.0, 2)) AS BIGINT),
       {{d0}} - 1 - CAST(hash(u, j, 'dd') % 365 AS INTEGER)
FROM range(1, {{users}} + 1) t(u), range({{deliveries_per_user}}) s(j);

INSERT INTO ratings
SELECT u, s, CAST(greatest(1, least(5, (hash(u, n.category, 'taste') % 4) + (hash(u, s, j, 'noise') % 3))) AS INTEGER),
       TIMESTAMP '2024-01-01' + to_seconds(CAST(hash(u, j, 'rt') % 60000000 AS BIGINT))
FROM (SELECT u, j, 1 + CAST(floor({{snacks}} * pow((hash(u, j, 'rs') % 1000000) / 1000000.0, 2)) AS BIGINT) AS s
      FROM range(1, {{users}} + 1) t(u), range({{ratings_per_user}}) r(j)) x
JOIN snacks n ON n.snack_id = x.s;

INSERT INTO requests
SELECT u, 1 + CAST(hash(u, j, 'rq') % {{snacks}} AS BIGINT),
       TIMESTAMP '2026-01-01' + to_seconds(CAST(hash(u, j, 'rqt') % 6000000 AS BIGINT))
FROM range(1, {{users}} + 1) t(u), range(2) s(j)
WHERE hash(u, 'hasreq') % 100 < 3 AND (j = 0 OR hash(u, 'tworeq') % 2 = 0);

INSERT INTO stock
SELECT i, 'LOT-' || i || '-' || j, CAST(hash(i, j, 'q') % ({{users}} / 50 + 20) AS INTEGER),
       {{d0}} + CAST(hash(i, j, 'bb') % 120 AS INTEGER)
FROM range(1, {{snacks}} + 1) t(i), range(4) s(j)
WHERE hash(i, j, 'haslot') % 6 <> 0;
