-- sidecar_prepare: the dense indexes the engine sidecar (engine/sidecar.go)
-- is written in, as temp tables: sc_cats and sc_snacks number categories and
-- snacks exactly as inputs_prepare's eng_cats and eng_snacks do (they depend
-- on the snapshot alone), sc_users numbers every user by user_id. No
-- parameters.

CREATE OR REPLACE TEMP TABLE sc_cats AS
SELECT (row_number() OVER (ORDER BY category) - 1)::INTEGER AS cidx, category
FROM (SELECT DISTINCT category FROM snacks);

CREATE OR REPLACE TEMP TABLE sc_snacks AS
SELECT (row_number() OVER (ORDER BY s.snack_id) - 1)::INTEGER AS sidx, s.snack_id
FROM snacks s JOIN sc_cats c USING (category);

CREATE OR REPLACE TEMP TABLE sc_users AS
SELECT (row_number() OVER (ORDER BY user_id) - 1)::INTEGER AS ui, user_id
FROM (SELECT DISTINCT user_id FROM users);
