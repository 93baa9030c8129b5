package whatif

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/internal/testhome"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/rundiff"
	"github.com/assign-dev/assign/store"
)

var clock = time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)

// newHome is a small snapshot with a 14-day preassign and a 14-day run.
func newHome(t *testing.T) *store.Home {
	t.Helper()
	ctx := context.Background()
	h, _, err := testhome.OpenSmall(ctx, filepath.Join(t.TempDir(), "home"), clock)
	if err != nil {
		t.Fatal(err)
	}
	for i, mode := range []engine.Mode{engine.Assign, engine.Preassign} {
		at := clock.Add(time.Duration(i) * time.Minute)
		if _, err := plan.Execute(ctx, h, plan.Request{Mode: mode, D0: engine.DayOf(testhome.D0), Days: 14, Policy: policy.Default(),
			Threads: 2, Now: func() time.Time { return at }, Version: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func run(t *testing.T, h *store.Home, spec Spec, n int) *Outcome {
	t.Helper()
	p, err := Prepare(h, spec)
	if err != nil {
		t.Fatal(err)
	}
	at := clock.Add(time.Hour + time.Duration(n)*time.Minute)
	out, err := Run(context.Background(), h, p, Options{Threads: 2, Now: func() time.Time { return at }, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func metric(d *rundiff.Diff, key string) rundiff.Metric {
	for _, m := range d.Summary {
		if m.Key == key {
			return m
		}
	}
	panic("no metric " + key)
}

func TestScenarios(t *testing.T) {
	h := newHome(t)
	latest, _ := h.FindRun("")

	// No change: the scenario reproduces its base exactly, is marked as a
	// scenario, and does not become latest.
	same := run(t, h, Spec{}, 0)
	if !same.Run.Scenario || !strings.HasSuffix(same.Run.ID, "-preassign-scenario") {
		t.Errorf("scenario run %+v is not marked", same.Run)
	}
	if same.Diff.A.ID != latest.ID {
		t.Errorf("base %s, want the latest run %s", same.Diff.A.ID, latest.ID)
	}
	for _, m := range same.Diff.Summary {
		if m.Delta != 0 {
			t.Errorf("unchanged scenario: %s differs by %v", m.Key, m.Delta)
		}
	}
	if same.Diff.BoxesChanged != 0 || len(same.Diff.Snacks) != 0 {
		t.Errorf("unchanged scenario: %d boxes, %d snacks changed", same.Diff.BoxesChanged, len(same.Diff.Snacks))
	}
	if now, _ := h.FindRun(""); now.ID != latest.ID {
		t.Errorf("latest is %s after a scenario, want %s", now.ID, latest.ID)
	}
	if same.Manifest.Scenario == nil || same.Manifest.Scenario.BaseRun != latest.ID {
		t.Errorf("manifest scenario %+v", same.Manifest.Scenario)
	}

	// The snack short the most gets exactly its shortage added: its
	// shortage (and the run's) drops by that much, demand stays (preassign
	// chooses boxes ignoring stock).
	base, _ := rundiff.Load(latest)
	top := worstSnack(t, h, base)
	add := run(t, h, Spec{Stock: []StockChange{{Kind: KindSnack, SnackID: top.SnackID, Units: top.ShortageA}}}, 1)
	if m := metric(add.Diff, "shortage_units"); m.Delta != -float64(top.ShortageA) {
		t.Errorf("adding %d units of snack %d: shortage changes by %v", top.ShortageA, top.SnackID, m.Delta)
	}
	if m := metric(add.Diff, "box_lines"); m.Delta != 0 {
		t.Errorf("adding stock changed preassign demand by %v", m.Delta)
	}
	i := slices.IndexFunc(add.Diff.Snacks, func(r rundiff.SnackRow) bool { return r.SnackID == top.SnackID })
	if i < 0 {
		t.Fatalf("snack %d missing from the diff: %+v", top.SnackID, add.Diff.Snacks)
	}
	if r := add.Diff.Snacks[i]; r.ShortageB != 0 || r.UnitsA != r.UnitsB || r.StockB <= r.StockA {
		t.Errorf("snack row %+v", r)
	}
	if len(add.Manifest.Scenario.Changes) != 1 || !strings.Contains(add.Manifest.Scenario.Changes[0], "add ") {
		t.Errorf("changes %q", add.Manifest.Scenario.Changes)
	}

	// A category without stock: every unit of it is short.
	cat := top.Category
	zero := run(t, h, Spec{Stock: []StockChange{{Kind: KindCategory, Category: cat, Factor: 0}}}, 2)
	for _, r := range zero.Diff.Snacks {
		if r.Category == cat && (r.StockB != 0 || r.ShortageB != r.UnitsB) {
			t.Errorf("category %s scaled to 0: %+v", cat, r)
		}
	}

	// Run mode: removing every unit of the snack takes it out of all boxes.
	rm := run(t, h, Spec{Mode: "run", Stock: []StockChange{{Kind: KindSnack, SnackID: top.SnackID, Units: -1 << 30}}}, 3)
	if !strings.HasSuffix(rm.Run.ID, "-run-scenario") {
		t.Errorf("run-mode scenario id %s", rm.Run.ID)
	}
	for _, b := range rm.Diff.Boxes {
		if slices.Contains(b.BoxB, top.SnackID) {
			t.Errorf("snack %d without stock is still in box %+v", top.SnackID, b)
		}
	}

	// A policy change changes boxes.
	pol := run(t, h, Spec{Policy: map[string]any{"max_per_category": 1}}, 4)
	if pol.Diff.BoxesChanged == 0 || pol.Diff.UsersChanged == 0 || len(pol.Diff.Boxes) == 0 {
		t.Errorf("max_per_category 1 changed no box: %+v", pol.Diff)
	}
	for _, b := range pol.Diff.Boxes {
		if len(b.Added)+len(b.Removed) == 0 {
			t.Errorf("box %+v listed as changed without a change", b)
		}
	}
}

// worstSnack is the base run's snack short the most (ties: lower id).
func worstSnack(t *testing.T, h *store.Home, base rundiff.Run) rundiff.SnackRow {
	t.Helper()
	var r rundiff.SnackRow
	q := fmt.Sprintf(`SELECT s.snack_id, n.category, s.demand, s.shortage FROM read_parquet(%s) s JOIN snacks n USING (snack_id)
		ORDER BY s.shortage DESC, s.snack_id LIMIT 1`, duck.Quote(filepath.Join(base.Dir, "snack_summary.parquet")))
	withSnapshot(t, h, func(db *duck.DB) {
		if err := db.QueryRow(context.Background(), q).Scan(&r.SnackID, &r.Category, &r.UnitsA, &r.ShortageA); err != nil {
			t.Fatal(err)
		}
	})
	if r.ShortageA == 0 {
		t.Fatal("the base run has no shortage to work with")
	}
	return r
}

func firstSnack(t *testing.T, h *store.Home) int64 {
	var id int64
	withSnapshot(t, h, func(db *duck.DB) {
		if err := db.QueryRow(context.Background(), "SELECT min(snack_id) FROM stock").Scan(&id); err != nil {
			t.Fatal(err)
		}
	})
	return id
}

func withSnapshot(t *testing.T, h *store.Home, fn func(db *duck.DB)) {
	t.Helper()
	_, path, err := h.Resolve("")
	if err != nil {
		t.Fatal(err)
	}
	db, err := duck.OpenSnapshot(context.Background(), path, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fn(db)
}

func TestSpecErrors(t *testing.T) {
	h := newHome(t)
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Mode: "optimal"}, `mode "optimal"`},
		{Spec{Date: "2026-3-2"}, `date "2026-3-2"`},
		{Spec{Days: 400}, "days 400"},
		{Spec{Policy: map[string]any{"max_per_box": 3}}, `unknown policy key "max_per_box"`},
		{Spec{Policy: map[string]any{"max_per_category": 99}}, "max_per_category = 99 is out of range"},
		{Spec{Stock: []StockChange{{Kind: "shelf"}}}, `kind "shelf"`},
		{Spec{Stock: []StockChange{{Kind: KindCategory, Category: "chips", Factor: -1}}}, "factor -1"},
		{Spec{Base: "nope"}, `run "nope" not found`},
	} {
		_, err := Prepare(h, tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.spec, err, tc.want)
		}
	}
	// Changes that name what the snapshot lacks fail when applied, and
	// leave no run behind.
	before, _ := h.ListRuns()
	for _, tc := range []struct {
		c    StockChange
		want string
	}{
		{StockChange{Kind: KindSnack, SnackID: 99999999, Units: 5}, "snack 99999999 is not in the snapshot"},
		{StockChange{Kind: KindCategory, Category: "caviar", Factor: 2}, `category "caviar" is not in the snapshot`},
		{StockChange{Kind: KindLot, SnackID: firstSnack(t, h), LotID: "no-such-lot", Units: 5}, `has no lot "no-such-lot"`},
	} {
		p, err := Prepare(h, Spec{Stock: []StockChange{tc.c}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Run(context.Background(), h, p, Options{Threads: 2})
		var se *SpecError
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &se) {
			t.Errorf("%+v: error %v, want a SpecError with %q", tc.c, err, tc.want)
		}
	}
	after, _ := h.ListRuns()
	if len(after) != len(before) {
		t.Errorf("failed scenarios left runs: %d -> %d", len(before), len(after))
	}
}

// Replay changes the inputs of the start of a scenario's horizon as the
// scenario changed its whole horizon: units it added keep the best-before
// the scenario gave them (last date + min_shelf_days), not one computed
// from the shorter replay.
func TestReplayDatesAddedUnitsAsTheScenario(t *testing.T) {
	h := newHome(t)
	out := run(t, h, Spec{Mode: "run", Stock: []StockChange{{Kind: KindSnack, SnackID: 1, Units: 7}}}, 1)
	adjust, err := Replay(out.Manifest)
	if err != nil || adjust == nil {
		t.Fatalf("Replay: nil %v, %v", adjust == nil, err)
	}
	ctx := context.Background()
	_, path, err := h.Resolve("")
	if err != nil {
		t.Fatal(err)
	}
	db, err := duck.OpenSnapshot(ctx, path, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d0 := engine.DayOf(testhome.D0)
	in, err := engine.LoadInputs(ctx, db, engine.LoadOptions{D0: d0, Days: 2, Policy: out.Manifest.Policy})
	if err != nil {
		t.Fatal(err)
	}
	if err := adjust(in); err != nil {
		t.Fatal(err)
	}
	l := slices.Index(in.LotID, AddedLotID)
	want := d0 + engine.Day(14-1+out.Manifest.Policy.MinShelfDays)
	if l < 0 || in.LotQty[l] != 7 || in.LotBefore[l] != want {
		t.Fatalf("added lot at %d of %v, want 7 units best before %s", l, in.LotID, want)
	}
	if adjust, err := Replay(&plan.Manifest{}); adjust != nil || err != nil {
		t.Errorf("Replay of a run that is no scenario: nil %v, %v", adjust == nil, err)
	}
}
