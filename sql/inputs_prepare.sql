-- inputs_prepare: the dense indexes of the catalogue every engine input
-- query joins to, as temp tables in the engine's in-memory database. No
-- parameters.
--
-- Indexes: sidx orders snacks by snack_id, cidx orders categories by byte order,
-- tidx orders the tags that some snack carries. Ties in selection are broken by
-- snack_id, which sidx order preserves. The shipping users (uidx) and their
-- ship dates are computed by the engine from inputs_calendar and
-- inputs_skips; inputs_prepare_users makes the same in SQL for the queries
-- that read eng_users.

CREATE OR REPLACE TEMP TABLE eng_cats AS
SELECT (row_number() OVER (ORDER BY category) - 1)::INTEGER AS cidx, category
FROM (SELECT DISTINCT category FROM snacks);

CREATE OR REPLACE TEMP TABLE eng_snacks AS
SELECT (row_number() OVER (ORDER BY s.snack_id) - 1)::INTEGER AS sidx,
       s.snack_id, c.cidx, s.launched_on, s.active
FROM snacks s JOIN eng_cats c USING (category);

CREATE OR REPLACE TEMP TABLE eng_tags AS
SELECT (row_number() OVER (ORDER BY tag) - 1)::INTEGER AS tidx, tag
FROM (SELECT DISTINCT tag FROM snack_tags);
