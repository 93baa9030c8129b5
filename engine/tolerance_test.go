package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/assign-dev/assign/policy"
)

// TestToleranceStopAgainstLP: on small random dates, with a gap tolerance
// large enough that the exchange phases stop early, the plan equals the LP
// optimum in filled, requested and over-cap lines, its score is at most the
// LP's and within the tolerance of the bound, and the bound is a true bound
// (at least the LP optimum). Without the stopping rule no date stops early
// and the test fails.
func TestToleranceStopAgainstLP(t *testing.T) {
	stopped := 0
	lpTrials(t, 21, 23, func(trial int, o *optSolver, db *DateBoxes, workers []*worker) {
		ok, err := o.solve(context.Background(), workers, 100000)
		if err != nil || !ok {
			t.Fatalf("trial %d: solve ok=%v err=%v", trial, ok, err)
		}
		if _, settled := o.enforceRules(workers); !settled {
			t.Fatalf("trial %d: rules did not settle", trial)
		}
		for s := range o.q {
			if o.used[s] > o.q[s] {
				t.Fatalf("trial %d: snack %d has %d holders for %d units", trial, s, o.used[s], o.q[s])
			}
		}
		o.writeBoxes(db, workers)
		c := o.certify(db, workers)
		f, r, ov, s := lpLevels(t, o, workers[0])
		a, b := c.Achieved, c.Bound
		if float64(a.Filled) != f || float64(a.Requested) != r || float64(a.OverCap) != ov {
			t.Fatalf("trial %d (stopped %v): plan %+v, LP levels (%v, %v, %v)", trial, o.stopped, a, f, r, ov)
		}
		if !c.Certified || b.Filled != a.Filled || b.Requested != a.Requested || b.OverCap != a.OverCap {
			t.Fatalf("trial %d: not certified: plan %+v bound %+v", trial, a, b)
		}
		if a.Score > s+1e-9 || b.Score < s-1e-9 {
			t.Fatalf("trial %d: plan %.12f, bound %.12f, LP optimum %.12f", trial, a.Score, b.Score, s)
		}
		if g := c.Gap(); g > 100*lpTrialTol+1e-9 {
			t.Fatalf("trial %d: gap %g%% over the tolerance %g%%", trial, g, 100*lpTrialTol)
		}
		if o.stopped {
			stopped++
		}
	})
	if stopped == 0 {
		t.Fatal("no date stopped within the tolerance")
	}
	t.Logf("%d of 40 dates stopped early", stopped)
}

// lpTrialTol is the gap tolerance of lpTrials' solvers.
const lpTrialTol = 0.05

// lpTrials runs fn on 40 small random dates, the LP's size (lpLevels),
// each given as a solver of its first date with gap tolerance lpTrialTol;
// the seeds choose the dates.
func lpTrials(t *testing.T, seed1, seed2 uint64, fn func(trial int, o *optSolver, db *DateBoxes, workers []*worker)) {
	t.Helper()
	if testing.Short() {
		t.Skip("solves dense LPs")
	}
	rng := rand.New(rand.NewPCG(seed1, seed2))
	for trial := 0; trial < 40; trial++ {
		p := policy.Default()
		p.MaxPerCategory = 1 + trial%2
		in := randomDate(rng, 3+rng.IntN(6), 6+rng.IntN(6), 2+rng.IntN(3), 4, 3)
		o, db, workers, _ := firstDateSolver(t, in, p)
		o.tol = lpTrialTol
		fn(trial, o, db, workers)
	}
}

// TestToleranceRun: a scarce horizon with the tolerance stops some dates
// early ("within tolerance"), each certified with a gap within the
// tolerance and a bound never below the plan; the horizon's plan is no
// worse than the greedy's and deterministic across thread counts.
func TestToleranceRun(t *testing.T) {
	const tol = AuctionMinTolerance * 0.8 // the exchange phases' stop, not the auction path
	p := policy.Default()
	in := scarceInputs(t, 2000, 120, 1, 10, 0.3)
	greedy, err := Run(context.Background(), in, Options{Policy: p, Mode: Assign, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	var first *Result
	for _, threads := range []int{1, 3} {
		res, err := Run(context.Background(), in, Options{Policy: p, Mode: Assign, Threads: threads, Allocator: Optimal, GapTolerance: tol})
		if err != nil {
			t.Fatal(err)
		}
		stopped := 0
		for _, c := range res.Optimal.Dates {
			a, b := c.Achieved, c.Bound
			if c.Status == StatusTolerance {
				stopped++
				if !c.Certified || c.Gap() > 100*tol+1e-9 {
					t.Fatalf("%s: stopped with certified=%v gap %g%%", c.Day, c.Certified, c.Gap())
				}
			}
			if c.Certified && b.Score < a.Score-1e-9*math.Max(1, math.Abs(a.Score)) {
				t.Fatalf("%s: bound %.9f below the plan %.9f", c.Day, b.Score, a.Score)
			}
		}
		if stopped == 0 {
			t.Fatal("no date stopped within the tolerance")
		}
		gs, gShort := planTotals(greedy)
		os, oShort := planTotals(res)
		if oShort > gShort || os < gs-1e-6 {
			t.Fatalf("optimal short boxes %d score %.6f, greedy %d %.6f", oShort, os, gShort, gs)
		}
		if first == nil {
			first = res
			continue
		}
		for di := range res.Dates {
			a, b := &first.Dates[di], &res.Dates[di]
			if !slices.Equal(a.Snack, b.Snack) || !slices.Equal(a.Filled, b.Filled) {
				t.Fatalf("date %d differs between thread counts", di)
			}
		}
	}
}
