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

	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/internal/testhome"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/store"
)

// Every function DuckDB has is on a list: allowed, or refused with a
// reason. A DuckDB upgrade that brings new functions fails here until
// someone decides about them (until then they are refused).
func TestEveryDuckDBFunctionIsReviewed(t *testing.T) {
	s := openFixture(t, Options{})
	known, err := s.knownFunctions()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range sortedKeys(known.table) {
		if !allowedTableFunctions[n] && refusedTableFunctions[n] == "" {
			t.Errorf("table function %s is on neither list in functions.go", n)
		}
	}
	for _, n := range sortedKeys(known.scalar) {
		if !allowedFunctions[n] && refusedScalarFunctions[n] == "" && !strings.HasPrefix(n, "__internal") {
			t.Errorf("function %s is neither in allowed_functions.txt nor in refusedScalarFunctions", n)
		}
	}
	// The lists name nothing DuckDB lacks (a typo would allow nothing and
	// refuse nothing).
	for n := range allowedTableFunctions {
		if !known.table[n] {
			t.Errorf("allowed table function %s is unknown to DuckDB", n)
		}
	}
	for n := range allowedFunctions {
		if !known.scalar[n] && !windowFunctions[n] {
			t.Errorf("allowed function %s is unknown to DuckDB", n)
		}
	}
}

// enable_logging acts when it is bound, so the old check (prepare, then
// look at the statement type) wrote log files into the home, and a path
// outside the home aborted the process. Now nothing is bound, nothing is
// written, and the SELECT after it does not run either.
func TestEnableLoggingWritesNothing(t *testing.T) {
	s := openFixture(t, Options{})
	logs := filepath.Join(fixture.home.RunsDir(), "logs")
	_, err := s.Query(context.Background(), "SELECT * FROM enable_logging(storage = 'file', storage_path = '"+logs+"', storage_normalize = false); SELECT 1", &bytes.Buffer{}, RunOptions{Format: FormatCSV})
	var r *RefusedError
	if !errors.As(err, &r) || !strings.Contains(err.Error(), "enable_logging() in statement 1: it writes log files") {
		t.Fatalf("want a refusal of enable_logging, got %v", err)
	}
	// Another statement afterwards would flush a log; none must exist.
	var out bytes.Buffer
	if _, err := s.Query(context.Background(), "SELECT count(*) AS n FROM snacks", &out, RunOptions{Format: FormatCSV}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(logs); !os.IsNotExist(err) {
		t.Errorf("the refused enable_logging created %s (%v)", logs, err)
	}
}

// A symbolic link under runs/ that leads outside it makes every read by
// path refusable: DuckDB checks the path it is given, not where it leads.
// The home's tmp/ is not readable except the session's own spill folder.
func TestSymlinksOutOfRunsAndTmp(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	runs := fixture.home.RunsDir()
	dirLink, fileLink := filepath.Join(runs, "x"), filepath.Join(runs, "h")
	if err := os.Symlink(outside, dirLink); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(dirLink)
	s := openFixture(t, Options{})
	for _, sql := range []string{
		"SELECT * FROM read_text('" + dirLink + "/secret.txt')",
		"SELECT * FROM glob('" + runs + "/*/*')",
		"SELECT * FROM read_text('" + runs + "/*/secret.txt')",
		"SELECT count(*) FROM '" + runs + "/x/secret.txt'",
	} {
		_, err := s.Check(sql)
		var r *RefusedError
		if !errors.As(err, &r) || !strings.Contains(err.Error(), "symbolic link to "+outside) {
			t.Errorf("%s: want a refusal naming the link, got %v", sql, err)
		}
	}
	// A query that reads no file by path still runs; so do the run views.
	for _, sql := range []string{"SELECT count(*) FROM snacks", "SELECT count(*) FROM latest.demand"} {
		if _, err := s.Check(sql); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
	}
	os.Remove(dirLink)
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), fileLink); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(fileLink)
	if _, err := s.Check("SELECT * FROM read_text('" + fileLink + "')"); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a file link out of runs/: %v", err)
	}
	os.Remove(fileLink)
	// A link that stays inside runs/ is fine.
	inside := filepath.Join(runs, "same")
	if err := os.Symlink(fixture.runDir, inside); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(inside)
	if got := query(t, s, "SELECT count(*) > 0 AS ok FROM read_parquet('"+inside+"/demand.parquet')"); got != "ok\ntrue\n" {
		t.Errorf("a link inside runs/: %q", got)
	}

	// tmp/: another process's spill file is out of reach.
	other := filepath.Join(fixture.home.TmpDir(), "secret.txt")
	if err := os.WriteFile(other, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(other)
	for _, sql := range []string{"SELECT * FROM read_text('" + other + "')", "SELECT * FROM glob('" + fixture.home.TmpDir() + "/*')"} {
		var r *RefusedError
		if _, err := s.Check(sql); !errors.As(err, &r) {
			t.Errorf("%s: want a refusal, got %v", sql, err)
		}
	}
	dir := s.tmpDir
	if !strings.HasPrefix(filepath.Base(dir), QueryTmpPrefix) || filepath.Dir(dir) != fixture.home.TmpDir() {
		t.Errorf("spill folder %s", dir)
	}
	s.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the spill folder %s outlived its session", dir)
	}
}

// newHome is a home of its own with a snapshot, for tests that add runs.
func newHome(t *testing.T) (*store.Home, string) {
	t.Helper()
	h, name, err := testhome.OpenSmall(context.Background(), t.TempDir(), time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return h, name
}

// planRun runs mode over 7 days at the given clock time (run ids sort by it).
func planRun(t *testing.T, h *store.Home, mode engine.Mode, at time.Time) string {
	t.Helper()
	out, err := plan.Execute(context.Background(), h, plan.Request{
		Mode: mode, D0: engine.DayOf(testhome.D0), Days: 7, Policy: policy.Default(), Threads: 2,
		Now: func() time.Time { return at }, Version: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.RunDir
}

func openHome(t *testing.T, h *store.Home, opt Options) *Session {
	t.Helper()
	s, err := Open(context.Background(), h, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// After preassign then run (the README tour), shortage_by_category still
// describes the preassign: the run's shortage is 0 by definition.
func TestShortageByCategoryReadsThePreassign(t *testing.T) {
	h, _ := newHome(t)
	at := time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)
	pre := planRun(t, h, engine.Preassign, at)
	planRun(t, h, engine.Assign, at.Add(time.Minute))
	s := openHome(t, h, Options{})
	if s.Runs[AliasLatest].Mode != "run" {
		t.Fatalf("latest is %s, want the run", s.Runs[AliasLatest].ID)
	}
	got := query(t, s, `SELECT (SELECT sum(shortage) FROM shortage_by_category) AS view,
		(SELECT shortage_units FROM runs WHERE run_id = (SELECT shortage_run FROM query_params)) AS run,
		(SELECT shortage_run FROM query_params) = '`+filepath.Base(pre)+`' AS is_pre`)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[1], ",true") {
		t.Fatalf("shortage_by_category: %q", got)
	}
	f := strings.Split(lines[1], ",")
	if f[0] != f[1] || f[0] == "0" {
		t.Errorf("shortage_by_category sums to %s, the preassign's shortage is %s (want equal, > 0)", f[0], f[1])
	}
}

// A preassign made on another snapshot: shortage_by_category names its
// snacks from the run's own snapshot, not the queried one; when that
// snapshot is gone the view says why instead of showing wrong names. A
// one-line warning says latest.* comes from another snapshot.
func TestShortageByCategoryOfAnotherSnapshot(t *testing.T) {
	h, first := newHome(t)
	at := time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)
	planRun(t, h, engine.Preassign, at)
	want := query(t, openHome(t, h, Options{}), "FROM shortage_by_category")

	// A new snapshot whose snacks have other names and categories.
	sz := testhome.Small
	sz.Seed = 99
	second, err := testhome.WriteSnapshot(context.Background(), h, sz, at.Add(time.Hour), true)
	if err != nil {
		t.Fatal(err)
	}
	s := openHome(t, h, Options{})
	if s.Snapshot != second {
		t.Fatalf("queried snapshot %s, want %s", s.Snapshot, second)
	}
	if got := query(t, s, "FROM shortage_by_category"); got != want {
		t.Errorf("shortage_by_category on a newer snapshot:\n%s\nwant (names of the run's snapshot):\n%s", got, want)
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "made on snapshot "+first) || strings.Contains(s.Warnings[0], "\n") {
		t.Errorf("warnings: %q", s.Warnings)
	}
	// Joining the run with the newer snapshot's tables is refused (names
	// of one extract on ids of another); the run alone, a CTE that happens
	// to be named like a table, and the run's own snapshot are fine.
	for _, q := range []string{
		"SELECT s.name, d.shortage FROM latest.demand d JOIN snacks s USING (snack_id)",
		"SELECT count(*) FROM latest.demand WHERE snack_id IN (SELECT snack_id FROM snap.main.stock)",
		"FROM latest_preassign.demand d, usable_stock u WHERE d.snack_id = u.snack_id",
	} {
		if _, err := s.Check(q); err == nil || !strings.Contains(err.Error(), "add --snapshot "+first) {
			t.Errorf("%s: %v, want a refusal naming snapshot %s", q, err, first)
		}
	}
	for _, q := range []string{"SELECT count(*) FROM latest.demand", "SELECT count(*) FROM snacks",
		"WITH snacks AS (FROM latest.demand) SELECT count(*) FROM snacks"} {
		if _, err := s.Check(q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	own := openHome(t, h, Options{Snapshot: first})
	if _, err := own.Check("SELECT s.name, d.shortage FROM latest.demand d JOIN snacks s USING (snack_id)"); err != nil {
		t.Errorf("the run with its own snapshot: %v", err)
	}

	if err := os.Remove(h.SnapshotPath(first)); err != nil {
		t.Fatal(err)
	}
	s = openHome(t, h, Options{})
	_, err = s.Check("FROM shortage_by_category")
	if err == nil || !strings.Contains(err.Error(), "made on snapshot "+first+", which is no longer in the home") {
		t.Errorf("shortage_by_category without the run's snapshot: %v", err)
	}
}

// A damaged run (a cut demand.parquet, a manifest that is not JSON) is
// skipped with one warning line naming it; every query still works, and
// --run picks an older run.
func TestDamagedRunsAreSkipped(t *testing.T) {
	h, _ := newHome(t)
	at := time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)
	good := planRun(t, h, engine.Preassign, at)
	cut := planRun(t, h, engine.Preassign, at.Add(time.Minute))
	badManifest := planRun(t, h, engine.Assign, at.Add(2*time.Minute))
	p := filepath.Join(cut, "demand.parquet")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(badManifest, store.ManifestFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openHome(t, h, Options{})
	if got := query(t, s, "SELECT count(*) > 0 AS ok FROM snacks"); got != "ok\ntrue\n" {
		t.Errorf("snacks: %q", got)
	}
	if s.Runs[AliasLatest] == nil || s.Runs[AliasLatest].Dir != good || s.Runs[AliasPreassign].Dir != good || s.Runs[AliasRun] != nil {
		t.Errorf("aliases: %+v", s.Runs)
	}
	if len(s.Warnings) != 2 {
		t.Fatalf("warnings: %q", s.Warnings)
	}
	for i, dir := range []string{badManifest, cut} {
		w := s.Warnings[i]
		if !strings.Contains(w, "skipped run "+filepath.Base(dir)) || strings.Contains(w, "\n") {
			t.Errorf("warning %d: %q", i, w)
		}
	}
	if !strings.Contains(s.Warnings[1], "demand.parquet is damaged") || !strings.Contains(s.Warnings[0], "manifest.json is not valid JSON") {
		t.Errorf("warnings do not say what is wrong: %q", s.Warnings)
	}
	if got := query(t, s, "SELECT count(*) FILTER (WHERE problem IS NOT NULL) AS damaged FROM runs"); got != "damaged\n2\n" {
		t.Errorf("runs.problem: %q", got)
	}
	if got := query(t, s, "SELECT count(*) > 0 AS ok FROM latest.demand"); got != "ok\ntrue\n" {
		t.Errorf("latest.demand: %q", got)
	}
	// --run names the good run even with damaged newer ones; naming a
	// damaged run says what is wrong with it.
	if s := openHome(t, h, Options{Run: filepath.Base(good)}); s.Runs[AliasLatest].Dir != good {
		t.Errorf("--run good: %s", s.Runs[AliasLatest].Dir)
	}
	if _, err := Open(context.Background(), h, Options{Run: filepath.Base(cut)}); err == nil || !strings.Contains(err.Error(), "demand.parquet is damaged") {
		t.Errorf("--run of a damaged run: %v", err)
	}
}

func TestEscapeControl(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                    "plain",
		"Crème brûlée 🍮":           "Crème brûlée 🍮",
		"a\x1b[31mred\x1b[0m":      `a\x1b[31mred\x1b[0m`,
		"two\nlines\tand\r":        `two\nlines\tand\r`,
		"bell\x07 del\x7f":         `bell\x07 del\x7f`,
		"c1 \u0085 bidi \u202eabc": `c1 \u0085 bidi \u202eabc`,
		"bad \xff utf8":            `bad \xff utf8`,
		`back\slash`:               `back\slash`,
	} {
		if got := EscapeControl(in); got != want {
			t.Errorf("EscapeControl(%q) = %q, want %q", in, got, want)
		}
	}
}

// Control characters in values and names reach a table escaped, and csv
// and json unchanged.
func TestTableEscapesControlCharacters(t *testing.T) {
	s := openFixture(t, Options{})
	sql := "SELECT 'a' || chr(27) || '[2J' || chr(10) || 'b' AS \"x" + "\x1b" + "y\""
	stmts, err := s.Check(sql)
	if err != nil {
		t.Fatal(err)
	}
	for format, want := range map[string]string{
		FormatTable:    `a\x1b[2J\nb`,
		FormatMarkdown: `a\x1b[2J b`,
		FormatCSV:      "a\x1b[2J\nb",
		FormatJSONL:    `"a\u001b[2J\nb"`,
	} {
		var out bytes.Buffer
		if _, err := s.Run(context.Background(), stmts[0], &out, RunOptions{Format: format}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("%s: %q does not hold %q", format, out.String(), want)
		}
		if (format == FormatTable || format == FormatMarkdown) && strings.ContainsRune(out.String(), 0x1b) {
			t.Errorf("%s: a raw escape reaches the output: %q", format, out.String())
		}
	}
}

// The session's limits end a query with a LimitError: memory (DuckDB's
// buffer manager, then the disk it may spill to), and time (the context
// ends the query mid-flight).
func TestLimits(t *testing.T) {
	s := openFixture(t, Options{MemoryLimit: 64 << 20, TempLimit: 1 << 20})
	stmts, err := s.Check("SELECT count(*) FROM (SELECT DISTINCT i FROM range(6000000) t(i))")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Run(context.Background(), stmts[0], &bytes.Buffer{}, RunOptions{Format: FormatCSV})
	var le *LimitError
	if !errors.As(err, &le) || (le.Limit != "memory" && le.Limit != "temp") || strings.Contains(err.Error(), "\n") {
		t.Errorf("memory: %v", err)
	}
	stmts, err = s.Check("WITH RECURSIVE t(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM t) SELECT count(*) FROM t")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.Run(context.Background(), stmts[0], &bytes.Buffer{}, RunOptions{Format: FormatCSV, Timeout: 300 * time.Millisecond})
	if !errors.As(err, &le) || le.Limit != "time" || err.Error() != "the query ran longer than the time limit of 300ms and was stopped" {
		t.Errorf("time: %v", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the time limit took %s to stop the query", d)
	}
	// The session still works.
	if got := query(t, s, "SELECT 1 AS one"); got != "one\n1\n" {
		t.Errorf("after the limits: %q", got)
	}
}

// failAfter fails every write after n bytes, as a closed pipe or a full
// disk would.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// A writer that fails stops the query: the error is the writer's, and
// DuckDB does not go on producing rows nobody reads.
func TestWriterErrorStopsTheQuery(t *testing.T) {
	s := openFixture(t, Options{})
	stmts, err := s.Check("SELECT i, 'row ' || i AS label FROM range(1000000000) t(i)")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := s.Run(context.Background(), stmts[0], &failAfter{n: 1 << 20}, RunOptions{Format: FormatCSV})
	if err == nil || !strings.Contains(err.Error(), "write the result: disk full") {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if d := time.Since(start); d > 30*time.Second || res.Rows > 10000000 {
		t.Errorf("the query went on after the writer failed: %d rows, %s", res.Rows, d)
	}
}

// --run may name a run folder outside the home (preassign --out DIR): the
// session may read that folder too, and only it.
func TestRunFolderOutsideTheHome(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "forecast")
	if err := os.CopyFS(dir, os.DirFS(fixture.runDir)); err != nil {
		t.Fatal(err)
	}
	s := openFixture(t, Options{Run: dir})
	if got := query(t, s, "SELECT count(*) > 0 AS ok FROM latest.demand"); got != "ok\ntrue\n" {
		t.Errorf("latest.demand of a run folder outside the home: %q", got)
	}
	if got := query(t, s, "SELECT count(*) > 0 AS ok FROM read_parquet('"+dir+"/demand.parquet')"); got != "ok\ntrue\n" {
		t.Errorf("reading the run folder by path: %q", got)
	}
	var r *RefusedError
	if _, err := s.Check("SELECT * FROM read_text('" + filepath.Dir(dir) + "/*')"); !errors.As(err, &r) {
		t.Errorf("the folder around the run: want a refusal, got %v", err)
	}
	link := filepath.Join(dir, "etc")
	if err := os.Symlink("/etc", link); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Check("SELECT * FROM read_text('" + link + "/hostname')"); !errors.As(err, &r) || !strings.Contains(err.Error(), "symbolic link to /etc") {
		t.Errorf("a link out of the run folder: want a refusal, got %v", err)
	}
}
