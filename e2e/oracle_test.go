// Package e2e holds end-to-end tests across packages: generated extracts
// go through the real loader, the engine's outputs are compared row for row
// with the two independent implementations of SPEC section 4 (the naive
// per-user loop and the SQL-only baseline) and verified by the checker.
package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/assign-dev/assign/benchmarks/baselines/naive"
	"github.com/assign-dev/assign/benchmarks/baselines/sqlonly"
	"github.com/assign-dev/assign/benchmarks/compare"
	"github.com/assign-dev/assign/check"
	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/results"
	"github.com/assign-dev/assign/store"
	"github.com/assign-dev/assign/synth"
)

var d0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// loadGenerated generates a tiny extract with seed and loads it into a new home.
func loadGenerated(t *testing.T, seed int64, format string) (*store.Home, string) {
	t.Helper()
	ctx := context.Background()
	sc, err := synth.LookupScale("tiny")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "extract")
	if _, err := synth.Generate(ctx, synth.Options{Scale: sc, Seed: seed, Format: format, OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	h, err := store.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := loaders.Load(ctx, loaders.Options{Dir: dir, Home: h})
	if err != nil {
		t.Fatal(err)
	}
	return h, res.Path
}

func toNaive(p policy.Policy) naive.Policy {
	return naive.Policy{MaxPerCategory: p.MaxPerCategory, FillIgnoringCaps: p.FillIgnoringCaps, RepeatWindowDays: p.RepeatWindowDays,
		NeverAgainRating: p.NeverAgainRating, NewSnackDays: p.NewSnackDays, MinShelfDays: p.MinShelfDays, PriorWeight: p.PriorWeight,
		WPopularity: p.WPopularity, WPreference: p.WPreference, WAffinity: p.WAffinity, WNovelty: p.WNovelty}
}

func policies() map[string]policy.Policy {
	strict := policy.Default()
	strict.MaxPerCategory, strict.FillIgnoringCaps = 1, false
	loose := policy.Default()
	loose.RepeatWindowDays, loose.NeverAgainRating, loose.NewSnackDays, loose.MinShelfDays = 14, 3, 400, 5
	loose.PriorWeight, loose.WPopularity, loose.WPreference, loose.WAffinity, loose.WNovelty = 3.5, 0.7, 1.3, 2.1, 0.45
	return map[string]policy.Policy{"default": policy.Default(), "strict": strict, "loose": loose}
}

func differences(t *testing.T, want, got string) {
	t.Helper()
	diffs, err := compare.CompareDirs(want, got, 1e-9)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) > 0 {
		t.Fatalf("%d differences between %s and %s:\n%s", len(diffs), want, got, compare.Report(diffs, 20))
	}
}

// TestEngineMatchesIndependentImplementations runs preassign and run on
// generated extracts with three policies and requires identical tables from
// the engine and the naive implementation (and, for preassign, the SQL-only
// baseline), and a clean check of the engine's run folder.
func TestEngineMatchesIndependentImplementations(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: several full implementations per case")
	}
	ctx := context.Background()
	for _, seed := range []int64{1, 2} {
		h, snap := loadGenerated(t, seed, synth.FormatParquet)
		for name, pol := range policies() {
			for _, mode := range []engine.Mode{engine.Preassign, engine.Assign} {
				t.Run(fmt.Sprintf("seed%d/%s/%s", seed, name, mode), func(t *testing.T) {
					days := 28
					got := filepath.Join(t.TempDir(), "engine")
					out, err := plan.Execute(ctx, h, plan.Request{Mode: mode, D0: engine.DayOf(d0), Days: days, Policy: pol,
						OutDir: got, OutFormat: results.FormatCSV, Threads: 2})
					if err != nil {
						t.Fatal(err)
					}
					if out.Manifest.Counts.BoxLines == 0 {
						t.Fatal("no box lines: the generated extract is too thin to test anything")
					}

					nm := naive.Preassign
					if mode == engine.Assign {
						nm = naive.RunMode
					}
					nres, err := naive.Run(ctx, naive.Options{Snapshot: snap, Start: naive.DayOf(d0), Days: days, Mode: nm, Policy: toNaive(pol)})
					if err != nil {
						t.Fatal(err)
					}
					want := filepath.Join(t.TempDir(), "naive")
					if err := nres.WriteCSV(want); err != nil {
						t.Fatal(err)
					}
					differences(t, want, got)

					if mode == engine.Preassign {
						sq := filepath.Join(t.TempDir(), "sqlonly")
						if _, err := sqlonly.Run(ctx, sqlonly.Options{Snapshot: snap, Start: d0, Days: days, OutDir: sq, Policy: pol, Threads: 2}); err != nil {
							t.Fatal(err)
						}
						differences(t, sq, got)
					}

					db, err := duck.OpenSnapshot(ctx, snap, duck.Options{Threads: 2})
					if err != nil {
						t.Fatal(err)
					}
					defer db.Close()
					rep, err := check.Run(ctx, db, out.RunDir, out.Manifest, check.Options{})
					if err != nil {
						t.Fatal(err)
					}
					if !rep.OK() {
						t.Fatalf("check: %d violations: %v", rep.Total, rep.Violations)
					}
				})
			}
		}
	}
}
