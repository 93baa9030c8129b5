// Package analytics opens the read-only SQL session behind `assign query`
// and `assign report`: a snapshot attached read-only, views of run outputs
// (latest.*, latest_preassign.*, latest_run.*), a runs table, and the
// convenience views of sql/analytics_*.sql. After the views exist the
// session locks file access down to the home's runs folder and freezes its
// configuration, and Check refuses every statement that is not a query, so
// user SQL can neither write nor read outside the home.
package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/results"
	queries "github.com/assign-dev/assign/sql"
	"github.com/assign-dev/assign/store"
)

// Run-output aliases: catalogs holding one view per output table of a run.
const (
	// AliasLatest is the run chosen by Options.Run, else the newest run.
	AliasLatest = "latest"
	// AliasPreassign is the newest preassign run.
	AliasPreassign = "latest_preassign"
	// AliasRun is the newest run-mode (stock-aware) run.
	AliasRun = "latest_run"
)

// RunTables are the output tables a run folder may hold, in display order.
var RunTables = []string{"boxes", "demand", "snack_summary", "short_boxes", "picks"}

// ConvenienceViews are the views built from sql/analytics_<name>.sql.
var ConvenienceViews = []string{"usable_stock", "user_eligibility", "ratings_named", "shortage_by_category"}

// Options configure a session.
type Options struct {
	// Snapshot is the snapshot name; empty means the current one.
	Snapshot string
	// Run is the run id (or run folder path) that `latest` names; empty
	// means the newest run of any mode.
	Run string
	// Date is the date of date-dependent views; zero means the first date
	// of the `latest` run, else Now's date.
	Date time.Time
	// Days is the number of dates usable_stock covers; 0 means the `latest`
	// run's horizon, else 7.
	Days int
	// Threads is DuckDB's worker count; 0 means all cores.
	Threads int
	// WritablePaths are files the session may write after lock-down (the
	// temporary file of a parquet export); everything else is read-only.
	WritablePaths []string
	// Now is the clock for the default date.
	Now func() time.Time
}

// RunRef is a run folder the session exposes.
type RunRef struct {
	ID       string
	Dir      string
	Manifest *plan.Manifest
	// Tables are the output tables present in the folder.
	Tables []string
}

// Session is an open read-only analytics session. It is not safe for
// concurrent use (one DuckDB connection).
type Session struct {
	db *duck.DB
	// Snapshot is the name of the attached snapshot.
	Snapshot string
	// Runs maps each alias to its run; an alias without a run is absent.
	Runs map[string]*RunRef
	// Date, Days and Policy are the parameters of the date-dependent views.
	Date   engine.Day
	Days   int
	Policy policy.Policy
	// Notes are things the user should know (a run made on another snapshot).
	Notes []string
	home  *store.Home
}

// Open opens a session over home.
func Open(ctx context.Context, home *store.Home, opt Options) (*Session, error) {
	name, path, err := home.Resolve(opt.Snapshot)
	if err != nil {
		return nil, err
	}
	db, err := duck.OpenSnapshot(ctx, path, duck.Options{Threads: opt.Threads, TempDir: home.TmpDir()})
	if err != nil {
		return nil, err
	}
	s := &Session{db: db, Snapshot: name, Runs: map[string]*RunRef{}, home: home, Policy: policy.Default()}
	if err := s.setup(ctx, opt); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the database.
func (s *Session) Close() error { return s.db.Close() }

// DB is the session's database, for callers that run their own (trusted)
// queries, such as the report.
func (s *Session) DB() *duck.DB { return s.db }

func (s *Session) setup(ctx context.Context, opt Options) error {
	runs, err := s.home.ListRuns()
	if err != nil {
		return err
	}
	manifests := make([]*plan.Manifest, len(runs))
	for i, r := range runs {
		manifests[i], _ = readManifest(r.Dir) // an unreadable manifest only loses that run's row details
	}
	if len(runs) > 0 || opt.Run != "" {
		ri, err := s.home.FindRun(opt.Run)
		if err != nil {
			return err
		}
		if s.Runs[AliasLatest], err = newRunRef(ri); err != nil {
			return err
		}
	}
	for i := len(runs) - 1; i >= 0; i-- {
		alias := ""
		switch runs[i].Mode {
		case "preassign":
			alias = AliasPreassign
		case "run":
			alias = AliasRun
		}
		if alias == "" || runs[i].Scenario || s.Runs[alias] != nil {
			continue
		}
		if s.Runs[alias], err = newRunRef(runs[i]); err != nil {
			return err
		}
	}
	if l := s.Runs[AliasLatest]; l != nil && l.Manifest != nil {
		if l.Manifest.Snapshot != "" && l.Manifest.Snapshot != s.Snapshot {
			s.Notes = append(s.Notes, fmt.Sprintf("latest.* is run %s, made on snapshot %s; the tables you query are snapshot %s", l.ID, l.Manifest.Snapshot, s.Snapshot))
		}
		s.Policy = l.Manifest.Policy
	}
	s.Date, s.Days = s.defaultDates(opt)

	for _, alias := range []string{AliasLatest, AliasPreassign, AliasRun} {
		if r := s.Runs[alias]; r != nil {
			if err := s.attachRun(ctx, alias, r); err != nil {
				return err
			}
		}
	}
	if err := s.createRunsTable(ctx, runs, manifests); err != nil {
		return err
	}
	if err := s.createViews(ctx); err != nil {
		return err
	}
	return s.lockDown(ctx, opt.WritablePaths)
}

func (s *Session) defaultDates(opt Options) (engine.Day, int) {
	l := s.Runs[AliasLatest]
	var d engine.Day
	switch {
	case !opt.Date.IsZero():
		d = engine.DayOf(opt.Date)
	case l != nil && l.Manifest != nil && l.Manifest.Dates.From != "":
		if t, err := time.Parse("2006-01-02", l.Manifest.Dates.From); err == nil {
			d = engine.DayOf(t)
			break
		}
		fallthrough
	default:
		now := time.Now
		if opt.Now != nil {
			now = opt.Now
		}
		d = engine.DayOf(now())
	}
	days := opt.Days
	if days <= 0 {
		days = 7
		if l != nil && l.Manifest != nil && l.Manifest.Dates.Days > 0 {
			days = l.Manifest.Dates.Days
		}
	}
	return d, days
}

func newRunRef(ri store.RunInfo) (*RunRef, error) {
	m, err := readManifest(ri.Dir)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", ri.ID, err)
	}
	r := &RunRef{ID: ri.ID, Dir: ri.Dir, Manifest: m}
	for _, t := range RunTables {
		if _, ok := results.ParquetPath(ri.Dir, t); ok {
			r.Tables = append(r.Tables, t)
		}
	}
	if len(r.Tables) == 0 {
		return nil, fmt.Errorf("run %s in %s holds no Parquet tables: it was written with --no-save or by another version; run preassign again", ri.ID, ri.Dir)
	}
	return r, nil
}

func readManifest(dir string) (*plan.Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, store.ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var m plan.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s is not valid JSON: %w", filepath.Join(dir, store.ManifestFile), err)
	}
	return &m, nil
}

// attachRun creates an in-memory catalog named alias with one view per
// table of the run. Views read the Parquet files at query time, so opening
// a session costs nothing per run row.
func (s *Session) attachRun(ctx context.Context, alias string, r *RunRef) error {
	stmts := []string{fmt.Sprintf("ATTACH ':memory:' AS %s", duck.Ident(alias))}
	for _, t := range r.Tables {
		path, _ := results.ParquetPath(r.Dir, t)
		stmts = append(stmts, fmt.Sprintf("CREATE VIEW %s.main.%s AS SELECT * FROM read_parquet(%s)",
			duck.Ident(alias), duck.Ident(t), duck.Quote(path)))
	}
	for _, st := range stmts {
		if _, err := s.db.Exec(ctx, st); err != nil {
			return fmt.Errorf("expose run %s as %s: %w", r.ID, alias, duck.Clean(err))
		}
	}
	return nil
}

// createViews creates the convenience views and query_params in the
// in-memory catalog, which the search path puts after the snapshot, so
// both are reachable unqualified.
func (s *Session) createViews(ctx context.Context) error {
	latest, err := s.latestRatings(ctx)
	if err != nil {
		return err
	}
	date := duck.Quote(s.Date.String()) + "::DATE"
	params := map[string]map[string]string{
		"usable_stock":     {"date": date, "days": fmt.Sprint(s.Days), "min_shelf_days": fmt.Sprint(s.Policy.MinShelfDays)},
		"user_eligibility": {"date": date, "repeat_window_days": fmt.Sprint(s.Policy.RepeatWindowDays), "never_again_rating": fmt.Sprint(s.Policy.NeverAgainRating), "latest": latest},
		"ratings_named":    {"latest": latest},
	}
	if s.Runs[AliasLatest] != nil && s.Runs[AliasLatest].has("demand") {
		params["shortage_by_category"] = map[string]string{"run": AliasLatest}
	}
	for _, v := range ConvenienceViews {
		p, ok := params[v]
		if !ok {
			continue
		}
		q := queries.Render("analytics_"+v, p)
		if _, err := s.db.Exec(ctx, fmt.Sprintf("CREATE VIEW memory.main.%s AS %s", duck.Ident(v), q)); err != nil {
			return fmt.Errorf("create view %s: %w", v, duck.Clean(err))
		}
	}
	runID := "NULL"
	if l := s.Runs[AliasLatest]; l != nil {
		runID = duck.Quote(l.ID)
	}
	q := fmt.Sprintf(`CREATE VIEW memory.main.query_params AS SELECT %s AS snapshot, %s AS latest_run, %s::DATE AS date, %d AS days,
  %d AS min_shelf_days, %d AS repeat_window_days, %d AS never_again_rating`,
		duck.Quote(s.Snapshot), runID, duck.Quote(s.Date.String()), s.Days, s.Policy.MinShelfDays, s.Policy.RepeatWindowDays, s.Policy.NeverAgainRating)
	if _, err := s.db.Exec(ctx, q); err != nil {
		return fmt.Errorf("create view query_params: %w", duck.Clean(err))
	}
	if _, err := s.db.Exec(ctx, "SET search_path = 'snap.main,memory.main'"); err != nil {
		return fmt.Errorf("set search path: %w", duck.Clean(err))
	}
	return nil
}

func (r *RunRef) has(table string) bool {
	for _, t := range r.Tables {
		if t == table {
			return true
		}
	}
	return false
}

// latestRatings names the relation of latest ratings: the snapshot's
// derived table when the load wrote it, else the same query inline.
func (s *Session) latestRatings(ctx context.Context) (string, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = 'snap' AND schema_name = 'main' AND table_name = ?`, engine.LatestRatingsTable).Scan(&n)
	if err != nil {
		return "", fmt.Errorf("inspect snapshot tables: %w", duck.Clean(err))
	}
	if n > 0 {
		return "snap.main." + engine.LatestRatingsTable, nil
	}
	return "(" + queries.Get("derived_latest_ratings") + ")", nil
}

// lockDown limits file access to the runs folder (and the given writable
// files), disables everything else that reaches outside, and freezes the
// configuration so user SQL cannot undo it.
func (s *Session) lockDown(ctx context.Context, writable []string) error {
	dirs := []string{duck.Quote(s.home.RunsDir() + string(filepath.Separator))}
	paths := make([]string, 0, len(writable))
	for _, p := range writable {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("output file %s: %w", p, err)
		}
		paths = append(paths, duck.Quote(abs))
	}
	stmts := []string{
		"SET allowed_directories = [" + strings.Join(dirs, ", ") + "]",
		"SET allowed_paths = [" + strings.Join(paths, ", ") + "]",
		"SET enable_external_access = false",
		"SET autoload_known_extensions = false",
		"SET lock_configuration = true",
	}
	for _, st := range stmts {
		if _, err := s.db.Exec(ctx, st); err != nil {
			return fmt.Errorf("lock the session down (%s): %w", st, duck.Clean(err))
		}
	}
	return nil
}

// Stream runs a checked statement and hands its schema and then each Arrow
// record batch, in order, to w. Results are never materialised whole, so
// any size streams. The caller closes w.
func (s *Session) Stream(ctx context.Context, st Statement, w ResultWriter) error {
	if err := s.db.QueryArrowSchema(ctx, st.SQL, w.Begin, w.Write); err != nil {
		return s.explainError(err)
	}
	return nil
}

// CopyParquet writes the result of a checked query to path with DuckDB's
// COPY, which streams and compresses in parallel. path must be one of the
// session's WritablePaths. It returns the rows written.
func (s *Session) CopyParquet(ctx context.Context, st Statement, path string) (int64, error) {
	if st.Explain {
		return 0, errors.New("EXPLAIN returns a plan, not a table: use --format table or csv")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, err
	}
	res, err := s.db.Exec(ctx, fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false)", st.SQL, duck.Quote(abs)))
	if err != nil {
		return 0, s.explainError(err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// explainError adds a hint to errors about missing run views.
func (s *Session) explainError(err error) error {
	err = duck.Clean(err)
	if msg := err.Error(); strings.Contains(msg, "\n") {
		err = &oneLineError{msg: sqlMessage(msg), err: err}
	}
	return s.hint(err)
}

// hint replaces DuckDB's "does not exist" for the run views by what is
// missing and how to get it; other errors pass unchanged.
func (s *Session) hint(err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "Catalog Error") {
		return err
	}
	for _, alias := range []string{AliasPreassign, AliasRun, AliasLatest} {
		if s.Runs[alias] == nil && strings.Contains(msg, alias+".") {
			return &noRunError{what: alias + ".*", err: err, mode: alias}
		}
	}
	if s.Runs[AliasLatest] == nil && strings.Contains(msg, "shortage_by_category") {
		return &noRunError{what: "shortage_by_category", err: err, mode: AliasLatest}
	}
	return err
}

// noRunError says a run view was used in a home without such a run.
type noRunError struct {
	what, mode string
	err        error
}

func (e *noRunError) Error() string {
	how := "run 'assign preassign --date D' (or 'assign run --date D') first"
	switch e.mode {
	case AliasPreassign:
		how = "run 'assign preassign --date D' first"
	case AliasRun:
		how = "run 'assign run --date D' first"
	}
	return fmt.Sprintf("%s needs a run, and the home has none of that kind yet: %s", e.what, how)
}

func (e *noRunError) Unwrap() error { return e.err }
