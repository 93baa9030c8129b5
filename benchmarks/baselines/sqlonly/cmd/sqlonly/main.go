// Command sqlonly runs baseline (a) of the benchmarks: SPEC section 4
// preassign as DuckDB SQL only (package sqlonly), writing the SPEC section 5
// CSV files into --out.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/benchmarks/baselines/sqlonly"
	"github.com/assign-dev/assign/cmd/assign/cmdutil"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs the command with args and returns the exit code: 0 done, 2 bad
// flags, 1 any other failure.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cmd := newCmd(stdout, stderr)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "sqlonly:", err)
		var fe *cmdutil.FlagError
		if errors.As(err, &fe) {
			fmt.Fprintln(stderr, "run 'sqlonly --help' for usage")
			return cmdutil.ExitUsage
		}
		return cmdutil.ExitFailure
	}
	return cmdutil.ExitOK
}

func newCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		opts     sqlonly.Options
		date     string
		verbose  bool
		policyFl *cmdutil.PolicyFlags
	)
	cmd := &cobra.Command{
		Use:   "sqlonly --snapshot FILE --date D --days H --out DIR",
		Short: "Preassign with DuckDB SQL only (benchmark baseline a)",
		Long: `Computes SPEC section 4 "preassign" for the ship dates D .. D+H-1 with
set-based DuckDB SQL only, one small group of statements per date, and
writes boxes.csv, demand.csv, snack_summary.csv and short_boxes.csv into
--out. It is the speed baseline of the engine and an independent check of
its output. A summary line with timings goes to stderr.`,
		Example: `  sqlonly --snapshot assign-data/snapshots/current.duckdb --date 2026-03-02 --days 28 --out /tmp/sql28
  sqlonly --snapshot snap.duckdb --date 2026-03-02 --days 1 --out out --threads 2 \
      --max-per-category 3 --fill-ignoring-caps=false --memory-limit 8GB --temp-dir /tmp/spill`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Snapshot == "" {
				return cmdutil.FlagErrorf("--snapshot is required: pass the snapshot database file")
			}
			if opts.OutDir == "" {
				return cmdutil.FlagErrorf("--out is required: pass the folder for the CSV files")
			}
			if date == "" {
				return cmdutil.FlagErrorf("--date is required: pass the first ship date as YYYY-MM-DD")
			}
			d, err := cmdutil.ParseDateFlag("date", date)
			if err != nil {
				return err
			}
			opts.Start = d
			if err := cmdutil.CheckIntRange("days", opts.Days, 1, 3660); err != nil {
				return err
			}
			if err := cmdutil.CheckIntRange("threads", opts.Threads, 0, 1024); err != nil {
				return err
			}
			if opts.Policy, err = policyFl.Resolve(); err != nil {
				return err
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
			res, err := sqlonly.Run(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "sqlonly: %d dates, %d boxes (%d short), %d box lines, shortage %d units, %.2fs\n",
				res.Dates, res.ShipUsers, res.ShortBoxes, res.BoxLines, res.Shortage, res.Elapsed.Seconds())
			for _, name := range res.StepNames() {
				fmt.Fprintf(stderr, "  %-15s %8.2fs\n", name, res.Steps[name].Seconds())
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Snapshot, "snapshot", "", "snapshot database file (opened read-only)")
	fs.StringVar(&date, "date", "", "first ship date D0, YYYY-MM-DD")
	fs.IntVar(&opts.Days, "days", 1, "horizon length in days")
	fs.StringVar(&opts.OutDir, "out", "", "folder for the CSV outputs (created if missing)")
	fs.IntVar(&opts.Threads, "threads", 0, "DuckDB threads (0 = all cores)")
	fs.StringVar(&opts.MemoryLimit, "memory-limit", "", "DuckDB memory_limit, e.g. 8GB (default: DuckDB's)")
	fs.StringVar(&opts.TempDir, "temp-dir", "", "folder DuckDB may spill to (default: DuckDB's)")
	fs.BoolVarP(&verbose, "verbose", "v", false, "log each ship date to stderr")
	policyFl = cmdutil.AddPolicyFlags(cmd)
	return cmd
}
