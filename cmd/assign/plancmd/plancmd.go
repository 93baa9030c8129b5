// Package plancmd holds what the preassign and run commands share: their
// flags, validation, execution and summary.
package plancmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/results"
	"github.com/assign-dev/assign/shard"
)

// Options are the parsed flags of preassign and run.
type Options struct {
	Factory  *cmdutil.Factory
	Mode     engine.Mode
	Date     string
	Days     int
	Snapshot string
	Threads  int
	OutDir   string
	Format   string
	JSON     bool
	Policy   *cmdutil.PolicyFlags
	Top      int
	// Allocator is the run-mode allocator (empty in preassign); MaxPhases
	// the optimal allocator's exchange-phase limit per date (0: default).
	Allocator string
	MaxPhases int64
	// GapTolerance is --gap-tolerance, in percent of a date's bound.
	GapTolerance float64
	// CPUProfile and MemProfile, when set, receive pprof profiles of the
	// job (CPU over the whole job; heap at its end) for performance work.
	CPUProfile string
	MemProfile string
	// ShardFlag and ShardCount are --shard and --shard-count (see package
	// shard for the environment contract).
	ShardFlag  string
	ShardCount int
	// QuotaFrom is run's --quota-from.
	QuotaFrom string
	// MemoryLimit is --memory-limit (empty: JobMemoryLimit, or
	// ShardMemoryLimit for a shard).
	MemoryLimit string

	Request plan.Request // filled by validation
}

// ShardMemoryLimit is a shard's DuckDB memory limit unless --memory-limit
// says otherwise. A shard's own DuckDB work is small (its users' rows), but
// DuckDB keeps every snapshot page it scanned cached up to its limit: at 3
// million users the pages of deliveries and ratings alone would be more
// than the shard's own data. Under this limit it drops them. 64MB is the
// smallest size measured to plan every scale (a 10 M-user shard of 16 at
// 64MB; at 32MB a large shard's input preparation ran out of memory), and
// it keeps a large shard of 8 under 1/5 of one machine's peak RSS
// (benchmarks/RESULTS.md, "Shard memory").
const ShardMemoryLimit = "64MB"

// JobMemoryLimit is a whole job's DuckDB memory limit unless --memory-limit
// says otherwise. DuckDB's own default (80% of RAM) lets it keep every
// snapshot page the input queries scanned: at 3 million users about a
// gigabyte more resident beside the engine's arrays, for nothing (each page
// is read once). The job's DuckDB work (the dense indexes, the ship
// calendar, the input joins, streamed) fits in it; beyond it DuckDB drops
// cached pages first and spills to the home's tmp folder.
const JobMemoryLimit = "512MB"

// ShardGCPercent is a shard's Go GC target (GOGC) unless the environment
// sets GOGC. A shard's peak is while its deliveries stream in, and each
// streamed batch leaves garbage: at the default 100 the heap grows to twice
// what is live (large shard of 8: 118 MB live, 233 MB before a
// collection). At 50 the largest large shard peaked 48 MiB lower (340
// against 388 MiB) for a few more collections of a small heap
// (benchmarks/RESULTS.md, "Shard memory: a shard streams its deliveries").
const ShardGCPercent = 50

// AddFlags registers the flags shared by preassign and run.
func AddFlags(cmd *cobra.Command, opts *Options) {
	fs := cmd.Flags()
	fs.StringVar(&opts.Date, "date", "", "first ship date of the horizon, YYYY-MM-DD (required)")
	fs.IntVar(&opts.Days, "days", 1, "number of days in the horizon (1..366)")
	fs.StringVar(&opts.Snapshot, "snapshot", "", "snapshot name (default: the current one)")
	fs.IntVar(&opts.Threads, "threads", 0, "worker threads: DuckDB's and the job's own (default: all cores); results do not depend on it")
	fs.StringVar(&opts.OutDir, "out", "", "also write the tables and manifest into this folder, replacing an earlier run's there (a folder assign did not write must be empty)")
	fs.StringVar(&opts.Format, "format", results.FormatParquet, "format of the tables written to --out: parquet or csv")
	fs.BoolVar(&opts.JSON, "json", false, "print the run's manifest with the summary's top_shortages as JSON instead of the summary")
	fs.IntVar(&opts.Top, "top", 10, "snacks listed in the summary's shortage table")
	fs.StringVar(&opts.CPUProfile, "cpuprofile", "", "write a pprof CPU profile of the job to this file (go tool pprof)")
	fs.StringVar(&opts.MemProfile, "memprofile", "", "write a pprof heap profile taken at the end of the job to this file")
	fs.StringVar(&opts.ShardFlag, "shard", "", "plan only shard I of N (I/N, or auto: from the engine's environment) and write a part folder into --out")
	fs.StringVar(&opts.MemoryLimit, "memory-limit", "", "DuckDB's memory limit; beyond it DuckDB drops cached snapshot pages and spills to the home's tmp folder (default "+JobMemoryLimit+"; "+ShardMemoryLimit+" for a shard)")
	fs.IntVar(&opts.ShardCount, "shard-count", 0, "number of shards N when the index comes from the environment (e.g. $JOB_COMPLETION_INDEX); implies --shard auto")
	_ = cmd.MarkFlagRequired("date")
	opts.Policy = cmdutil.AddPolicyFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"parquet", "csv"}, cobra.ShellCompDirectiveNoFileComp))
}

// Validate checks the flags and fills Request.
func (o *Options) Validate() error {
	d, err := cmdutil.ParseDateFlag("date", o.Date)
	if err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("days", o.Days, 1, 366); err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("threads", o.Threads, 0, 1024); err != nil {
		return err
	}
	if err := cmdutil.CheckChoice("format", o.Format, results.FormatParquet, results.FormatCSV); err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("top", o.Top, 0, 10000); err != nil {
		return err
	}
	if o.OutDir != "" {
		if err := cmdutil.CheckOutDir(o.OutDir); err != nil {
			return cmdutil.FlagErrorf("%v", err)
		}
	}
	alloc := engine.Greedy
	if o.Mode == engine.Assign {
		if err := cmdutil.CheckChoice("allocator", o.Allocator, "greedy", "optimal"); err != nil {
			return err
		}
		if o.Allocator == "optimal" {
			alloc = engine.Optimal
		}
		if o.MaxPhases != 0 && alloc != engine.Optimal {
			return cmdutil.FlagErrorf("--max-phases limits the optimal allocator; use it with --allocator optimal")
		}
		if o.MaxPhases < 0 || o.MaxPhases > 1_000_000_000 {
			return cmdutil.FlagErrorf("--max-phases %d: must lie between 1 and 1000000000 (0: the default, %d)", o.MaxPhases, engine.DefaultMaxPhases)
		}
		if err := CheckGapTolerance(o.GapTolerance, alloc); err != nil {
			return err
		}
	}
	p, err := o.Policy.Resolve()
	if err != nil {
		return err
	}
	sh, shardSource, err := shard.Resolve(o.ShardFlag, o.ShardCount, os.Getenv)
	if err != nil {
		return cmdutil.FlagErrorf("%v", err)
	}
	memLimit := o.MemoryLimit
	if memLimit != "" {
		if err := cmdutil.CheckMemorySize("memory-limit", memLimit); err != nil {
			return err
		}
	} else if sh.Sharded() {
		memLimit = ShardMemoryLimit
	} else {
		memLimit = JobMemoryLimit
	}
	if sh.Sharded() {
		if o.Mode == engine.Assign && o.QuotaFrom == "" {
			return cmdutil.FlagErrorf("--shard %s of a run needs --quota-from RUN: stock couples the shards, so each uses a quota of every lot, split by the shards' demand in the merged preassign of the same job (see 'assign shards' to do both)", sh)
		}
		if o.OutDir == "" {
			return cmdutil.FlagErrorf("--shard %s writes a part folder: give --out DIR, a folder the merge step reads too (shared storage); the part goes to DIR/%s", sh, sh.PartName())
		}
		if o.Format != results.FormatParquet {
			return cmdutil.FlagErrorf("--format %s: a shard's part is always Parquet; give --format to 'assign merge'", o.Format)
		}
	} else if o.OutDir != "" {
		// A shard adds its part folder to --out; a whole run replaces it.
		if err := results.CheckOutput(o.OutDir); err != nil {
			return cmdutil.FlagErrorf("--out %v", err)
		}
	}
	o.Request = plan.Request{
		Mode: o.Mode, Snapshot: o.Snapshot, D0: engine.DayOf(d), Days: o.Days, Policy: p,
		Threads: o.Threads, OutDir: o.OutDir, OutFormat: o.Format, Allocator: alloc, MaxPhases: o.MaxPhases,
		GapTolerance: o.GapTolerance / 100,
		Flags: map[string]any{"date": o.Date, "days": o.Days, "snapshot": o.Snapshot, "threads": o.Threads,
			"out": o.OutDir, "format": o.Format, "policy_file": o.Policy.File, "allocator": o.Allocator},
		Version: cmdutil.BuildVersion(),
		Shard:   sh, ShardSource: shardSource, MemoryLimit: memLimit,
	}
	if o.QuotaFrom != "" && !sh.Sharded() {
		return cmdutil.FlagErrorf("--quota-from is for the shards of a run (--shard I/N); a run on one machine uses all the stock")
	}
	o.Request.QuotaFrom = o.QuotaFrom
	if sh.Sharded() {
		o.Request.Flags["quota_from"] = o.QuotaFrom
		o.Request.Flags["shard"] = sh.String()
		o.Request.Flags["shard_source"] = shardSource
	}
	return nil
}

// quotaFlagError names the flag the quota source came from.
type quotaFlagError struct{ *plan.QuotaError }

func (e *quotaFlagError) Error() string { return "--quota-from" + e.Detail }
func (e *quotaFlagError) Unwrap() error { return e.QuotaError }

// Run executes the job and prints its summary.
func Run(ctx context.Context, o *Options) error {
	f := o.Factory
	home, err := f.Home()
	if err != nil {
		return err
	}
	prog := f.NewProgress()
	req := o.Request
	req.Now = f.Now
	req.Logger = f.Logger
	req.Stage = func(name string) { prog.Stage(name, 0) }
	req.Progress = prog.Set
	f.Logger.Info("planning", "mode", o.Mode.String(), "date", o.Date, "days", o.Days)
	if req.Shard.Sharded() && os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(ShardGCPercent))
	}
	// --threads bounds the job's Go work too (its collector, the output's
	// encoders, the sidecar's reader), not only DuckDB's and the engine's
	// workers: --threads 1 took about 1.05 cores on average before, and
	// up to two at once, which a job given one core of a shared machine
	// should not.
	if req.Threads > 0 && req.Threads < runtime.GOMAXPROCS(0) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(req.Threads))
	}
	stopProfile, err := startProfiles(o.CPUProfile, o.MemProfile)
	if err != nil {
		prog.Done()
		return err
	}
	out, err := plan.Execute(ctx, home, req)
	prog.Done()
	if perr := stopProfile(); err == nil && perr != nil {
		return perr
	}
	var qe *plan.QuotaError
	if errors.As(err, &qe) {
		return &quotaFlagError{qe}
	}
	if err != nil {
		return err
	}
	if out.Part != nil {
		if o.JSON {
			b, _ := json.MarshalIndent(out.Part, "", "  ")
			_, err := f.IO.Out.Write(append(b, '\n'))
			return err
		}
		PrintPartSummary(f.IO.Out, out)
		return nil
	}
	if o.JSON {
		return writeSummaryJSON(f.IO.Out, out, o.Top)
	}
	PrintSummary(f.IO.Out, out, o.Top)
	return nil
}

// summaryJSON is what --json prints: the run's manifest (its fields at the
// top level, as in the run folder's manifest.json) and the summary's table
// of the snacks most short.
type summaryJSON struct {
	*plan.Manifest
	TopShortages []results.ShortageRow `json:"top_shortages"`
}

func writeSummaryJSON(w io.Writer, out *plan.Outcome, top int) error {
	v := summaryJSON{Manifest: out.Manifest, TopShortages: []results.ShortageRow{}}
	if top > 0 {
		v.TopShortages = results.TopShortageRows(out.Result, top)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// PrintSummary writes the human summary of a job: horizon, per-date counts,
// totals, the snacks most short, and where the tables are.
func PrintSummary(w io.Writer, out *plan.Outcome, top int) {
	PrintResultTables(w, out, top)
	m := out.Manifest
	if out.Result.Mode == engine.Assign {
		printStock(w, out.Result, out.Threads)
	}
	fmt.Fprintln(w)
	if out.RunDir != "" {
		fmt.Fprintf(w, "Run %s written to %s\n", m.RunID, out.RunDir)
	}
	if out.OutDir != "" {
		fmt.Fprintf(w, "Tables written to %s\n", out.OutDir)
	}
	fmt.Fprintf(w, "Took %.2fs (inputs %.2fs, boxes %.2fs, writing %.2fs)\n", m.Timings["total"], m.Timings["inputs"], m.Timings["engine"], m.Timings["write"]+m.Timings["write_out"])
}

// PrintResultTables writes the horizon line, the per-date counts with
// totals and the snacks most short of a job (or of a merged run).
func PrintResultTables(w io.Writer, out *plan.Outcome, top int) {
	m := out.Manifest
	fmt.Fprintf(w, "%s on snapshot %s, %s to %s (%s)\n\n", m.Mode, m.Snapshot, m.Dates.From, m.Dates.To, cmdutil.Days(m.Dates.Days))
	if len(m.PerDate) == 0 {
		fmt.Fprintln(w, "No user ships in this horizon.")
	} else if m.Certificate != nil {
		printCertificate(w, m)
	} else {
		var rows [][]any
		for _, d := range m.PerDate {
			rows = append(rows, []any{d.ShipOn, d.Users, d.Boxes, d.ShortBoxes, d.Demand, d.Shortage})
		}
		rows = append(rows, []any{"total", m.Counts.Users, m.Counts.Boxes, m.Counts.ShortBoxes, m.Counts.Demand, m.Counts.Shortage})
		cmdutil.PrintTable(w, []string{"ship date", "users", "boxes", "short boxes", "units", "short units"}, rows,
			"users", "boxes", "short boxes", "units", "short units")
	}
	if top > 0 && m.Counts.Shortage > 0 {
		fmt.Fprintf(w, "\nTop snacks by shortage:\n")
		var rows [][]any
		for _, r := range results.TopShortageRows(out.Result, top) {
			rows = append(rows, []any{r.SnackID, r.Category, r.Demand, r.StockUsable, r.Covered, r.Shortage})
		}
		cmdutil.PrintTable(w, []string{"snack", "category", "demand", "usable on D0", "covered", "shortage"}, rows,
			"snack", "demand", "usable on D0", "covered", "shortage")
	}
}

// PrintPartSummary writes the human summary of a shard: which shard, what
// it planned and where its part folder is.
func PrintPartSummary(w io.Writer, out *plan.Outcome) {
	m := out.Part
	fmt.Fprintf(w, "%s shard %s (from %s) on snapshot %s, %s, %s\n\n", m.Mode, m.Shard, m.ShardSource, m.Snapshot.Name, m.Dates.From, cmdutil.Days(m.Dates.Days))
	var rows [][]any
	for _, d := range m.PerDate {
		rows = append(rows, []any{d.ShipOn, d.Users, d.Boxes, d.ShortBoxes, d.Demand})
	}
	rows = append(rows, []any{"total", m.Counts.Users, m.Counts.Boxes, m.Counts.ShortBoxes, m.Counts.Demand})
	cmdutil.PrintTable(w, []string{"ship date", "users", "boxes", "short boxes", "units"}, rows, "users", "boxes", "short boxes", "units")
	fmt.Fprintf(w, "\nPart written to %s (checksum %s)\n", out.PartDir, m.Checksum[:16])
	fmt.Fprintf(w, "Merge the %d parts with: assign merge %s\n", m.Shard.Count, filepath.Dir(out.PartDir))
	fmt.Fprintf(w, "Took %.2fs (inputs %.2fs, boxes %.2fs, writing %.2fs)\n", m.Timings["total"], m.Timings["inputs"], m.Timings["engine"], m.Timings["write"])
}

// printCertificate is the per-date table of an optimal run: counts, then
// the plan's score against the certificate's bound, then how the plan
// compares with the reference greedy.
func printCertificate(w io.Writer, m *plan.Manifest) {
	c := m.Certificate
	var rows [][]any
	for i, d := range m.PerDate {
		cd := c.Dates[i]
		gap := fmt.Sprintf("%.4f", cd.GapPct)
		if !cd.Certified {
			gap = "n/a"
		}
		note := ""
		if !engine.SolvedStatus(cd.Status) && cd.Status != engine.StatusUncontested {
			note = "*"
		}
		rows = append(rows, []any{d.ShipOn + note, d.Users, d.Boxes, d.ShortBoxes, cd.Filled, cd.ShortUnits, cd.ShortUnitsBound,
			fmt.Sprintf("%.3f", cd.Score), fmt.Sprintf("%.3f", cd.Bound), gap})
	}
	t := c.Total
	rows = append(rows, []any{"total", m.Counts.Users, m.Counts.Boxes, m.Counts.ShortBoxes, t.Filled, t.ShortUnits, t.ShortUnitsBound,
		fmt.Sprintf("%.3f", t.Score), fmt.Sprintf("%.3f", t.Bound), fmt.Sprintf("%.4f", t.GapPct)})
	cmdutil.PrintTable(w, []string{"ship date", "users", "boxes", "short boxes", "units", "short units", "fewest short", "score", "bound", "gap %"}, rows,
		"users", "boxes", "short boxes", "units", "short units", "fewest short", "score", "bound", "gap %")
	for i, cd := range c.Dates {
		if !engine.SolvedStatus(cd.Status) && cd.Status != engine.StatusUncontested {
			fmt.Fprintf(w, "* %s: %s; the bound is the certificate at the prices reached\n", m.PerDate[i].ShipOn, cd.Status)
		}
	}
	fmt.Fprintf(w, "\nOptimal allocator: %d of %d ship dates certified; total gap %.4f%% of the bound (%s).\n",
		t.CertifiedDates, len(c.Dates), t.GapPct, "bound = best boxes at the snack prices + prices x stock, per date")
	g := c.Greedy
	if c.Chosen == "greedy" {
		fmt.Fprintf(w, "The greedy's plan is kept: %s.\n", c.Reason)
	}
	d := t.Score - g.Score
	pct := 0.0
	if g.Score != 0 {
		pct = 100 * d / abs(g.Score)
	}
	fmt.Fprintf(w, "Against the reference greedy: score %.3f vs %.3f (%+.3f, %+.4f%%); short boxes %d vs %d; short units %d vs %d.\n",
		t.Score, g.Score, d, pct, m.Counts.ShortBoxes, g.ShortBoxes, t.ShortUnits, g.ShortUnits)
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// printStock summarises a run's stock use: units and score assigned, lots
// touched, and usable units left after the horizon. The score's sum takes
// the dates on up to threads goroutines (0: every core): one pass over
// medium's 3.2 M lines was 14-17 ms on one core at the end of the job.
func printStock(w io.Writer, res *engine.Result, threads int) {
	in := res.Inputs
	units, score := assignedTotals(res, threads)
	lots := 0
	for l := range in.LotID {
		for _, t := range res.LotTaken {
			if t[l] > 0 {
				lots++
				break
			}
		}
	}
	var left int64
	for _, n := range res.LotLeft {
		left += int64(n)
	}
	fmt.Fprintf(w, "\nStock: %d units taken from %d of %d lots; %d units left in all lots.\n", units, lots, len(in.LotID), left)
	fmt.Fprintf(w, "Total score of assigned lines: %.6f\n", score)
}

// assignedTotals is the number of a run's box lines and the sum of their
// scores, by Neumaier's compensated sum: a plain running sum over millions
// of lines drifts by ~1e-5 at medium, enough to print a total above an
// optimal run's certified bound that it in fact equals. Each date's lines
// are summed apart (on up to threads goroutines, 0: every core), then the
// dates in order, so the total does not depend on threads.
func assignedTotals(res *engine.Result, threads int) (units int64, score float64) {
	type part struct {
		sum, comp float64
		n         int64
	}
	parts := make([]part, len(res.Dates))
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(threads, len(parts)) {
		wg.Go(func() {
			for d := int(next.Add(1)) - 1; d < len(parts); d = int(next.Add(1)) - 1 {
				date := &res.Dates[d]
				p := &parts[d]
				for i := range date.Users {
					off := date.Slot[i]
					for _, v := range date.Score[off : off+date.Filled[i]] {
						p.sum, p.comp = neumaier(p.sum, p.comp, v)
					}
					p.n += int64(date.Filled[i])
				}
			}
		})
	}
	wg.Wait()
	var comp float64
	for _, p := range parts {
		score, comp = neumaier(score, comp, p.sum)
		comp += p.comp
		units += p.n
	}
	return units, score + comp
}

// neumaier adds v to the running sum s with compensation c.
func neumaier(s, c, v float64) (float64, float64) {
	t := s + v
	if abs(s) >= abs(v) {
		c += (s - t) + v
	} else {
		c += (v - t) + s
	}
	return t, c
}

// DefaultGapTolerancePct is --gap-tolerance's default, in percent.
const DefaultGapTolerancePct = engine.DefaultGapTolerance * 100

// CheckGapTolerance validates --gap-tolerance (percent): between 0 (exact)
// and 1, and set only with the optimal allocator.
func CheckGapTolerance(pct float64, alloc engine.Allocator) error {
	if pct != DefaultGapTolerancePct && alloc != engine.Optimal {
		return cmdutil.FlagErrorf("--gap-tolerance stops the optimal allocator; use it with --allocator optimal")
	}
	if !(pct >= 0 && pct <= 1) {
		return cmdutil.FlagErrorf("--gap-tolerance %v: must lie between 0 (exact) and 1 (percent of a date's bound)", pct)
	}
	return nil
}
