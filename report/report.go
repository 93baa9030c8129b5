// Package report builds the planner's snapshot report: it forecasts a date
// range with plan.Execute (or reuses a matching preassign run), reads the
// run through a read-only analytics session, and writes a dated folder with
// a self-contained report.html (inline SVG charts, no script, nothing
// fetched), summary.json and CSV tables. The folder appears atomically.
package report

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/assign-dev/assign/analytics"
	"github.com/assign-dev/assign/atomicfs"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	queries "github.com/assign-dev/assign/sql"
	"github.com/assign-dev/assign/store"
)

// Files of a report folder.
const (
	HTMLFile       = "report.html"
	SummaryFile    = "summary.json"
	SnacksCSV      = "snacks.csv"
	CategoriesCSV  = "categories.csv"
	DatesCSV       = "dates.csv"
	summaryVersion = 1
)

// Options describe one report.
type Options struct {
	// Date is the first ship date; Days the horizon length.
	Date time.Time
	Days int
	// OutDir receives the dated folder Date.Format("2006-01-02").
	OutDir string
	// Snapshot is the snapshot name; empty means the current one.
	Snapshot string
	// Reuse takes the newest preassign run whose snapshot, dates and policy
	// match instead of running a new one.
	Reuse   bool
	Policy  policy.Policy
	Threads int
	// Top is how many snacks the per-snack charts and tables show.
	Top int
	// Trend is how many earlier reports of OutDir the trend chart shows.
	Trend   int
	Now     func() time.Time
	Version string
	Logger  *slog.Logger
	// Stage and Progress report progress of the preassign (optional).
	Stage    func(name string)
	Progress func(done, total int)
}

// Outcome is what Generate produced.
type Outcome struct {
	// Dir is the published report folder.
	Dir     string
	Summary *Summary
	// Reused is true when an existing run was used.
	Reused bool
}

// RunSavedError is a report that failed (or was interrupted) after the
// preassign run it started was saved: the run is complete and stays, the
// report folder was not written.
type RunSavedError struct {
	RunID string
	Err   error
}

func (e *RunSavedError) Error() string {
	return fmt.Sprintf("%v (preassign run %s was saved)", e.Err, e.RunID)
}
func (e *RunSavedError) Unwrap() error { return e.Err }

// FolderName is the report folder of a first ship date: one folder per
// date, so a daily schedule keeps one report per day and a rerun for the
// same date replaces it.
func FolderName(d time.Time) string { return d.Format("2006-01-02") }

// Generate runs (or reuses) the preassign and writes the report folder.
func Generate(ctx context.Context, home *store.Home, opt Options) (*Outcome, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Top <= 0 {
		opt.Top = 20
	}
	if opt.Trend <= 0 {
		opt.Trend = 8
	}
	started := time.Now()
	snapName, _, err := home.Resolve(opt.Snapshot)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opt.OutDir, atomicfs.DirPerm); err != nil {
		return nil, fmt.Errorf("create report folder %s: %w", opt.OutDir, err)
	}
	var run *store.RunInfo
	if opt.Reuse {
		if run, err = findReusable(home, snapName, opt); err != nil {
			return nil, err
		}
		if run == nil {
			opt.Logger.Info("no preassign run matches; running one", "snapshot", snapName, "date", opt.Date.Format("2006-01-02"), "days", opt.Days)
		}
	}
	out := &Outcome{Reused: run != nil}
	saved := "" // the run this report wrote, when it failed after that
	if run == nil {
		res, err := plan.Execute(ctx, home, plan.Request{
			Mode: engine.Preassign, Snapshot: snapName, D0: engine.DayOf(opt.Date), Days: opt.Days, Policy: opt.Policy,
			Threads: opt.Threads, Now: opt.Now, Version: opt.Version, Logger: opt.Logger, Stage: opt.Stage, Progress: opt.Progress,
			Flags: map[string]any{"date": opt.Date.Format("2006-01-02"), "days": opt.Days, "snapshot": opt.Snapshot, "report": opt.OutDir},
		})
		if err != nil {
			return nil, err
		}
		run = &store.RunInfo{ID: res.Manifest.RunID, Dir: res.RunDir, Mode: "preassign"}
		saved = run.ID
	}
	fail := func(err error) (*Outcome, error) {
		if saved != "" {
			return nil, &RunSavedError{RunID: saved, Err: err}
		}
		return nil, err
	}
	if opt.Stage != nil {
		opt.Stage("writing report")
	}
	sess, err := analytics.Open(ctx, home, analytics.Options{Snapshot: snapName, Run: run.Dir, Date: opt.Date, Days: opt.Days, Threads: opt.Threads, Now: opt.Now})
	if err != nil {
		return fail(err)
	}
	defer sess.Close()
	sum, snacks, err := collect(ctx, sess, opt)
	if err != nil {
		return fail(err)
	}
	sum.RunReused = out.Reused
	name := FolderName(opt.Date)
	sum.Previous, err = previousReports(opt.OutDir, name, opt.Trend)
	if err != nil {
		return fail(err)
	}
	sum.Seconds = time.Since(started).Seconds()
	dir, err := publish(opt.OutDir, name, func(tmp string) error { return writeFiles(tmp, sum, snacks) })
	if err != nil {
		return fail(err)
	}
	out.Dir = dir
	out.Summary = sum
	return out, nil
}

// findReusable returns the newest preassign run of snapshot with the
// report's dates and policy, or nil.
func findReusable(home *store.Home, snapshot string, opt Options) (*store.RunInfo, error) {
	runs, err := home.ListRuns()
	if err != nil {
		return nil, err
	}
	from := opt.Date.Format("2006-01-02")
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if r.Mode != "preassign" || r.Scenario {
			continue
		}
		m, err := readManifest(r.Dir)
		if err != nil {
			continue
		}
		if m.Snapshot == snapshot && m.Dates.From == from && m.Dates.Days == opt.Days && m.Policy == opt.Policy {
			return &r, nil
		}
	}
	return nil, nil
}

// collect reads the run and the snapshot into the summary.
func collect(ctx context.Context, sess *analytics.Session, opt Options) (*Summary, []SnackRow, error) {
	l := sess.Runs[analytics.AliasLatest]
	m := l.Manifest
	sum := &Summary{
		FormatVersion: summaryVersion, GeneratedAt: opt.Now().UTC().Format(time.RFC3339), Version: opt.Version,
		Snapshot: sess.Snapshot, RunID: l.ID, RunDir: l.Dir, Policy: m.Policy,
		Dates: Dates{From: m.Dates.From, To: m.Dates.To, Days: m.Dates.Days},
	}
	var snacks []SnackRow
	err := sess.DB().QueryArrow(ctx, queries.Get("report_snacks"), func(rec arrow.RecordBatch) error {
		c := columns(rec)
		for i := 0; i < int(rec.NumRows()); i++ {
			snacks = append(snacks, SnackRow{SnackID: c.int("snack_id", i), Name: c.str("name", i), Category: c.str("category", i),
				Demand: c.int("demand", i), StockUsable: c.int("stock_usable", i), Covered: c.int("covered", i), Shortage: c.int("shortage", i)})
		}
		return c.err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read the run's snack summary: %w", err)
	}
	err = sess.DB().QueryArrow(ctx, queries.Get("report_dates"), func(rec arrow.RecordBatch) error {
		c := columns(rec)
		for i := 0; i < int(rec.NumRows()); i++ {
			d := DateRow{ShipOn: c.date("ship_on", i), Users: c.int("users", i), Boxes: c.int("boxes", i), ShortBoxes: c.int("short_boxes", i),
				Lines: c.int("lines", i), Missing: c.int("missing", i), Demand: c.int("demand", i), Covered: c.int("covered", i), Shortage: c.int("shortage", i)}
			d.FillPct = pct(d.Lines, d.Lines+d.Missing)
			sum.PerDate = append(sum.PerDate, d)
		}
		return c.err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read the run's per-date figures: %w", err)
	}
	summarize(sum, snacks, opt.Top)
	return sum, snacks, nil
}

// summarize fills totals, categories, top lists and the worst snack.
// Every order has a tie-break on a unique key so reports are stable.
func summarize(sum *Summary, snacks []SnackRow, top int) {
	t := &sum.Totals
	cats := map[string]*CategoryRow{}
	for _, s := range snacks {
		t.Demand += s.Demand
		t.StockUsable += s.StockUsable
		t.Covered += s.Covered
		t.Shortage += s.Shortage
		if s.Shortage > 0 {
			t.SnacksShort++
		}
		c := cats[s.Category]
		if c == nil {
			c = &CategoryRow{Category: s.Category}
			cats[s.Category] = c
		}
		c.Snacks++
		c.Demand += s.Demand
		c.StockUsable += s.StockUsable
		c.Covered += s.Covered
		c.Shortage += s.Shortage
		if s.Shortage > 0 {
			c.SnacksShort++
			if s.Shortage > c.WorstShortage || s.Shortage == c.WorstShortage && s.SnackID < c.worstID {
				c.WorstSnack, c.WorstShortage, c.worstID = s.Name, s.Shortage, s.SnackID
			}
		}
	}
	for _, d := range sum.PerDate {
		t.Users += d.Users
		t.Boxes += d.Boxes
		t.ShortBoxes += d.ShortBoxes
		t.Lines += d.Lines
		t.Missing += d.Missing
	}
	t.FillPct = pct(t.Lines, t.Lines+t.Missing)
	t.ShortagePct = pct(t.Shortage, t.Demand)
	for _, c := range cats {
		c.MixPct = pct(c.Demand, t.Demand)
		c.ShortagePct = pct(c.Shortage, c.Demand)
		sum.Categories = append(sum.Categories, *c)
	}
	sort.Slice(sum.Categories, func(i, j int) bool {
		a, b := sum.Categories[i], sum.Categories[j]
		if a.Shortage != b.Shortage {
			return a.Shortage > b.Shortage
		}
		return a.Category < b.Category
	})
	short := topBy(snacks, top, func(s SnackRow) int64 { return s.Shortage })
	sum.TopShortages = short
	sum.TopDemand = topBy(snacks, top, func(s SnackRow) int64 { return s.Demand })
	if len(short) > 0 {
		w := short[0]
		sum.WorstSnack = &w
	}
}

// topBy returns up to n snacks with key > 0, by key descending, then
// snack_id ascending.
func topBy(snacks []SnackRow, n int, key func(SnackRow) int64) []SnackRow {
	var out []SnackRow
	for _, s := range snacks {
		if key(s) > 0 {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if key(out[i]) != key(out[j]) {
			return key(out[i]) > key(out[j])
		}
		return out[i].SnackID < out[j].SnackID
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func pct(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return float64(int64(float64(part)*1000/float64(whole)+0.5)) / 10
}

// previousReports reads the summaries of up to n report folders of dir
// whose names sort before name (earlier first dates), oldest first.
func previousReports(dir, name string, n int) ([]TrendPoint, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list earlier reports in %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && e.Name() < name {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var out []TrendPoint
	for i := len(names) - 1; i >= 0 && len(out) < n; i-- {
		s, err := ReadSummary(filepath.Join(dir, names[i]))
		if err != nil {
			continue // not a report folder, or from an incompatible version
		}
		out = append(out, TrendPoint{Report: names[i], From: s.Dates.From, Days: s.Dates.Days, GeneratedAt: s.GeneratedAt,
			Demand: s.Totals.Demand, Shortage: s.Totals.Shortage, ShortagePct: s.Totals.ShortagePct, ShortBoxes: s.Totals.ShortBoxes})
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// errNotReport marks a folder without a readable summary.
var errNotReport = errors.New("not a report folder")
