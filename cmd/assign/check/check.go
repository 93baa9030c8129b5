// Package check is the `assign check` command: verify a run against the
// snapshot and every hard rule.
package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/analytics"
	runcheck "github.com/assign-dev/assign/check"
	"github.com/assign-dev/assign/cmd/assign/cmdutil"
)

// Options are the parsed flags of check.
type Options struct {
	Factory  *cmdutil.Factory
	Run      string
	Snapshot string
	Format   string
	Max      int
	Threads  int
}

// NewCmdCheck builds `assign check`.
func NewCmdCheck(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "check [RUN]",
		Short: "Verify a run's boxes against the snapshot and every hard rule",
		Long: `Check a run folder (a run id, "latest", or the path of an --out folder)
against the snapshot it was made from, independently of the engine:

  - every box line is eligible on its date (active, launched, no NG tag, not
    delivered within the repeat window, not rated at or below the never-again
    rating), no snack twice in a box, positions 1..n with requests first;
  - box sizes, short boxes, and every shipping user has a box;
  - scores recomputed from the snapshot agree within 1e-9;
  - no better eligible snack was passed over, categories exceed the cap only
    when the fill pass needed it, open requests for available snacks were
    honoured;
  - run mode: every lot belongs to the snack, is usable on the ship date, and
    no lot gives more units than it holds; preassign: covered units replay
    first-expiry-first-out exactly;
  - demand and snack_summary agree with the box lines and the stock.

Exits 1 when any rule is broken, listing the first violations.`,
		Example: `  assign check latest
  assign check 20260302T061500-run
  assign check ./forecast --format json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Run = "latest"
			if len(args) == 1 {
				opts.Run = args[0]
			}
			if err := cmdutil.CheckChoice("format", opts.Format, "text", "json"); err != nil {
				return err
			}
			if err := cmdutil.CheckIntRange("max", opts.Max, 1, 1000000); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return checkRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Snapshot, "snapshot", "", "snapshot to check against (default: the one the run names)")
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output: text or json")
	cmd.Flags().IntVar(&opts.Max, "max", 20, "violations listed")
	cmd.Flags().IntVar(&opts.Threads, "threads", 0, "DuckDB threads (default: all cores)")
	return cmd
}

func checkRun(ctx context.Context, o *Options) error {
	f := o.Factory
	home, err := f.Home()
	if err != nil {
		return err
	}
	run, err := home.FindRun(o.Run)
	if err != nil {
		return err
	}
	if err := analytics.RunDamage(run); err != nil {
		return err
	}
	man, err := runcheck.ReadManifest(run.Dir)
	if err != nil {
		return err
	}
	if run.Scenario {
		// A scenario's stock is not the snapshot's: checking it against the
		// snapshot would report its changes as broken rules.
		return fmt.Errorf("run %s is a what-if scenario planned on changed inputs, and check verifies runs against the snapshot as loaded: check its base run instead", run.ID)
	}
	snap := o.Snapshot
	if snap == "" {
		snap = man.Snapshot
	}
	db, _, err := f.OpenSnapshot(ctx, snap, o.Threads)
	var missing *cmdutil.SnapshotError
	if errors.As(err, &missing) {
		return fmt.Errorf("run %s was made from snapshot %q: %w", run.ID, man.Snapshot, err)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	prog := f.NewProgress()
	prog.Stage("checking boxes", 0)
	rep, err := runcheck.Run(ctx, db, run.Dir, man, runcheck.Options{Keep: o.Max, Progress: prog.Set})
	prog.Done()
	if err != nil {
		return err
	}
	if o.Format == "json" {
		enc := json.NewEncoder(f.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(f.IO.Out, "Checked run %s (%s) against snapshot %s: %d boxes, %d lines in %.1fs.\n", run.ID, rep.Mode, snap, rep.Boxes, rep.Lines, rep.Seconds)
		if rep.OK() {
			fmt.Fprintln(f.IO.Out, "All rules hold.")
		} else {
			rules := make([]string, 0, len(rep.Counts))
			for r := range rep.Counts {
				rules = append(rules, r)
			}
			sort.Strings(rules)
			fmt.Fprintf(f.IO.Out, "%d violations:\n", rep.Total)
			for _, r := range rules {
				fmt.Fprintf(f.IO.Out, "  %-16s %d\n", r, rep.Counts[r])
			}
			fmt.Fprintln(f.IO.Out, "First ones:")
			for _, v := range rep.Violations {
				fmt.Fprintf(f.IO.Out, "  %s\n", v)
			}
		}
	}
	if !rep.OK() {
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Err: fmt.Errorf("check failed: %d violations in run %s", rep.Total, run.ID)}
	}
	return nil
}
