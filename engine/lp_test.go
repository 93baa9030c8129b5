package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"

	"github.com/assign-dev/assign/policy"
)

// lpLevels solves one date's problem as linear programs with gonum's
// simplex, one level of the objective after the other (filled lines,
// requested lines, lines over the cap, score), each level's optimum fixed as
// an equality before the next. The constraint matrix is a network matrix, so
// the LP optimum is the integer optimum: an exact reference for the
// allocator's plan and bound. fill_ignoring_caps on only.
func lpLevels(t *testing.T, o *optSolver, w *worker) (filled, requested, over, score float64) {
	t.Helper()
	type xv struct {
		i int
		s int32
	}
	var xs []xv
	for i := range o.users {
		o.userElig(i).forEach(func(s int32) { xs = append(xs, xv{i, s}) })
	}
	nx := len(xs)
	ny := len(o.users) * o.nC
	// Variables: x (nx), y over-cap per (user, category) (ny), slacks.
	type row struct {
		coef map[int]float64
		rhs  float64
		eq   bool
	}
	var rows []row
	for j := range xs { // x <= 1
		rows = append(rows, row{coef: map[int]float64{j: 1}, rhs: 1})
	}
	for i := range o.users { // box size
		r := row{coef: map[int]float64{}, rhs: float64(o.e.in.BoxSize[o.users[i]])}
		for j, x := range xs {
			if x.i == i {
				r.coef[j] = 1
			}
		}
		rows = append(rows, r)
	}
	for i := range o.users { // lines of a category - y <= cap
		for c := 0; c < o.nC; c++ {
			r := row{coef: map[int]float64{nx + i*o.nC + c: -1}, rhs: float64(o.cap)}
			for j, x := range xs {
				if x.i == i && int(o.cat[x.s]) == c {
					r.coef[j] = 1
				}
			}
			rows = append(rows, r)
		}
	}
	for s := range o.q { // stock
		r := row{coef: map[int]float64{}, rhs: float64(o.q[s])}
		for j, x := range xs {
			if x.s == int32(s) {
				r.coef[j] = 1
			}
		}
		if len(r.coef) > 0 {
			rows = append(rows, r)
		}
	}
	objF := make([]float64, nx+ny)
	objR := make([]float64, nx+ny)
	objO := make([]float64, nx+ny)
	objS := make([]float64, nx+ny)
	for j, x := range xs {
		w.prepare(o.users[x.i])
		objF[j] = 1
		if o.isReq(x.i, x.s) {
			objR[j] = 1
		}
		objS[j] = w.score(x.s, o.day)
	}
	for j := nx; j < nx+ny; j++ {
		objO[j] = -1
	}
	solve := func(obj []float64) float64 {
		nslack := 0
		for _, r := range rows {
			if !r.eq {
				nslack++
			}
		}
		ncol := nx + ny + nslack
		A := mat.NewDense(len(rows), ncol, nil)
		b := make([]float64, len(rows))
		k := nx + ny
		for ri, r := range rows {
			for j, v := range r.coef {
				A.Set(ri, j, v)
			}
			if !r.eq {
				A.Set(ri, k, 1)
				k++
			}
			b[ri] = r.rhs
		}
		c := make([]float64, ncol)
		for j, v := range obj {
			c[j] = -v
		}
		f, _, err := lp.Simplex(c, A, b, 1e-10, nil)
		if err != nil {
			t.Fatalf("simplex: %v", err)
		}
		return -f
	}
	fix := func(obj []float64, v float64) {
		r := row{coef: map[int]float64{}, rhs: v, eq: true}
		for j, c := range obj {
			if c != 0 {
				r.coef[j] = c
			}
		}
		if len(r.coef) > 0 {
			rows = append(rows, r)
		}
	}
	filled = math.Round(solve(objF))
	fix(objF, filled)
	requested = math.Round(solve(objR))
	fix(objR, requested)
	over = math.Round(solve(objO))
	fix(objO, over)
	score = solve(objS)
	return filled, requested, -over, score
}

// TestOptimalMatchesLP: on small random dates (scarce stock, open
// requests, small caps), the plan and the bound both equal the LP optimum
// level by level, the score within 1e-9.
func TestOptimalMatchesLP(t *testing.T) {
	if testing.Short() {
		t.Skip("solves dense LPs")
	}
	rng := rand.New(rand.NewPCG(11, 13))
	sawReq, sawOver, sawShort, sawPriced := false, false, false, false
	for trial := 0; trial < 24; trial++ {
		p := policy.Default()
		p.MaxPerCategory = 1 + trial%2
		in := randomDate(rng, 3+rng.IntN(6), 6+rng.IntN(6), 2+rng.IntN(3), 4, 3)
		o, db, workers, _ := firstDateSolver(t, in, p)
		ok, err := o.solve(context.Background(), workers, 100000)
		if err != nil || !ok {
			t.Fatalf("trial %d: solve ok=%v err=%v", trial, ok, err)
		}
		if _, settled := o.enforceRules(workers); !settled {
			t.Fatalf("trial %d: rules did not settle", trial)
		}
		o.writeBoxes(db, workers)
		c := o.certify(db, workers)
		f, r, ov, s := lpLevels(t, o, workers[0])
		for _, x := range []Objective{c.Achieved, c.Bound} {
			if float64(x.Filled) != f || float64(x.Requested) != r || float64(x.OverCap) != ov || math.Abs(x.Score-s) > 1e-9 {
				t.Fatalf("trial %d: %+v differs from the LP optimum (%v, %v, %v, %.12f); plan %+v bound %+v",
					trial, x, f, r, ov, s, c.Achieved, c.Bound)
			}
		}
		sawReq = sawReq || r > 0
		sawOver = sawOver || ov > 0
		sawShort = sawShort || f < float64(c.Slots)
		sawPriced = sawPriced || len(o.pricedList) > 0
	}
	if !sawReq || !sawOver || !sawShort || !sawPriced {
		t.Fatalf("the random dates missed a case: requests %v, over the cap %v, short %v, priced %v", sawReq, sawOver, sawShort, sawPriced)
	}
}
