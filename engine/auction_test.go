package engine

import (
	"math"
	"slices"
	"testing"

	"github.com/assign-dev/assign/policy"
)

// TestAuctionAgainstLP: on small random dates the auction path (auction.go)
// ends with a feasible plan, its bound is a true bound (at least the LP
// optimum) and its plan no better than the LP's; when its certificate is
// accepted (auctionCertified), the plan equals the LP optimum in filled,
// requested and over-cap lines and is within the tolerance in score. The
// certificate's bound, from the polish's split-model sum plus the
// allowance, is at least the bound with exact scores at the same prices
// and above it by no more than the allowance.
func TestAuctionAgainstLP(t *testing.T) {
	accepted := 0
	lpTrials(t, 31, 37, func(trial int, o *optSolver, db *DateBoxes, workers []*worker) {
		if !o.auction(workers) {
			return
		}
		ok := o.auctionCertified(workers)
		for s := range o.q {
			if o.used[s] > o.q[s] {
				t.Fatalf("trial %d: snack %d has %d holders for %d units", trial, s, o.used[s], o.q[s])
			}
		}
		o.writeBoxes(db, workers)
		c := o.certify(db, workers)
		if c.Allowance <= 0 {
			t.Fatalf("trial %d: no allowance: the bound did not come from the polish", trial)
		}
		sb := o.splitBound
		o.splitBound = nil
		ce := o.certify(db, workers)
		o.splitBound = sb
		b, be := c.Bound, ce.Bound
		if b.Filled != be.Filled || b.Requested != be.Requested || b.OverCap != be.OverCap ||
			b.Score < be.Score || b.Score > be.Score+c.Allowance+1e-12 {
			t.Fatalf("trial %d: bound %+v (allowance %g), with exact scores %+v", trial, b, c.Allowance, be)
		}
		f, r, ov, s := lpLevels(t, o, workers[0])
		a, b := c.Achieved, c.Bound
		if a.Score > s+1e-9 || b.Score < s-1e-9 {
			t.Fatalf("trial %d: plan %.12f, bound %.12f, LP optimum %.12f", trial, a.Score, b.Score, s)
		}
		if !ok {
			return
		}
		accepted++
		if float64(a.Filled) != f || float64(a.Requested) != r || float64(a.OverCap) != ov {
			t.Fatalf("trial %d: accepted plan %+v, LP levels (%v, %v, %v)", trial, a, f, r, ov)
		}
		if !c.Certified || c.Gap() > 100*lpTrialTol+1e-9 {
			t.Fatalf("trial %d: accepted with certified=%v gap %g%%", trial, c.Certified, c.Gap())
		}
	})
	if accepted == 0 {
		t.Fatal("the auction path was never accepted")
	}
	t.Logf("%d of 40 dates accepted", accepted)
}

// TestAuctionRunTaken: on a scarce horizon with a tolerance the auction
// path accepts (0.1 %), contested dates keep the auction's plan (no
// exchange phase), each certified within the tolerance with a bound never
// below the plan; the horizon's plan is no worse than the greedy's and the
// same at 1 and 3 threads.
func TestAuctionRunTaken(t *testing.T) {
	const tol = 1e-3
	p := policy.Default()
	in := scarceInputs(t, 2000, 120, 1, 10, 0.3)
	greedy, err := Run(t.Context(), in, Options{Policy: p, Mode: Assign, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	var first *Result
	for _, threads := range []int{1, 3} {
		res, err := Run(t.Context(), in, Options{Policy: p, Mode: Assign, Threads: threads, Allocator: Optimal, GapTolerance: tol})
		if err != nil {
			t.Fatal(err)
		}
		taken := 0
		for _, c := range res.Optimal.Dates {
			a, b := c.Achieved, c.Bound
			if c.Certified && b.Score < a.Score-1e-9*math.Max(1, math.Abs(a.Score)) {
				t.Fatalf("%s: bound %.9f below the plan %.9f", c.Day, b.Score, a.Score)
			}
			if c.Status == StatusTolerance && c.Phases == 0 && c.ExitMoves == 0 {
				taken++
				if !c.Certified || c.Gap() > 100*tol+1e-9 {
					t.Fatalf("%s: auction plan with certified=%v gap %g%%", c.Day, c.Certified, c.Gap())
				}
			}
		}
		if taken == 0 {
			t.Fatal("no date kept the auction's plan")
		}
		gs, gShort := planTotals(greedy)
		os, oShort := planTotals(res)
		if oShort > gShort || os < gs-1e-6 {
			t.Fatalf("optimal short boxes %d score %.6f, greedy %d %.6f", oShort, os, gShort, gs)
		}
		if first == nil {
			first = res
			t.Logf("%d of %d dates kept the auction's plan", taken, len(res.Optimal.Dates))
			continue
		}
		for di := range res.Dates {
			a, b := &first.Dates[di], &res.Dates[di]
			if !slices.Equal(a.Snack, b.Snack) || !slices.Equal(a.Filled, b.Filled) || !slices.Equal(a.Lot, b.Lot) {
				t.Fatalf("date %d differs between thread counts", di)
			}
		}
		for di := range res.Optimal.Dates {
			if first.Optimal.Dates[di].Bound != res.Optimal.Dates[di].Bound {
				t.Fatalf("date %d: bound differs between thread counts", di)
			}
		}
	}
}

// TestAuctionFallback: at a tenth of the stock some contested dates'
// auction certificates miss the tolerance; those dates are solved again by
// the exchange algorithm (they show exchange phases), and every date's
// bound stays at or above its plan.
func TestAuctionFallback(t *testing.T) {
	p := policy.Default()
	in := scarceInputs(t, 2000, 120, 1, 10, 0.1)
	res, err := Run(t.Context(), in, Options{Policy: p, Mode: Assign, Threads: 2, Allocator: Optimal, GapTolerance: AuctionMinTolerance})
	if err != nil {
		t.Fatal(err)
	}
	redone := 0
	for _, c := range res.Optimal.Dates {
		if c.Phases > 0 {
			redone++
		}
		if c.Certified && c.Bound.Score < c.Achieved.Score-1e-9*math.Max(1, math.Abs(c.Achieved.Score)) {
			t.Fatalf("%s: bound %.9f below the plan %.9f", c.Day, c.Bound.Score, c.Achieved.Score)
		}
	}
	if redone == 0 {
		t.Fatal("no date went back to the exchange algorithm")
	}
}
