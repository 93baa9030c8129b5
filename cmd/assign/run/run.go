// Package run is the `assign run` command: stock-aware assignment.
package run

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/cmd/assign/plancmd"
	"github.com/assign-dev/assign/engine"
)

// NewCmdRun builds `assign run`.
func NewCmdRun(f *cmdutil.Factory, runF func(*plancmd.Options) error) *cobra.Command {
	opts := &plancmd.Options{Factory: f, Mode: engine.Assign}
	cmd := &cobra.Command{
		Use:   "run --date YYYY-MM-DD [--days N]",
		Short: "Assign every box under stock limits (greedy reference, or certified optimal)",
		Long: `Assign each subscriber's box for every ship date of the horizon from the
snacks with usable stock left (SPEC "run"). Per date, users are ordered once
by (eligible snacks with usable stock, user_id), so the users with the fewest
options choose first; each boxed snack takes one unit first-expiry-first-out
and the box line records its lot. Stock consumed on a date is gone for later
dates.

--allocator optimal plans each date globally instead: as few short units as
possible, then as many open requests honoured, then as few lines over a
category cap, then the highest total score, under the same rules. It prints,
per date and in total, the plan's score, an upper bound on what any plan
could reach from that date's stock (the certificate, also in the manifest)
and the gap between them. A date's exchange phases stop once its plan is
certified within --gap-tolerance percent of the bound (default 0.01; 0:
exact), with as few short units, as many requests and as few over-cap lines
as the bound; such a date says "within tolerance". From --gap-tolerance 0.05
on, a contested date first tries an auction (price increments instead of
exchange phases, then prices lowered for the bound), kept only when its
certificate is within the tolerance (much faster on scarce stock: see
benchmarks/RESULTS.md); otherwise the exchange phases solve it. A date that needs more
than --max-phases exchange phases takes the greedy's boxes and says so. The reference greedy runs beside
it; if the optimal plan had more short boxes or a lower total score than the
greedy's, the greedy's plan is written instead, and the output says why.

Writes boxes (with lot_id), demand, snack_summary, short_boxes and picks (the
units to pull per ship date and lot) plus manifest.json to a new run folder
under the home; --out DIR writes a copy as Parquet or CSV. Check a run with
'assign check'.

Exit status: 0 when written; 4 when no user ships on any date of the range
(nothing is written; stderr names the next date a user is scheduled to
ship); 2 for a usage mistake; 1 on any other error; 130 when interrupted.`,
		Example: `  # Assign the next four weeks
  assign run --date 2026-03-02 --days 28

  # Pick lists as CSV for the warehouse
  assign run --date 2026-03-02 --out ./picking --format csv

  # Plan four weeks optimally, with the certificate per date
  assign run --date 2026-03-02 --days 28 --allocator optimal

  # What the optimal plan buys over the greedy one
  assign run --date 2026-03-02 --days 28 --allocator greedy
  assign run --date 2026-03-02 --days 28 --allocator optimal
  assign diff RUN_GREEDY RUN_OPTIMAL

  # Verify the latest run against every hard constraint (and its certificate)
  assign check latest

  # Shard 3 of 16, within its quota of the stock (split by the merged preassign
  # of the same shards); assign merge joins the parts
  assign run --date 2026-03-02 --days 28 --shard 3/16 --quota-from 20261202T060000-preassign --out /data/parts/run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return plancmd.Run(cmd.Context(), opts)
		},
	}
	plancmd.AddFlags(cmd, opts)
	cmd.Flags().StringVar(&opts.QuotaFrom, "quota-from", "", "with --shard: the merged preassign of the same shards (run id or folder) whose demand splits the stock among them")
	cmd.Flags().StringVar(&opts.Allocator, "allocator", "greedy", "allocation algorithm: greedy (the reference) or optimal (certified)")
	cmd.Flags().Int64Var(&opts.MaxPhases, "max-phases", 0, fmt.Sprintf("optimal allocator: exchange phases per date before it falls back to the greedy's boxes (default %d)", engine.DefaultMaxPhases))
	cmd.Flags().Float64Var(&opts.GapTolerance, "gap-tolerance", plancmd.DefaultGapTolerancePct,
		"optimal allocator: stop a date's exchange phases once its plan is certified within this percent of the date's bound in score (same short units, requests and over-cap lines as the bound; 0: exact)")
	_ = cmd.RegisterFlagCompletionFunc("allocator", cobra.FixedCompletions([]string{"greedy", "optimal"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
