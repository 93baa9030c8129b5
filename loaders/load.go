// Package loaders validates a nightly extract (SPEC section 2) and writes it
// into a new immutable snapshot database of the data home.
//
// Every table is read by DuckDB's own readers (read_csv with every column as
// text, read_parquet, read_json_objects) or, for Arrow IPC files, from Go as
// record batches. Each file becomes a temporary table of typed values and a
// per-row mask of broken rules, computed set-wise in one SQL pass; the text
// rules of SPEC section 4 are enforced with patterns before TRY_CAST settles
// range and calendar validity, because DuckDB's casts are more lenient.
// Duplicates and references are then found with SQL over those tables, and
// only rows passing every rule are copied into the snapshot.
//
// Positions and original values of invalid rows are computed only on that
// rare path (re-reading the few files at fault with Go), so valid loads pay
// nothing for them.
package loaders

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/assign-dev/assign/atomicfs"
	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	queries "github.com/assign-dev/assign/sql"
	"github.com/assign-dev/assign/store"
)

// SchemaVersion is recorded in assign_meta; it changes when sql/schema.sql
// changes incompatibly.
const SchemaVersion = 1

// DefaultMemoryLimit bounds DuckDB's memory during a load; beyond it DuckDB
// spills to the home's tmp folder instead of failing.
const DefaultMemoryLimit = "4GB"

// DefaultMaxShown is how many violations a failed load reports.
const DefaultMaxShown = 20

// Options configures one load.
type Options struct {
	Dir string
	// Extract, when set, is the extract to load instead of discovering
	// Dir (a database source, see Feed); its Meta is recorded in the
	// snapshot instead of source_dir.
	Extract *Extract
	Home    *store.Home
	// Name is the snapshot name; empty picks a fresh snap-<time> name.
	Name string
	// NoSwitch keeps CURRENT as it is.
	NoSwitch bool
	// SkipUnchanged loads nothing when the extract's content checksum equals
	// the current snapshot's: the Result then has Unchanged set and names
	// the current snapshot.
	SkipUnchanged bool
	// RejectFile, when set, receives the invalid rows (CSV, see RejectHeader)
	// and the valid rest is loaded; otherwise any invalid row fails the load.
	RejectFile string
	Now        func() time.Time
	Version    string
	Threads    int
	// MemoryLimit is DuckDB's memory_limit; empty means DefaultMemoryLimit.
	MemoryLimit string
	// MaxShown bounds ValidationError.Shown; 0 means DefaultMaxShown.
	MaxShown int
	// Progress, when set, is told about each table: steps done out of total;
	// a last step named "derived ratings" writes the rating statistics.
	Progress func(table string, done, total int)
	Logger   *slog.Logger
}

// TableResult describes one table of a load.
type TableResult struct {
	Table    string
	Source   string // "users.csv", "users/"; empty when absent
	Format   string // csv, parquet, jsonl, arrow, mixed
	Files    int
	Rows     int64 // loaded
	Rejected int64 // rows set aside (reject file)
	Absent   bool
}

// Result describes a successful load.
type Result struct {
	Snapshot   string
	Path       string
	Current    bool
	Tables     []TableResult
	Notes      []string
	RejectFile string
	Rejected   int64 // rows
	Violations int64 // lines of the reject file
	// CascadeRows of the Rejected rows were rejected only because rows
	// they refer to were, with CascadeViolations of the Violations.
	CascadeRows, CascadeViolations int64
	// FirstRejects are the first violations set aside, for a summary.
	FirstRejects []Violation
	Elapsed      time.Duration
	// Checksum is the extract's content checksum, recorded in the snapshot
	// (assign_meta key MetaChecksum).
	Checksum string
	// Unchanged reports a load skipped by Options.SkipUnchanged: Snapshot is
	// the current snapshot, whose extract had the same checksum.
	Unchanged bool
	// SameAs lists the earlier snapshots loaded from an extract with the
	// same content checksum: this load duplicated them.
	SameAs []string
}

type loader struct {
	opts     Options
	db       *duck.DB
	ex       *Extract
	log      *slog.Logger
	reject   *rejectWriter
	maxShown int

	surveyed    map[string]*fileSurvey
	tables      []TableResult
	shown       []Violation // defects
	shownRefs   []Violation // rows refused for a rejected row they refer to
	violations  int64
	badRows     int64
	cascadeRows int64
	cascadeVios int64
	stagedViews map[string]string
	loadID      string // assign_meta.load_id, named by the engine sidecar
	sidecar     string // where the engine sidecar goes
}

// firstShown is the violations a report shows: defects first, then rows
// refused only for a rejected row they refer to, maxShown in all.
func (l *loader) firstShown() []Violation {
	out := append([]Violation(nil), l.shown...)
	return append(out, l.shownRefs[:min(len(l.shownRefs), l.maxShown-len(out))]...)
}

// Load validates the extract in opts.Dir and writes it as a new snapshot.
// Only a fully valid load (or, with a reject file, the valid rows) becomes a
// snapshot; on any error nothing in the home changes. A load killed at any
// moment leaves only a .tmp- file that no command reads.
func Load(ctx context.Context, opts Options) (res *Result, err error) {
	start := time.Now()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MemoryLimit == "" {
		opts.MemoryLimit = DefaultMemoryLimit
	}
	if opts.MaxShown <= 0 {
		opts.MaxShown = DefaultMaxShown
	}
	ex := opts.Extract
	if ex == nil {
		if ex, err = Discover(opts.Dir); err != nil {
			return nil, err
		}
	}
	unlock, err := opts.Home.LockLoad()
	if err != nil {
		return nil, err
	}
	defer unlock()
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}

	// Go reads every file once before DuckDB does: for the content checksum,
	// and to count and measure the records of text files, so that a file
	// DuckDB would misread is refused with its line, and a row DuckDB would
	// drop cannot go unnoticed.
	t0 := time.Now()
	surveyed, err := survey(ctx, ex, threads)
	opts.Logger.Debug("extract surveyed", "elapsed", time.Since(t0).Round(time.Millisecond))
	if err != nil {
		if ctx.Err() != nil {
			return nil, errors.New("load interrupted before it finished: the home is unchanged")
		}
		return nil, err
	}
	for _, t := range Tables {
		if src := ex.Sources[t.Name]; src != nil {
			for _, f := range src.Files {
				if fs := surveyed[f.Path]; fs != nil && f.Feed == nil {
					if err := shapeProblem(t, f, fs.shape); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	checksum := checksumOf(ex, surveyed)
	var same sameSnapshots
	if checksum != "" {
		if same, err = sameContent(ctx, opts.Home, checksum); err != nil {
			return nil, err
		}
	}
	if opts.SkipUnchanged && same.current != "" {
		return &Result{Snapshot: same.current, Path: opts.Home.SnapshotPath(same.current), Current: true,
			Unchanged: true, Checksum: checksum, Elapsed: time.Since(start)}, nil
	}

	var pending *store.PendingSnapshot
	if opts.Name != "" {
		pending, err = opts.Home.NewNamedPendingSnapshot(opts.Name)
	} else {
		pending, err = opts.Home.NewPendingSnapshot(opts.Now())
	}
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			pending.Abort()
			if ctx.Err() != nil {
				err = errors.New("load interrupted before it finished: the home is unchanged")
			}
		}
	}()
	tmp := opts.Home.LoadTmpDir(os.Getpid())
	if err := os.MkdirAll(tmp, atomicfs.DirPerm); err != nil {
		return nil, fmt.Errorf("create spill folder: %w", err)
	}
	defer os.RemoveAll(tmp)

	l := &loader{opts: opts, ex: ex, log: opts.Logger, maxShown: opts.MaxShown, stagedViews: map[string]string{}, surveyed: surveyed,
		loadID: newLoadID(), sidecar: pending.SidecarPath()}
	if opts.RejectFile != "" {
		if l.reject, err = newRejectWriter(opts.RejectFile); err != nil {
			return nil, err
		}
		defer func() {
			if !committed {
				l.reject.abort()
			}
		}()
	}
	l.db, err = duck.OpenMemory(ctx, duck.Options{Threads: threads, MemoryLimit: opts.MemoryLimit, TempDir: tmp})
	if err != nil {
		return nil, err
	}
	dbOpen := true
	defer func() {
		if dbOpen {
			l.db.Close()
		}
	}()
	if err := l.createSnapshot(ctx, pending.Path); err != nil {
		return nil, err
	}
	for _, t := range Tables {
		t0 := time.Now()
		if err := l.loadTable(ctx, t); err != nil {
			return nil, err
		}
		l.log.Debug("table loaded", "table", t.Name, "elapsed", time.Since(t0).Round(time.Millisecond))
	}
	if l.violations > 0 && l.reject == nil {
		return nil, &ValidationError{Shown: l.firstShown(), Total: l.violations, Rows: l.badRows, CascadeRows: l.cascadeRows, CascadeValues: l.cascadeVios}
	}
	res = &Result{Snapshot: pending.Name, Path: opts.Home.SnapshotPath(pending.Name), Current: !opts.NoSwitch,
		Tables: l.tables, Notes: ex.Notes, Rejected: l.badRows, Violations: l.violations, FirstRejects: l.firstShown(),
		CascadeRows: l.cascadeRows, CascadeViolations: l.cascadeVios, Checksum: checksum, SameAs: same.all}
	if len(same.all) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("the extract has the same content as snapshot %s (checksum %s), so this load duplicates it; 'assign load --skip-unchanged' skips a load whose extract equals the current snapshot's",
			strings.Join(same.all, ", "), checksum))
	}
	if err := l.writeMeta(ctx, pending.Name, res); err != nil {
		return nil, err
	}
	t0 = time.Now()
	if err := l.derive(ctx); err != nil {
		return nil, fmt.Errorf("write snapshot %s: %w", pending.Name, err)
	}
	l.log.Debug("derived rating tables", "elapsed", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	if _, err := l.db.Exec(ctx, "CHECKPOINT snap"); err != nil {
		return nil, fmt.Errorf("write snapshot %s: %w", pending.Name, duck.Clean(err))
	}
	if _, err := l.db.Exec(ctx, "DETACH snap"); err != nil {
		return nil, fmt.Errorf("write snapshot %s: %w", pending.Name, duck.Clean(err))
	}
	dbOpen = false
	if err := l.db.Close(); err != nil {
		return nil, fmt.Errorf("close snapshot %s: %w", pending.Name, duck.Clean(err))
	}
	l.log.Debug("snapshot checkpointed", "elapsed", time.Since(t0).Round(time.Millisecond))
	if l.reject != nil {
		if err := l.reject.commit(); err != nil {
			return nil, err
		}
		res.RejectFile = opts.RejectFile
	}
	if err := pending.Commit(!opts.NoSwitch); err != nil {
		return nil, err
	}
	committed = true
	res.Elapsed = time.Since(start)
	return res, nil
}

// derive stores the rating statistics every planning job reads (latest
// ratings, per user and category, per snack; see engine.DeriveTables) in the
// snapshot, so they are computed once per extract instead of once per job.
func (l *loader) derive(ctx context.Context) error {
	if l.opts.Progress != nil {
		l.opts.Progress("derived ratings", 0, 1)
	}
	if _, err := l.db.Exec(ctx, "USE snap"); err != nil {
		return duck.Clean(err)
	}
	err := engine.DeriveTables(ctx, l.db)
	if err == nil {
		err = l.writeSidecar(ctx)
	}
	if _, err2 := l.db.Exec(ctx, "USE memory"); err == nil && err2 != nil {
		err = duck.Clean(err2)
	}
	if err == nil && l.opts.Progress != nil {
		l.opts.Progress("derived ratings", 1, 1)
	}
	return err
}

// MetaLoadID is the assign_meta key of the random id of the load that
// wrote a snapshot; the engine sidecar names it, so a sidecar left by
// another load is never read as this snapshot's.
const MetaLoadID = "load_id"

func newLoadID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// writeSidecar writes the snapshot's engine sidecar (engine.WriteSidecar):
// the per-user inputs planning jobs read without moving rows out of
// DuckDB. It is optional: a snapshot without one is planned through SQL,
// so a failure is logged and the load goes on. An interrupted load stops
// here as at any other step (ctx's error), without a warning.
func (l *loader) writeSidecar(ctx context.Context) error {
	t0 := time.Now()
	err := engine.WriteSidecar(ctx, l.db, l.sidecar, l.loadID)
	switch {
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, engine.ErrNoSidecar):
		l.log.Info("no engine sidecar: planning jobs read this snapshot through SQL", "reason", err)
	case err != nil:
		l.log.Warn("engine sidecar not written: planning jobs read this snapshot through SQL", "err", err)
	default:
		l.log.Debug("engine sidecar written", "path", l.sidecar, "elapsed", time.Since(t0).Round(time.Millisecond))
	}
	return nil
}

// createSnapshot attaches the pending file and creates the schema in it.
// Staging tables stay in the in-memory catalog (spilling under tmp/), so the
// snapshot file holds only what is loaded.
func (l *loader) createSnapshot(ctx context.Context, path string) error {
	stmts := []string{
		fmt.Sprintf("ATTACH %s AS snap", duck.Quote(path)),
		"USE snap",
		queries.Get("schema"),
		"USE memory",
	}
	for _, s := range stmts {
		if _, err := l.db.Exec(ctx, s); err != nil {
			return fmt.Errorf("create snapshot database %s: %w", path, duck.Clean(err))
		}
	}
	return nil
}

// referenced lists the tables other tables point to; their staged rows are
// kept until the end to word cascaded rejections.
func referenced(name string) bool {
	for _, t := range Tables {
		for _, r := range t.Refs {
			if r.To == name {
				return true
			}
		}
	}
	return false
}

func (l *loader) progress(table string, done, total int) {
	if l.opts.Progress != nil {
		l.opts.Progress(table, done, total)
	}
}

func (l *loader) loadTable(ctx context.Context, t Table) error {
	src := l.ex.Sources[t.Name]
	if src == nil {
		l.tables = append(l.tables, TableResult{Table: t.Name, Absent: true})
		l.progress(t.Name, 1, 1)
		return nil
	}
	tr := &tableRun{t: t, src: src}
	steps := len(src.Files) + 2
	l.progress(t.Name, 0, steps)
	for i, f := range src.Files {
		t0 := time.Now()
		var shape *textShape
		if fs := l.surveyed[f.Path]; fs != nil && f.Feed == nil {
			shape = fs.shape
		}
		sf, err := stageFile(ctx, l.db, t, f, shape, i, fmt.Sprintf("ld_%s_%d", t.Name, i))
		if err != nil {
			return err
		}
		tr.files = append(tr.files, sf)
		tr.rows += sf.rows
		l.log.Debug("file staged", "file", f.Rel, "rows", sf.rows, "elapsed", time.Since(t0).Round(time.Millisecond))
		l.progress(t.Name, i+1, steps)
	}
	if err := tr.buildView(ctx, l.db); err != nil {
		return fmt.Errorf("table %s: %w", t.Name, err)
	}
	for _, e := range tr.extras {
		q := fmt.Sprintf("ALTER TABLE snap.main.%s ADD COLUMN %s %s", duck.Ident(t.Name), duck.Ident(e.Name), e.Type)
		if _, err := l.db.Exec(ctx, q); err != nil {
			return fmt.Errorf("table %s: keep extra column %s: %w", t.Name, e.Name, duck.Clean(err))
		}
	}
	t0 := time.Now()
	if err := tr.findDuplicates(ctx, l.db); err != nil {
		return fmt.Errorf("table %s: check keys: %w", t.Name, err)
	}
	if err := tr.insert(ctx, l.db); err != nil {
		return fmt.Errorf("table %s: copy into the snapshot: %w", t.Name, err)
	}
	l.log.Debug("table checked and copied", "table", t.Name, "rows", tr.loaded, "elapsed", time.Since(t0).Round(time.Millisecond))
	l.progress(t.Name, steps-1, steps)
	if tr.view != "" {
		l.stagedViews[t.Name] = tr.view
	}
	if err := tr.countBad(ctx, l.db); err != nil {
		return fmt.Errorf("table %s: count invalid rows: %w", t.Name, err)
	}
	if err := tr.countRefs(ctx, l.db, l.stagedViews); err != nil {
		return fmt.Errorf("table %s: check references: %w", t.Name, err)
	}
	if tr.violations > 0 {
		if err := l.record(ctx, tr); err != nil {
			return fmt.Errorf("table %s: %w", t.Name, err)
		}
	}
	l.tables = append(l.tables, TableResult{Table: t.Name, Source: src.Name, Format: src.Format(), Files: len(src.Files),
		Rows: tr.loaded, Rejected: tr.rows - tr.loaded})
	if !referenced(t.Name) {
		l.drop(ctx, tr)
	}
	l.progress(t.Name, steps, steps)
	return nil
}

// record lists the violations of a table: into the reject file, or the
// first ones into the error report.
func (l *loader) record(ctx context.Context, tr *tableRun) error {
	l.violations += tr.violations
	l.badRows += tr.rows - tr.loaded
	l.cascadeRows += tr.cascadeRows
	l.cascadeVios += tr.cascadeViols
	limit := -1
	if l.reject == nil {
		// Each table lists up to maxShown, so that its defects are found
		// even behind many rows of it referring to rejected rows.
		if len(l.shown) >= l.maxShown {
			return nil
		}
		limit = l.maxShown
	}
	entries, err := tr.listEntries(ctx, l.db, limit, l.stagedViews)
	if err != nil {
		return fmt.Errorf("list invalid rows: %w", duck.Clean(err))
	}
	vs, err := tr.violationsOf(ctx, l.db, entries, limit)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if l.reject != nil {
			if err := l.reject.write(v); err != nil {
				return fmt.Errorf("write reject file %s: %w", l.opts.RejectFile, err)
			}
		}
		switch {
		case !v.Cascade && len(l.shown) < l.maxShown:
			l.shown = append(l.shown, v)
		case v.Cascade && len(l.shownRefs) < l.maxShown:
			l.shownRefs = append(l.shownRefs, v)
		}
	}
	return nil
}

// drop frees a table's staging once nothing needs it.
func (l *loader) drop(ctx context.Context, tr *tableRun) {
	ctx = context.WithoutCancel(ctx)
	if tr.view != "" {
		_, _ = l.db.Exec(ctx, "DROP VIEW IF EXISTS "+tr.view)
	}
	_, _ = l.db.Exec(ctx, "DROP TABLE IF EXISTS "+tr.dupTable())
	for _, sf := range tr.files {
		_, _ = l.db.Exec(ctx, "DROP TABLE IF EXISTS "+sf.tmp)
	}
}

// writeMeta records what the snapshot is and where every table came from.
func (l *loader) writeMeta(ctx context.Context, name string, res *Result) error {
	meta := [][2]string{
		{"snapshot", name},
		{"created_at", l.opts.Now().UTC().Format(time.RFC3339)},
		{MetaLoadID, l.loadID},
	}
	if l.opts.Extract == nil {
		src, _ := filepath.Abs(l.opts.Dir)
		meta = append(meta, [2]string{"source_dir", src})
	} else {
		for _, k := range slices.Sorted(maps.Keys(l.opts.Extract.Meta)) {
			meta = append(meta, [2]string{k, l.opts.Extract.Meta[k]})
		}
	}
	meta = append(meta, [][2]string{
		{"assign_version", l.opts.Version},
		{"schema_version", strconv.Itoa(SchemaVersion)},
		{"rows_rejected", strconv.FormatInt(res.Rejected, 10)},
	}...)
	if res.Checksum != "" {
		meta = append(meta, [2]string{MetaChecksum, res.Checksum})
	}
	if l.opts.RejectFile != "" {
		abs, _ := filepath.Abs(l.opts.RejectFile)
		meta = append(meta, [2]string{"reject_file", abs})
	}
	var mv []string
	for _, kv := range meta {
		mv = append(mv, fmt.Sprintf("(%s, %s)", duck.Quote(kv[0]), duck.Quote(kv[1])))
	}
	var tv []string
	for _, t := range res.Tables {
		tv = append(tv, fmt.Sprintf("(%s, %s, %s, %d, %d, %d, %t)", duck.Quote(t.Table), duck.Quote(t.Source), duck.Quote(t.Format), t.Files, t.Rows, t.Rejected, t.Absent))
	}
	stmts := []string{
		"CREATE TABLE snap.main.assign_meta (key VARCHAR NOT NULL, value VARCHAR NOT NULL)",
		"INSERT INTO snap.main.assign_meta VALUES " + strings.Join(mv, ", "),
		"CREATE TABLE snap.main.assign_tables (table_name VARCHAR NOT NULL, source VARCHAR NOT NULL, format VARCHAR NOT NULL, files INTEGER NOT NULL, rows BIGINT NOT NULL, rejected BIGINT NOT NULL, absent BOOLEAN NOT NULL)",
		"INSERT INTO snap.main.assign_tables VALUES " + strings.Join(tv, ", "),
	}
	for _, s := range stmts {
		if _, err := l.db.Exec(ctx, s); err != nil {
			return fmt.Errorf("write snapshot metadata: %w", duck.Clean(err))
		}
	}
	return nil
}
