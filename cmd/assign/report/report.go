// Package report is the `assign report` command: a dated, self-contained
// snapshot report for planners and schedulers.
package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/report"
)

// Options are the parsed flags of `assign report`.
type Options struct {
	Factory        *cmdutil.Factory
	Date           string
	Days           int
	OutDir         string
	FailOnShortage int
	Snapshot       string
	Reuse          bool
	Threads        int
	Top            int
	JSON           bool
	Policy         *cmdutil.PolicyFlags

	date   time.Time
	alert  bool
	policy policy.Policy
}

// NewCmdReport builds `assign report`.
func NewCmdReport(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "report --date YYYY-MM-DD --out DIR [--days N]",
		Short: "Write a dated HTML report of demand, stock and shortages for a date range",
		Long: `Forecast the horizon --date .. --date+--days-1 (a preassign run, saved in the
home like any other) and write the report folder DIR/<date>/ holding:

  report.html      self-contained page (inline SVG charts, nothing loaded from
                   the network): demand vs usable stock, top shortages,
                   shortage by category, category mix, box fill and short
                   boxes per date, and the trend against earlier reports in DIR
  summary.json     the figures, for scripts and for later reports' trend
  snacks.csv       every snack: demand, usable stock, covered, shortage
  categories.csv   per category: demand, mix, shortage, the snack short the most
  dates.csv        per ship date: users, boxes, short boxes, fill, shortage

The folder appears whole (written beside it, then renamed); a rerun for the
same date replaces it atomically. --reuse takes the newest preassign run with
the same snapshot, dates and policy instead of running one again.

Exit status: 0 when written; 3 when --fail-on-shortage N is given and some
snack's shortage over the horizon exceeds N units (the report is still
written; one line on stderr names the snack short the most), so a scheduler
can alert; 4 when no user ships on any date of the range (no run and no
report are written; stderr names the next date a user is scheduled to
ship); 2 for a usage mistake; 1 on any other error; 130 when interrupted.`,
		Example: `  # Next two weeks, into ./reports/2026-03-02/
  assign report --date 2026-03-02 --days 14 --out ./reports

  # Nightly from cron: alert when any snack is short by more than 500 units
  assign report --date "$(date -d tomorrow +%F)" --days 14 --out /srv/reports --fail-on-shortage 500

  # Reuse this morning's preassign instead of running it again
  assign report --date 2026-03-02 --days 14 --out ./reports --reuse`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.validate(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return reportRun(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Date, "date", "", "first ship date of the horizon, YYYY-MM-DD (required)")
	fs.IntVar(&opts.Days, "days", 14, "number of days in the horizon (1..366)")
	fs.StringVar(&opts.OutDir, "out", "", "folder receiving the dated report folder (required)")
	fs.IntVar(&opts.FailOnShortage, "fail-on-shortage", 0, "exit with status 3 when a snack's shortage over the horizon exceeds this many units")
	fs.StringVar(&opts.Snapshot, "snapshot", "", "snapshot name (default: the current one)")
	fs.BoolVar(&opts.Reuse, "reuse", false, "reuse the newest preassign run with the same snapshot, dates and policy")
	fs.IntVar(&opts.Threads, "threads", 0, "worker threads (default: all cores)")
	fs.IntVar(&opts.Top, "top", 20, "snacks shown in the per-snack charts and tables")
	fs.BoolVar(&opts.JSON, "json", false, "print summary.json instead of the text summary")
	_ = cmd.MarkFlagRequired("date")
	_ = cmd.MarkFlagRequired("out")
	opts.Policy = cmdutil.AddPolicyFlags(cmd)
	return cmd
}

func (o *Options) validate(cmd *cobra.Command) error {
	d, err := cmdutil.ParseDateFlag("date", o.Date)
	if err != nil {
		return err
	}
	o.date = d
	if err := cmdutil.CheckIntRange("days", o.Days, 1, 366); err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("threads", o.Threads, 0, 1024); err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("top", o.Top, 1, 200); err != nil {
		return err
	}
	if err := cmdutil.CheckOutDir(o.OutDir); err != nil {
		return cmdutil.FlagErrorf("%v", err)
	}
	if err := report.CheckFolder(filepath.Join(o.OutDir, report.FolderName(d))); err != nil {
		return cmdutil.FlagErrorf("--out: %v", err)
	}
	if o.alert = cmd.Flags().Changed("fail-on-shortage"); o.alert {
		if err := cmdutil.CheckIntRange("fail-on-shortage", o.FailOnShortage, 0, 1<<31-1); err != nil {
			return err
		}
	}
	if o.policy, err = o.Policy.Resolve(); err != nil {
		return err
	}
	return nil
}

func reportRun(ctx context.Context, o *Options) error {
	f := o.Factory
	home, err := f.Home()
	if err != nil {
		return err
	}
	prog := f.NewProgress()
	out, err := report.Generate(ctx, home, report.Options{
		Date: o.date, Days: o.Days, OutDir: o.OutDir, Snapshot: o.Snapshot, Reuse: o.Reuse, Policy: o.policy,
		Threads: o.Threads, Top: o.Top, Now: f.Now, Version: cmdutil.BuildVersion(), Logger: f.Logger,
		Stage: func(name string) { prog.Stage(name, 0) }, Progress: prog.Set,
	})
	prog.Done()
	var saved *report.RunSavedError
	if ctx.Err() != nil && errors.As(err, &saved) {
		return cmdutil.Interrupted("interrupted; preassign run %s was saved, the report was not written", saved.RunID)
	}
	if err != nil {
		return err
	}
	s := out.Summary
	w := f.IO.Out
	if o.JSON {
		b, _ := json.MarshalIndent(s, "", "  ")
		fmt.Fprintf(w, "%s\n", b)
	} else {
		how := "new run"
		if out.Reused {
			how = "reused run"
		}
		fmt.Fprintf(w, "Report %s to %s (%s) on snapshot %s, %s %s\n", s.Dates.From, s.Dates.To, cmdutil.Days(s.Dates.Days), s.Snapshot, how, s.RunID)
		if s.Totals.Users == 0 {
			fmt.Fprintf(w, "  no user ships in this horizon\n")
		} else {
			fmt.Fprintf(w, "  %s boxes, %s units of demand, %s short (%.1f%%) across %s, %s short boxes, fill %.1f%%\n",
				thousands(s.Totals.Users), thousands(s.Totals.Demand), thousands(s.Totals.Shortage), s.Totals.ShortagePct,
				plural(s.Totals.SnacksShort, "snack"), thousands(s.Totals.ShortBoxes), s.Totals.FillPct)
		}
		if ws := s.WorstSnack; ws != nil {
			fmt.Fprintf(w, "  most short: snack %d %q (%s), %s of %s units\n", ws.SnackID, ws.Name, ws.Category, thousands(ws.Shortage), thousands(ws.Demand))
		}
		fmt.Fprintf(w, "Written to %s in %.2fs\n", filepath.Join(out.Dir, report.HTMLFile), s.Seconds)
	}
	if o.alert && s.WorstSnack != nil && s.WorstSnack.Shortage > int64(o.FailOnShortage) {
		ws := s.WorstSnack
		return &cmdutil.ExitError{Code: cmdutil.ExitAlert, Err: fmt.Errorf("shortage alert: snack %d %q (%s) is short %d units over %s..%s, above --fail-on-shortage %d",
			ws.SnackID, ws.Name, ws.Category, ws.Shortage, s.Dates.From, s.Dates.To, o.FailOnShortage)}
	}
	return nil
}

func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return thousands(n) + " " + noun + "s"
}

func thousands(v int64) string {
	s := fmt.Sprint(v)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
