// Command shardbench measures sharded jobs against one machine (make
// bench-shards): for preassign, the single machine's run and N shards run
// one after another, each shard's wall time and peak RSS, the merge's, and
// whether the merged tables equal the single machine's row for row; for
// run, the loss of a sharded run (stock quotas and the merge's final pass)
// against one machine in short boxes and total score. It prints a markdown
// section and appends it to --out.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/assign-dev/assign/benchmarks/harness"
	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/results"
	"github.com/assign-dev/assign/synth"
)

func main() {
	if harness.IsLauncher() {
		os.Exit(harness.Launch(os.Args[1:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Main(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "shardbench:", err)
		os.Exit(1)
	}
}

type options struct {
	scale, op, date, assign, cache, out, policyFlags string
	home                                             string
	shards                                           []int
	days, parallel                                   int
	seed                                             int64
	noSingle, keep                                   bool
	stockFactor                                      float64
}

// Main parses args and runs the benchmark.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("shardbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	var shardList string
	fs.StringVar(&o.scale, "scale", "medium", "synth scale (hidden ones allowed, e.g. u10m)")
	fs.StringVar(&o.op, "op", "preassign", "preassign: shards vs one machine (RSS, merge time, equality); run: the loss of a sharded run")
	fs.StringVar(&shardList, "shards", "8", "shard counts, comma-separated")
	fs.IntVar(&o.days, "days", 28, "horizon")
	fs.StringVar(&o.date, "date", synth.DefaultAsOf.Format(time.DateOnly), "first ship date (and the extract's as-of date)")
	fs.Int64Var(&o.seed, "seed", 1, "generator seed")
	fs.StringVar(&o.assign, "assign", "bin/assign", "assign binary (make build)")
	fs.StringVar(&o.cache, "cache", "benchmarks/.cache", "cache of extracts and homes (shared with make bench)")
	fs.StringVar(&o.home, "home", "", "plan on this home (its current snapshot holds the --scale extract) instead of one prepared in --cache; runs and parts it writes are removed after unless --keep")
	fs.StringVar(&o.out, "out", "benchmarks/RESULTS.md", "markdown file the section is appended to ('' for none)")
	fs.StringVar(&o.policyFlags, "policy-flags", "", "policy flags for every planning command, e.g. '--min-shelf-days 45'")
	fs.IntVar(&o.parallel, "parallel", 2, "run: shards at once in assign shards --local")
	fs.BoolVar(&o.noSingle, "no-single", false, "preassign: skip the single-machine run (a scale one machine cannot hold)")
	fs.BoolVar(&o.keep, "keep", false, "keep the parts and the runs this benchmark writes")
	fs.Float64Var(&o.stockFactor, "stock-factor", 1, "scale every lot's quantity by this factor (a scarce-stock variant of the extract, loaded into a home of its own)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, s := range strings.Split(shardList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("--shards %q: want counts such as 4,16", shardList)
		}
		o.shards = append(o.shards, n)
	}
	if o.op != "preassign" && o.op != "run" {
		return fmt.Errorf("--op %q: preassign or run", o.op)
	}
	sc, err := synth.LookupScale(o.scale)
	if err != nil {
		return err
	}
	d, err := time.Parse(time.DateOnly, o.date)
	if err != nil {
		return fmt.Errorf("--date: %v", err)
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}
	o.assign, o.cache, o.out, o.home = abs(o.assign), abs(o.cache), abs(o.out), abs(o.home)
	if _, err := os.Stat(o.assign); err != nil {
		return fmt.Errorf("--assign %s: build it with make build", o.assign)
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "shardbench: "+format+"\n", a...) }
	hopt := harness.Options{RepoRoot: root, Assign: o.assign, CacheDir: o.cache, Seed: o.seed, Date: d, Log: stderr}
	var home *harness.Home
	switch {
	case o.home != "" && o.stockFactor != 1:
		return errors.New("--home and --stock-factor: the scarce variant is prepared in --cache; give one of them")
	case o.home != "":
		if _, err := os.Stat(filepath.Join(o.home, "CURRENT")); err != nil {
			return fmt.Errorf("--home %s: not an assign home with a current snapshot (%v)", o.home, err)
		}
		home = &harness.Home{Dir: o.home}
	default:
		if home, err = harness.PrepareHome(ctx, hopt, sc); err != nil {
			return err
		}
	}
	if o.stockFactor != 1 {
		if o.stockFactor <= 0 {
			return fmt.Errorf("--stock-factor %v: must be > 0", o.stockFactor)
		}
		if home, err = scarceHome(ctx, o, sc, logf); err != nil {
			return err
		}
	}
	b := &bench{o: o, home: home.Dir, logf: logf, started: time.Now().UTC()}
	b.load1, _ = harness.LoadAverage()
	var section string
	if o.op == "preassign" {
		section, err = b.preassign(ctx, sc)
	} else {
		section, err = b.run(ctx, sc)
	}
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, section)
	if o.out != "" {
		f, err := os.OpenFile(o.out, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := fmt.Fprint(f, "\n"+section); err != nil {
			return err
		}
		logf("section appended to %s", o.out)
	}
	return nil
}

type bench struct {
	o       *options
	home    string
	logf    func(string, ...any)
	started time.Time
	load1   float64
}

func (b *bench) planArgs(verb string) []string {
	args := []string{b.o.assign, "--home", b.home, verb, "--date", b.o.date, "--days", strconv.Itoa(b.o.days)}
	return append(args, strings.Fields(b.o.policyFlags)...)
}

// newest returns the run folder the last command added to the home.
func (b *bench) newest(before map[string]bool) (string, error) {
	entries, err := os.ReadDir(filepath.Join(b.home, "runs"))
	if err != nil {
		return "", err
	}
	var added []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !before[e.Name()] {
			added = append(added, e.Name())
		}
	}
	if len(added) == 0 {
		return "", errors.New("the command wrote no run")
	}
	sort.Strings(added)
	return filepath.Join(b.home, "runs", added[len(added)-1]), nil
}

func (b *bench) runs() map[string]bool {
	out := map[string]bool{}
	entries, _ := os.ReadDir(filepath.Join(b.home, "runs"))
	for _, e := range entries {
		out[e.Name()] = true
	}
	return out
}

// measure runs argv, logs it, and returns its sample and the run it added.
func (b *bench) measure(ctx context.Context, what string, argv []string) (harness.Sample, string, error) {
	before := b.runs()
	b.logf("%s: %s", what, harness.Command{Argv: argv})
	s, err := harness.Measure(ctx, harness.Command{Argv: argv})
	if err != nil {
		return s, "", err
	}
	b.logf("%s: %.2fs wall, %.2fs cpu, %s peak RSS", what, s.Wall.Seconds(), s.CPU().Seconds(), harness.HumanBytes(s.MaxRSS))
	dir, _ := b.newest(before)
	return s, dir, nil
}

func (b *bench) header(title, command string) string {
	return fmt.Sprintf("## %s (%s)\n\n- Command: `%s`\n- Machine: %s\n- Load: 1-minute load average %.2f at the start (a shared machine: other engineers' work ran beside it; compare ratios, not absolute times)\n",
		title, b.started.Format("2006-01-02 15:04 UTC"), command, harness.DescribeMachine(), b.load1)
}

func (b *bench) command() string {
	parts := []string{"go run -tags duckdb_arrow ./benchmarks/cmd/shardbench", "--scale", b.o.scale, "--op", b.o.op}
	var ns []string
	for _, n := range b.o.shards {
		ns = append(ns, strconv.Itoa(n))
	}
	parts = append(parts, "--shards", strings.Join(ns, ","), "--days", strconv.Itoa(b.o.days))
	if b.o.policyFlags != "" {
		parts = append(parts, "--policy-flags", "'"+b.o.policyFlags+"'")
	}
	if b.o.noSingle {
		parts = append(parts, "--no-single")
	}
	if b.o.home != "" {
		parts = append(parts, "--home", b.o.home)
	}
	if b.o.stockFactor != 1 {
		parts = append(parts, "--stock-factor", strconv.FormatFloat(b.o.stockFactor, 'g', -1, 64))
	}
	return strings.Join(parts, " ")
}

// preassign times one machine, then for each shard count the shards one
// after another and the merge, and compares the merged tables with one
// machine's.
func (b *bench) preassign(ctx context.Context, sc synth.Scale) (string, error) {
	var s strings.Builder
	s.WriteString(b.header(fmt.Sprintf("Sharded preassign, %s (%d users), %d days", sc.Name, sc.Users, b.o.days), b.command()))
	var single harness.Sample
	var singleRun string
	if !b.o.noSingle {
		var err error
		if single, singleRun, err = b.measure(ctx, "one machine", b.planArgs("preassign")); err != nil {
			return "", err
		}
		if !b.o.keep {
			defer os.RemoveAll(singleRun)
		}
	}
	s.WriteString("\n| step | wall | user+sys | peak RSS | vs one machine |\n| --- | ---:| ---:| ---:| --- |\n")
	if !b.o.noSingle {
		fmt.Fprintf(&s, "| one machine | %.2f s | %.2f s | %s | |\n", single.Wall.Seconds(), single.CPU().Seconds(), harness.HumanBytes(single.MaxRSS))
	}
	var notes []string
	for _, n := range b.o.shards {
		parts := filepath.Join(b.o.cache, "scratch", fmt.Sprintf("parts-%s-%d", sc.Name, n))
		_ = os.RemoveAll(parts)
		var shardSamples []harness.Sample
		for i := 0; i < n; i++ {
			argv := append(b.planArgs("preassign"), "--shard", fmt.Sprintf("%d/%d", i, n), "--out", parts)
			smp, _, err := b.measure(ctx, fmt.Sprintf("shard %d/%d", i, n), argv)
			if err != nil {
				return "", err
			}
			shardSamples = append(shardSamples, smp)
		}
		msmp, mergedRun, err := b.measure(ctx, fmt.Sprintf("merge of %d", n), []string{b.o.assign, "--home", b.home, "merge", parts})
		if err != nil {
			return "", err
		}
		var sumWall, maxWall time.Duration
		var maxRSSb int64
		for _, x := range shardSamples {
			if x.MaxRSS > maxRSSb {
				maxRSSb = x.MaxRSS
			}
			sumWall += x.Wall
			maxWall = max(maxWall, x.Wall)
		}
		medRSS := harness.MedianOf(shardSamples, func(x harness.Sample) int64 { return x.MaxRSS })
		vs := func(num, den float64, what string) string {
			if b.o.noSingle || den == 0 {
				return ""
			}
			return fmt.Sprintf("%s %.2f", what, num/den)
		}
		fmt.Fprintf(&s, "| %d shards, one after another (largest shard) | %.2f s (sum %.2f s) | | %s (median %s) | %s |\n", n, maxWall.Seconds(), sumWall.Seconds(),
			harness.HumanBytes(maxRSSb), harness.HumanBytes(medRSS), vs(float64(maxRSSb), float64(single.MaxRSS), "peak RSS ratio"))
		fmt.Fprintf(&s, "| merge of %d parts | %.2f s | %.2f s | %s | %s |\n", n, msmp.Wall.Seconds(), msmp.CPU().Seconds(), harness.HumanBytes(msmp.MaxRSS),
			vs(msmp.Wall.Seconds(), single.Wall.Seconds(), "wall ratio"))
		if !b.o.noSingle {
			eq, err := compareRuns(ctx, singleRun, mergedRun)
			if err != nil {
				return "", err
			}
			notes = append(notes, fmt.Sprintf("%d shards: merged tables against one machine's: %s", n, eq))
		}
		if !b.o.keep {
			_ = os.RemoveAll(parts)
			_ = os.RemoveAll(mergedRun)
		}
	}
	s.WriteString("\n")
	for _, n := range notes {
		s.WriteString("- " + n + "\n")
	}
	return s.String(), nil
}

// compareRuns compares the four SPEC tables of two run folders row for row
// (multisets; every column, scores exactly) and says how they differ.
func compareRuns(ctx context.Context, a, b string) (string, error) {
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2, MemoryLimit: "10GB", TempDir: filepath.Join(filepath.Dir(a), "..", "tmp")})
	if err != nil {
		return "", err
	}
	defer db.Close()
	var out []string
	equal := true
	for _, t := range []string{"boxes", "demand", "snack_summary", "short_boxes"} {
		pa, ok1 := results.ParquetPath(a, t)
		pb, ok2 := results.ParquetPath(b, t)
		if !ok1 || !ok2 {
			return "", fmt.Errorf("compare %s: a run lacks it (%s, %s)", t, a, b)
		}
		var na, nb, onlyA, onlyB int64
		q := fmt.Sprintf(`SELECT (SELECT count(*) FROM read_parquet(%[1]s)), (SELECT count(*) FROM read_parquet(%[2]s)),
			(SELECT count(*) FROM (SELECT * FROM read_parquet(%[1]s) EXCEPT ALL SELECT * FROM read_parquet(%[2]s))),
			(SELECT count(*) FROM (SELECT * FROM read_parquet(%[2]s) EXCEPT ALL SELECT * FROM read_parquet(%[1]s)))`, duck.Quote(pa), duck.Quote(pb))
		if err := db.QueryRow(ctx, q).Scan(&na, &nb, &onlyA, &onlyB); err != nil {
			return "", fmt.Errorf("compare %s: %w", t, duck.Clean(err))
		}
		if onlyA != 0 || onlyB != 0 {
			equal = false
		}
		out = append(out, fmt.Sprintf("%s %d/%d rows, %d/%d differ", t, na, nb, onlyA, onlyB))
	}
	verdict := "equal row for row"
	if !equal {
		verdict = "DIFFERENT"
	}
	return verdict + " (" + strings.Join(out, "; ") + ")", nil
}

// runFigures are what a run's loss is measured in.
type runFigures struct {
	short  int
	lines  int64
	score  float64
	wall   time.Duration
	maxRSS int64
	pass   string
}

func readFigures(ctx context.Context, dir string) (runFigures, error) {
	var f runFigures
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return f, err
	}
	var m struct {
		Counts struct {
			ShortBoxes int   `json:"short_boxes"`
			BoxLines   int64 `json:"box_lines"`
		} `json:"counts"`
		Shards *struct {
			FinalPass *struct {
				ShortBefore int     `json:"short_boxes_before"`
				Topped      int     `json:"boxes_topped_up"`
				Lines       int64   `json:"lines_added"`
				Leftover    int64   `json:"units_unused_by_shards"`
				Score       float64 `json:"score_added"`
			} `json:"final_pass"`
		} `json:"shards"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return f, err
	}
	f.short, f.lines = m.Counts.ShortBoxes, m.Counts.BoxLines
	if m.Shards != nil && m.Shards.FinalPass != nil {
		p := m.Shards.FinalPass
		f.pass = fmt.Sprintf("%d of %d short boxes topped up with %d lines (score %+.1f) from the %d units no shard took", p.Topped, p.ShortBefore, p.Lines, p.Score, p.Leftover)
	}
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
	if err != nil {
		return f, err
	}
	defer db.Close()
	p, ok := results.ParquetPath(dir, "boxes")
	if !ok {
		return f, fmt.Errorf("run %s has no boxes", dir)
	}
	err = db.QueryRow(ctx, "SELECT coalesce(sum(score), 0) FROM read_parquet("+duck.Quote(p)+")").Scan(&f.score)
	return f, duck.Clean(err)
}

// run measures the loss of sharded runs against one machine.
func (b *bench) run(ctx context.Context, sc synth.Scale) (string, error) {
	var s strings.Builder
	s.WriteString(b.header(fmt.Sprintf("Sharded run (stock quotas and the merge's final pass), %s (%d users), %d days", sc.Name, sc.Users, b.o.days), b.command()))
	smp, dir, err := b.measure(ctx, "one machine", b.planArgs("run"))
	if err != nil {
		return "", err
	}
	single, err := readFigures(ctx, dir)
	if err != nil {
		return "", err
	}
	single.wall, single.maxRSS = smp.Wall, smp.MaxRSS
	if !b.o.keep {
		_ = os.RemoveAll(dir)
	}
	s.WriteString("\n| plan | short boxes | box lines | total score | score vs one machine | wall (all steps) | final pass |\n| --- | ---:| ---:| ---:| ---:| ---:| --- |\n")
	fmt.Fprintf(&s, "| one machine | %d | %d | %.3f | | %.1f s | |\n", single.short, single.lines, single.score, single.wall.Seconds())
	for _, n := range b.o.shards {
		before := b.runs()
		argv := []string{b.o.assign, "--home", b.home, "shards", "--local", strconv.Itoa(n), "--parallel", strconv.Itoa(b.o.parallel), "--", "run",
			"--date", b.o.date, "--days", strconv.Itoa(b.o.days)}
		argv = append(argv, strings.Fields(b.o.policyFlags)...)
		b.logf("%d shards: %s", n, harness.Command{Argv: argv})
		smp, err := harness.Measure(ctx, harness.Command{Argv: argv})
		if err != nil {
			return "", err
		}
		runs := b.runs()
		var added []string
		for r := range runs {
			if !before[r] && !strings.HasPrefix(r, ".") {
				added = append(added, r)
			}
		}
		slices.Sort(added)
		var runDir string
		for _, r := range added {
			if strings.HasSuffix(r, "-run") || strings.Contains(r, "-run-") {
				runDir = filepath.Join(b.home, "runs", r)
			}
		}
		if runDir == "" {
			return "", fmt.Errorf("%d shards: no merged run in %v", n, added)
		}
		f, err := readFigures(ctx, runDir)
		if err != nil {
			return "", err
		}
		loss := 100 * (single.score - f.score) / single.score
		fmt.Fprintf(&s, "| %d shards | %d | %d | %.3f | %+.3f %% | %.1f s | %s |\n", n, f.short, f.lines, f.score, -loss, smp.Wall.Seconds(), f.pass)
		b.logf("%d shards: short boxes %d (one machine %d), score %.3f (%+.3f %%)", n, f.short, single.short, f.score, -loss)
		if !b.o.keep {
			for _, r := range added {
				_ = os.RemoveAll(filepath.Join(b.home, "runs", r))
			}
		}
	}
	s.WriteString("\nScore vs one machine is (sharded - one machine) / one machine; negative is a loss. \"wall (all steps)\" is `assign shards --local N` end to end: the sharded preassign, its merge, the run shards and the run's merge.\n")
	return s.String(), nil
}

// scarceHome returns a cached home holding the scale's extract with every
// lot's quantity scaled by o.stockFactor (floored): the other tables are
// links to the cached extract's files, stock.parquet is rewritten, and the
// extract is loaded as usual.
func scarceHome(ctx context.Context, o *options, sc synth.Scale, logf func(string, ...any)) (*harness.Home, error) {
	tag := fmt.Sprintf("%s-seed%d-stock%s", sc.Name, o.seed, strconv.FormatFloat(o.stockFactor, 'g', -1, 64))
	home := filepath.Join(o.cache, "homes", tag)
	snap := filepath.Join(home, "snapshots", "bench.duckdb")
	if _, err := os.Stat(snap); err == nil {
		logf("reusing the scarce-stock home %s", home)
		return &harness.Home{Dir: home, Snapshot: snap}, nil
	}
	src := filepath.Join(o.cache, "extracts", fmt.Sprintf("%s-seed%d-parquet", sc.Name, o.seed))
	dst := filepath.Join(o.cache, "extracts", tag)
	_ = os.RemoveAll(dst)
	_ = os.RemoveAll(home)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Name() == "stock.parquet" {
			continue
		}
		if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return nil, err
		}
	}
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
	if err != nil {
		return nil, err
	}
	_, err = db.Exec(ctx, fmt.Sprintf("COPY (SELECT * REPLACE (floor(quantity * %v)::INTEGER AS quantity) FROM read_parquet(%s)) TO %s (FORMAT parquet)",
		o.stockFactor, duck.Quote(filepath.Join(src, "stock.parquet")), duck.Quote(filepath.Join(dst, "stock.parquet"))))
	db.Close()
	if err != nil {
		return nil, fmt.Errorf("scale the stock: %w", duck.Clean(err))
	}
	logf("loading the scarce-stock extract %s into %s", dst, home)
	if _, err := harness.Measure(ctx, harness.Command{Argv: []string{o.assign, "--home", home, "load", dst, "--name", "bench"}}); err != nil {
		return nil, err
	}
	return &harness.Home{Dir: home, Snapshot: snap}, nil
}

// repoRoot finds the module root from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/assign-dev/assign\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the assign repository")
		}
		dir = parent
	}
}
