// Package diff is the `assign diff` command: compare two runs of one
// snapshot. It also prints the difference `assign whatif` shows.
package diff

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/analytics"
	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/rundiff"
)

// Options are the parsed flags of diff.
type Options struct {
	Factory *cmdutil.Factory
	RunA    string
	RunB    string
	Format  string
	Show    string
	Top     int
	// AllowOtherSnapshot compares runs of different snapshots.
	AllowOtherSnapshot bool
}

// Shows are the tables --show picks for csv (and limits table output to).
var Shows = []string{"all", "summary", "snacks", "dates", "boxes"}

// NewCmdDiff builds `assign diff`.
func NewCmdDiff(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "diff RUN_A RUN_B",
		Short: "Compare two runs of one snapshot: short boxes, score, requests, units per snack, changed boxes",
		Long: `Compare run B against run A, two runs of the same snapshot (run ids,
"latest", or run folder paths):

  summary  boxes, short boxes, short units (unfilled box slots), units in
           boxes, units short of stock, total score, requests honoured: A, B
           and B - A
  snacks   every snack whose units in boxes, usable stock or shortage differ
  dates    per ship date: boxes, short boxes, units and shortage in A and B
  boxes    how many boxes and users changed (a box changes when its set of
           snacks does; lots and order alone do not count), and the first
           --top of them with the snacks removed and added

It is how an operator sees what one plan buys over another: greedy against
another allocator, a policy change, or a what-if scenario against its base
(assign whatif prints the same comparison). Runs of different snapshots are
refused unless --allow-other-snapshot is given.

Output: aligned tables (default), --format json (everything), or --format
csv with --show naming the one table to write.`,
		Example: `  # What the latest run changes against an earlier one
  assign diff 20260302T061500-preassign latest

  # The snacks whose demand changed, as CSV
  assign diff 20260302T061500-preassign 20260302T070000-preassign-scenario --format csv --show snacks

  # Everything as JSON
  assign diff RUN_A RUN_B --format json | jq '.summary'`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.RunA, opts.RunB = args[0], args[1]
			if err := cmdutil.CheckChoice("format", opts.Format, "table", "csv", "json"); err != nil {
				return err
			}
			if err := cmdutil.CheckChoice("show", opts.Show, Shows...); err != nil {
				return err
			}
			if opts.Format == "csv" && opts.Show == "all" {
				return cmdutil.FlagErrorf("--format csv writes one table: add --show summary, snacks, dates or boxes")
			}
			if err := cmdutil.CheckIntRange("top", opts.Top, 0, 1000000); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return diffRun(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Format, "format", "table", "output: table, csv or json")
	fs.StringVar(&opts.Show, "show", "all", "tables shown: all, summary, snacks, dates or boxes (csv needs one)")
	fs.IntVar(&opts.Top, "top", 20, "snacks and changed boxes listed in the table output (the counts cover all)")
	fs.BoolVar(&opts.AllowOtherSnapshot, "allow-other-snapshot", false, "compare runs of different snapshots")
	for flag, vals := range map[string][]string{"format": {"table", "csv", "json"}, "show": Shows} {
		_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp))
	}
	return cmd
}

func diffRun(ctx context.Context, o *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	home, err := o.Factory.Home()
	if err != nil {
		return err
	}
	var runs [2]rundiff.Run
	for i, id := range []string{o.RunA, o.RunB} {
		ri, err := home.FindRun(id)
		if err != nil {
			return err
		}
		if err := analytics.RunDamage(ri); err != nil {
			return err
		}
		if runs[i], err = rundiff.Load(ri); err != nil {
			return err
		}
	}
	limit := o.Top
	if o.Format != "table" {
		limit = rundiff.DefaultLimit
		if o.Show == "boxes" {
			limit = 1 << 30 // csv of the boxes: every changed box
		}
	}
	if limit == 0 {
		limit = -1
	}
	d, err := rundiff.CompareInHome(ctx, home, runs[0], runs[1], rundiff.Options{Limit: limit, AllowOtherSnapshot: o.AllowOtherSnapshot})
	if err != nil {
		return err
	}
	return Write(o.Factory.IO.Out, d, o.Format, o.Show, o.Top)
}

// Write prints d in format (table, csv or json); show picks the tables.
func Write(w io.Writer, d *rundiff.Diff, format, show string, top int) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	case "csv":
		return writeCSV(w, d, show)
	}
	PrintText(w, d, show, top)
	return nil
}

func describe(r rundiff.Run) string {
	s := fmt.Sprintf("%s (%s on snapshot %s, %s to %s, %s)", r.ID, r.Mode, r.Snapshot, r.From, r.To, cmdutil.Days(r.Days))
	return s
}

// PrintText writes the comparison as aligned tables.
func PrintText(w io.Writer, d *rundiff.Diff, show string, top int) {
	all := show == "all"
	fmt.Fprintf(w, "A: %s\nB: %s\n", describe(d.A), describe(d.B))
	if sc := d.B.Scenario; sc != nil {
		fmt.Fprintf(w, "B is a what-if scenario of %s:\n", sc.BaseRun)
		for _, c := range sc.Changes {
			fmt.Fprintf(w, "  - %s\n", c)
		}
	}
	for _, n := range d.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if all || show == "summary" {
		fmt.Fprintln(w)
		var rows [][]any
		for _, m := range d.Summary {
			rows = append(rows, []any{m.Label, num(m.A, m.Float), num(m.B, m.Float), signed(m.Delta, m.Float)})
		}
		cmdutil.PrintTable(w, []string{"", "A", "B", "B - A"}, rows, "A", "B", "B - A")
	}
	if all || show == "snacks" {
		fmt.Fprintln(w)
		if len(d.Snacks) == 0 {
			fmt.Fprintln(w, "No snack's units, usable stock or shortage changed.")
		} else {
			n := len(d.Snacks)
			list := d.Snacks
			if top > 0 && len(list) > top {
				list = list[:top]
			}
			fmt.Fprintf(w, "Snacks that changed: %d (largest change in units first%s)\n", n, shown(len(list), n))
			var rows [][]any
			for _, s := range list {
				rows = append(rows, []any{s.SnackID, s.Name, s.Category, s.UnitsA, s.UnitsB, signed(float64(s.UnitsB-s.UnitsA), false),
					s.StockA, s.StockB, s.ShortageA, s.ShortageB})
			}
			cmdutil.PrintTable(w, []string{"snack", "name", "category", "units A", "units B", "change", "usable A", "usable B", "short A", "short B"},
				rows, "snack", "units A", "units B", "change", "usable A", "usable B", "short A", "short B")
		}
	}
	if all || show == "dates" {
		fmt.Fprintln(w)
		var rows [][]any
		for _, r := range d.Dates {
			if !all || r.BoxesA != r.BoxesB || r.ShortBoxesA != r.ShortBoxesB || r.UnitsA != r.UnitsB || r.ShortageA != r.ShortageB {
				rows = append(rows, []any{r.ShipOn, r.BoxesA, r.BoxesB, r.ShortBoxesA, r.ShortBoxesB, r.UnitsA, r.UnitsB, r.ShortageA, r.ShortageB})
			}
		}
		if len(rows) == 0 {
			fmt.Fprintln(w, "No ship date's figures changed.")
		} else {
			if all {
				fmt.Fprintln(w, "Ship dates that changed:")
			}
			cmdutil.PrintTable(w, []string{"ship date", "boxes A", "boxes B", "short A", "short B", "units A", "units B", "shortage A", "shortage B"},
				rows, "boxes A", "boxes B", "short A", "short B", "units A", "units B", "shortage A", "shortage B")
		}
	}
	if all || show == "boxes" {
		fmt.Fprintln(w)
		if d.BoxesChanged == 0 {
			fmt.Fprintln(w, "No box changed.")
			return
		}
		list := d.Boxes
		if top > 0 && len(list) > top {
			list = list[:top]
		}
		fmt.Fprintf(w, "Boxes that changed: %d, of %d users%s\n", d.BoxesChanged, d.UsersChanged, shown(len(list), int(d.BoxesChanged)))
		var rows [][]any
		for _, b := range list {
			rows = append(rows, []any{b.ShipOn, b.UserID, ids(b.Removed), ids(b.Added)})
		}
		cmdutil.PrintTable(w, []string{"ship date", "user", "removed (in A only)", "added (in B only)"}, rows, "user")
	}
}

func shown(n, total int) string {
	if n < total {
		return fmt.Sprintf("; the first %d shown, --top for more", n)
	}
	return ""
}

func ids(v []int64) string {
	if len(v) == 0 {
		return "-"
	}
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(s, " ")
}

// idsCSV is ids with an empty field for none.
func idsCSV(v []int64) string {
	if len(v) == 0 {
		return ""
	}
	return ids(v)
}

func num(v float64, float bool) string {
	if float {
		return strconv.FormatFloat(v, 'f', 6, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func signed(v float64, float bool) string {
	s := num(v, float)
	if v > 0 {
		return "+" + s
	}
	if v == 0 {
		return num(0, float) // never "-0"
	}
	return s
}

func writeCSV(w io.Writer, d *rundiff.Diff, show string) error {
	cw := csv.NewWriter(w)
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	f64 := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	switch show {
	case "summary":
		cw.Write([]string{"metric", "a", "b", "delta"})
		for _, m := range d.Summary {
			cw.Write([]string{m.Key, f64(m.A), f64(m.B), f64(m.Delta)})
		}
	case "snacks":
		cw.Write([]string{"snack_id", "name", "category", "units_a", "units_b", "stock_usable_a", "stock_usable_b", "shortage_a", "shortage_b"})
		for _, s := range d.Snacks {
			cw.Write([]string{i64(s.SnackID), s.Name, s.Category, i64(s.UnitsA), i64(s.UnitsB), i64(s.StockA), i64(s.StockB), i64(s.ShortageA), i64(s.ShortageB)})
		}
	case "dates":
		cw.Write([]string{"ship_on", "boxes_a", "boxes_b", "short_boxes_a", "short_boxes_b", "units_a", "units_b", "shortage_a", "shortage_b"})
		for _, r := range d.Dates {
			cw.Write([]string{r.ShipOn, i64(r.BoxesA), i64(r.BoxesB), i64(r.ShortBoxesA), i64(r.ShortBoxesB), i64(r.UnitsA), i64(r.UnitsB), i64(r.ShortageA), i64(r.ShortageB)})
		}
	case "boxes":
		cw.Write([]string{"ship_on", "user_id", "box_a", "box_b", "removed", "added"})
		for _, b := range d.Boxes {
			cw.Write([]string{b.ShipOn, i64(b.UserID), idsCSV(b.BoxA), idsCSV(b.BoxB), idsCSV(b.Removed), idsCSV(b.Added)})
		}
	}
	cw.Flush()
	return cw.Error()
}
