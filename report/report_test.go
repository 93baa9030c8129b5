package report

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/internal/testhome"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/store"
)

func newHome(t *testing.T) *store.Home {
	t.Helper()
	h, _, err := testhome.OpenSmall(context.Background(), filepath.Join(t.TempDir(), "home"), time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var clock = time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)

func opts(out string, date time.Time) Options {
	return Options{Date: date, Days: 14, OutDir: out, Policy: policy.Default(), Threads: 2, Now: func() time.Time { return clock }, Version: "test"}
}

func TestReportFilesAndFigures(t *testing.T) {
	h := newHome(t)
	out := filepath.Join(t.TempDir(), "reports")
	res, err := Generate(context.Background(), h, opts(out, testhome.D0))
	if err != nil {
		t.Fatal(err)
	}
	if res.Dir != filepath.Join(out, "2026-03-02") || res.Reused {
		t.Errorf("dir %s reused %v", res.Dir, res.Reused)
	}
	for _, f := range []string{HTMLFile, SummaryFile, SnacksCSV, CategoriesCSV, DatesCSV} {
		if fi, err := os.Stat(filepath.Join(res.Dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Errorf("report folder holds leftovers: %v", entries)
	}
	s, err := ReadSummary(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	// The summary agrees with the run's manifest and with its own tables.
	m, err := readManifest(s.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Totals.Demand != m.Counts.Demand || s.Totals.Shortage != m.Counts.Shortage || s.Totals.ShortBoxes != int64(m.Counts.ShortBoxes) {
		t.Errorf("totals %+v vs manifest %+v", s.Totals, m.Counts)
	}
	var users int64
	for _, d := range m.PerDate {
		users += int64(d.Users)
	}
	if s.Totals.Users != users || s.Totals.Lines != m.Counts.BoxLines {
		t.Errorf("users %d lines %d, manifest %d %d", s.Totals.Users, s.Totals.Lines, users, m.Counts.BoxLines)
	}
	var catShort, catDemand int64
	for _, c := range s.Categories {
		catShort += c.Shortage
		catDemand += c.Demand
	}
	if catShort != s.Totals.Shortage || catDemand != s.Totals.Demand {
		t.Errorf("categories add up to %d/%d, totals %d/%d", catShort, catDemand, s.Totals.Shortage, s.Totals.Demand)
	}
	if s.Totals.Shortage == 0 || s.WorstSnack == nil || s.WorstSnack.Shortage != s.TopShortages[0].Shortage {
		t.Fatalf("the fixture should have shortages: %+v", s.Totals)
	}
	for i := 1; i < len(s.TopShortages); i++ {
		a, b := s.TopShortages[i-1], s.TopShortages[i]
		if a.Shortage < b.Shortage || a.Shortage == b.Shortage && a.SnackID > b.SnackID {
			t.Errorf("top shortages out of order at %d", i)
		}
	}
	rows := readCSV(t, filepath.Join(res.Dir, SnacksCSV))
	if len(rows) != testhome.Small.Snacks+1 || strings.Join(rows[0], ",") != "snack_id,name,category,demand,stock_usable,covered,shortage" {
		t.Errorf("snacks.csv: %d rows, header %v", len(rows), rows[0])
	}
	if rows := readCSV(t, filepath.Join(res.Dir, DatesCSV)); len(rows) != len(s.PerDate)+1 || len(s.PerDate) != len(m.PerDate) {
		t.Errorf("dates.csv: %d rows for %d dates", len(rows), len(m.PerDate))
	}
	html, _ := os.ReadFile(filepath.Join(res.Dir, HTMLFile))
	for _, id := range ChartIDs {
		if !strings.Contains(string(html), `data-chart="`+id+`"`) {
			t.Errorf("report.html lacks chart %s", id)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://", "<link"} {
		if strings.Contains(string(html), bad) {
			t.Errorf("report.html is not self-contained: it holds %q", bad)
		}
	}
}

func TestReuseRerunAndTrend(t *testing.T) {
	h := newHome(t)
	out := filepath.Join(t.TempDir(), "reports")
	ctx := context.Background()
	first, err := Generate(ctx, h, opts(out, testhome.D0.AddDate(0, 0, -7)))
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Summary.Previous) != 0 {
		t.Errorf("first report has a trend: %+v", first.Summary.Previous)
	}
	second, err := Generate(ctx, h, opts(out, testhome.D0))
	if err != nil {
		t.Fatal(err)
	}
	if p := second.Summary.Previous; len(p) != 1 || p[0].Report != "2026-02-23" || p[0].Demand != first.Summary.Totals.Demand {
		t.Errorf("trend: %+v", p)
	}
	runs, _ := h.ListRuns()
	o := opts(out, testhome.D0)
	o.Reuse = true
	again, err := Generate(ctx, h, o)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := h.ListRuns()
	if !again.Reused || again.Summary.RunID != second.Summary.RunID || len(after) != len(runs) {
		t.Errorf("--reuse ran again: reused %v run %s (want %s), runs %d -> %d", again.Reused, again.Summary.RunID, second.Summary.RunID, len(runs), len(after))
	}
	// Replacing a report keeps one folder per date and no leftovers.
	entries, _ := os.ReadDir(out)
	if len(entries) != 2 {
		t.Errorf("report folder: %v", entries)
	}
	// Another policy does not match the run: --reuse runs a new one.
	o.Policy.MaxPerCategory = 1
	other, err := Generate(ctx, h, o)
	if err != nil {
		t.Fatal(err)
	}
	if other.Reused || other.Summary.RunID == second.Summary.RunID {
		t.Errorf("--reuse took a run with another policy")
	}
}

func TestNiceScale(t *testing.T) {
	for _, c := range []struct{ max, step, top int64 }{{0, 1, 1}, {7, 2, 8}, {7857, 2000, 8000}, {11970, 5000, 15000}, {100, 20, 100}} {
		s, top := niceScale(c.max)
		if s != c.step || top != c.top {
			t.Errorf("niceScale(%d) = %d, %d; want %d, %d", c.max, s, top, c.step, c.top)
		}
	}
	if thousands(1234567) != "1,234,567" || thousands(-1000) != "-1,000" || thousands(12) != "12" {
		t.Error("thousands")
	}
}

func readCSV(t *testing.T, p string) [][]string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// A horizon where nobody ships writes nothing (no run, no report folder):
// plan.NoShipmentsError. A report of an empty run (an older one, reused)
// still renders: every chart says it has nothing to draw.
func TestEmptyHorizon(t *testing.T) {
	h := newHome(t)
	out := filepath.Join(t.TempDir(), "reports")
	_, err := Generate(context.Background(), h, opts(out, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)))
	var noShip *plan.NoShipmentsError
	if !errors.As(err, &noShip) {
		t.Fatalf("error %v, want a NoShipmentsError", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) > 0 {
		t.Errorf("a report without shipments wrote %v", entries)
	}
	if runs, _ := h.ListRuns(); len(runs) > 0 {
		t.Errorf("a report without shipments wrote runs %v", runs)
	}
	html, err := renderHTML(&Summary{Dates: Dates{From: "2020-01-01", To: "2020-01-14", Days: 14}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ChartIDs {
		if !strings.Contains(string(html), `data-chart="`+id+`" data-empty="true"`) {
			t.Errorf("chart %s is not marked empty", id)
		}
	}
}
