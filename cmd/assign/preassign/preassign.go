// Package preassign is the `assign preassign` command: the demand forecast.
package preassign

import (
	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/cmd/assign/plancmd"
	"github.com/assign-dev/assign/engine"
)

// NewCmdPreassign builds `assign preassign`.
func NewCmdPreassign(f *cmdutil.Factory, runF func(*plancmd.Options) error) *cobra.Command {
	opts := &plancmd.Options{Factory: f, Mode: engine.Preassign}
	cmd := &cobra.Command{
		Use:   "preassign --date YYYY-MM-DD [--days N]",
		Short: "Forecast the units of every snack the boxes of a horizon need",
		Long: `Choose every subscriber's box for each ship date of the horizon ignoring
stock (SPEC "preassign"), then cover the demand first-expiry-first-out from
the lots usable on each date. Boxes chosen on earlier dates count as
deliveries for later ones.

Writes boxes, demand, snack_summary and short_boxes (Parquet) and
manifest.json to a new run folder under the home, which 'assign query' sees
as latest.*; --out DIR writes a copy as Parquet or CSV.

Exit status: 0 when written; 4 when no user ships on any date of the range
(nothing is written; stderr names the next date a user is scheduled to
ship); 2 for a usage mistake; 1 on any other error; 130 when interrupted.`,
		Example: `  # Four weeks from Monday
  assign preassign --date 2026-03-02 --days 28

  # CSV for a spreadsheet, with a stricter category cap
  assign preassign --date 2026-03-02 --days 7 --max-per-category 1 --out ./forecast --format csv

  # A policy file, and the manifest as JSON for a script
  assign preassign --date 2026-03-02 --policy ./policy.toml --json

  # Shard 3 of 16 writes its part folder; assign merge joins the 16 parts
  assign preassign --date 2026-03-02 --days 28 --shard 3/16 --out /data/parts/2026-03-02

  # In a Kubernetes Indexed Job: the index from $JOB_COMPLETION_INDEX
  assign preassign --date 2026-03-02 --days 28 --shard-count 16 --out /data/parts/2026-03-02`,
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
	return cmd
}
