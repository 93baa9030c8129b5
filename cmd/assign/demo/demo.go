// Package demo is `assign demo`: the zero-configuration tour. It generates a
// small synthetic extract into the home, loads it, and forecasts two weeks.
package demo

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/cmd/assign/plancmd"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/synth"
)

// Options are the parsed flags of demo.
type Options struct {
	Factory *cmdutil.Factory
	Scale   string
	Seed    int64
	Days    int
	scale   synth.Scale
}

// NewCmdDemo builds `assign demo`.
func NewCmdDemo(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Generate a small extract, load it and forecast two weeks (no setup needed)",
		Long: `The zero-configuration tour of assign, in the data home (./assign-data
unless --home or ASSIGN_HOME says otherwise):

  1. generate a seeded synthetic extract (10,000 subscribers at --scale small)
     into <home>/extracts/demo-<scale>-<seed>;
  2. load it into a new snapshot and make it current;
  3. forecast the boxes and stock of the 14 days from the first ship date
     (preassign) and print the summary.

Afterwards try the commands it prints: explain a box, assign under stock,
query the results with SQL, or write the HTML report.`,
		Example: `  assign demo
  assign demo --scale medium --days 28
  ASSIGN_HOME=/tmp/try assign demo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := synth.LookupScale(opts.Scale)
			if err != nil {
				return cmdutil.FlagErrorf("--scale %q: %v", opts.Scale, err)
			}
			opts.scale = sc
			if err := cmdutil.CheckIntRange("days", opts.Days, 1, 366); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return demoRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Scale, "scale", "small", "size of the generated extract: small, medium or large")
	cmd.Flags().Int64Var(&opts.Seed, "seed", 42, "generator seed")
	cmd.Flags().IntVar(&opts.Days, "days", 14, "days to forecast")
	_ = cmd.RegisterFlagCompletionFunc("scale", cobra.FixedCompletions(synth.ScaleNames(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func demoRun(ctx context.Context, o *Options) error {
	f := o.Factory
	w := f.IO.Out
	home, err := f.Home()
	if err != nil {
		return err
	}
	prog := f.NewProgress()

	dir := filepath.Join(home.Dir, "extracts", fmt.Sprintf("demo-%s-%d", o.scale.Name, o.Seed))
	fmt.Fprintf(w, "1/3 Generating a %s synthetic extract (seed %d) into %s\n", o.scale.Name, o.Seed, dir)
	prog.Stage("generating users", int64(o.scale.Users))
	sum, err := synth.Generate(ctx, synth.Options{Scale: o.scale, Seed: o.Seed, Format: synth.FormatParquet, OutDir: dir, Force: true, Progress: prog.Set})
	prog.Done()
	if err != nil {
		return fmt.Errorf("demo: generate: %w", err)
	}
	fmt.Fprintf(w, "    %d rows in %d tables, %s, in %.1fs\n\n", sum.Rows(), len(sum.Tables), cmdutil.HumanBytes(sum.Bytes()), sum.Elapsed.Seconds())

	fmt.Fprintf(w, "2/3 Loading it into a new snapshot\n")
	prog = f.NewProgress()
	res, err := loaders.Load(ctx, loaders.Options{Dir: dir, Home: home, Now: f.Now, Version: cmdutil.BuildVersion(), Logger: f.Logger,
		Progress: func(table string, done, total int) { prog.Stage("loading "+table, 0) }})
	prog.Done()
	if err != nil {
		if ctx.Err() != nil {
			return cmdutil.Interrupted("interrupted; the extract was generated in %s, nothing was loaded", dir)
		}
		return fmt.Errorf("demo: load: %w", err)
	}
	var rows int64
	for _, t := range res.Tables {
		rows += t.Rows
	}
	fmt.Fprintf(w, "    snapshot %s is current: %d rows validated and loaded in %.1fs\n\n", res.Snapshot, rows, res.Elapsed.Seconds())

	d0, err := firstShipDate(ctx, f, sum.AsOf)
	if err != nil {
		if ctx.Err() != nil {
			return cmdutil.Interrupted("interrupted; snapshot %s was loaded and is current, no forecast was written", res.Snapshot)
		}
		return err
	}
	fmt.Fprintf(w, "3/3 Forecasting %s of boxes from the first ship date, %s\n\n", cmdutil.Days(o.Days), d0)
	prog = f.NewProgress()
	out, err := plan.Execute(ctx, home, plan.Request{
		Mode: engine.Preassign, D0: d0, Days: o.Days, Policy: policy.Default(), Now: f.Now, Version: cmdutil.BuildVersion(),
		Flags: map[string]any{"demo": true, "days": o.Days}, Logger: f.Logger,
		Stage: func(name string) { prog.Stage(name, 0) }, Progress: prog.Set,
	})
	prog.Done()
	if err != nil {
		if ctx.Err() != nil {
			return cmdutil.Interrupted("interrupted; snapshot %s was loaded and is current, no forecast was written", res.Snapshot)
		}
		return fmt.Errorf("demo: preassign: %w", err)
	}
	plancmd.PrintSummary(w, out, 5)

	user := anyShippingUser(out.Result)
	hints := [][2]string{
		{fmt.Sprintf("assign explain --user %d --date %s", user, d0), "why this box?"},
		{fmt.Sprintf("assign run --date %s --days %d", d0, o.Days), "assign under stock"},
		{"assign check latest", "verify every rule on the latest run"},
		{`assign query "SELECT * FROM latest.demand ORDER BY shortage DESC LIMIT 10"`, "SQL over snapshot and runs"},
		{fmt.Sprintf("assign report --date %s --days %d --out ./reports", d0, o.Days), "HTML report"},
	}
	fmt.Fprintf(w, "\nNext, try:\n")
	for _, h := range hints {
		fmt.Fprintf(w, "  %-78s # %s\n", h[0], h[1])
	}
	return nil
}

// firstShipDate is the earliest date on or after the extract's as-of date
// on which an active user ships (skips aside: the demo only needs a date).
func firstShipDate(ctx context.Context, f *cmdutil.Factory, asOf time.Time) (engine.Day, error) {
	db, _, err := f.OpenSnapshot(ctx, "", 0)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	d, ok, err := plan.NextShipDate(ctx, db, engine.DayOf(asOf))
	if err != nil {
		return 0, fmt.Errorf("demo: %w", err)
	}
	if !ok {
		return 0, fmt.Errorf("demo: the extract has no active user")
	}
	return d, nil
}

func anyShippingUser(res *engine.Result) int64 {
	for _, date := range res.Dates {
		if len(date.Users) > 0 {
			return res.Inputs.UserID[date.Users[0]]
		}
	}
	return 0
}
