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
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
	// MemoryLimit caps the memory DuckDB's buffer manager uses for the
	// session's queries, in bytes (sorts, joins and aggregates beyond it
	// spill to disk); 0 means DefaultMemoryLimit().
	MemoryLimit int64
	// TempLimit caps what the session spills to disk, in bytes; 0 means
	// twice the memory limit.
	TempLimit int64
}

// RunRef is a run folder the session exposes.
type RunRef struct {
	ID  string
	Dir string
	// Mode is "preassign" or "run".
	Mode     string
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
	// Warnings are problems the session worked around (a damaged run
	// skipped), one line each.
	Warnings []string
	// MemoryLimit and TempLimit are the limits in force, in bytes.
	MemoryLimit, TempLimit int64

	home      *store.Home
	tmpDir    string
	known     *knownSets
	extraDirs []string // run folders outside runs/ the session reads
	// shortageRun is the alias shortage_by_category reads, and
	// shortageProblem why the view is missing when it is.
	shortageRun, shortageProblem string
	// snapTables are the snapshot's table names (snapshotTables).
	snapTables map[string]bool
}

// Open opens a session over home.
func Open(ctx context.Context, home *store.Home, opt Options) (*Session, error) {
	name, path, err := home.Resolve(opt.Snapshot)
	if err != nil {
		return nil, err
	}
	mem, tmpLimit := opt.MemoryLimit, opt.TempLimit
	if mem <= 0 {
		mem = DefaultMemoryLimit()
	}
	if tmpLimit <= 0 {
		tmpLimit = 2 * mem
	}
	// A spill folder of the session's own: DuckDB lets a query read its
	// temporary folder, and what other processes spill under tmp/ is
	// none of its business. It goes when the session closes.
	tmp, err := sessionTmpDir(home)
	if err != nil {
		return nil, err
	}
	db, err := duck.OpenSnapshot(ctx, path, duck.Options{Threads: opt.Threads, TempDir: tmp, MemoryLimit: fmt.Sprintf("%dB", mem)})
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	s := &Session{db: db, Snapshot: name, Runs: map[string]*RunRef{}, home: home, Policy: policy.Default(),
		tmpDir: tmp, MemoryLimit: mem, TempLimit: tmpLimit}
	if err := s.setup(ctx, opt); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// sessionTmpDir makes the session's spill folder under the home's tmp/.
// An account that may read the home but not write it (an analyst querying
// what operations loaded) spills under the system's temporary folder
// instead: querying never needs write access to the home.
func sessionTmpDir(home *store.Home) (string, error) {
	pattern := fmt.Sprintf("%s%d-", QueryTmpPrefix, os.Getpid())
	err := os.MkdirAll(home.TmpDir(), 0o755)
	if err == nil {
		var tmp string
		if tmp, err = os.MkdirTemp(home.TmpDir(), pattern); err == nil {
			return tmp, nil
		}
	}
	if !errors.Is(err, fs.ErrPermission) && !errors.Is(err, syscall.EROFS) {
		return "", fmt.Errorf("create the spill folder: %w", err)
	}
	tmp, terr := os.MkdirTemp("", "assign-"+pattern)
	if terr != nil {
		return "", fmt.Errorf("create the spill folder: %w (and in the system's temporary folder: %v)", err, terr)
	}
	return tmp, nil
}

// QueryTmpPrefix starts the name of a query session's spill folder under
// the home's tmp/, followed by the process id and a dash ('snapshots gc'
// removes the folders of processes that are gone).
const QueryTmpPrefix = store.QueryTmpPrefix

// Close releases the database and removes the session's spill folder.
func (s *Session) Close() error {
	err := s.db.Close()
	if s.tmpDir != "" {
		if rerr := os.RemoveAll(s.tmpDir); err == nil {
			err = rerr
		}
	}
	return err
}

// DB is the session's database, for callers that run their own (trusted)
// queries, such as the report.
func (s *Session) DB() *duck.DB { return s.db }

func (s *Session) setup(ctx context.Context, opt Options) error {
	runs, err := s.home.ListRuns()
	if err != nil {
		return err
	}
	runsRoot := s.home.RunsDir()
	if r, err := filepath.EvalSymlinks(runsRoot); err == nil {
		runsRoot = r
	}
	states := make([]runState, len(runs))
	for i, r := range runs {
		states[i] = inspectRun(r, runsRoot)
	}
	if opt.Run != "" {
		ri, err := s.home.FindRun(opt.Run)
		if err != nil {
			return err
		}
		st := inspectRun(ri, runsRoot)
		if st.problem != "" {
			return fmt.Errorf("run %s cannot be read: %s", ri.ID, st.problem)
		}
		if err := s.attachRun(ctx, AliasLatest, st.ref); err != nil {
			return fmt.Errorf("run %s cannot be read: %w", ri.ID, err)
		}
		s.Runs[AliasLatest] = st.ref
		if !within(runsRoot, st.ref.Dir) {
			s.extraDirs = append(s.extraDirs, st.ref.Dir)
		}
	}
	// Newest first, each alias takes the newest run of its kind that reads
	// well; a damaged run is skipped with a warning.
	for i := len(states) - 1; i >= 0; i-- {
		st := &states[i]
		if st.problem != "" || st.info.Scenario { // no alias names a what-if run
			continue
		}
		var want []string
		if s.Runs[AliasLatest] == nil {
			want = append(want, AliasLatest)
		}
		switch st.ref.Mode {
		case "preassign":
			if s.Runs[AliasPreassign] == nil {
				want = append(want, AliasPreassign)
			}
		case "run":
			if s.Runs[AliasRun] == nil {
				want = append(want, AliasRun)
			}
		}
		var done []string
		for _, alias := range want {
			if err := s.attachRun(ctx, alias, st.ref); err != nil {
				st.problem = err.Error()
				break
			}
			done = append(done, alias)
		}
		if st.problem != "" {
			for _, alias := range done {
				s.detach(ctx, alias)
			}
			for _, alias := range want {
				s.detach(ctx, alias)
			}
			continue
		}
		for _, alias := range done {
			s.Runs[alias] = st.ref
		}
	}
	s.warnDamaged(states)
	if l := s.Runs[AliasLatest]; l != nil && l.Manifest != nil {
		if l.Manifest.Snapshot != "" && l.Manifest.Snapshot != s.Snapshot {
			s.Warnings = append(s.Warnings, fmt.Sprintf("latest.* is run %s, made on snapshot %s, but the tables you query are snapshot %s: joined, they can pair a snack id with another extract's name or category; add --snapshot %s to query the run's own snapshot, or run it again", l.ID, l.Manifest.Snapshot, s.Snapshot, l.Manifest.Snapshot))
		}
		s.Policy = l.Manifest.Policy
	}
	s.Date, s.Days = s.defaultDates(opt)

	if err := s.createRunsTable(ctx, runs, states); err != nil {
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
			return fmt.Errorf("its tables cannot be read (%s)", firstLine(duck.Clean(err).Error()))
		}
	}
	return nil
}

// detach drops an alias's catalog, if it was created.
func (s *Session) detach(ctx context.Context, alias string) {
	_, _ = s.db.Exec(ctx, "DETACH DATABASE IF EXISTS "+duck.Ident(alias))
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
	if p, err := s.shortageParams(ctx); err != nil {
		return err
	} else if p != nil {
		params["shortage_by_category"] = p
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
	runID, runSnap, preID := "NULL", "NULL", "NULL"
	if l := s.Runs[AliasLatest]; l != nil {
		runID = duck.Quote(l.ID)
		if l.Manifest != nil && l.Manifest.Snapshot != "" {
			runSnap = duck.Quote(l.Manifest.Snapshot)
		}
	}
	if r := s.Runs[s.shortageRun]; r != nil {
		preID = duck.Quote(r.ID)
	}
	q := fmt.Sprintf(`CREATE VIEW memory.main.query_params AS SELECT %s AS snapshot, %s AS latest_run, %s::DATE AS date, %d AS days,
  %d AS min_shelf_days, %d AS repeat_window_days, %d AS never_again_rating, %s AS latest_run_snapshot, %s AS shortage_run`,
		duck.Quote(s.Snapshot), runID, duck.Quote(s.Date.String()), s.Days, s.Policy.MinShelfDays, s.Policy.RepeatWindowDays, s.Policy.NeverAgainRating,
		runSnap, preID)
	if _, err := s.db.Exec(ctx, q); err != nil {
		return fmt.Errorf("create view query_params: %w", duck.Clean(err))
	}
	if _, err := s.db.Exec(ctx, "SET search_path = 'snap.main,memory.main'"); err != nil {
		return fmt.Errorf("set search path: %w", duck.Clean(err))
	}
	return nil
}

// shortageParams picks the run shortage_by_category describes: the run
// --run names when it is a preassign, else the newest preassign (the
// shortage of a stock-aware run is 0 by definition, so the newest run of
// any mode would show nothing short after an 'assign run'). Snack names and
// categories come from the snapshot that run was made on: when it is not
// the queried one it is attached read-only, and when it is gone the view
// is left out (hint says why). nil means no view.
func (s *Session) shortageParams(ctx context.Context) (map[string]string, error) {
	alias := AliasPreassign
	if l := s.Runs[AliasLatest]; l != nil && l.Mode == "preassign" {
		alias = AliasLatest
	}
	r := s.Runs[alias]
	if r == nil || !r.has("demand") {
		return nil, nil
	}
	s.shortageRun = alias
	snacks := "snap.main.snacks"
	if snap := r.Manifest.Snapshot; snap != "" && snap != s.Snapshot {
		_, path, err := s.home.Resolve(snap)
		if err != nil {
			s.shortageProblem = fmt.Sprintf("the preassign run %s was made on snapshot %s, which is no longer in the home, so its snacks' names and categories are unknown: run assign preassign again", r.ID, snap)
			return nil, nil
		}
		if _, err := s.db.Exec(ctx, fmt.Sprintf("ATTACH %s AS %s (READ_ONLY)", duck.Quote(path), duck.Ident(runSnapshotCatalog))); err != nil {
			return nil, fmt.Errorf("open snapshot %s of run %s: %w", snap, r.ID, duck.Clean(err))
		}
		snacks = runSnapshotCatalog + ".main.snacks"
	}
	return map[string]string{"run": alias, "snacks": snacks}, nil
}

// runSnapshotCatalog holds the snapshot of shortage_by_category's run when
// it is not the one queried.
const runSnapshotCatalog = "shortage_run_snapshot"

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
	for _, d := range s.extraDirs {
		dirs = append(dirs, duck.Quote(d+string(filepath.Separator)))
	}
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
		"SET autoinstall_known_extensions = false",
		"SET allow_community_extensions = false",
		fmt.Sprintf("SET max_temp_directory_size = '%dB'", s.TempLimit),
		"SET lock_configuration = true",
	}
	for _, st := range stmts {
		if _, err := s.db.Exec(ctx, st); err != nil {
			return fmt.Errorf("lock the session down (%s): %w", st, duck.Clean(err))
		}
	}
	return nil
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
	if !duck.IsCatalog(err) {
		return err
	}
	msg := err.Error()
	for _, alias := range []string{AliasPreassign, AliasRun, AliasLatest} {
		if s.Runs[alias] == nil && strings.Contains(msg, alias+".") {
			return &noRunError{what: alias + ".*", err: err, mode: alias}
		}
	}
	if strings.Contains(msg, "shortage_by_category") {
		if s.shortageProblem != "" {
			return fmt.Errorf("shortage_by_category is not available: %s", s.shortageProblem)
		}
		if s.shortageRun == "" {
			return &noRunError{what: "shortage_by_category", err: err, mode: AliasPreassign}
		}
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

// DefaultMemoryLimit is the memory limit of a session when none is given:
// a quarter of the machine's memory (at least 1 GiB), so one analyst's
// query leaves the machine to everyone else.
func DefaultMemoryLimit() int64 {
	total := totalMemory()
	if total <= 0 {
		return 4 << 30
	}
	return max(total/4, 1<<30)
}

// totalMemory is the machine's memory in bytes (MemTotal), or 0 when it
// cannot be read.
func totalMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
			var kb int64
			if _, err := fmt.Sscan(f[1], &kb); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
