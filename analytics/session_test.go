package analytics

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/internal/testhome"
	"github.com/assign-dev/assign/store"
)

// fixture is a home with one snapshot and one 14-day preassign run, built
// once for the package's tests (about a second).
var fixture struct {
	home   *store.Home
	runDir string
	err    error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "analytics-test-")
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	fixture.home, fixture.err = store.Open(dir)
	at := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	if fixture.err == nil {
		_, fixture.err = testhome.WriteSnapshot(ctx, fixture.home, testhome.Small, at, true)
	}
	if fixture.err == nil {
		fixture.runDir, fixture.err = testhome.Preassign(ctx, fixture.home, 14, at)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func openFixture(t *testing.T, opt Options) *Session {
	t.Helper()
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
	s, err := Open(context.Background(), fixture.home, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// query runs sql through Check and Stream and returns its CSV.
func query(t *testing.T, s *Session, sql string) string {
	t.Helper()
	stmts, err := s.Check(sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var buf bytes.Buffer
	for _, st := range stmts {
		if _, err := s.Run(context.Background(), st, &buf, RunOptions{Format: FormatCSV}); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	return buf.String()
}

func TestRefusesEveryKindOfWriteOrEscape(t *testing.T) {
	s := openFixture(t, Options{})
	outside := filepath.Join(t.TempDir(), "secret.csv")
	if err := os.WriteFile(outside, []byte("a\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	inRuns := filepath.Join(fixture.home.RunsDir(), "copied.csv")
	cases := []struct{ sql, what string }{
		{"INSERT INTO snacks SELECT * FROM snacks LIMIT 1", "INSERT"},
		{"UPDATE snacks SET name = 'x'", "UPDATE"},
		{"DELETE FROM stock", "DELETE"},
		{"CREATE TABLE t AS SELECT 1", "CREATE"},
		{"CREATE TEMP TABLE t AS SELECT 1", "CREATE"},
		{"CREATE MACRO m(a) AS a + 1", "CREATE"},
		{"DROP TABLE snacks", "DROP"},
		{"ALTER TABLE snacks ADD COLUMN x INT", "ALTER"},
		{"ATTACH '" + filepath.Join(t.TempDir(), "x.duckdb") + "' AS x", "ATTACH"},
		{"ATTACH ':memory:' AS y", "ATTACH"},
		{"DETACH latest", "DETACH"},
		{"COPY snacks TO '" + inRuns + "'", "COPY"},
		{"COPY (SELECT 1) TO '/tmp/assign-query-test.csv'", "COPY"},
		{"EXPORT DATABASE '" + filepath.Join(fixture.home.RunsDir(), "exp") + "'", "EXPORT"},
		{"INSTALL httpfs", "INSTALL/LOAD"},
		{"LOAD json", "INSTALL/LOAD"},
		{"SET threads = 1", "SET"},
		{"RESET threads", "SET"},
		{"USE memory", "SET"},
		{"SET VARIABLE x = 1", "SET"},
		{"PRAGMA threads = 1", "setting PRAGMA (threads)"},
		{"BEGIN TRANSACTION", "transaction"},
		{"CHECKPOINT", "CHECKPOINT"},
		{"CALL duckdb_settings()", "CALL"},
		{"PREPARE p AS SELECT 1", "PREPARE"},
		{"VACUUM", "VACUUM"},
		{"PIVOT snacks ON category", "expands into several"},
		{"EXPLAIN ANALYZE COPY (SELECT 1) TO '" + inRuns + "'", "COPY"},
		{"SELECT 1; DROP TABLE snacks", "DROP"},
		{"SELECT * FROM read_csv('" + outside + "')", outside},
		{"SELECT * FROM read_text('/etc/hostname')", "/etc/hostname"},
		{"SELECT * FROM glob('/etc/*')", "/etc/*"},
		{"SELECT * FROM read_parquet('" + fixture.home.RunsDir() + "/../snapshots/x.parquet')", "snapshots"},
		// Functions with side effects are refused by name before anything
		// is bound (enable_logging acts when bound), wherever they hide.
		{"SELECT * FROM enable_logging(storage = 'file', storage_path = '" + filepath.Join(fixture.home.RunsDir(), "logs") + "'); SELECT 1", "enable_logging()"},
		{"SELECT * FROM enable_logging(storage = 'file', storage_path = '/tmp/assign-query-test-logs')", "enable_logging()"},
		{"SELECT * FROM system.main.enable_logging()", "enable_logging()"},
		{"SELECT (SELECT count(*) FROM enable_logging()) AS x", "enable_logging()"},
		{"WITH x AS (SELECT * FROM disable_logging()) SELECT 1", "disable_logging()"},
		{"SELECT write_log('x')", "write_log()"},
		{"SELECT list_transform([1], x -> write_log('a'))", "write_log()"},
		{"SELECT name.write_log() FROM snacks", "write_log()"},
		{"SELECT * FROM checkpoint()", "checkpoint()"},
		{"SELECT * FROM force_checkpoint()", "force_checkpoint()"},
		{"SELECT * FROM truncate_duckdb_logs()", "truncate_duckdb_logs()"},
		{"SELECT * FROM query('SELECT * FROM enable_logging()')", "query()"},
		{"SELECT * FROM query_table('snacks')", "query_table()"},
		{"SELECT * FROM json_execute_serialized_sql('x')", "json_execute_serialized_sql()"},
		{"SELECT json_serialize_plan('SELECT * FROM enable_logging()')", "json_serialize_plan()"},
		{"SELECT nextval('s')", "nextval()"},
		{"SELECT setseed(0.5)", "setseed()"},
		{"SELECT __internal_decompress_string(1::UBIGINT)", "__internal_decompress_string()"},
		{"SELECT * FROM arrow_scan(1, 2, 3)", "arrow_scan()"},
		{"SELECT * FROM histogram_values('snacks', snack_id)", "histogram_values()"},
		{"SELECT * FROM snacks WHERE snack_id IN (SELECT * FROM enable_logging())", "enable_logging()"},
		{"PRAGMA enable_profiling", "PRAGMA enable_profiling"},
		{"PRAGMA import_database('" + fixture.home.RunsDir() + "')", "PRAGMA import_database"},
		{"PRAGMA enable_logging", "PRAGMA enable_logging"},
	}
	for _, c := range cases {
		_, err := s.Check(c.sql)
		var r *RefusedError
		if !errors.As(err, &r) {
			t.Errorf("%s: want a refusal, got %v", c.sql, err)
			continue
		}
		if !strings.Contains(err.Error(), c.what) || !strings.HasPrefix(err.Error(), "refused ") {
			t.Errorf("%s: refusal %q does not name %q", c.sql, err, c.what)
		}
	}
	if _, err := os.Stat(inRuns); err == nil {
		t.Errorf("a refused COPY wrote %s", inRuns)
	}
	// The first statement of a refused pair did not run either: nothing
	// changed, the snapshot still has its snacks.
	if got := query(t, s, "SELECT count(*) > 0 AS ok FROM snacks"); got != "ok\ntrue\n" {
		t.Errorf("snacks after refusals: %q", got)
	}
}

func TestAllowsQueries(t *testing.T) {
	s := openFixture(t, Options{})
	for _, sql := range []string{
		"SELECT 1", "FROM snacks LIMIT 1", "WITH x AS (SELECT 1 AS a) SELECT * FROM x", "VALUES (1)",
		"DESCRIBE snacks", "SHOW TABLES", "SUMMARIZE stock", "PRAGMA table_info('snacks')",
		"EXPLAIN SELECT * FROM latest.boxes", "EXPLAIN ANALYZE SELECT count(*) FROM latest.demand",
		"PIVOT snacks ON active IN (true, false) USING count(*) GROUP BY category",
		"SELECT count(*) FROM read_parquet('" + fixture.home.RunsDir() + "/*/demand.parquet')",
		"SELECT * FROM runs", "SELECT * FROM query_params",
		// What analysts write: windows, lambdas, grouping sets, pivots,
		// series, JSON, regexes, dates, structs, lists and maps.
		"SELECT snack_id, row_number() OVER (PARTITION BY category ORDER BY snack_id) AS r, lag(snack_id) OVER w FROM snacks WINDOW w AS (ORDER BY snack_id) QUALIFY r <= 2",
		"SELECT category, grouping(category) AS g, count(*) FROM snacks GROUP BY ROLLUP (category)",
		"SELECT list_transform([1, 2, 3], x -> x * 2) AS l, [x + 1 FOR x IN [1, 2] IF x > 1] AS c, {'a': 1}.a AS s, MAP {'k': 1}['k'] AS m",
		"SELECT extract(year FROM launched_on), date_trunc('month', launched_on), strftime(launched_on, '%Y-%m') FROM snacks",
		"SELECT regexp_matches(name, '^A'), name ILIKE '%nut%', lower(name) || '!' , coalesce(NULL, 1), CAST('1' AS INTEGER), TRY_CAST('x' AS INTEGER) FROM snacks",
		"SELECT * FROM range(10) t(i), generate_series(1, 3) g(j) WHERE i % 2 = 0",
		"SELECT unnest([1, 2, 3]) AS x, snack_id.abs() AS y FROM snacks",
		"SELECT COLUMNS('snack_.*'), * EXCLUDE (name) FROM snacks",
		"UNPIVOT (SELECT 1 AS a, 2 AS b) ON a, b INTO NAME k VALUE v",
		"WITH RECURSIVE t(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM t WHERE i < 5) SELECT sum(i) FROM t",
		"SELECT json_extract('{\"a\": 1}', '$.a'), to_json({'a': 1}), quantile_cont(snack_id, 0.5) FROM snacks",
		"SELECT * FROM json_each('{\"a\": 1}')",
		"SELECT * FROM duckdb_tables()", "SELECT * FROM duckdb_functions() LIMIT 1", "SELECT * FROM pragma_table_info('snacks')",
		"SHOW snacks", "DESCRIBE SELECT 1 AS x", "SUMMARIZE SELECT 1 AS x", "PRAGMA show_tables", "PRAGMA version",
		"SELECT * FROM snacks USING SAMPLE 10 ROWS", "SELECT histogram(category) FROM snacks",
		"SELECT current_setting('threads'), getvariable('x'), typeof(1), version(), json_serialize_sql('SELECT 1')",
	} {
		if _, err := s.Check(sql); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
	}
	if _, err := s.Check("SELECT * FROM no_such_table"); err == nil || errors.As(err, new(*RefusedError)) {
		t.Errorf("an unknown table: want a plain error, got %v", err)
	}
}

// The views agree with the run they describe: usable_stock on D0 is the
// run's stock_usable, user_eligibility's shipping users are the run's
// users on D0, and shortage_by_category adds up to the run's shortage.
func TestViewsAgreeWithTheRun(t *testing.T) {
	s := openFixture(t, Options{})
	if got := query(t, s, `SELECT count(*) AS mismatches FROM latest.snack_summary m
		JOIN usable_stock u ON u.snack_id = m.snack_id AND u.ship_on = (SELECT date FROM query_params)
		WHERE u.usable_units <> m.stock_usable`); got != "mismatches\n0\n" {
		t.Errorf("usable_stock vs snack_summary.stock_usable: %q", got)
	}
	if got := query(t, s, `SELECT (SELECT count(*) FROM user_eligibility WHERE ships) =
		(SELECT count(DISTINCT user_id) FROM (SELECT user_id FROM latest.boxes WHERE ship_on = DATE '2026-03-02'
		 UNION SELECT user_id FROM latest.short_boxes WHERE ship_on = DATE '2026-03-02')) AS same`); got != "same\ntrue\n" {
		t.Errorf("user_eligibility ships vs the run's users on D0: %q", got)
	}
	// With stock ignored and the fill pass on, a box on the first date
	// holds min(box_size, eligible snacks): the engine's boxes and the
	// view's counts must agree user by user.
	if got := query(t, s, `WITH filled AS (
		SELECT user_id, count(*) AS n FROM latest.boxes WHERE ship_on = DATE '2026-03-02' GROUP BY user_id)
		SELECT count(*) AS mismatches
		FROM user_eligibility e LEFT JOIN filled f USING (user_id)
		WHERE e.ships AND coalesce(f.n, 0) <> least(e.box_size, e.eligible_snacks)`); got != "mismatches\n0\n" {
		t.Errorf("user_eligibility vs the boxes of the first date: %q", got)
	}
	if got := query(t, s, `SELECT (SELECT sum(shortage) FROM shortage_by_category) = (SELECT shortage_units FROM runs WHERE run_id = (SELECT latest_run FROM query_params)) AS same`); got != "same\ntrue\n" {
		t.Errorf("shortage_by_category vs the run's shortage: %q", got)
	}
	if got := query(t, s, `SELECT (SELECT count(*) FROM ratings_named) = (SELECT count(*) FROM (SELECT DISTINCT user_id, snack_id FROM ratings)) AS same`); got != "same\ntrue\n" {
		t.Errorf("ratings_named is not one row per rated pair: %q", got)
	}
	// A user never has more eligible snacks than active, launched ones.
	if got := query(t, s, `SELECT count(*) AS bad FROM user_eligibility WHERE eligible_snacks > (SELECT count(*) FROM snacks WHERE active AND launched_on <= DATE '2026-03-02') OR eligible_snacks < 0`); got != "bad\n0\n" {
		t.Errorf("user_eligibility out of range: %q", got)
	}
}

func TestLatestAliasesAndDates(t *testing.T) {
	s := openFixture(t, Options{Date: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), Days: 3})
	if got := query(t, s, "SELECT date, days, min_shelf_days FROM query_params"); got != "date,days,min_shelf_days\n2026-03-09,3,21\n" {
		t.Errorf("query_params: %q", got)
	}
	if got := query(t, s, "SELECT min(ship_on) AS a, max(ship_on) AS b FROM usable_stock"); got != "a,b\n2026-03-09,2026-03-11\n" {
		t.Errorf("usable_stock range: %q", got)
	}
	if s.Runs[AliasLatest] == nil || s.Runs[AliasPreassign] == nil || s.Runs[AliasRun] != nil {
		t.Fatalf("aliases: %+v", s.Runs)
	}
	if s.Runs[AliasLatest].ID != s.Runs[AliasPreassign].ID {
		t.Errorf("latest %s != latest_preassign %s", s.Runs[AliasLatest].ID, s.Runs[AliasPreassign].ID)
	}
	_, err := s.Check("SELECT * FROM latest_run.boxes")
	if err == nil || err.Error() != "latest_run.* needs a run, and the home has none of that kind yet: run 'assign run --date D' first" {
		t.Errorf("latest_run without a run: %v", err)
	}
}

// A snapshot without the derived latest_ratings table still has
// ratings_named, computed inline, with the same rows.
func TestRatingsNamedWithoutDerivedTable(t *testing.T) {
	sz := testhome.Small
	sz.Derived = false
	name, err := testhome.WriteSnapshot(context.Background(), fixture.home, sz, time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC), false)
	if err != nil {
		t.Fatal(err)
	}
	plain := openFixture(t, Options{Snapshot: name})
	derived := openFixture(t, Options{})
	if !strings.Contains(strings.Join(plain.Warnings, " "), "made on snapshot") {
		t.Errorf("no warning that latest.* comes from another snapshot: %q", plain.Warnings)
	}
	q := "SELECT user_id, snack_id, rating FROM ratings_named ORDER BY user_id, snack_id"
	a, b := query(t, plain, q), query(t, derived, q)
	if a != b || len(a) < 100 {
		t.Errorf("ratings_named differs without the derived table (%d vs %d bytes)", len(a), len(b))
	}
}

func TestRunByID(t *testing.T) {
	id := filepath.Base(fixture.runDir)
	s := openFixture(t, Options{Run: id})
	if s.Runs[AliasLatest].ID != id {
		t.Errorf("latest = %s, want %s", s.Runs[AliasLatest].ID, id)
	}
	if _, err := Open(context.Background(), fixture.home, Options{Run: "nope"}); err == nil || !strings.Contains(err.Error(), `run "nope" not found`) {
		t.Errorf("unknown run: %v", err)
	}
}

func TestWritablePathOnly(t *testing.T) {
	dir := t.TempDir()
	allowed := filepath.Join(dir, "out.parquet")
	s := openFixture(t, Options{WritablePaths: []string{allowed}})
	stmts, err := s.Check("SELECT snack_id, name FROM snacks ORDER BY snack_id")
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.CopyParquet(context.Background(), stmts[0], allowed)
	if err != nil || n != int64(testhome.Small.Snacks) {
		t.Fatalf("CopyParquet = %d, %v", n, err)
	}
	if _, err := s.CopyParquet(context.Background(), stmts[0], filepath.Join(dir, "other.parquet")); err == nil {
		t.Error("CopyParquet wrote a path it was not given")
	}
}
