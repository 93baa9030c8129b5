package engine

// The auction path of the optimal allocator: a fast way to a plan within a
// loose gap tolerance (Options.GapTolerance >= AuctionMinTolerance), tried
// before the exchange algorithm of ssp.go on a contested date.
//
// The exchange algorithm keeps every box exactly best at the prices, so on
// scarce dates, where thousands of units of excess have to move down to the
// snacks with units left, it needs thousands of shortest-path phases: most
// arcs have a single subscriber at zero reduced cost (the users' category
// terms are continuous), so a phase moves one unit or a few. The auction
// path gives that invariant up:
//
//  1. Auction (epsClear): over-demanded snacks are cleared one at a time,
//     as in bulk clearing (clear.go), but the price rises eps beyond the
//     level where exactly its units keep holders. Every clearing raises a
//     price by at least eps, so the price wars of plain clearing (two
//     substitutes pushing the same users back and forth at ever smaller
//     steps, the excess never draining) end: the excess flows down to the
//     snacks with units left in a few dozen passes. The kept holders are
//     within eps of their best exit; every other box is best at the prices.
//     When no snack is over-demanded the plan is feasible.
//  2. Prices for the bound. bound(p) at the auction's prices overshoots by
//     about eps per holder. Each priced snack comes down by the shortfall
//     of its least happy holder (all at once, from the auction's prices),
//     then a few projected subgradient steps with Polyak's step size
//     against the plan's value lower bound(p) further (split model, one
//     oracle pass each); the lowest bound seen is kept. Any p >= 0 gives a
//     true bound, so nothing here needs an invariant.
//
// The plan then goes through the rule check and repair like every plan of
// the allocator, and the date's certificate is computed with exact scores
// at the final prices (a true bound whatever happened before). Only when it
// is certified (equal to the bound in short units, requests and over-cap
// lines) and within the tolerance in score is the auction's plan kept,
// with status "within tolerance"; otherwise the date is solved again from
// scratch by the exchange algorithm (optimalDate), so a date is never
// certified looser than the tolerance.

import (
	"math"
	"slices"
)

// AuctionMinTolerance is the least gap tolerance (a fraction of the bound,
// 5e-4 = 0.05 %) for which the auction path is tried: below it the bound
// at the auction's prices rarely comes close enough on scarce dates, and
// the attempt would only add its time to the exchange algorithm's.
const AuctionMinTolerance = 5e-4

// auctionEpsFactor sets the auction's increment: eps = factor · tolerance ·
// the mean value of a box line at zero prices (about 0.0086 score units
// per line at 0.1 % on the generator's data).
const auctionEpsFactor = 10

// auctionMaxPasses bounds the auction's clearing passes over the
// over-demanded snacks; a date that still has excess after them is solved
// by the exchange algorithm.
const auctionMaxPasses = 200

// auctionPolishSteps bounds the subgradient steps on the prices.
const auctionPolishSteps = 10

// exitChunk is the chunk of holders a worker takes when their exits are
// computed: a snack has a few hundred holders, and e.parallel's chunk would
// leave all of them to one worker.
const exitChunk = 16

// auction runs the auction path (steps 1 and 2 above) and reports whether
// it reached a feasible plan. The caller checks the certificate.
func (o *optSolver) auction(workers []*worker) bool {
	o.startBoxes(workers)
	var lines int64
	for _, u := range o.used {
		lines += u
	}
	if lines == 0 {
		return false
	}
	mean := o.boundSplit().s.float(o.sc) / float64(lines)
	if !(mean > 0) {
		return false
	}
	var eps val
	eps.s, _ = toFix(auctionEpsFactor*o.tol*mean, o.sc)
	if eps.s.sign() <= 0 {
		return false
	}
	o.exitSkip = make([]int32, len(o.users)*o.nC)
	o.orderCats(workers)
	cleared := o.epsClear(workers, eps, auctionMaxPasses)
	if cleared {
		// At the clearing's prices still: what exitSkip skips stays so.
		o.lowerToHolders(workers)
	}
	o.exitSkip, o.catOrder, o.catMaxG = nil, nil, nil
	if !cleared {
		return false
	}
	o.polishPrices(workers, auctionPolishSteps)
	o.auctioned = true
	return true
}

// epsClear is bulk clearing with an increment: a cleared snack's price
// rises eps beyond the level where exactly its units keep holders. It
// reports whether no snack is over-demanded at the end.
func (o *optSolver) epsClear(workers []*worker, eps val, passes int) bool {
	n := len(o.users)
	o.initPricedByCat()
	// Each snack's holders, kept up to date by the clearings (the only
	// moves here), instead of a scan of every box per clearing.
	hold := make([][]int32, len(o.q))
	for i := 0; i < n; i++ {
		for _, s := range o.userBox(i) {
			hold[s] = append(hold[s], int32(i))
		}
	}
	byRank := func(a, b *clearExit) bool {
		if c := cmpVal(&a.delta, &b.delta); c != 0 {
			return c > 0
		}
		return a.i < b.i
	}
	var exits []clearExit
	for pass := 0; ; pass++ {
		var over []int32
		for s := range o.used {
			if o.used[s] > o.q[s] {
				over = append(over, int32(s))
			}
		}
		if len(over) == 0 {
			return true
		}
		if pass == passes {
			return false
		}
		for _, s := range over {
			if o.used[s] <= o.q[s] {
				continue
			}
			holders := hold[s]
			exits = slices.Grow(exits[:0], len(holders))[:len(holders)]
			o.e.parallelChunk(len(holders), exitChunk, workers, func(w *worker, j int) {
				exits[j] = o.clearExitOf(int(holders[j]), s)
			})
			// The q holders that keep s and the first beyond them, by delta
			// descending, ties by user: a selection, not a sort (the order
			// among the kept and among the moved does not matter).
			q := int(o.q[s])
			nthElement(exits, q, byRank)
			if t := exits[q].delta.add(eps); t.positive() {
				o.price[s] = o.price[s].add(t)
				if !o.priced.has(s) {
					o.priced.set(s)
					o.pricedList = append(o.pricedList, s)
				}
				o.sortPriced(o.cat[s])
			}
			kept := hold[s][:0]
			for _, x := range exits[:q] {
				kept = append(kept, x.i)
			}
			hold[s] = kept
			for _, x := range exits[q:] {
				o.clearMove(int(x.i), s, x.to)
				if x.to >= 0 {
					hold[x.to] = append(hold[x.to], x.i)
				}
			}
			o.clearMoves += int64(len(exits) - q)
		}
	}
}

// nthElement reorders xs so that xs[k] is the element of rank k under
// less (a strict total order), those of smaller rank before it and the
// others after it (quickselect, deterministic pivots).
func nthElement[T any](xs []T, k int, less func(a, b *T) bool) {
	lo, hi := 0, len(xs)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if less(&xs[mid], &xs[lo]) {
			xs[mid], xs[lo] = xs[lo], xs[mid]
		}
		if less(&xs[hi], &xs[lo]) {
			xs[hi], xs[lo] = xs[lo], xs[hi]
		}
		if less(&xs[hi], &xs[mid]) {
			xs[hi], xs[mid] = xs[mid], xs[hi]
		}
		pivot := xs[mid]
		i, j := lo, hi
		for i <= j {
			for less(&xs[i], &pivot) {
				i++
			}
			for less(&pivot, &xs[j]) {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return
		}
	}
}

// lowerToHolders lowers every priced snack by the shortfall of its least
// happy holder (what it loses by keeping the snack rather than taking its
// best exit, when negative), all computed at the auction's prices: one
// sweep over the users, each computing the shortfalls of its priced
// snacks; a snack's lowest is the same whichever worker finds it.
func (o *optSolver) lowerToHolders(workers []*worker) {
	n := len(o.users)
	// Per user, per line of its box: the shortfall of a priced line.
	ds := make([]val, len(o.box))
	o.e.parallelChunk(n, exitChunk, workers, func(w *worker, i int) {
		for j, s := range o.userBox(i) {
			if o.priced.has(s) {
				ds[int(o.slot[i])+j] = o.clearExitOf(i, s).delta
			}
		}
	})
	low := make([]val, len(o.q))
	for i := 0; i < n; i++ {
		for j, s := range o.userBox(i) {
			if d := ds[int(o.slot[i])+j]; o.priced.has(s) && d.cmp(low[s]) < 0 {
				low[s] = d
			}
		}
	}
	slices.Sort(o.pricedList)
	for _, s := range o.pricedList {
		o.price[s] = o.price[s].add(low[s])
	}
	o.repriced()
}

// polishPrices lowers bound(p) (split model) by projected subgradient
// steps with Polyak's step size against the plan's value, a lower bound on
// the minimum; each step is one oracle pass, and the prices with the
// lowest bound seen are kept. Only the score level of a price moves. It
// stops once the bound is within 0.8 of the tolerance of the plan (the
// exact certificate differs from the split model's in the last places, and
// the rule repair may lower the plan a little).
func (o *optSolver) polishPrices(workers []*worker, steps int) {
	n := len(o.users)
	calls := o.oracleCalls(workers)
	plan := o.boundSplit() // no excess left: the plan's value
	bests := make([]val, n)
	picks := make([]int32, len(o.box))
	plen := make([]int32, n)
	nS := len(o.q)
	demand := make([]int64, nS)
	bestL := infVal
	var bestP []val
	var bestUsers val
	for step := 0; ; step++ {
		po := o.splitPricedOrder()
		calls.setPricedCats(po)
		o.e.parallel(n, workers, func(w *worker, i int) {
			oc := calls.of(w)
			bests[i] = oc.best(i, modelSplit, true, true)
			for j, x := range oc.out {
				picks[int(o.slot[i])+j] = x.s
			}
			plen[i] = int32(len(oc.out))
		})
		var L val
		clear(demand)
		for i := range bests {
			L = L.add(bests[i])
			for _, s := range picks[o.slot[i] : o.slot[i]+plen[i]] {
				demand[s]++
			}
		}
		users := L
		for _, s := range o.pricedList {
			L = L.add(o.price[s].mulInt(o.q[s]))
		}
		if L.cmp(bestL) < 0 {
			bestL, bestUsers = L, users
			bestP = slices.Clone(o.price)
		}
		if step == steps || L.f != plan.f || L.r != plan.r || L.o != plan.o {
			break
		}
		gap := L.s.sub(plan.s).float(o.sc)
		if gap <= 0.8*o.tol*math.Abs(L.s.float(o.sc)) {
			break
		}
		var g2 float64
		for s := 0; s < nS; s++ {
			if o.q[s] > 0 && (o.priced.has(int32(s)) || demand[s] > o.q[s]) {
				g := float64(o.q[s] - demand[s])
				g2 += g * g
			}
		}
		if g2 == 0 {
			break
		}
		alpha := gap / g2
		for s := 0; s < nS; s++ {
			if o.q[s] == 0 || !(o.priced.has(int32(s)) || demand[s] > o.q[s]) {
				continue
			}
			p := o.price[s]
			if p.f != 0 || p.r != 0 || p.o != 0 {
				continue
			}
			x := p.s.float(o.sc) - alpha*float64(o.q[s]-demand[s])
			if x <= 0 {
				o.price[s] = val{}
				continue
			}
			f, _ := toFix(x, o.sc)
			o.price[s] = val{s: f, t: p.t}
		}
		o.repriced()
	}
	copy(o.price, bestP)
	o.repriced()
	// The users' best boxes at these prices were just summed (split
	// model): the certificate takes the sum with an allowance instead of
	// another oracle pass (certify).
	o.splitBound = &splitBound{price: bestP, users: bestUsers}
}

// repriced rebuilds the priced set from the prices.
func (o *optSolver) repriced() {
	o.pricedList = o.pricedList[:0]
	for s := range o.price {
		if o.price[s].positive() {
			o.priced.set(int32(s))
			o.pricedList = append(o.pricedList, int32(s))
		} else {
			o.price[s] = val{}
			o.priced.clear(int32(s))
		}
	}
	for c := range o.pricedByCat {
		o.sortPriced(int32(c))
	}
}
