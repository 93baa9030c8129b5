// Command bench is the project's benchmark harness (make bench): it times
// the built assign binary and the two baselines of SPEC section 6 on the
// synthetic scales, checks that their outputs agree, prints a table of
// median wall time, CPU time and peak RSS with the baseline / assign
// ratios, appends a section to benchmarks/RESULTS.md and keeps every run in
// a JSON file. See package benchmarks/harness.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/benchmarks/harness"
	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/synth"
)

func main() {
	if harness.IsLauncher() {
		// This process only starts and times one command for the harness.
		os.Exit(harness.Launch(os.Args[1:]))
	}
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs the command with args and returns the exit code: 0 done, 2 bad
// flags, 1 any other failure.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := newCmd(stdout, stderr, args)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		var fe *cmdutil.FlagError
		if errors.As(err, &fe) {
			fmt.Fprintln(stderr, "run 'bench --help' for usage")
			return cmdutil.ExitUsage
		}
		return cmdutil.ExitFailure
	}
	return cmdutil.ExitOK
}

type options struct {
	scales      []string
	large       bool
	targets     bool
	runs        int
	days        int
	date        string
	seed        int64
	threads     []int
	ops         []string
	noBaselines bool
	out         string
	jsonPath    string
	assign      string
	cache       string
	goCmd       string
	sqlonly     []string
	naiveFull   []string
	naiveSubset []string
	quietIdle   float64
	quietWait   time.Duration
	policyFlags string
}

func newCmd(stdout, stderr io.Writer, args []string) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "bench [flags]",
		Short: "Time assign and the baselines on the synthetic scales (make bench)",
		Long: `Generates the synthetic scales once into a cache (benchmarks/.cache, reused
while complete and while the generator's source is unchanged), loads each once
into a cached data home, then times as separate child processes, each
repeated --runs times:

  assign load            of the Parquet and of the CSV extract (fresh home each run)
  assign preassign       --date D --days N
  assign run             --date D --days N
  sqlonly (baseline a)   SPEC preassign as DuckDB SQL, same horizon
  naive (baseline b)     the per-user loop: the whole horizon at --naive-full-scales,
                         at --naive-subset-scales the horizon through the first and
                         the second ship date, extrapolated (and labelled so)

Wall time, user+sys CPU and peak RSS come from wait4 (rusage) of each child.
Before timing a scale it runs assign's preassign once with CSV output and
compares the baselines' outputs with it (benchmarks/compare); a baseline whose
output differs gets no ratio. The table (medians, ratios baseline / assign)
goes to stdout, progress to stderr, a markdown section is appended to --out
and every run is kept in --json.

Measure on a quiet machine: --quiet-idle 0.9 waits before each run until 90%
of CPU time is idle (up to --quiet-wait) and the report says how idle it was.`,
		Example: `  # Build, then small and medium with the baselines (make bench)
  make build && go run -tags duckdb_arrow ./benchmarks/cmd/bench

  # Large too (needs ~20 GB of disk and about an hour)
  go run -tags duckdb_arrow ./benchmarks/cmd/bench --large

  # Every row of issue 13's targets (make bench-targets): small and medium
  # with the baselines, medium preassign and run also at 1 and 2 threads,
  # large preassign; a target table follows the results
  make build && go run -tags duckdb_arrow ./benchmarks/cmd/bench --targets --quiet-idle 0.9

  # preassign only, at one and two threads, waiting for a quiet machine
  go run -tags duckdb_arrow ./benchmarks/cmd/bench --scales medium --ops preassign \
      --threads 1,2 --no-baselines --quiet-idle 0.9 --quiet-wait 1h

  # A quick check of the harness itself
  go run -tags duckdb_arrow ./benchmarks/cmd/bench --scales tiny --runs 1 --out '' `,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt, err := o.resolve()
			if err != nil {
				return err
			}
			opt.Log = stderr
			command := harness.Command{Argv: append([]string{"go", "run", "-tags", "duckdb_arrow", "./benchmarks/cmd/bench"}, args...)}
			rep, err := harness.Run(cmd.Context(), opt, command.String())
			if err != nil {
				return err
			}
			jsonPath := o.jsonPath
			if jsonPath == "" {
				jsonPath = filepath.Join(opt.CacheDir, "reports", "bench-"+rep.Started.Format("20060102T150405")+".json")
			}
			if err := harness.WriteJSON(jsonPath, rep); err != nil {
				return err
			}
			harness.PrintTable(stdout, rep)
			fmt.Fprintf(stderr, "bench: every run is in %s\n", jsonPath)
			if o.out != "" {
				if err := harness.AppendMarkdown(o.out, rep, relToRoot(opt.RepoRoot, jsonPath)); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "bench: results section appended to %s\n", o.out)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&o.scales, "scales", []string{"small", "medium"}, "scales to time, in order (hidden scales such as tiny are accepted)")
	fs.BoolVar(&o.large, "large", false, "time the large scale too")
	fs.BoolVar(&o.targets, "targets", false, "measure every target of issue 13: small, medium (preassign and run also at --threads 1 and 2) and large (preassign only); overrides --scales")
	fs.IntVar(&o.runs, "runs", 3, "runs of every command; the median is reported")
	fs.IntVar(&o.days, "days", 28, "horizon of preassign and run, in days")
	fs.StringVar(&o.date, "date", synth.DefaultAsOf.Format(time.DateOnly), "extract as-of date and first ship date D0, YYYY-MM-DD")
	fs.Int64Var(&o.seed, "seed", 1, "generator seed")
	fs.IntSliceVar(&o.threads, "threads", []int{0}, "--threads values to time, e.g. 1,2 (0: the programs' default, all cores)")
	fs.StringSliceVar(&o.ops, "ops", harness.Ops, "operations to time: "+strings.Join(harness.Ops, ", "))
	fs.BoolVar(&o.noBaselines, "no-baselines", false, "time assign only (no baselines and no output check)")
	fs.StringVar(&o.out, "out", "benchmarks/RESULTS.md", "markdown file the results section is appended to ('' for none)")
	fs.StringVar(&o.jsonPath, "json", "", "file for every run as JSON (default: a dated file under the cache's reports/)")
	fs.StringVar(&o.assign, "assign", "bin/assign", "assign binary to time (make build)")
	fs.StringVar(&o.cache, "cache", "benchmarks/.cache", "cache folder for extracts, homes, baseline binaries and scratch outputs")
	fs.StringVar(&o.goCmd, "go", "go", "go command that builds the baselines")
	fs.StringSliceVar(&o.sqlonly, "sqlonly-scales", []string{"small", "medium"}, "scales where baseline (a) is timed")
	fs.StringSliceVar(&o.naiveFull, "naive-full-scales", []string{"small"}, "scales where baseline (b) runs the whole horizon")
	fs.StringSliceVar(&o.naiveSubset, "naive-subset-scales", []string{"medium"}, "scales where baseline (b) runs the first ship dates and is extrapolated")
	fs.StringVar(&o.policyFlags, "policy-flags", "", "policy flags for every planning command, assign's and the baselines', e.g. '--repeat-window-days 90'")
	fs.Float64Var(&o.quietIdle, "quiet-idle", 0, "before each run wait until this share of CPU time is idle, e.g. 0.9 (0: do not wait)")
	fs.DurationVar(&o.quietWait, "quiet-wait", time.Hour, "longest wait for a quiet machine before each run; then it runs and is flagged busy")
	return cmd
}

func (o *options) resolve() (harness.Options, error) {
	var opt harness.Options
	if o.runs < 1 || o.runs > 100 {
		return opt, cmdutil.FlagErrorf("--runs %d is out of range: use 1..100", o.runs)
	}
	if err := cmdutil.CheckIntRange("days", o.days, 1, 366); err != nil {
		return opt, err
	}
	d, err := cmdutil.ParseDateFlag("date", o.date)
	if err != nil {
		return opt, err
	}
	scales := slices.Clone(o.scales)
	var opsAt map[string][]string
	var scalingAt map[string][]int
	if o.targets {
		scales = []string{"small", "medium", "large"}
		opsAt = map[string][]string{"large": {harness.OpPreassign}}
		scalingAt = map[string][]int{"medium": {1, 2}}
	}
	if o.large && !slices.Contains(scales, "large") {
		scales = append(scales, "large")
	}
	for _, s := range scales {
		if _, err := synth.LookupScale(s); err != nil {
			return opt, cmdutil.FlagErrorf("--scales: %v", err)
		}
	}
	for _, op := range o.ops {
		if !slices.Contains(harness.Ops, op) {
			return opt, cmdutil.FlagErrorf("--ops: unknown operation %q: use some of %s", op, strings.Join(harness.Ops, ", "))
		}
	}
	for _, t := range o.threads {
		if err := cmdutil.CheckIntRange("threads", t, 0, 1024); err != nil {
			return opt, err
		}
	}
	for _, f := range strings.Fields(o.policyFlags) {
		if strings.HasPrefix(f, "-") && !strings.HasPrefix(f, "--") {
			return opt, cmdutil.FlagErrorf("--policy-flags: %q: write policy flags in long form, e.g. --repeat-window-days 90", f)
		}
	}
	if o.quietIdle < 0 || o.quietIdle > 1 {
		return opt, cmdutil.FlagErrorf("--quiet-idle %v is out of range: use a share between 0 and 1, e.g. 0.9", o.quietIdle)
	}
	root, err := repoRoot()
	if err != nil {
		return opt, err
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}
	assign := abs(o.assign)
	if fi, err := os.Stat(assign); err != nil || fi.IsDir() {
		return opt, cmdutil.FlagErrorf("--assign %s: no such binary; build it with 'make build'", assign)
	}
	if o.out != "" {
		o.out = abs(o.out)
	}
	if o.jsonPath != "" {
		o.jsonPath, _ = filepath.Abs(o.jsonPath)
	}
	return harness.Options{
		RepoRoot: root, Assign: assign, Go: o.goCmd, CacheDir: abs(o.cache),
		Scales: scales, Seed: o.seed, Date: d, Days: o.days, Runs: o.runs, Threads: o.threads, Ops: o.ops, OpsAt: opsAt, ScalingAt: scalingAt,
		Baselines: !o.noBaselines, SQLOnlyScales: o.sqlonly, NaiveFullScales: o.naiveFull, NaiveSubsetScales: o.naiveSubset,
		QuietIdle: o.quietIdle, QuietWait: o.quietWait, PolicyFlags: strings.Fields(o.policyFlags),
	}, nil
}

// repoRoot finds the module root from the working directory, so the
// harness works from any folder of the repository.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the repository: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/assign-dev/assign\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the assign repository: run bench from the repository (make bench)")
		}
		dir = parent
	}
}

func relToRoot(root, p string) string {
	if rel, err := filepath.Rel(root, p); err == nil && filepath.IsLocal(rel) {
		return rel
	}
	return p
}
