// Package harness is the benchmark harness behind benchmarks/cmd/bench. It
// generates the synthetic scales once into a cache, loads each once into a
// cached data home, then times the built assign binary (load of Parquet and
// CSV extracts, preassign, run) and the two baselines of SPEC section 6 (the
// SQL-only preassign, baseline a, and the naive per-user loop, baseline b)
// side by side, each run a separate child process whose wall time, user and
// system CPU and peak RSS come from wait4. Before timing a scale it checks
// that the baselines' preassign output equals assign's, and it reports no
// ratio for an implementation whose output differs.
package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/assign-dev/assign/benchmarks/compare"
	"github.com/assign-dev/assign/synth"
)

// Operations the harness can time.
const (
	OpLoadParquet = "load-parquet"
	OpLoadCSV     = "load-csv"
	OpPreassign   = "preassign"
	OpRun         = "run"
)

// Ops lists the operations in the order they are timed.
var Ops = []string{OpLoadParquet, OpLoadCSV, OpPreassign, OpRun}

// Implementations.
const (
	ImplAssign  = "assign"
	ImplSQLOnly = "sqlonly (a)"
	ImplNaive   = "naive (b)"
)

// scoreTolerance is how far two boxes.score values may differ and still be
// equal output: the implementations add the same terms in the same order,
// so in practice they agree exactly.
const scoreTolerance = 1e-9

// Options configure a benchmark.
type Options struct {
	// RepoRoot is the repository root: baselines are built there and the
	// cache keys hash its sources.
	RepoRoot string
	// Assign is the assign binary to time.
	Assign string
	// Go is the go command used to build the baselines.
	Go string
	// CacheDir holds extracts, homes, binaries and scratch outputs.
	CacheDir string
	// Scales are synth scale names (hidden ones allowed), timed in order.
	Scales []string
	// Seed is the generator seed.
	Seed int64
	// Date is the extract's as-of date and the first ship date D0.
	Date time.Time
	// Days is the horizon of preassign and run.
	Days int
	// Runs is how often every command is timed; the median is reported.
	Runs int
	// Threads are the --threads values to time (0 = the programs' default,
	// all cores); each value is a separate row.
	Threads []int
	// Ops are the operations to time (see Ops).
	Ops []string
	// OpsAt, when it names a scale, replaces Ops at that scale (e.g. only
	// preassign at large, where loads take minutes).
	OpsAt map[string][]string
	// ScalingAt adds, at the scales it names, preassign and run at these
	// --threads values besides Threads (the 1 -> 2 threads speedup).
	ScalingAt map[string][]int
	// PolicyFlags are policy flags (e.g. --repeat-window-days 90) passed
	// to assign preassign and run and to both baselines, which share them.
	PolicyFlags []string
	// Baselines turns the baselines and the output check on.
	Baselines bool
	// SQLOnlyScales are the scales where baseline (a) is timed.
	SQLOnlyScales []string
	// NaiveFullScales are the scales where baseline (b) runs the whole
	// horizon; NaiveSubsetScales those where it runs the first ship dates
	// only and the horizon is extrapolated (labelled as such).
	NaiveFullScales   []string
	NaiveSubsetScales []string
	// QuietIdle, when > 0, makes the harness wait before each timed run
	// until at least this share of CPU time is idle, up to QuietWait.
	QuietIdle float64
	QuietWait time.Duration
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.Runs < 1 {
		return fmt.Errorf("runs is %d: time every command at least once", o.Runs)
	}
	if o.Days < 1 || o.Days > 366 {
		return fmt.Errorf("days is %d: use 1..366", o.Days)
	}
	if len(o.Scales) == 0 {
		return errors.New("no scale given: pass --scales, e.g. small,medium")
	}
	for _, s := range o.Scales {
		if _, err := synth.LookupScale(s); err != nil {
			return err
		}
	}
	for _, op := range o.Ops {
		if !slices.Contains(Ops, op) {
			return fmt.Errorf("unknown operation %q: use some of %v", op, Ops)
		}
	}
	if len(o.Ops) == 0 {
		return fmt.Errorf("no operation given: use some of %v", Ops)
	}
	for scale, ops := range o.OpsAt {
		for _, op := range ops {
			if !slices.Contains(Ops, op) {
				return fmt.Errorf("unknown operation %q at %s: use some of %v", op, scale, Ops)
			}
		}
	}
	for scale, ts := range o.ScalingAt {
		for _, t := range ts {
			if t < 0 || t > 1024 {
				return fmt.Errorf("threads %d at %s is out of range: use 0 (all cores) to 1024", t, scale)
			}
		}
	}
	if len(o.Threads) == 0 {
		o.Threads = []int{0}
	}
	for _, t := range o.Threads {
		if t < 0 || t > 1024 {
			return fmt.Errorf("threads %d is out of range: use 0 (all cores) to 1024", t)
		}
	}
	if o.QuietIdle < 0 || o.QuietIdle > 1 {
		return fmt.Errorf("quiet idle share %v is out of range: use 0..1", o.QuietIdle)
	}
	if fi, err := os.Stat(o.Assign); err != nil || fi.IsDir() {
		return fmt.Errorf("assign binary %s not found: build it with 'make build' or pass --assign", o.Assign)
	}
	return nil
}

// Report is everything one benchmark measured; it is what --json writes.
type Report struct {
	Command  string    `json:"command"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Machine  Machine   `json:"machine"`
	// LoadBefore and LoadAfter are the 1-minute load averages around the run.
	LoadBefore float64        `json:"load1_before"`
	LoadAfter  float64        `json:"load1_after"`
	Options    ReportOptions  `json:"options"`
	Scales     []*ScaleReport `json:"scales"`
}

// ReportOptions are the options that shape the figures.
type ReportOptions struct {
	Seed    int64    `json:"seed"`
	Date    string   `json:"date"`
	Days    int      `json:"days"`
	Runs    int      `json:"runs"`
	Threads []int    `json:"threads"`
	Ops     []string `json:"ops"`
	// PolicyFlags are the policy flags given to every planning command.
	PolicyFlags []string `json:"policy_flags,omitempty"`
	Assign      string   `json:"assign_binary"`
	Version     string   `json:"assign_version"`
}

// ScaleReport is the part of a report about one scale.
type ScaleReport struct {
	Scale    string           `json:"scale"`
	Users    int              `json:"users"`
	Snacks   int              `json:"snacks"`
	Rows     map[string]int64 `json:"rows"`
	Snapshot string           `json:"snapshot"`
	// ShipUsers are the shipping users per date of the horizon (from
	// assign's manifest), the unit of work of the naive baseline.
	ShipUsers []int      `json:"ship_users_per_date,omitempty"`
	Equality  []Equality `json:"equality"`
	Results   []*Result  `json:"results"`
	Skipped   []Skip     `json:"skipped,omitempty"`
}

// Equality is the outcome of one output check.
type Equality struct {
	Impl    string `json:"impl"`
	Against string `json:"against"` // what was compared: "preassign --days 28"
	Equal   bool   `json:"equal"`
	Diffs   int    `json:"differences"`
	Report  string `json:"report,omitempty"`
}

// Skip says why an implementation was not timed at a scale.
type Skip struct {
	Op     string `json:"op"`
	Impl   string `json:"impl"`
	Reason string `json:"reason"`
}

// Result is the timing of one command at one scale.
type Result struct {
	Op      string   `json:"op"`
	Impl    string   `json:"impl"`
	Threads int      `json:"threads"`
	Command string   `json:"command"`
	Samples []Sample `json:"samples"`
	// Busy counts the samples taken while the machine stayed busier than
	// QuietIdle allowed.
	Busy int `json:"busy_samples,omitempty"`
	// Days is the horizon this command covered (a subset for extrapolation).
	Days int `json:"days"`
	// Estimate, when set, is not a measurement: it is extrapolated from the
	// subset results it names.
	Estimate *Estimate `json:"estimate,omitempty"`
	// Subset marks a measurement that only feeds an estimate.
	Subset bool `json:"subset,omitempty"`
}

// Estimate is a figure extrapolated from two subset measurements.
type Estimate struct {
	Wall   time.Duration `json:"wall_ns"`
	CPU    time.Duration `json:"cpu_ns"`
	MaxRSS int64         `json:"max_rss_bytes"`
	Method string        `json:"method"`
}

// Wall, CPU and MaxRSS are the medians of the samples (or the estimate).
func (r *Result) Wall() time.Duration {
	if r.Estimate != nil {
		return r.Estimate.Wall
	}
	return time.Duration(MedianOf(r.Samples, func(s Sample) int64 { return int64(s.Wall) }))
}

// CPU is the median user+sys time.
func (r *Result) CPU() time.Duration {
	if r.Estimate != nil {
		return r.Estimate.CPU
	}
	return time.Duration(MedianOf(r.Samples, func(s Sample) int64 { return int64(s.CPU()) }))
}

// MaxRSS is the median peak RSS.
func (r *Result) MaxRSS() int64 {
	if r.Estimate != nil {
		return r.Estimate.MaxRSS
	}
	return MedianOf(r.Samples, func(s Sample) int64 { return s.MaxRSS })
}

// harness is one benchmark in progress.
type harness struct {
	opt     Options
	sqlonly string
	naive   string
}

func (h *harness) logf(format string, args ...any) {
	if h.opt.Log != nil {
		fmt.Fprintf(h.opt.Log, "bench: "+format+"\n", args...)
	}
}

// Run performs the benchmark and returns its report. A failure of any
// timed command stops it with an error naming the command.
func Run(ctx context.Context, opt Options, command string) (*Report, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opt.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("create cache folder %s: %w", opt.CacheDir, err)
	}
	h := &harness{opt: opt}
	rep := &Report{Command: command, Started: time.Now().UTC(), Machine: DescribeMachine(),
		Options: ReportOptions{Seed: opt.Seed, Date: opt.Date.Format(time.DateOnly), Days: opt.Days, Runs: opt.Runs,
			Threads: opt.Threads, Ops: opt.Ops, PolicyFlags: opt.PolicyFlags, Assign: opt.Assign, Version: assignVersion(ctx, opt.Assign)}}
	rep.LoadBefore, _ = LoadAverage()
	if opt.Baselines && opt.anyOp(OpPreassign) {
		var err error
		if overlaps(opt.Scales, opt.SQLOnlyScales) {
			if h.sqlonly, err = h.buildBaseline(ctx, "sqlonly", "./benchmarks/baselines/sqlonly/cmd/sqlonly"); err != nil {
				return nil, err
			}
		}
		if overlaps(opt.Scales, opt.NaiveFullScales) || overlaps(opt.Scales, opt.NaiveSubsetScales) {
			if h.naive, err = h.buildBaseline(ctx, "naive", "./benchmarks/baselines/naive/cmd/naive"); err != nil {
				return nil, err
			}
		}
	}
	for _, name := range opt.Scales {
		sc, _ := synth.LookupScale(name)
		sr, err := h.scale(ctx, sc)
		if err != nil {
			return nil, fmt.Errorf("scale %s: %w", name, err)
		}
		rep.Scales = append(rep.Scales, sr)
	}
	rep.Finished = time.Now().UTC()
	rep.LoadAfter, _ = LoadAverage()
	return rep, nil
}

// opsAt are the operations timed at a scale.
func (o *Options) opsAt(scale string) []string {
	if ops, ok := o.OpsAt[scale]; ok {
		return ops
	}
	return o.Ops
}

// anyOp reports whether op is timed at some scale.
func (o *Options) anyOp(op string) bool {
	for _, s := range o.Scales {
		if slices.Contains(o.opsAt(s), op) {
			return true
		}
	}
	return false
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// assignVersion asks the binary for its version; failures leave it empty.
func assignVersion(ctx context.Context, bin string) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := execOutput(ctx, bin, "--version")
	if err != nil {
		return ""
	}
	return out
}

// timedCase is one command timed at a scale.
type timedCase struct {
	res     *Result
	argv    func() ([]string, error) // fresh arguments for a run (scratch folders made)
	cleanup func() error
}

func (h *harness) scale(ctx context.Context, sc synth.Scale) (*ScaleReport, error) {
	sr := &ScaleReport{Scale: sc.Name, Users: sc.Users, Snacks: sc.Snacks}
	pq, err := h.ensureExtract(ctx, sc, synth.FormatParquet)
	if err != nil {
		return nil, err
	}
	sr.Rows = pq.Marker.Rows
	ops := h.opt.opsAt(sc.Name)
	var csv *Extract
	if slices.Contains(ops, OpLoadCSV) {
		if csv, err = h.ensureExtract(ctx, sc, synth.FormatCSV); err != nil {
			return nil, err
		}
	}
	home, err := h.ensureHome(ctx, sc, pq)
	if err != nil {
		return nil, err
	}
	sr.Snapshot = home.Snapshot

	var cases []*timedCase
	date := h.opt.Date.Format(time.DateOnly)
	days := strconv.Itoa(h.opt.Days)
	type threadOps struct {
		threads int
		ops     []string
	}
	var plan []threadOps
	for _, t := range h.opt.Threads {
		plan = append(plan, threadOps{t, ops})
	}
	for _, t := range h.opt.ScalingAt[sc.Name] {
		if slices.Contains(h.opt.Threads, t) {
			continue
		}
		var planning []string
		for _, op := range ops {
			if op == OpPreassign || op == OpRun {
				planning = append(planning, op)
			}
		}
		plan = append(plan, threadOps{t, planning})
	}
	for _, p := range plan {
		threads := p.threads
		tflag := func(argv []string) []string {
			if threads > 0 {
				argv = append(argv, "--threads", strconv.Itoa(threads))
			}
			return argv
		}
		for _, op := range p.ops {
			switch op {
			case OpLoadParquet, OpLoadCSV:
				ex := pq
				if op == OpLoadCSV {
					ex = csv
				}
				scratch := filepath.Join(h.opt.CacheDir, "scratch", "loadhome-"+sc.Name)
				c := &timedCase{res: &Result{Op: op, Impl: ImplAssign, Threads: threads, Days: h.opt.Days}}
				c.argv = func() ([]string, error) {
					if err := os.RemoveAll(scratch); err != nil {
						return nil, fmt.Errorf("clear scratch home: %w", err)
					}
					return tflag([]string{h.opt.Assign, "--home", scratch, "load", ex.Dir}), nil
				}
				c.cleanup = func() error { return os.RemoveAll(scratch) }
				cases = append(cases, c)
			case OpPreassign, OpRun:
				var before map[string]bool
				c := &timedCase{res: &Result{Op: op, Impl: ImplAssign, Threads: threads, Days: h.opt.Days}}
				c.argv = func() ([]string, error) {
					before = runFolders(home.Dir)
					return h.policy(tflag([]string{h.opt.Assign, "--home", home.Dir, op, "--date", date, "--days", days})), nil
				}
				c.cleanup = func() error { return removeNewRuns(home.Dir, before) }
				cases = append(cases, c)
			}
		}
	}

	if h.opt.Baselines && slices.Contains(ops, OpPreassign) {
		var ship shipCounts
		if h.anyBaselineAt(sc.Name) {
			if ship, err = h.checkOutputs(ctx, sc, home, sr); err != nil {
				return nil, err
			}
		}
		sr.ShipUsers = ship
		for _, threads := range h.opt.Threads {
			bc, err := h.baselineCases(sc, home, sr, ship, threads)
			if err != nil {
				return nil, err
			}
			cases = append(cases, bc...)
		}
	}

	// Interleave: every case once per round, so drift in the machine's
	// load affects all implementations alike.
	for r := 0; r < h.opt.Runs; r++ {
		for _, c := range cases {
			argv, err := c.argv()
			if err != nil {
				return nil, err
			}
			idle, busy, err := h.waitQuiet(ctx)
			if err != nil {
				return nil, err
			}
			cmd := Command{Argv: argv}
			c.res.Command = displayCommand(cmd, h.opt.CacheDir)
			s, err := Measure(ctx, cmd)
			if err != nil {
				return nil, err
			}
			s.IdleBefore = idle
			c.res.Samples = append(c.res.Samples, s)
			if busy {
				c.res.Busy++
			}
			if c.cleanup != nil {
				if err := c.cleanup(); err != nil {
					return nil, fmt.Errorf("clean up after %s: %w", c.res.Command, err)
				}
			}
			h.logf("%s %s %s threads=%s days=%d run %d/%d: %.2fs wall, %.2fs cpu, %s peak RSS (machine %.0f%% idle before)",
				sc.Name, c.res.Op, c.res.Impl, threadsLabel(c.res.Threads), c.res.Days, r+1, h.opt.Runs,
				s.Wall.Seconds(), s.CPU().Seconds(), HumanBytes(s.MaxRSS), idle*100)
		}
	}
	for _, c := range cases {
		sr.Results = append(sr.Results, c.res)
	}
	sr.Results = append(sr.Results, estimates(sr.Results, shipCounts(sr.ShipUsers), h.opt.Days)...)
	return sr, nil
}

// policy appends the policy flags to a planning command.
func (h *harness) policy(argv []string) []string {
	return append(argv, h.opt.PolicyFlags...)
}

func threadsLabel(t int) string {
	if t == 0 {
		return "all"
	}
	return strconv.Itoa(t)
}

// displayCommand shows cmd with the cache folder abbreviated, for reports.
func displayCommand(cmd Command, cacheDir string) string {
	c := Command{Argv: slices.Clone(cmd.Argv), Dir: cmd.Dir}
	for i, a := range c.Argv {
		if rel, err := filepath.Rel(cacheDir, a); err == nil && filepath.IsLocal(rel) {
			c.Argv[i] = filepath.Join("$CACHE", rel)
		}
	}
	return c.String()
}

// anyBaselineAt reports whether some baseline is timed at the scale.
func (h *harness) anyBaselineAt(scale string) bool {
	return (h.sqlonly != "" && slices.Contains(h.opt.SQLOnlyScales, scale)) ||
		(h.naive != "" && (slices.Contains(h.opt.NaiveFullScales, scale) || slices.Contains(h.opt.NaiveSubsetScales, scale)))
}

// shipCounts are the shipping users per date index of the horizon, read
// from assign's manifest: the unit of work of the naive baseline.
type shipCounts []int

func (s shipCounts) total() int {
	n := 0
	for _, v := range s {
		n += v
	}
	return n
}

// firstDays returns the horizon lengths that end on the first and the
// second ship date, so that the subset runs of the naive baseline each
// include one more ship date; ok is false when the horizon has fewer than
// two ship dates.
func (s shipCounts) firstDays() (a, b int, ok bool) {
	for i, v := range s {
		if v == 0 {
			continue
		}
		if a == 0 {
			a = i + 1
			continue
		}
		return a, i + 1, true
	}
	return 0, 0, false
}

func (s shipCounts) upTo(days int) int {
	n := 0
	for i := 0; i < days && i < len(s); i++ {
		n += s[i]
	}
	return n
}

// checkOutputs runs assign's preassign once with CSV output and compares
// the baselines' outputs with it, recording the verdicts in sr. It returns
// the shipping users per date of the horizon.
func (h *harness) checkOutputs(ctx context.Context, sc synth.Scale, home *Home, sr *ScaleReport) (shipCounts, error) {
	date := h.opt.Date.Format(time.DateOnly)
	threads := h.opt.Threads[0]
	tflag := func(argv []string) []string {
		if threads > 0 {
			argv = append(argv, "--threads", strconv.Itoa(threads))
		}
		return argv
	}
	assignOut := func(days int) (string, *manifestCounts, error) {
		dir, err := h.scratch(fmt.Sprintf("check-%s-assign-%d", sc.Name, days))
		if err != nil {
			return "", nil, err
		}
		before := runFolders(home.Dir)
		h.logf("%s: output check: assign preassign --days %d", sc.Name, days)
		_, err = Measure(ctx, Command{Argv: h.policy(tflag([]string{h.opt.Assign, "--home", home.Dir, "preassign", "--date", date,
			"--days", strconv.Itoa(days), "--out", dir, "--format", "csv"}))})
		if rerr := removeNewRuns(home.Dir, before); err == nil {
			err = rerr
		}
		if err != nil {
			return "", nil, err
		}
		m, err := readManifest(filepath.Join(dir, "manifest.json"))
		return dir, m, err
	}
	compareWith := func(impl, want, got string, days int) error {
		diffs, err := compare.CompareDirs(want, got, scoreTolerance)
		if err != nil {
			return fmt.Errorf("compare %s with assign: %w", impl, err)
		}
		against := strings.TrimSpace(fmt.Sprintf("preassign --date %s --days %d %s", date, days, strings.Join(h.opt.PolicyFlags, " ")))
		eq := Equality{Impl: impl, Against: against, Equal: len(diffs) == 0, Diffs: len(diffs)}
		if len(diffs) > 0 {
			eq.Report = compare.Report(diffs, 10)
			h.logf("%s: %s output DIFFERS from assign's (%d differences); its ratios will not be reported:\n%s", sc.Name, impl, len(diffs), eq.Report)
		} else {
			h.logf("%s: %s output equals assign's (%s)", sc.Name, impl, eq.Against)
		}
		sr.Equality = append(sr.Equality, eq)
		return nil
	}

	full, man, err := assignOut(h.opt.Days)
	if err != nil {
		return nil, err
	}
	ship := make(shipCounts, h.opt.Days)
	for _, d := range man.PerDate {
		t, err := time.Parse(time.DateOnly, d.ShipOn)
		if err != nil {
			return nil, fmt.Errorf("assign manifest: ship date %q: %w", d.ShipOn, err)
		}
		if i := int(t.Sub(h.opt.Date).Hours() / 24); i >= 0 && i < len(ship) {
			ship[i] = d.Users
		}
	}

	if h.sqlonly != "" && slices.Contains(h.opt.SQLOnlyScales, sc.Name) {
		dir, err := h.scratch("check-" + sc.Name + "-sqlonly")
		if err != nil {
			return nil, err
		}
		h.logf("%s: output check: sqlonly --days %d", sc.Name, h.opt.Days)
		if _, err := Measure(ctx, Command{Argv: h.policy(tflag([]string{h.sqlonly, "--snapshot", home.Snapshot, "--date", date,
			"--days", strconv.Itoa(h.opt.Days), "--out", dir}))}); err != nil {
			return nil, err
		}
		if err := compareWith(ImplSQLOnly, dir, full, h.opt.Days); err != nil {
			return nil, err
		}
	}
	if h.naive != "" {
		days := 0
		switch {
		case slices.Contains(h.opt.NaiveFullScales, sc.Name):
			days = h.opt.Days
		case slices.Contains(h.opt.NaiveSubsetScales, sc.Name):
			if a, _, ok := ship.firstDays(); ok {
				days = a
			}
		}
		if days > 0 {
			got := full
			if days != h.opt.Days {
				if got, _, err = assignOut(days); err != nil {
					return nil, err
				}
			}
			dir, err := h.scratch("check-" + sc.Name + "-naive")
			if err != nil {
				return nil, err
			}
			h.logf("%s: output check: naive --days %d", sc.Name, days)
			if _, err := Measure(ctx, Command{Argv: h.policy(tflag([]string{h.naive, "--snapshot", home.Snapshot, "--date", date,
				"--days", strconv.Itoa(days), "--mode", "preassign", "--out", dir}))}); err != nil {
				return nil, err
			}
			if err := compareWith(ImplNaive, dir, got, days); err != nil {
				return nil, err
			}
		}
	}
	return ship, nil
}

// manifestCounts is the part of assign's manifest.json the harness reads.
type manifestCounts struct {
	PerDate []struct {
		ShipOn string `json:"ship_on"`
		Users  int    `json:"users"`
	} `json:"per_date"`
}

func readManifest(path string) (*manifestCounts, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read assign manifest: %w", err)
	}
	var m manifestCounts
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read assign manifest %s: %w", path, err)
	}
	return &m, nil
}

// baselineCases are the timed baseline commands of one scale and thread
// count; baselines not timed at this scale are recorded in sr.Skipped.
func (h *harness) baselineCases(sc synth.Scale, home *Home, sr *ScaleReport, ship shipCounts, threads int) ([]*timedCase, error) {
	date := h.opt.Date.Format(time.DateOnly)
	tflag := func(argv []string) []string {
		if threads > 0 {
			argv = append(argv, "--threads", strconv.Itoa(threads))
		}
		return argv
	}
	withOut := func(res *Result, argv []string) *timedCase {
		name := fmt.Sprintf("%s-%s-%d-%d", sc.Name, res.Impl[:5], threads, res.Days)
		var dir string
		return &timedCase{
			res: res,
			argv: func() ([]string, error) {
				var err error
				if dir, err = h.scratch(name); err != nil {
					return nil, err
				}
				return append(slices.Clone(argv), "--out", dir), nil
			},
			cleanup: func() error { return os.RemoveAll(dir) },
		}
	}
	var cases []*timedCase
	skip := func(impl, reason string) {
		for _, s := range sr.Skipped {
			if s.Impl == impl {
				return
			}
		}
		sr.Skipped = append(sr.Skipped, Skip{Op: OpPreassign, Impl: impl, Reason: reason})
	}
	if h.sqlonly != "" && slices.Contains(h.opt.SQLOnlyScales, sc.Name) {
		res := &Result{Op: OpPreassign, Impl: ImplSQLOnly, Threads: threads, Days: h.opt.Days}
		cases = append(cases, withOut(res, h.policy(tflag([]string{h.sqlonly, "--snapshot", home.Snapshot, "--date", date, "--days", strconv.Itoa(h.opt.Days)}))))
	} else {
		skip(ImplSQLOnly, fmt.Sprintf("not timed at %s (pass --sqlonly-scales to include it)", sc.Name))
	}
	if h.naive == "" {
		return cases, nil
	}
	naive := func(days int, subset bool) *timedCase {
		res := &Result{Op: OpPreassign, Impl: ImplNaive, Threads: threads, Days: days, Subset: subset}
		return withOut(res, h.policy(tflag([]string{h.naive, "--snapshot", home.Snapshot, "--date", date, "--days", strconv.Itoa(days), "--mode", "preassign"})))
	}
	full := slices.Contains(h.opt.NaiveFullScales, sc.Name)
	subset := slices.Contains(h.opt.NaiveSubsetScales, sc.Name)
	if full {
		cases = append(cases, naive(h.opt.Days, false))
	}
	if full || subset {
		// The subset runs feed the extrapolation; at a scale that also runs
		// the full horizon they check the extrapolation against it.
		if a, b, ok := ship.firstDays(); ok && b < h.opt.Days {
			cases = append(cases, naive(a, true), naive(b, true))
		} else if !full {
			skip(ImplNaive, "the horizon has fewer than two ship dates to extrapolate from")
		}
	}
	if !full && !subset {
		skip(ImplNaive, fmt.Sprintf("not timed at %s: its per-user queries would take hours (pass --naive-subset-scales to extrapolate)", sc.Name))
	}
	return cases, nil
}
