-- A small, readable random extract for tests of query and report, shaped
-- like SPEC section 6: named snacks in 12 categories, Zipf-like demand, and
-- stock thin enough that popular snacks run short. :users, :snacks and :seed
-- are replaced by the caller. Rows go INTO the typed tables of schema.sql.
INSERT INTO snacks SELECT range+1, 
  ['Sea Salt','Smoky','Honey','Chili','Maple','Lemon','Garlic','Cocoa','Vanilla','Wasabi','Truffle','Cinnamon'][1+(hash(range*5+:seed)%12)::INT] || ' ' ||
  ['Crisps','Chocolate','Cookies','Nuts','Jerky','Candy','Crackers','Dried Fruit','Popcorn','Pretzels','Granola','Gummies'][1+(range%12)::INT] || ' ' || (range+1),
  ['chips','chocolate','cookies','nuts','jerky','candy','crackers','dried fruit','popcorn','pretzels','granola','gummies'][1+(range%12)::INT],
  DATE '2023-03-01' + (hash(range*3+:seed) % 1140)::INT, (hash(range*11+:seed)%10) <> 0 FROM range(:snacks);
INSERT INTO snack_tags SELECT DISTINCT snack_id, 'tag'||(hash(snack_id*13+k+:seed)%30) FROM snacks, range(3) t(k) WHERE hash(snack_id+k+:seed)%2=0;
INSERT INTO users SELECT range+1, CASE WHEN hash(range+:seed)%100<85 THEN 'active' WHEN hash(range)%2=0 THEN 'paused' ELSE 'cancelled' END,
  (6 + hash(range*5+:seed)%5)::INT, CASE WHEN hash(range*17+:seed)%2=0 THEN 28 ELSE 14 END::INT,
  DATE '2026-03-02' + (hash(range*19+:seed)%28)::INT - 7 FROM range(:users);
INSERT INTO skips SELECT user_id, next_ship_on + cadence_days FROM users WHERE hash(user_id*23+:seed)%20=0;
INSERT INTO user_ng SELECT DISTINCT user_id, 'tag'||(hash(user_id*29+k+:seed)%30) FROM users, range(2) t(k) WHERE hash(user_id*31+k+:seed)%3=0;
INSERT INTO user_prefs SELECT DISTINCT ON (user_id, category) user_id, ['chips','chocolate','cookies','nuts','jerky','candy','crackers','dried fruit','popcorn','pretzels','granola','gummies'][1+(hash(user_id*37+k+:seed)%12)::INT] AS category,
  (hash(user_id*41+k+:seed)%5)::INT - 2 FROM users, range(2) t(k);
INSERT INTO deliveries SELECT (hash(range*43+:seed)%:users)+1, floor(:snacks*pow((hash(range*47+:seed)%1000000)/1000000.0, 2))::BIGINT+1,
  DATE '2026-03-01' - (hash(range*53+:seed)%400)::INT FROM range(:users*10);
INSERT INTO ratings SELECT (hash(range*59+:seed)%:users)+1, floor(:snacks*pow((hash(range*61+:seed)%1000000)/1000000.0, 3))::BIGINT+1,
  CASE WHEN hash(range*61+:seed)%1000000 < 300000 THEN 4 + (hash(range*67+:seed)%2)::INT ELSE 1 + (hash(range*67+:seed)%5)::INT END,
  TIMESTAMP '2025-06-01' + to_seconds((hash(range*71+:seed)%2000)::BIGINT*3600) FROM range(:users*5);
INSERT INTO requests SELECT (hash(range*73+:seed)%(:users//10+1))+1, (hash(range*79+:seed)%:snacks)+1,
  TIMESTAMP '2026-02-20' + to_seconds((hash(range*83+:seed)%8)::BIGINT*86400) FROM range(:users//20);
INSERT INTO stock SELECT (range%:snacks)+1, 'L'||lpad(((hash(range*101+:seed)%1000))::VARCHAR, 3, '0') || '-' || range,
  (hash(range*89+:seed)%(:users//8+1))::INT, DATE '2026-03-10' + (hash(range*97+:seed)%90)::INT FROM range(:snacks*3);
