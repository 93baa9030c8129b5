// Package plan runs a whole planning job: open a snapshot read-only, load the
// engine inputs with SQL, choose the boxes, and write the output tables and a
// manifest into a run folder that appears atomically. Commands, the report
// and the benchmark harness all go through Execute.
package plan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/assign-dev/assign/atomicfs"
	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/internal/hugeheap"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/results"
	"github.com/assign-dev/assign/shard"
	"github.com/assign-dev/assign/store"
)

// Request describes one job.
type Request struct {
	Mode     engine.Mode
	Snapshot string // name; empty = current
	D0       engine.Day
	Days     int
	Policy   policy.Policy
	Threads  int
	// OutDir, when set, receives a copy of the tables in OutFormat (plus the
	// manifest) besides the run folder.
	OutDir    string
	OutFormat string
	// NoSave skips the run folder (the tables go to OutDir only).
	NoSave bool
	// Flags are recorded in the manifest as given.
	Flags map[string]any
	// Stage, when set, is told when each phase starts (for progress display).
	Stage func(name string)
	// Progress, when set, receives box progress.
	Progress func(done, total int)
	Now      func() time.Time
	Version  string
	// Logger receives debug timings; nil discards them.
	Logger *slog.Logger
	// Scenario, when set, makes the job a what-if scenario: Adjust changes
	// the engine inputs after they are loaded (the snapshot is never
	// copied or written), the run folder is marked as a scenario (never what
	// "latest" names) and the manifest records Scenario.
	Scenario *Scenario
	// Adjust, when set, changes the inputs before the engine runs (a
	// scenario's stock changes).
	Adjust func(in *engine.Inputs) error

	// Shard, when sharded, plans only the shard's users and writes a part
	// folder into OutDir (see package shard) instead of a run; ShardSource
	// says where the shard came from (recorded in the part).
	Shard       shard.Spec
	ShardSource string
	// MemoryLimit is DuckDB's memory_limit for the job (empty: DuckDB's
	// default).
	MemoryLimit string
	// QuotaFrom names, for a run-mode shard, the merged preassign of the
	// job (a run id of the home or a run folder) whose per-shard demand
	// splits every lot among the shards (see QuotaFor).
	QuotaFrom string
	// QuotaRef names the stock quota of a run-mode shard (recorded in the
	// part, compared by the merge); Execute fills it from QuotaFrom.
	QuotaRef *shard.QuotaRef
	// Allocator is run mode's allocator; MaxPhases the optimal allocator's
	// exchange-phase limit per date (0: the default).
	Allocator engine.Allocator
	MaxPhases int64
	// GapTolerance is the optimal allocator's stopping gap per date, a
	// fraction of the date's bound (0: exact; see engine.Options).
	GapTolerance float64
}

// Outcome is what a job produced.
type Outcome struct {
	Result   *engine.Result
	Manifest *Manifest
	RunDir   string // empty when NoSave
	OutDir   string
	// Part and PartDir describe the part folder a shard wrote (Manifest,
	// RunDir and OutDir are empty then).
	Part    *shard.PartManifest
	PartDir string
	// Threads is the job's Request.Threads (0: every core), for the work
	// its summary does.
	Threads int
}

// Execute runs the job described by req in home.
func Execute(ctx context.Context, home *store.Home, req Request) (*Outcome, error) {
	if req.Now == nil {
		req.Now = time.Now
	}
	stage := func(s string) {
		if req.Stage != nil {
			req.Stage(s)
		}
	}
	started := req.Now()
	timings := map[string]time.Duration{}
	tick := time.Now()
	lap := func(name string) {
		timings[name] = time.Since(tick)
		tick = time.Now()
	}

	name, path, err := home.Resolve(req.Snapshot)
	if err != nil {
		return nil, err
	}
	// DuckDB opens (about 20 ms of C++ on one core at medium) while the
	// heap is readied for huge pages (before the job allocates: see
	// internal/hugeheap) and the sidecar's calendar and per-user inputs
	// are read, beside the catalogue's queries (a whole job only: a shard
	// reads a sliver of the file, after the SQL that picks it).
	type opened struct {
		db  *duck.DB
		err error
	}
	opening := make(chan opened, 1)
	go func() {
		db, err := duck.OpenSnapshot(ctx, path, duck.Options{Threads: req.Threads, TempDir: home.TmpDir(), MemoryLimit: req.MemoryLimit})
		opening <- opened{db, err}
	}()
	huge := hugeheap.Reserve(hugeheap.DefaultSize)
	if req.Logger != nil {
		req.Logger.Debug("heap in huge pages", "marked", huge)
	}
	inOpt := engine.LoadOptions{D0: req.D0, Days: req.Days, Policy: req.Policy, Logger: req.Logger, Shard: req.Shard, Threads: req.Threads}
	if !req.Shard.Sharded() {
		inOpt.Prefetch = engine.PrefetchSidecar(store.SidecarPath(path), inOpt)
		defer inOpt.Prefetch.Close()
	}
	o := <-opening
	if o.err != nil {
		return nil, o.err
	}
	db := o.db
	// closeDB closes the database once: beside the run's publication when
	// no query is left (closeDBAsync), else when Execute returns.
	var dbClosed sync.Once
	closeDB := func() { dbClosed.Do(func() { db.Close() }) }
	defer closeDB()
	var dbClosing sync.WaitGroup
	defer dbClosing.Wait()

	var quota *Quota
	if req.QuotaFrom != "" {
		if !req.Shard.Sharded() || req.Mode != engine.Assign {
			return nil, fmt.Errorf("a stock quota is for the shards of a run only")
		}
		fp, err := SnapshotFingerprint(ctx, db)
		if err != nil {
			return nil, err
		}
		if quota, err = QuotaFor(ctx, db, home, req.QuotaFrom, name, fp, req.Shard); err != nil {
			return nil, err
		}
		req.QuotaRef = &quota.Ref
	} else if req.Shard.Sharded() && req.Mode == engine.Assign {
		return nil, errors.New("a run shard needs a stock quota: give it the merged preassign of the same job (Request.QuotaFrom)")
	}

	stage("loading inputs")
	inOpt.Side = func(ctx context.Context) (engine.DB, func(), error) {
		side, err := db.Side(ctx)
		if err != nil {
			return nil, nil, err
		}
		return side, func() { side.Close() }, nil
	}
	in, err := engine.LoadInputs(ctx, db, inOpt)
	if err != nil {
		return nil, duck.Damaged(path, err) // a block may be damaged past the header
	}
	if quota != nil {
		in.LotQty = quota.Lots(in, req.Shard)
	}
	if req.Adjust != nil {
		if err := req.Adjust(in); err != nil {
			return nil, err
		}
	}
	lap("inputs")
	// Loading leaves garbage (each query's columns copied batch by batch,
	// then grouped by user); collect it before the engine allocates the
	// boxes, so they reuse its pages instead of growing the heap past it.
	runtime.GC()

	stage("choosing boxes")
	res, err := engine.Run(ctx, in, engine.Options{Policy: req.Policy, Mode: req.Mode, Threads: req.Threads, Progress: req.Progress,
		Allocator: req.Allocator, MaxPhases: req.MaxPhases, GapTolerance: req.GapTolerance})
	if err != nil {
		return nil, err
	}
	lap("engine")
	// What is left is output: the per-user scoring inputs go (about a
	// gigabyte at 3 million users), and are returned to the system now:
	// the collection sets the heap's next goal from what the output reads
	// (the boxes) rather than from the engine's peak, so the garbage of the
	// output's batches is collected at about twice the boxes' size, and the
	// freed pages are not left resident beside DuckDB's COPY. The
	// collection runs beside the output (it took 15-25 ms of a medium
	// job's one core): it starts before the output has made much garbage,
	// so the goal is still set from the boxes.
	in.ReleaseUserInputs()
	freed := make(chan struct{})
	go func() {
		defer close(freed)
		debug.FreeOSMemory()
	}()
	defer func() { <-freed }()

	if !req.Shard.Sharded() { // a shard may hold none of the shipping users
		if err := noShipments(ctx, db, name, res, req.D0, req.Days); err != nil {
			return nil, err
		}
	}

	stage("writing results")
	out := &Outcome{Result: res, Threads: req.Threads}
	if req.Shard.Sharded() {
		out.Part, out.PartDir, err = writePart(ctx, db, req, name, res, started, timings)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	tables := results.Tables(res)
	man := newManifest(req, name, res, tables, started)
	// Both folders are written before either is published: a failure
	// while writing leaves neither.
	var pending *store.PendingRun
	if !req.NoSave {
		kind := req.Mode.String()
		if req.Scenario != nil {
			kind += "-" + store.ScenarioTag
		}
		if pending, err = home.NewPendingRun(kind, req.Now()); err != nil {
			return nil, err
		}
		defer pending.Abort()
		man.RunID = pending.ID
	}
	var outDir *atomicfs.Dir
	var outMan *Manifest
	if req.OutDir != "" {
		if outDir, err = results.NewOutput(req.OutDir); err != nil {
			return nil, err
		}
		defer outDir.Abort()
	}
	var written []results.Written
	switch {
	case pending != nil && outDir != nil && req.OutFormat == results.FormatParquet:
		// The --out tables are the run folder's files: copied, not
		// encoded a second time.
		if man.Files, err = results.Write(ctx, db, tables, pending.Dir, results.FormatParquet); err != nil {
			return nil, err
		}
		lap("write")
		if written, err = results.CopyFiles(man.Files, pending.Dir, outDir.Path); err != nil {
			return nil, err
		}
		lap("write_out")
	case pending != nil && outDir != nil:
		// CSV for --out is formatted by Go while DuckDB encodes the run
		// folder's Parquet: both at once.
		var outErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			written, outErr = results.Write(ctx, db, tables, outDir.Path, req.OutFormat)
		}()
		man.Files, err = results.Write(ctx, db, tables, pending.Dir, results.FormatParquet)
		<-done
		if err != nil {
			return nil, err
		}
		if outErr != nil {
			return nil, outErr
		}
		lap("write")
	case pending != nil:
		if man.Files, err = results.Write(ctx, db, tables, pending.Dir, results.FormatParquet); err != nil {
			return nil, err
		}
		lap("write")
	case outDir != nil:
		if written, err = results.Write(ctx, db, tables, outDir.Path, req.OutFormat); err != nil {
			return nil, err
		}
		lap("write_out")
	}
	if in.SidecarRebuild == "" {
		// No query is left (rebuildSidecar's is the last): DuckDB
		// closes (3-7 ms at medium) while the folders are published.
		dbClosing.Go(closeDB)
	}
	if outDir != nil {
		m := *man
		m.Files = written
		m.setTimings(timings, time.Since(started))
		if err := atomicfs.WriteFile(filepath.Join(outDir.Path, store.ManifestFile), m.JSON()); err != nil {
			return nil, err
		}
		outMan = &m
	}
	if pending != nil {
		man.setTimings(timings, time.Since(started))
		dir, err := pending.Commit(man)
		if err != nil {
			return nil, err
		}
		out.RunDir = dir
	}
	if outDir != nil {
		if err := outDir.Publish(true); err != nil {
			if out.RunDir != "" {
				return nil, fmt.Errorf("%w (run %s was saved)", err, man.RunID)
			}
			return nil, err
		}
		out.OutDir = req.OutDir
		if req.NoSave {
			man = outMan
		}
	}
	man.setTimings(timings, time.Since(started))
	out.Manifest = man
	rebuildSidecar(ctx, db, in.SidecarRebuild, req.Logger)
	return out, nil
}

// rebuildSidecar writes the snapshot's engine sidecar again after a job
// that found it missing, stale or damaged (path, from
// Inputs.SidecarRebuild; "" for none) and read its inputs through SQL, so
// that later jobs read them from the file. The job's results are already
// saved: a failure is only logged, and an interrupt leaves the old state
// (the file is replaced atomically, or not at all). A shard never gets
// here: its home may be a read-only copy, and a shard reads a sliver.
func rebuildSidecar(ctx context.Context, db *duck.DB, path string, logger *slog.Logger) {
	if path == "" {
		return
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	err := engine.RebuildSidecar(ctx, db, path, logger)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		logger.Debug("engine sidecar rebuild interrupted; the job's results are saved", "path", path)
	case errors.Is(err, engine.ErrNoSidecar):
		logger.Debug("no engine sidecar for this snapshot: jobs read it through SQL", "reason", err)
	default:
		logger.Warn("engine sidecar not rebuilt: jobs read this snapshot through SQL", "path", path, "err", duck.Clean(err))
	}
}
