// Package explain is the `assign explain` command: why one user got one box.
package explain

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/policy"
)

// Options are the parsed flags of explain.
type Options struct {
	Factory  *cmdutil.Factory
	User     int64
	Date     string
	From     string
	Mode     string
	Snapshot string
	Threads  int
	Format   string
	Show     string
	Policy   *cmdutil.PolicyFlags
	// Allocator is run mode's allocator (the one the run to explain used).
	Allocator string
	MaxPhases int64
	// GapTolerance is --gap-tolerance, in percent.
	GapTolerance float64

	day, from engine.Day
	mode      engine.Mode
	pol       policy.Policy
	alloc     engine.Allocator
}

// NewCmdExplain builds `assign explain`.
func NewCmdExplain(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "explain --user ID --date YYYY-MM-DD",
		Short: "Show why a user gets the box they get on a date",
		Long: `Explain one user's box on one date: every snack with its eligibility
verdict and the first rule it fails (inactive, not launched, NG tag, delivered
on, rated, no stock), the four score terms and the total, what became of each
of the user's requests, and the chosen box in order.

By default the box is explained as the first date of a preassign horizon.
--from D0 explains it as part of a horizon starting at D0, so boxes chosen on
the user's earlier ship dates count as deliveries. --mode run explains the
stock-aware box, which runs the whole allocation up to the user's turn.

With --mode run --allocator optimal the box is the optimal allocator's (give
the same --from, policy flags and --max-phases as the run): each snack also
shows its price on the date in the run's certificate (non-zero only when its
stock ran short), the units usable at the start of the date and left at its
end, and why the plan gave it to the user or not: a snack that ran short went
to users it is worth more to, by at least its price.`,
		Example: `  assign explain --user 42 --date 2026-03-02
  assign explain --user 42 --date 2026-03-16 --from 2026-03-02 --mode run
  assign explain --user 42 --date 2026-03-16 --from 2026-03-02 --mode run --allocator optimal
  assign explain --user 42 --date 2026-03-02 --show eligible
  assign explain --user 42 --date 2026-03-02 --format json | jq '.box'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return explainRun(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.Int64Var(&opts.User, "user", 0, "user_id to explain (required)")
	fs.StringVar(&opts.Date, "date", "", "ship date, YYYY-MM-DD (required)")
	fs.StringVar(&opts.From, "from", "", "first date of the horizon (default: --date)")
	fs.StringVar(&opts.Mode, "mode", "preassign", "preassign (stock ignored) or run (stock-aware)")
	fs.StringVar(&opts.Snapshot, "snapshot", "", "snapshot name (default: the current one)")
	fs.IntVar(&opts.Threads, "threads", 0, "worker threads (default: all cores)")
	fs.StringVar(&opts.Format, "format", "table", "output: table or json")
	fs.StringVar(&opts.Show, "show", "all", "snacks listed: all, eligible, ineligible or box")
	fs.StringVar(&opts.Allocator, "allocator", "greedy", "run mode's allocator: greedy or optimal (as the run to explain)")
	fs.Int64Var(&opts.MaxPhases, "max-phases", 0, "optimal allocator: exchange-phase limit per date, as given to the run (0: the default)")
	fs.Float64Var(&opts.GapTolerance, "gap-tolerance", engine.DefaultGapTolerance*100, "optimal allocator: the gap tolerance per date in percent, as given to the run (0: exact)")
	_ = cmd.MarkFlagRequired("user")
	_ = cmd.MarkFlagRequired("date")
	opts.Policy = cmdutil.AddPolicyFlags(cmd)
	for flag, vals := range map[string][]string{"mode": {"preassign", "run"}, "format": {"table", "json"}, "show": {"all", "eligible", "ineligible", "box"}, "allocator": {"greedy", "optimal"}} {
		_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp))
	}
	return cmd
}

func (o *Options) validate() error {
	d, err := cmdutil.ParseDateFlag("date", o.Date)
	if err != nil {
		return err
	}
	o.day = engine.DayOf(d)
	o.from = o.day
	if o.From != "" {
		f, err := cmdutil.ParseDateFlag("from", o.From)
		if err != nil {
			return err
		}
		o.from = engine.DayOf(f)
		if o.from > o.day {
			return cmdutil.FlagErrorf("--from %s is after --date %s", o.From, o.Date)
		}
		if o.day-o.from > 365 {
			return cmdutil.FlagErrorf("--from %s is more than 366 days before --date %s", o.From, o.Date)
		}
	}
	if err := cmdutil.CheckChoice("mode", o.Mode, "preassign", "run"); err != nil {
		return err
	}
	if o.Mode == "run" {
		o.mode = engine.Assign
	}
	if err := cmdutil.CheckChoice("format", o.Format, "table", "json"); err != nil {
		return err
	}
	if err := cmdutil.CheckChoice("show", o.Show, "all", "eligible", "ineligible", "box"); err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("threads", o.Threads, 0, 1024); err != nil {
		return err
	}
	if err := cmdutil.CheckChoice("allocator", o.Allocator, "greedy", "optimal"); err != nil {
		return err
	}
	if o.Allocator == "optimal" {
		if o.mode != engine.Assign {
			return cmdutil.FlagErrorf("--allocator optimal explains a run: add --mode run")
		}
		o.alloc = engine.Optimal
	}
	if o.MaxPhases != 0 && o.alloc != engine.Optimal {
		return cmdutil.FlagErrorf("--max-phases limits the optimal allocator; use it with --mode run --allocator optimal")
	}
	if o.MaxPhases < 0 || o.MaxPhases > 1_000_000_000 {
		return cmdutil.FlagErrorf("--max-phases %d: must lie between 1 and 1000000000 (0: the default)", o.MaxPhases)
	}
	if o.GapTolerance != engine.DefaultGapTolerance*100 && o.alloc != engine.Optimal {
		return cmdutil.FlagErrorf("--gap-tolerance stops the optimal allocator; use it with --mode run --allocator optimal")
	}
	if !(o.GapTolerance >= 0 && o.GapTolerance <= 1) {
		return cmdutil.FlagErrorf("--gap-tolerance %v: must lie between 0 (exact) and 1 (percent of a date's bound)", o.GapTolerance)
	}
	o.pol, err = o.Policy.Resolve()
	return err
}

func explainRun(ctx context.Context, o *Options) error {
	f := o.Factory
	db, _, err := f.OpenSnapshot(ctx, o.Snapshot, o.Threads)
	if err != nil {
		return err
	}
	defer db.Close()
	ex, err := engine.Explain(ctx, db, engine.ExplainOptions{
		UserID: o.User, Day: o.day, From: o.from, Mode: o.mode, Policy: o.pol, Threads: o.Threads,
		Allocator: o.alloc, MaxPhases: o.MaxPhases, GapTolerance: o.GapTolerance / 100,
	})
	if err != nil {
		return err
	}
	if o.Format == "json" {
		return writeJSON(f.IO.Out, ex, o.Show)
	}
	writeText(f.IO.Out, ex, o.Show)
	return nil
}

func selectSnacks(ex *engine.Explanation, show string) []engine.SnackVerdict {
	var out []engine.SnackVerdict
	for _, v := range ex.Snacks {
		switch show {
		case "eligible":
			if !v.Eligible {
				continue
			}
		case "ineligible":
			if v.Eligible {
				continue
			}
		case "box":
			if v.Position == 0 {
				continue
			}
		}
		out = append(out, v)
	}
	// Box first in order, then eligible by the ranking, then the rest by id.
	slices.SortStableFunc(out, func(a, b engine.SnackVerdict) int {
		ra, rb := rank(a), rank(b)
		if ra != rb {
			return ra - rb
		}
		switch {
		case a.Position > 0:
			return a.Position - b.Position
		case a.Eligible && a.Score != b.Score:
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		if a.SnackID < b.SnackID {
			return -1
		} else if a.SnackID > b.SnackID {
			return 1
		}
		return 0
	})
	return out
}

func rank(v engine.SnackVerdict) int {
	switch {
	case v.Position > 0:
		return 0
	case v.Eligible:
		return 1
	}
	return 2
}

func writeText(w io.Writer, ex *engine.Explanation, show string) {
	fmt.Fprintf(w, "User %d on %s (%s", ex.UserID, ex.Day, ex.Mode)
	if ex.From != ex.Day {
		fmt.Fprintf(w, ", horizon from %s", ex.From)
	}
	if ex.Allocator == engine.Optimal {
		fmt.Fprintf(w, ", optimal allocator")
	}
	fmt.Fprintf(w, "): status %s, box size %d\n", ex.Status, ex.BoxSize)
	if !ex.Ships {
		fmt.Fprintf(w, "Does not ship on %s: %s.\n", ex.Day, ex.NoShip)
		return
	}
	fmt.Fprintf(w, "\nBox (%d of %d):\n", len(ex.Box), ex.BoxSize)
	var rows [][]any
	for _, v := range ex.Box {
		how := "ranked"
		if ex.Allocator == engine.Optimal {
			how = "optimal"
		}
		if v.Requested {
			how = "requested"
		}
		rows = append(rows, []any{v.Position, v.SnackID, v.Name, v.Category, fmtF(v.Score), how})
	}
	cmdutil.PrintTable(w, []string{"pos", "snack", "name", "category", "score", "how"}, rows, "pos", "snack", "score")
	if len(ex.Requests) > 0 {
		fmt.Fprintf(w, "\nRequests:\n")
		rows = nil
		for _, r := range ex.Requests {
			rows = append(rows, []any{r.RequestedAt.Format("2006-01-02 15:04:05"), r.SnackID, r.Fate})
		}
		cmdutil.PrintTable(w, []string{"requested at", "snack", "what became of it"}, rows, "snack")
	}
	if ex.Allocator == engine.Optimal {
		writeOptimal(w, ex, show)
	}
	fmt.Fprintf(w, "\nSnacks:\n")
	rows = nil
	for _, v := range selectSnacks(ex, show) {
		verdict := "eligible"
		if !v.Eligible {
			verdict = v.Reason
		}
		pos := ""
		if v.Position > 0 {
			pos = strconv.Itoa(v.Position)
		}
		rows = append(rows, []any{v.SnackID, v.Name, v.Category, verdict, fmtF(v.Terms.Popularity), fmtF(v.Terms.Preference),
			fmtF(v.Terms.Affinity), fmtF(v.Terms.Novelty), fmtF(v.Score), pos})
	}
	cmdutil.PrintTable(w, []string{"snack", "name", "category", "verdict", "popn", "pref", "affinity", "novelty", "score", "box"}, rows,
		"snack", "popn", "pref", "affinity", "novelty", "score", "box")
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }

// writeOptimal is the optimal allocator's view of the date: the box lines
// and the eligible snacks that score above the box's weakest line (or, with
// --show all/eligible, every eligible snack), with their prices, units and
// reasons.
func writeOptimal(w io.Writer, ex *engine.Explanation, show string) {
	if !engine.SolvedStatus(ex.DateStatus) {
		fmt.Fprintf(w, "\nOptimal allocator on %s: %s; this date's boxes are the greedy's (see 'Box').\n", ex.Day, ex.DateStatus)
		return
	}
	weakest, have := 0.0, false
	for _, v := range ex.Box {
		if !v.Requested && (!have || v.Score < weakest) {
			weakest, have = v.Score, true
		}
	}
	var rows [][]any
	for _, v := range selectSnacks(ex, show) {
		if !v.Eligible {
			continue
		}
		if v.Position == 0 && show != "all" && show != "eligible" && (!have || v.Score <= weakest) {
			continue
		}
		if v.Position == 0 && (show == "all" || show == "eligible") && have && v.Score <= weakest && v.Price == nil {
			continue
		}
		price := ""
		if v.Price != nil {
			price = priceText(v.Price)
		}
		pos := ""
		if v.Position > 0 {
			pos = strconv.Itoa(v.Position)
		}
		rows = append(rows, []any{v.SnackID, v.Category, fmtF(v.Score), price, v.UnitsFrom, v.UnitsLeft, pos, v.Why})
	}
	fmt.Fprintf(w, "\nOptimal plan on %s (prices from the run's certificate):\n", ex.Day)
	cmdutil.PrintTable(w, []string{"snack", "category", "score", "price", "units at start", "left", "box", "why"}, rows,
		"snack", "score", "units at start", "left", "box")
}

func priceText(p *engine.PriceLevels) string { return engine.PriceText(p) }

type jsonSnack struct {
	SnackID    int64   `json:"snack_id"`
	Name       string  `json:"name"`
	Category   string  `json:"category"`
	Eligible   bool    `json:"eligible"`
	Reason     string  `json:"reason,omitempty"`
	Popularity float64 `json:"popularity"`
	Preference float64 `json:"preference"`
	Affinity   float64 `json:"affinity"`
	Novelty    float64 `json:"novelty"`
	Score      float64 `json:"score"`
	Position   int     `json:"position,omitempty"`
	Requested  bool    `json:"requested,omitempty"`
	// Optimal allocator only.
	Price     *engine.PriceLevels `json:"price,omitempty"`
	UnitsFrom *int64              `json:"units_at_start,omitempty"`
	UnitsLeft *int64              `json:"units_left,omitempty"`
	Why       string              `json:"why,omitempty"`
}

func toJSON(ex *engine.Explanation, v engine.SnackVerdict) jsonSnack {
	j := jsonSnack{v.SnackID, v.Name, v.Category, v.Eligible, v.Reason, v.Terms.Popularity, v.Terms.Preference,
		v.Terms.Affinity, v.Terms.Novelty, v.Score, v.Position, v.Requested, v.Price, nil, nil, v.Why}
	if engine.SolvedStatus(ex.DateStatus) {
		from, left := v.UnitsFrom, v.UnitsLeft
		j.UnitsFrom, j.UnitsLeft = &from, &left
	}
	return j
}

func writeJSON(w io.Writer, ex *engine.Explanation, show string) error {
	type req struct {
		SnackID     int64  `json:"snack_id"`
		RequestedAt string `json:"requested_at"`
		Fate        string `json:"fate"`
	}
	doc := struct {
		UserID   int64       `json:"user_id"`
		Date     string      `json:"date"`
		From     string      `json:"from"`
		Mode     string      `json:"mode"`
		Status   string      `json:"status"`
		BoxSize  int         `json:"box_size"`
		Ships    bool        `json:"ships"`
		NoShip   string      `json:"not_shipping_reason,omitempty"`
		Box      []jsonSnack `json:"box"`
		Requests []req       `json:"requests"`
		Snacks   []jsonSnack `json:"snacks"`
		// Allocator and DateStatus: run mode only (see the run's certificate).
		Allocator  string `json:"allocator,omitempty"`
		DateStatus string `json:"date_status,omitempty"`
	}{UserID: ex.UserID, Date: ex.Day.String(), From: ex.From.String(), Mode: ex.Mode.String(), Status: ex.Status,
		BoxSize: ex.BoxSize, Ships: ex.Ships, NoShip: ex.NoShip, Box: []jsonSnack{}, Requests: []req{}, Snacks: []jsonSnack{},
		DateStatus: ex.DateStatus}
	if ex.Mode == engine.Assign {
		doc.Allocator = ex.Allocator.String()
	}
	for _, v := range ex.Box {
		doc.Box = append(doc.Box, toJSON(ex, v))
	}
	for _, r := range ex.Requests {
		doc.Requests = append(doc.Requests, req{r.SnackID, r.RequestedAt.Format("2006-01-02 15:04:05.999999"), r.Fate})
	}
	for _, v := range selectSnacks(ex, show) {
		doc.Snacks = append(doc.Snacks, toJSON(ex, v))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
