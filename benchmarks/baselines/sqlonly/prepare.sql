-- prepare: the horizon-wide inputs of the SQL-only preassign baseline, built
-- once per run from the snapshot (attached read-only as catalog snap) into
-- the in-memory catalog, plus the empty result tables the ship dates fill.
-- Ratings carry no date filter (SPEC 4, Precisions), so everything derived
-- from them (latest ratings, popularity, affinity, never-again pairs) holds
-- for every date of the horizon.
-- Parameters:
--   {{m}}            prior_weight, DOUBLE
--   {{w_pop}}        w_popularity, DOUBLE
--   {{w_aff}}        w_affinity, DOUBLE
--   {{never_again}}  never_again_rating, INTEGER
--   {{d0}}           first ship date of the horizon, DATE
--   {{shelf}}        min_shelf_days, INTEGER

-- Latest rating of every (user, snack) pair: the latest rated_at wins, a tie
-- goes to the lower rating (identical rows give the same rating either way).
CREATE TABLE latest_rating AS
SELECT user_id, snack_id, rating
FROM snap.ratings
QUALIFY row_number() OVER (PARTITION BY user_id, snack_id ORDER BY rated_at DESC, rating ASC) = 1;

-- Categories as small integers: the big per-date window partitions on
-- (user, category), and an integer key sorts and hashes cheaper than text.
CREATE TABLE category_ids AS
SELECT category, CAST(row_number() OVER (ORDER BY category) AS INTEGER) AS cat_id
FROM (SELECT DISTINCT category FROM snap.snacks);

-- Per snack: category, flags and the first score term w_pop * popn with
--   C = sum / count over all latest ratings (3.0 if none),
--   pop = (sum_s + m*C) / (n_s + m), popn = (pop - 1) / 4.
-- Sums of ratings are exact integers converted to DOUBLE once; every
-- operation below is DOUBLE (no DECIMAL, no integer division).
CREATE TABLE snack_terms AS
WITH overall AS (
    SELECT CASE WHEN count(*) = 0 THEN CAST(3 AS DOUBLE)
                ELSE CAST(sum(rating) AS DOUBLE) / CAST(count(*) AS DOUBLE) END AS c
    FROM latest_rating
), per_snack AS (
    SELECT snack_id, count(*) AS n, sum(rating) AS sm
    FROM latest_rating
    GROUP BY snack_id
)
SELECT s.snack_id, k.cat_id, s.active, s.launched_on,
       {{w_pop}} * ((((CAST(coalesce(p.sm, 0) AS DOUBLE) + {{m}} * o.c)
                      / (CAST(coalesce(p.n, 0) AS DOUBLE) + {{m}}))
                     - CAST(1 AS DOUBLE)) / CAST(4 AS DOUBLE)) AS pop_term
FROM snap.snacks s
JOIN category_ids k USING (category)
CROSS JOIN overall o
LEFT JOIN per_snack p USING (snack_id);

-- Affinity of (user, category) over the user's latest ratings of snacks of
-- that category (every snack in snacks, active or not, launched or not):
-- aff = (n / (n + 3)) * ((r - 3) / 2) with r = sum / n. Pairs with no rating
-- are absent and read as 0.
CREATE TABLE user_cat_affinity AS
SELECT r.user_id, t.cat_id,
       (CAST(count(*) AS DOUBLE) / CAST(count(*) + 3 AS DOUBLE))
       * (((CAST(sum(r.rating) AS DOUBLE) / CAST(count(*) AS DOUBLE)) - CAST(3 AS DOUBLE)) / CAST(2 AS DOUBLE)) AS aff
FROM latest_rating r
JOIN snack_terms t USING (snack_id)
GROUP BY r.user_id, t.cat_id;

-- Preference weights keyed by category id (categories no snack has cannot
-- matter and drop out).
CREATE TABLE user_cat_pref AS
SELECT p.user_id, k.cat_id, p.weight
FROM snap.user_prefs p
JOIN category_ids k USING (category);

-- Pairs a user rated at or below never_again_rating: never eligible again.
CREATE TABLE never_again AS
SELECT user_id, snack_id
FROM latest_rating
WHERE rating <= {{never_again}};

-- Every request with its calendar day and the last snapshot delivery of the
-- pair: a snapshot delivery closes the request iff last_shipped >= req_day.
-- Boxes chosen in the horizon are checked per date against table boxes.
CREATE TABLE request_state AS
WITH last_delivery AS (
    SELECT d.user_id, d.snack_id, max(d.shipped_on) AS last_shipped
    FROM snap.deliveries d
    SEMI JOIN snap.requests r ON r.user_id = d.user_id AND r.snack_id = d.snack_id
    GROUP BY d.user_id, d.snack_id
)
SELECT r.user_id, r.snack_id, r.requested_at, CAST(r.requested_at AS DATE) AS req_day, l.last_shipped
FROM snap.requests r
LEFT JOIN last_delivery l ON l.user_id = r.user_id AND l.snack_id = r.snack_id;

-- Stock lots with the quantity not yet consumed. lot_key is lot_id as its
-- UTF-8 bytes, so FEFO ties compare lot ids as plain byte strings whatever
-- the collation settings.
CREATE TABLE lots AS
SELECT snack_id, lot_id, encode(lot_id) AS lot_key, best_before, CAST(quantity AS BIGINT) AS remaining
FROM snap.stock;

-- Stock usable on the first date, before any consumption.
CREATE TABLE stock_usable_d0 AS
SELECT snack_id, CAST(sum(quantity) AS BIGINT) AS stock_usable
FROM snap.stock
WHERE best_before >= {{d0}} + {{shelf}}
GROUP BY snack_id;

-- Results, filled date by date. boxes also serves as the deliveries of the
-- horizon: a box chosen on an earlier date is a delivery on that date.
CREATE TABLE boxes (
    ship_on   DATE    NOT NULL,
    user_id   BIGINT  NOT NULL,
    position  INTEGER NOT NULL,
    snack_id  BIGINT  NOT NULL,
    score     DOUBLE  NOT NULL,
    requested BOOLEAN NOT NULL
);
CREATE TABLE short_boxes (
    ship_on  DATE    NOT NULL,
    user_id  BIGINT  NOT NULL,
    box_size INTEGER NOT NULL,
    filled   INTEGER NOT NULL
);
CREATE TABLE demand (
    ship_on  DATE    NOT NULL,
    snack_id BIGINT  NOT NULL,
    demand   INTEGER NOT NULL,
    covered  INTEGER NOT NULL,
    shortage INTEGER NOT NULL
);
CREATE TABLE ship_counts (
    ship_on DATE   NOT NULL,
    users   BIGINT NOT NULL
);
