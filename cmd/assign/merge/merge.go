// Package merge is the `assign merge` command: the part folders of a sharded
// preassign or run become one run.
package merge

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/cmd/assign/plancmd"
	"github.com/assign-dev/assign/merge"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/results"
)

// Options are the parsed flags of merge.
type Options struct {
	Factory *cmdutil.Factory
	Parts   []string
	OutDir  string
	Format  string
	NoSave  bool
	Threads int
	JSON    bool
	Top     int
}

// NewCmdMerge builds `assign merge`.
func NewCmdMerge(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "merge PART... [--out DIR]",
		Short: "Merge the part folders of a sharded preassign or run into one run",
		Long: `Merge the parts that 'assign preassign --shard I/N' (or 'assign run --shard
I/N') wrote into one run in the home, as if one machine had planned it.

Each PART is a part folder (part-0003-of-0016) or a folder holding them.
The merge first checks that the parts belong together: the same snapshot
(name and fingerprint), policy, dates, mode, shard hash, assign version and
shard count, with every shard index exactly once, and that every file
matches the size and SHA-256 its part.json records. Otherwise it refuses,
naming what differs, what is missing or repeated, or which file is damaged.

Preassign: demand is the sum of the parts' demand; the first-expiry-first-
out coverage is computed once here, from the snapshot's lots, so the merged
tables equal a single machine's row for row. The merge opens the snapshot
the parts name in this home (--home), read-only.

In the run folder (and with --out DIR as Parquet) boxes is a folder of
Parquet files, one per shard, each sorted by (ship_on, user_id, position):
the shards' files are linked, not rewritten. With --format csv every table
is one file in the SPEC's order.`,
		Example: `  # Sixteen shards wrote into /data/parts/2026-03-02; merge them into the home
  assign merge /data/parts/2026-03-02

  # Name the parts one by one, and also write CSV for a spreadsheet
  assign merge parts/part-0000-of-0002 parts/part-0001-of-0002 --out ./forecast --format csv

  # The merged run's manifest as JSON, for a script
  assign merge /data/parts/2026-03-02 --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Parts = args
			if err := cmdutil.CheckChoice("format", opts.Format, results.FormatParquet, results.FormatCSV); err != nil {
				return err
			}
			if err := cmdutil.CheckIntRange("threads", opts.Threads, 0, 1024); err != nil {
				return err
			}
			if err := cmdutil.CheckIntRange("top", opts.Top, 0, 10000); err != nil {
				return err
			}
			if opts.OutDir != "" {
				if err := cmdutil.CheckOutDir(opts.OutDir); err != nil {
					return cmdutil.FlagErrorf("%v", err)
				}
			}
			if opts.NoSave && opts.OutDir == "" {
				return cmdutil.FlagErrorf("--no-save needs --out DIR: the merged tables must go somewhere")
			}
			if runF != nil {
				return runF(opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.OutDir, "out", "", "also write the merged tables and manifest into this folder")
	fs.StringVar(&opts.Format, "format", results.FormatParquet, "format of the tables written to --out: parquet or csv")
	fs.BoolVar(&opts.NoSave, "no-save", false, "write only to --out, not a run in the home")
	fs.IntVar(&opts.Threads, "threads", 0, "worker threads (default: all cores)")
	fs.BoolVar(&opts.JSON, "json", false, "print the merged run's manifest as JSON instead of the summary")
	fs.IntVar(&opts.Top, "top", 10, "snacks listed in the summary's shortage table")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"parquet", "csv"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Run merges and prints the summary.
func Run(ctx context.Context, o *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	f := o.Factory
	home, err := f.Home()
	if err != nil {
		return err
	}
	prog := f.NewProgress()
	out, err := merge.Execute(ctx, home, merge.Request{
		Parts: o.Parts, OutDir: o.OutDir, OutFormat: o.Format, NoSave: o.NoSave, Threads: o.Threads,
		Flags: map[string]any{"parts": o.Parts, "out": o.OutDir, "format": o.Format, "threads": o.Threads},
		Now:   f.Now, Version: cmdutil.BuildVersion(), Logger: f.Logger,
		Stage: func(name string) { prog.Stage(name, 0) },
	})
	prog.Done()
	if err != nil {
		return err
	}
	if o.JSON {
		_, err := f.IO.Out.Write(out.Manifest.JSON())
		return err
	}
	PrintSummary(f.IO.Out, out, o.Top)
	return nil
}

// PrintSummary writes the human summary of a merge.
func PrintSummary(w io.Writer, out *merge.Outcome, top int) {
	m := out.Manifest
	fmt.Fprintf(w, "Merged %d parts (%d users) checked against snapshot %s.\n\n", len(out.Parts), m.Counts.Users, m.Snapshot)
	plancmd.PrintResultTables(w, &plan.Outcome{Result: out.Result, Manifest: m}, top)
	if fp := m.Shards.FinalPass; fp != nil {
		var left int64
		for _, n := range out.Result.LotLeft {
			left += int64(n)
		}
		fmt.Fprintf(w, "\nFinal pass: %d units no shard used; %d of %d short boxes topped up with %d lines (score %+.6f); %d short boxes left.\n",
			fp.UnitsLeftover, fp.BoxesTopped, fp.ShortBefore, fp.LinesAdded, fp.ScoreAdded, fp.ShortAfter)
		fmt.Fprintf(w, "Stock: %d units taken; %d units left in all lots.\n", m.Counts.Demand, left)
		fmt.Fprintf(w, "Total score of assigned lines: %.6f\n", out.Score)
	}
	fmt.Fprintln(w)
	if out.RunDir != "" {
		fmt.Fprintf(w, "Run %s written to %s\n", m.RunID, out.RunDir)
	}
	if out.OutDir != "" {
		fmt.Fprintf(w, "Tables written to %s\n", out.OutDir)
	}
	middle := fmt.Sprintf("demand and coverage %.2fs", m.Timings["demand"]+m.Timings["cover"])
	if m.Mode == "run" {
		middle = fmt.Sprintf("stock %.2fs, final pass %.2fs", m.Timings["stock"], m.Timings["final_pass"])
	}
	fmt.Fprintf(w, "Took %.2fs (checking parts %.2fs, snapshot %.2fs, %s, writing %.2fs)\n", m.Timings["total"],
		m.Timings["verify"], m.Timings["inputs"], middle, m.Timings["write"]+m.Timings["write_out"])
}
