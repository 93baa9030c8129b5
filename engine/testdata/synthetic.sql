-- A random extract for property tests, shaped like SPEC section 6 but
-- small. :users, :snacks and :seed are replaced by the test.
CREATE TABLE snacks AS SELECT range+1 AS snack_id, 'snack '||range AS name, 'cat'||(hash(range*7+:seed)%12) AS category,
  (DATE '2023-03-01' + (hash(range*3+:seed) % 1140)::INT) AS launched_on, (hash(range*11+:seed)%10) <> 0 AS active FROM range(:snacks);
CREATE TABLE snack_tags AS SELECT DISTINCT snack_id, 'tag'||(hash(snack_id*13+k+:seed)%30) AS tag FROM snacks, range(3) t(k) WHERE hash(snack_id+k+:seed)%2=0;
CREATE TABLE users AS SELECT range+1 AS user_id, CASE WHEN hash(range+:seed)%100<85 THEN 'active' WHEN hash(range)%2=0 THEN 'paused' ELSE 'cancelled' END AS status,
  (6 + hash(range*5+:seed)%5)::INT AS box_size, CASE WHEN hash(range*17+:seed)%3=0 THEN 28 WHEN hash(range*17+:seed)%3=1 THEN 14 ELSE 3 END::INT AS cadence_days,
  (DATE '2026-03-02' + (hash(range*19+:seed)%30)::INT - 4) AS next_ship_on FROM range(:users);
CREATE TABLE skips AS SELECT user_id, next_ship_on + cadence_days AS ship_on FROM users WHERE hash(user_id*23+:seed)%20=0;
CREATE TABLE user_ng AS SELECT DISTINCT user_id, 'tag'||(hash(user_id*29+k+:seed)%30) AS tag FROM users, range(2) t(k) WHERE hash(user_id*31+k+:seed)%3=0;
CREATE TABLE user_prefs AS SELECT DISTINCT ON (user_id, category) user_id, 'cat'||(hash(user_id*37+k+:seed)%12) AS category, ((hash(user_id*41+k+:seed)%5)::INT - 2) AS weight FROM users, range(3) t(k);
CREATE TABLE deliveries AS SELECT (hash(range*43+:seed)%:users)+1 AS user_id, floor(:snacks*pow((hash(range*47+:seed)%1000000)/1000000.0, 2))::BIGINT+1 AS snack_id,
  (DATE '2026-03-10' - (hash(range*53+:seed)%400)::INT) AS shipped_on FROM range(:users*40);
CREATE TABLE ratings AS SELECT (hash(range*59+:seed)%:users)+1 AS user_id, floor(:snacks*pow((hash(range*61+:seed)%1000000)/1000000.0, 2))::BIGINT+1 AS snack_id,
  (1+hash(range*67+:seed)%5)::INT AS rating, TIMESTAMP '2025-06-01' + to_seconds((hash(range*71+:seed)%2000)::BIGINT*3600) AS rated_at FROM range(:users*20);
CREATE TABLE requests AS SELECT (hash(range*73+:seed)%(:users//10))+1 AS user_id, (hash(range*79+:seed)%:snacks)+1 AS snack_id,
  TIMESTAMP '2026-02-20' + to_seconds((hash(range*83+:seed)%40)::BIGINT*86400) AS requested_at FROM range(:users//5);
CREATE TABLE stock AS SELECT (range%:snacks)+1 AS snack_id, 'L'||(hash(range*101+:seed)%1000) || '-' || range AS lot_id, (hash(range*89+:seed)%300)::INT AS quantity,
  (DATE '2026-03-10' + (hash(range*97+:seed)%90)::INT) AS best_before FROM range(:snacks*3);
