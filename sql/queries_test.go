package queries_test

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/shard"
	queries "github.com/assign-dev/assign/sql"
)

// params are the values a caller passes, by parameter name, shaped as the
// caller shapes them (bare dates where the SQL writes DATE '{{d0}}', DATE
// literals where it writes {{date}}, quoted paths inside read_parquet()).
// The test fails on a file that asks for a name missing here.
func params(dir string) map[string]string {
	pq := func(table string) string { return duck.Quote(filepath.Join(dir, table+".parquet")) }
	return map[string]string{
		"d0": "2026-03-02", "dend": "2026-03-15", "date": "DATE '2026-03-02'", "from": "DATE '2026-03-02'",
		"days": "14", "window": "180", "repeat_window_days": "180", "never_again": "2", "never_again_rating": "2",
		"min_shelf": "21", "min_shelf_days": "21", "new_days": "30", "cap": "2", "fill": "true", "prior_weight": "20",
		"w_pop": "1.0", "w_pref": "0.8", "w_aff": "0.6", "w_nov": "0.3", "mode": "preassign", "shards": "1",
		"base": "2023-01-01", "lo": "0", "hi": "9223372036854775807", "limit": "10", "user_filter": "", "users": "",
		"latest": engine.LatestRatingsTable, "snack_ratings": "drv_snack_ratings", "user_category_ratings": "drv_user_category_ratings",
		"run": "latest", "snacks": "snacks", "names": "snacks",
		"boxes": pq("boxes"), "demand": pq("demand"), "summary": pq("snack_summary"), "short_boxes": pq("short_boxes"),
		"a_boxes": pq("boxes"), "a_demand": pq("demand"), "a_short_boxes": pq("short_boxes"),
		"b_boxes": pq("boxes"), "b_demand": pq("demand"), "b_short_boxes": pq("short_boxes"),
		"a": pq("boxes"), "b": pq("boxes"),
	}
}

// perFile overrides params where one name means another table in a file.
var perFile = map[string]map[string]string{
	"diff_snacks": {"a": "snack_summary", "b": "snack_summary"},
}

// setup are the files whose statements create what later files read, run
// (not only prepared): the snapshot's schema and the engine's scratch
// tables first, the checker's after the run tables exist.
var setup = []string{"schema", "inputs_prepare", "inputs_prepare_users", "check_prepare"}

var placeholder = regexp.MustCompile(`\{\{([a-z_0-9]+)\}\}`)

// TestEveryFileRendersAndPrepares renders every embedded .sql file with
// the parameters its callers pass and has DuckDB prepare each statement
// (parse and bind, never run) against a snapshot's schema, the derived
// rating tables, the engine's and the checker's scratch tables and a run's
// output tables, so
// a typo or a renamed column fails here rather than in a command.
func TestEveryFileRendersAndPrepares(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := params(dir)
	render := func(name string) string {
		t.Helper()
		vals := map[string]string{}
		for _, m := range placeholder.FindAllStringSubmatch(queries.Get(name), -1) {
			v, ok := p[m[1]]
			if o, over := perFile[name][m[1]]; over {
				v, ok = duck.Quote(filepath.Join(dir, o+".parquet")), true
			}
			if !ok {
				t.Fatalf("%s.sql takes {{%s}}, which this test has no value for: add one to params", name, m[1])
			}
			vals[m[1]] = v
		}
		return queries.Render(name, vals)
	}
	exec := func(name string) {
		t.Helper()
		for _, stmt := range statements(render(name)) {
			if _, err := db.Exec(ctx, stmt); err != nil {
				t.Fatalf("%s.sql: %v\n%s", name, err, stmt)
			}
		}
	}
	exec("schema")
	exec("inputs_prepare")
	exec("inputs_prepare_users")
	for _, s := range []string{
		"CREATE TABLE " + engine.LatestRatingsTable + " AS " + queries.Get("derived_latest_ratings"),
		"CREATE TABLE drv_snack_ratings AS " + render("derived_snack_ratings"),
		"CREATE TABLE drv_user_category_ratings AS " + render("derived_user_category_ratings"),
		// A run's output tables (SPEC section 5), empty, as Parquet files and
		// as the views assign query and report read them through.
		`COPY (SELECT DATE '2026-03-02' AS ship_on, 1::BIGINT AS user_id, 1::INTEGER AS position, 1::BIGINT AS snack_id,
			NULL::VARCHAR AS lot_id, 0.5::DOUBLE AS score, false AS requested LIMIT 0) TO ` + p["boxes"] + ` (FORMAT parquet)`,
		`COPY (SELECT DATE '2026-03-02' AS ship_on, 1::BIGINT AS snack_id, 1::INTEGER AS demand, 1::INTEGER AS covered,
			0::INTEGER AS shortage LIMIT 0) TO ` + p["demand"] + ` (FORMAT parquet)`,
		`COPY (SELECT 1::BIGINT AS snack_id, 1::BIGINT AS demand, 1::BIGINT AS stock_usable, 1::BIGINT AS covered,
			0::BIGINT AS shortage LIMIT 0) TO ` + p["summary"] + ` (FORMAT parquet)`,
		`COPY (SELECT DATE '2026-03-02' AS ship_on, 1::BIGINT AS user_id, 8::INTEGER AS box_size, 7::INTEGER AS filled
			LIMIT 0) TO ` + p["short_boxes"] + ` (FORMAT parquet)`,
		"CREATE SCHEMA latest",
		"CREATE VIEW latest.boxes AS FROM read_parquet(" + p["boxes"] + ")",
		"CREATE VIEW latest.demand AS FROM read_parquet(" + p["demand"] + ")",
		"CREATE VIEW latest.snack_summary AS FROM read_parquet(" + p["summary"] + ")",
		"CREATE VIEW latest.short_boxes AS FROM read_parquet(" + p["short_boxes"] + ")",
		"CREATE VIEW ratings_named AS " + render("analytics_ratings_named"),
		// What the checker creates before check_prepare.sql.
		shard.SQLMacros,
		"CREATE TEMP TABLE chk_boxes AS FROM latest.boxes",
		"CREATE TEMP TABLE chk_demand AS FROM latest.demand",
		"CREATE TEMP TABLE chk_summary AS FROM latest.snack_summary",
		"CREATE TEMP TABLE chk_short AS FROM latest.short_boxes",
		"CREATE TEMP TABLE chk_quota AS SELECT 0 AS shard, snack_id, lot_id, quantity FROM stock",
	} {
		if _, err := db.Exec(ctx, s); err != nil {
			t.Fatalf("set up: %v\n%s", err, s)
		}
	}
	exec("check_prepare")
	if _, err := db.Exec(ctx, "CREATE TEMP TABLE chk_chunk AS SELECT ship_on, user_id, box_size FROM chk_short"); err != nil {
		t.Fatal(err) // the slice of users check_pairs.sql looks at
	}

	names := queries.Names()
	if len(names) < 30 {
		t.Fatalf("only %d embedded files: %v", len(names), names)
	}
	for _, name := range names {
		file := name + ".sql"
		t.Run(name, func(t *testing.T) {
			text := queries.Get(name)
			if !strings.HasPrefix(text, "-- ") {
				t.Errorf("%s does not start with a comment saying what it computes", file)
			}
			if slices.Contains(setup, name) {
				return // run above
			}
			for _, stmt := range statements(render(name)) {
				if err := prepare(ctx, db, stmt); err != nil {
					t.Errorf("%s: %v\n%s", file, err, stmt)
				}
			}
		})
	}
}

// prepare has DuckDB parse and bind stmt without running it.
func prepare(ctx context.Context, db *duck.DB, stmt string) error {
	st, err := db.Conn().PrepareContext(ctx, stmt)
	if err != nil {
		return err
	}
	return st.Close()
}

// statements splits a file at semicolons that end a line, the way its
// multi-statement files are written; comment-only pieces are dropped.
func statements(text string) []string {
	var out []string
	for _, s := range strings.Split(text, ";\n") {
		code := false
		for _, line := range strings.Split(s, "\n") {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
				code = true
			}
		}
		if code {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(s), ";"))
		}
	}
	return out
}
