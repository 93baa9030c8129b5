package synth_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/store"
	"github.com/assign-dev/assign/synth"
)

// TestEngineSeesTheIntendedShortages loads a generated small extract and
// runs a 28-day preassign on it: the loader must accept every row, and the
// stock must cover most of the demand while the most demanded snacks run
// short, which is what the report and benchmarks rely on.
func TestEngineSeesTheIntendedShortages(t *testing.T) {
	if testing.Short() {
		t.Skip("generates, loads and plans the small extract")
	}
	ctx := context.Background()
	home, res, _ := loadSmall(t, 11)
	if res.Rejected != 0 {
		t.Fatalf("the loader rejected %d generated rows", res.Rejected)
	}
	out, err := plan.Execute(ctx, home, plan.Request{
		Mode: engine.Preassign, D0: engine.DayOf(synth.DefaultAsOf), Days: 28, Policy: policy.Default(), Threads: 2,
		Now: func() time.Time { return synth.DefaultAsOf },
	})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Result
	n := len(r.StockUsable)
	demand, covered := make([]int64, n), make([]int64, n)
	var totalDemand, totalCovered int64
	for di := range r.Demand {
		for s := range n {
			demand[s] += int64(r.Demand[di][s])
			covered[s] += int64(r.Covered[di][s])
		}
	}
	for s := range n {
		totalDemand += demand[s]
		totalCovered += covered[s]
	}
	cover := float64(totalCovered) / float64(totalDemand)
	if cover < 0.8 || cover > 0.97 {
		t.Errorf("stock covers %.1f%% of 28 days of demand, want most (80-97%%)", 100*cover)
	}
	// The shortage sits on popular snacks: the most demanded quarter of
	// the snacks in demand hold most of it.
	idx := make([]int, 0, n)
	for s := range n {
		if demand[s] > 0 {
			idx = append(idx, s)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return int(demand[b] - demand[a]) })
	var shortTop, shortAll int64
	for rank, s := range idx {
		short := demand[s] - covered[s]
		shortAll += short
		if rank < len(idx)/4 {
			shortTop += short
		}
	}
	if shortAll == 0 || float64(shortTop) < 0.75*float64(shortAll) {
		t.Errorf("%d of %d short units fall on the most demanded quarter of the snacks, want most", shortTop, shortAll)
	}
	t.Logf("cover %.1f%%, %d short units, %d on the most demanded quarter", 100*cover, shortAll, shortTop)
}

// loadSmall generates the small extract with seed into dir and loads it
// into a new home.
func loadSmall(t *testing.T, seed int64) (home *store.Home, res *loaders.Result, dir string) {
	t.Helper()
	ctx := context.Background()
	sc, _ := synth.LookupScale("small")
	dir = filepath.Join(t.TempDir(), "extract")
	if _, err := synth.Generate(ctx, synth.Options{Scale: sc, Seed: seed, OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	home, err := store.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	res, err = loaders.Load(ctx, loaders.Options{Dir: dir, Home: home, Threads: 2})
	if err != nil {
		t.Fatalf("load the generated extract: %v", err)
	}
	return home, res, dir
}
