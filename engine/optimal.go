package engine

// The optimal allocator (`assign run --allocator optimal`).
//
// # The model, per ship date
//
// The stock of snack s on date D is a number q(s): the units of its lots
// usable on D not yet taken (FEFO decides which lots, not how many). Every
// subscriber u shipping on D chooses a box B(u) from E(u), the snacks
// eligible for it on D (with the plan's own earlier boxes as deliveries)
// that have stock at the start of the date; no snack goes to more users
// than it has units. A plan is judged, lexicographically:
//
//  1. filled lines (the fewest short units),
//  2. lines that honour an open request,
//  3. minus the lines over a category cap, counting per category
//     max(0, lines - max_per_category) (the fill pass is a last resort:
//     without this level a plan could raise its score by handing a user's
//     last under-cap snacks to others so that its fill pass may go over the
//     cap, which the rules allow but the cap's purpose, variety, does not),
//  4. total score,
//  5. a tie-break (smaller snack indexes: the SPEC's "ties by snack_id").
//
// With fill_ignoring_caps off, no category may go over the cap, except that
// a category holding more of the user's open requests than the cap takes
// requests only (the rules also allow it to mix fewer requests with other
// snacks; the bound covers those boxes, the plan does not make them).
//
// For one user this value is a laminar concave function of the box (a sum
// of per-snack values, a concave penalty per category, at most k lines), so
// the whole date is a transportation problem with laminar constraints per
// user: source -> user (k) -> (user, category) (cap, then over the cap at a
// cost of one level-3 unit per line) -> snack (one unit per user, value) ->
// snack (q(s)) -> sink. Its constraint matrix is a network matrix, so its
// linear relaxation has an integral optimum, and Lagrangian duality over
// the stock constraints is exact: for any prices p(s) >= 0 (tuples of the
// five levels, compared lexicographically),
//
//	bound(p) = sum over users of best_u(p) + sum over snacks of p(s)·q(s)
//
// is at least the value of every plan (best_u(p) is the user's best box
// when every line of s costs p(s): the oracle in oracle.go, the SPEC's own
// capped top-k selection on shifted values), with equality for optimal
// prices. A plan and prices with bound(p) equal to the plan's value in the
// first three levels certify that no plan has fewer short units, more
// honoured requests or fewer over-cap lines; the bound's score then caps
// every plan that matches it there.
//
// # How a date is solved
//
// Users first take their best box with no prices, exactly as the reference
// greedy precomputes them. If no snack is wanted by more users than it has
// units, that is the plan (it is greedy's too) and zero prices certify it.
// Otherwise the exchange algorithm of ssp.go raises the prices of the
// snacks that ran full until every such snack has no more holders than
// units, moving users along cheapest exchange paths; every box stays best at
// the prices throughout and only full snacks carry a price, so when no
// excess is left the plan and the prices satisfy complementary slackness:
// the plan is optimal and bound(p) equals its value. The exchange algorithm
// plans in the split score model (popularity and novelty of the snack plus
// preference and affinity of the user's category, summed exactly), in
// which every user ranks the snacks of a category the same way; the SPEC's
// float score differs from it by a few units in the last place. The plan is
// then checked against the rules with the exact scores (a near tie can
// differ), repaired user by user if a rule fails, and certified with the
// exact scores: the reported bound uses them, so it is a true bound of the
// SPEC's objective. (On the auction path the users' best boxes of the
// bound come from the split model's last oracle pass, with an allowance
// for the last-place differences that keeps the bound true: certify.)
//
// With a gap tolerance (Options.GapTolerance, the CLI's --gap-tolerance),
// the exchange phases stop once sending the excess holders out to their
// best snacks with units left gives a plan equal to bound(p) in the first
// three levels and within the tolerance in score (tolerance.go); the date
// is certified the same way, with status "within tolerance".
//
// A date that needs more exchange phases than the limit, or whose repair
// does not settle, falls back to the greedy's boxes for that date; its
// bound is still the bound at the prices reached, and the manifest says so.
// Over the horizon the optimal plan is kept only if it has no more short
// boxes and no lower total score than the reference greedy run over the
// same dates (computed beside it); otherwise the greedy's plan is the
// result and the manifest says why.

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"
)

// Allocator selects run mode's allocation algorithm.
type Allocator int

const (
	// Greedy is the SPEC's reference allocator.
	Greedy Allocator = iota
	// Optimal plans each date with the certified optimal allocator.
	Optimal
)

// Date statuses of the optimal allocator (DateCert.Status); a fallback's
// status starts with "fallback: ".
const (
	StatusOptimal     = "optimal"
	StatusTolerance   = "within tolerance"
	StatusUncontested = "uncontested"
)

// SolvedStatus reports a date whose plan the exchange algorithm made: at
// the optimum, or stopped within the gap tolerance (its boxes are then
// best at the prices but for the holders sent out at the stop).
func SolvedStatus(s string) bool { return s == StatusOptimal || s == StatusTolerance }

func (a Allocator) String() string {
	if a == Optimal {
		return "optimal"
	}
	return "greedy"
}

// DefaultMaxPhases is the exchange-phase limit per date.
const DefaultMaxPhases = 200000

// Objective is a plan's value in the levels of the optimal allocator's
// objective.
type Objective struct {
	Filled    int64   `json:"filled_units"`
	Requested int64   `json:"requested_lines"`
	OverCap   int64   `json:"over_cap_lines"`
	Score     float64 `json:"score"`
}

// Price is one priced snack of a date: what the certificate charges per
// unit, level by level, and its stock at the start of the date.
type Price struct {
	Snack     int32   `json:"-"`
	SnackID   int64   `json:"snack_id"`
	Filled    int64   `json:"filled"`
	Requested int64   `json:"requested"`
	OverCap   int64   `json:"over_cap"`
	Score     float64 `json:"score"`
	Units     int64   `json:"units"`
}

// DateCert is the certificate of one ship date.
type DateCert struct {
	Day Day `json:"-"`
	// Status: "optimal", "within tolerance" (the exchange phases stopped
	// at a gap within Options.GapTolerance, see tolerance.go), "uncontested"
	// (no snack ran short at zero prices:
	// every user got its best box, the greedy's too), or "fallback: why"
	// (the greedy's boxes for this date).
	Status string `json:"status"`
	// Achieved is the plan's value; Bound the certificate's, per level;
	// Slots the box lines asked for (sum of box sizes).
	Achieved Objective `json:"achieved"`
	Bound    Objective `json:"bound"`
	Slots    int64     `json:"slots"`
	// BoundUsers is the sum of best_u(p) over users; BoundStock the sum of
	// p(s)·q(s); Bound = BoundUsers + BoundStock, level by level.
	BoundUsers Objective `json:"bound_users"`
	BoundStock Objective `json:"bound_stock"`
	// Certified: the bound equals the plan in levels 1 to 3, so its score
	// bounds every plan as good there.
	Certified bool    `json:"certified"`
	Prices    []Price `json:"prices"`
	Phases    int64   `json:"phases"`
	Moves     int64   `json:"moves"`
	// WarmRounds counts the oracle passes of the warm start; ClearMoves the
	// users moved by bulk clearing before the exchange phases (on a date
	// whose plan is the auction path's, by the auction's clearings).
	WarmRounds int   `json:"warm_rounds"`
	ClearMoves int64 `json:"clear_moves"`
	Repaired   int   `json:"repaired_users"`
	// ExitMoves counts the holders sent out when the phases stopped within
	// the gap tolerance.
	ExitMoves int64 `json:"exit_moves"`
	// Allowance is added to the bound's score for score terms that fixed
	// point could not hold exactly, or, when the users' best boxes were
	// found in the split score model (the auction path), for its float
	// rounding against the SPEC's scores (splitAllowance: about 1e-15 per
	// box line).
	Allowance float64 `json:"allowance"`
	Seconds   float64 `json:"seconds"`
}

// Gap is (bound - score) / |bound| in percent, 0 when both are 0.
func (c *DateCert) Gap() float64 { return GapPct(c.Bound.Score, c.Achieved.Score) }

// GapPct is (bound - score) / |bound| in percent, 0 when they are equal.
func GapPct(bound, score float64) float64 {
	if bound == score {
		return 0
	}
	return 100 * (bound - score) / math.Abs(bound)
}

// OptimalReport is what the optimal allocator reports over the horizon.
type OptimalReport struct {
	Dates []DateCert
	// Greedy is the reference greedy run's totals on the same dates.
	GreedyScore      float64
	GreedyShortBoxes int
	GreedyShortUnits int64
	// Chosen is "optimal", or "greedy" when the optimal plan was not at
	// least as good as the greedy's (Reason says how).
	Chosen string
	Reason string
	Scale  int
	// GapTolerance is Options.GapTolerance (0: every date solved exactly).
	GapTolerance float64
}

// OptimalGCPercent is the garbage collector's target percentage during an
// optimal run, unless GOGC is set. Most of the run's memory is the exchange
// heaps, large arrays without pointers that the collector marks without
// scanning, so collecting more often than Go's default (100) costs little
// time and keeps the peak heap closer to the live one (see the scarce
// medium's figures in benchmarks/RESULTS.md).
const OptimalGCPercent = 25

// optimalGC sets the collector's percentage for an optimal run and returns
// what restores it.
func optimalGC() func() {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(OptimalGCPercent)
	return func() { debug.SetGCPercent(old) }
}

// optSolver solves one date.
type optSolver struct {
	e    *engine
	di   int
	day  Day
	sc   int
	nC   int
	cap  int
	fill bool
	cat  []int32

	g      []fix // per snack: popularity and novelty terms, exact
	q      []int64
	used   []int64
	price  []val
	priced bitset
	// pricedList holds the snacks with a non-zero price; pricedByCat the
	// same per category, by own value at the price (bulk clearing only).
	pricedList  []int32
	pricedByCat [][]int32
	pricedTop   []val // per category: eOf of pricedByCat's first snack
	node        bitset
	nodes       []int32
	nodesByCat  [][]int32
	orders      []catOrder // the date's orders (orderOn), snacks with units only
	catSorted   [][]int32  // per category: snacks by (g desc, sidx asc), with units
	holders     [][]int32  // per snack: users that took it (may hold stale ones)
	reqBy       [][]int32  // per snack: users with an open request for it
	nd          []*nodeData

	users  []int32 // uidx per local user (the date's users, user_id order)
	words  int
	elig   []uint64 // per user: eligible snacks with stock at the start
	h      []fix    // per user, per category: preference and affinity terms
	reqOff []int32  // per user: open requests (eligible, with stock), in order
	reqs   []int32
	slot   []int32 // per user: offset of its box in box
	box    []int32
	boxLen []int32
	cnt    []int16  // per user, per category: lines in the box
	ver    []uint32 // per user: bumped when its box changes
	cver   []uint32 // per user, per category: bumped when its lines there change
	// userStamp marks users in one pass (deduplication), with ustamp.
	userStamp []int32
	ustamp    int32

	slackS    []int32 // per user, per category: cached best slack snack
	slackVer  []uint32
	slackDeps [][]int32 // per snack: users whose cached slack snack it is

	// eSorted caches catNodes per category (valid while maxEOK).
	eSorted [][]catNode
	maxEOK  []bool

	// Dijkstra scratch.
	stamp     int32
	dist      []val
	distStamp []int32
	finStamp  []int32
	predFrom  []int32
	predUser  []int32
	reached   []int32
	buf       []entry
	walk      heapWalk
	targets   []int32

	started       bool // startBoxes ran
	phases, moves int64
	repaired      int
	warmRounds    int
	clearMoves    int64
	inexact       atomic.Bool
	// tol is the relative gap at which the exchange phases may stop (0:
	// exact); stopped says they did, exitMoves the holders sent out then.
	tol       float64
	stopped   bool
	exitMoves int64
	// auctioned: the plan is the auction path's (auction.go); cert its
	// certificate, computed on the solver's boxes before they are written.
	auctioned bool
	cert      *DateCert
	// exitSkip, during the auction's clearing only (prices only rise and
	// no price is removed there): per user and category, how many snacks
	// of catSorted exitBest may skip, being ineligible, priced or
	// requested for good.
	exitSkip []int32
	// splitBound: the sum of the users' best boxes in the split model at
	// the prices the auction's polish ended with (certify's bound then).
	splitBound *splitBound
	// termAbs bounds |popularity term| + |novelty term| + |preference
	// term| + |affinity term| of every line of the date (splitAllowance).
	termAbs float64
	// catOrder and catMaxG, during the auction's clearing and
	// lowerToHolders: exitBest's category order per user and the bound
	// behind it (orderCats).
	catOrder []int32
	catMaxG  []fix
}

// withUnits is the snacks of l with units at the start of the date, in
// l's order.
func (o *optSolver) withUnits(l []int32) []int32 {
	var r []int32
	for _, s := range l {
		if o.q[s] > 0 {
			r = append(r, s)
		}
	}
	return r
}

func (o *optSolver) userElig(i int) bitset { return bitset(o.elig[i*o.words : (i+1)*o.words]) }
func (o *optSolver) userH(i int) []fix     { return o.h[i*o.nC : (i+1)*o.nC] }
func (o *optSolver) userReq(i int) []int32 { return o.reqs[o.reqOff[i]:o.reqOff[i+1]] }
func (o *optSolver) userBox(i int) []int32 { return o.box[o.slot[i] : o.slot[i]+o.boxLen[i]] }
func (o *optSolver) userCnt(i int) []int16 { return o.cnt[i*o.nC : (i+1)*o.nC] }

func (o *optSolver) isReq(i int, s int32) bool { return slices.Contains(o.userReq(i), s) }
func (o *optSolver) holds(i int, s int32) bool { return slices.Contains(o.userBox(i), s) }

// newOptSolver gathers the date's inputs: per user its eligible snacks with
// stock, category terms and open requests.
func (e *engine) newOptSolver(di int, boxes *DateBoxes, workers []*worker, st *stock) *optSolver {
	in := e.in
	nS, nC, n := in.NumSnacks(), e.nCats, len(boxes.Users)
	o := &optSolver{
		e: e, di: di, day: boxes.Day, sc: e.fixSc, nC: nC, cap: e.p.MaxPerCategory, fill: e.p.FillIgnoringCaps,
		cat: in.SnackCat, users: boxes.Users, words: (nS + 63) / 64,
		g: make([]fix, nS), q: make([]int64, nS), used: make([]int64, nS), price: make([]val, nS),
		priced: newBitset(nS), node: newBitset(nS), nodesByCat: make([][]int32, nC),
		holders: make([][]int32, nS), slackDeps: make([][]int32, nS), reqBy: make([][]int32, nS), nd: make([]*nodeData, nS),
		dist: make([]val, nS), distStamp: make([]int32, nS), finStamp: make([]int32, nS),
		predFrom: make([]int32, nS), predUser: make([]int32, nS),
		tol: e.gapTol, eSorted: make([][]catNode, nC), maxEOK: make([]bool, nC),
	}
	copy(o.q, st.left)
	newT, _ := toFix(e.newTerm, o.sc)
	oldT, _ := toFix(e.oldTerm, o.sc)
	popAbs := 0.0
	for s := 0; s < nS; s++ {
		popAbs = max(popAbs, math.Abs(e.popTerm[s]))
		p, _ := toFix(e.popTerm[s], o.sc)
		if IsNew(in.Launched[s], o.day, e.p.NewSnackDays) {
			o.g[s] = p.add(newT)
		} else {
			o.g[s] = p.add(oldT)
		}
	}
	// The date's snack orders without the snacks that have no units at its
	// start: no user is eligible for them (eligibility is taken with
	// stock), and on scarce dates they are the most popular ones, the
	// first of every order. Walks and category bounds skip them so.
	orders := e.orderOn(o.day)
	if orders != nil {
		orders = slices.Clone(orders)
		for c := range orders {
			orders[c] = catOrder{old: o.withUnits(orders[c].old), new: o.withUnits(orders[c].new)}
		}
	}
	o.orders = orders
	o.catSorted = make([][]int32, nC)
	for c := range orders {
		l := append(slices.Clone(orders[c].old), orders[c].new...)
		slices.SortFunc(l, func(a, b int32) int {
			if x := o.g[a].cmp(o.g[b]); x != 0 {
				return -x
			}
			return int(a - b)
		})
		o.catSorted[c] = l
	}
	o.elig = make([]uint64, n*o.words)
	o.h = make([]fix, n*nC)
	o.cnt = make([]int16, n*nC)
	o.ver = make([]uint32, n)
	o.cver = make([]uint32, n*nC)
	o.userStamp = make([]int32, n)
	o.slackS = make([]int32, n*nC)
	o.slackVer = make([]uint32, n*nC)
	for j := range o.slackVer {
		o.slackVer[j] = math.MaxUint32
	}
	o.slot = boxes.Slot
	o.box = make([]int32, boxes.Slot[n])
	o.boxLen = make([]int32, n)
	reqCount := make([]int32, n)
	reqTmp := make([][]int32, n)
	hAbs := make([]float64, n)
	e.parallel(n, workers, func(w *worker, i int) {
		u := boxes.Users[i]
		w.prepare(u)
		el := o.userElig(i)
		w.eligible(u, di, o.day, el)
		el.and(st.has)
		h := o.userH(i)
		for c := 0; c < nC; c++ {
			a, _ := toFix(w.prefTerm[c], o.sc)
			b, _ := toFix(w.affTerm[c], o.sc)
			h[c] = a.add(b)
			hAbs[i] = max(hAbs[i], math.Abs(w.prefTerm[c])+math.Abs(w.affTerm[c]))
		}
		var rq []int32
		for r := in.ReqStart[u]; r < in.ReqStart[u+1]; r++ {
			if in.ReqDay[r] >= o.day || e.reqClosed[r] {
				continue
			}
			if s := in.ReqSnack[r]; el.has(s) && !slices.Contains(rq, s) {
				rq = append(rq, s)
			}
		}
		reqTmp[i] = rq
		reqCount[i] = int32(len(rq))
	})
	// max propagates a NaN: splitAllowance then declines.
	o.termAbs = popAbs + max(math.Abs(e.newTerm), math.Abs(e.oldTerm))
	if n > 0 {
		o.termAbs += slices.Max(hAbs)
	}
	o.reqOff = make([]int32, n+1)
	for i := range reqTmp {
		o.reqOff[i+1] = o.reqOff[i] + reqCount[i]
		o.reqs = append(o.reqs, reqTmp[i]...)
		for _, s := range reqTmp[i] {
			o.reqBy[s] = append(o.reqBy[s], int32(i))
		}
	}
	return o
}

// initBoxes gives every user its best box at the warm prices (split model),
// clears the over-demanded snacks in bulk and builds the exchange
// algorithm's nodes.
func (o *optSolver) initBoxes(workers []*worker) {
	o.startBoxes(workers)
	o.clearPasses(workers, 4)
	for i := range o.users {
		for _, s := range o.userBox(i) {
			o.holders[s] = append(o.holders[s], int32(i))
		}
	}
	for s := range o.used {
		if o.q[s] > 0 && o.used[s] >= o.q[s] {
			o.makeNode(int32(s))
		}
	}
}

// warmPriced reports whether the previous date left a price on a snack
// with units (startBoxes then starts from prices).
func (o *optSolver) warmPriced() bool {
	for s, p := range o.e.warm {
		if o.q[s] > 0 && p.positive() {
			return true
		}
	}
	return false
}

// overDemanded reports a snack held by more users than it has units.
func (o *optSolver) overDemanded() bool {
	for s, u := range o.used {
		if u > o.q[s] {
			return true
		}
	}
	return false
}

// startBoxes gives every user its best box at the previous date's prices
// (split model), every priced snack full; once per solver.
func (o *optSolver) startBoxes(workers []*worker) {
	if o.started {
		return
	}
	o.started = true
	n := len(o.users)
	calls := o.oracleCalls(workers)
	// Warm start: the previous date's prices, on snacks with stock. Every
	// user takes its best box at them; a priced snack left with units over
	// loses its price (the exchange algorithm needs every priced snack
	// full), which can only draw users to it, until none is left so. Any
	// start with these two properties leads to the same optimum; a close one
	// leaves less excess to move.
	if o.e.warm != nil {
		for s, p := range o.e.warm {
			if o.q[s] > 0 && p.positive() {
				o.price[s] = p
				o.priced.set(int32(s))
				o.pricedList = append(o.pricedList, int32(s))
			}
		}
	}
	for {
		po := o.splitPricedOrder()
		calls.setPricedCats(po)
		o.e.parallel(n, workers, func(w *worker, i int) {
			oc := calls.of(w)
			oc.best(i, modelSplit, true, false)
			box := o.box[o.slot[i]:o.slot[i+1]]
			cnt := o.userCnt(i)
			clear(cnt)
			for j, x := range oc.out {
				box[j] = x.s
				cnt[o.cat[x.s]]++
			}
			o.boxLen[i] = int32(len(oc.out))
		})
		clear(o.used)
		for i := 0; i < n; i++ {
			for _, s := range o.userBox(i) {
				o.used[s]++
			}
		}
		kept := o.pricedList[:0]
		for _, s := range o.pricedList {
			if o.used[s] >= o.q[s] {
				kept = append(kept, s)
			} else {
				o.price[s] = val{}
				o.priced.clear(s)
			}
		}
		lowered := len(kept) < len(o.pricedList)
		o.pricedList = kept
		o.warmRounds++
		if !lowered {
			break
		}
	}
}

// solve runs the exchange phases; it reports whether all excess was
// resolved within the phase limit.
func (o *optSolver) solve(ctx context.Context, workers []*worker, maxPhases int64) (bool, error) {
	o.initBoxes(workers)
	for o.phases < maxPhases {
		if o.phases%64 == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		if o.tol > 0 && o.phases%toleranceEvery == 0 && o.withinTolerance(o.tol) {
			o.exitMoves = o.exitCommit()
			o.stopped = true
			break
		}
		if !o.phase() {
			break
		}
	}
	for _, a := range o.nodes {
		if o.used[a] > o.q[a] {
			return false, nil
		}
	}
	return true, nil
}

// boxValue is the value of a box (exact scores, no prices).
func boxValue(e *engine, w *worker, u int32, d Day, snacks []int32, reqs []int32, sc int) (val, bool) {
	in := e.in
	var v val
	exact := true
	// The worker's counts are scratch that its last selection left filled
	// (select.go clears them on entry, not on exit): start from zero, or the
	// certificate's over-cap count would depend on which user the worker
	// planned last, i.e. on the scheduling.
	cnt := w.catCount
	clear(cnt)
	for _, s := range snacks {
		f, ok := toFix(w.score(s, d), sc)
		exact = exact && ok
		v = v.add(val{f: 1, s: f, t: -int64(s)})
		if slices.Contains(reqs, s) {
			v.r++
		}
		cnt[in.SnackCat[s]]++
	}
	for _, s := range snacks {
		c := in.SnackCat[s]
		if n := int(cnt[c]); n > e.p.MaxPerCategory {
			v.o -= int64(n - e.p.MaxPerCategory)
		}
		cnt[c] = 0
	}
	return v, exact
}

// auctionCertified repairs the auction path's plan against the rules and
// reports whether its certificate (exact scores, the solver's own boxes)
// is certified and within the gap tolerance.
func (o *optSolver) auctionCertified(workers []*worker) bool {
	repaired, settled := o.enforceRules(workers)
	if !settled {
		return false
	}
	o.repaired = repaired
	c := o.certify(nil, workers)
	o.cert = &c
	return c.Certified && c.Gap() <= 100*o.tol
}

// splitBound is the sum over users of best_u(p) in the split score model
// at prices price, from the oracle pass that found those prices.
type splitBound struct {
	price []val
	users val
}

// splitAllowance bounds, in the score level, how far the sum of the users'
// best boxes with the SPEC's float scores can exceed the same sum in the
// split model, at any prices. Both models value the same boxes in the
// levels above the score, so the first model's best box B is worth no
// less in the split model than its own value minus its lines' score
// differences, and the split model's best is worth at least that. A
// line's float score fl(fl(fl(pop+pref)+aff)+nov) is within
// 3·2^-53·(1+2^-53)^3·A of the exact sum, A = |pop|+|pref|+|aff|+|nov| <=
// termAbs (three roundings, each of a partial sum no larger than
// A·(1+2^-53)^2), and the fixed-point conversions of the score and of the
// four terms round by at most half a unit (2^-sc) each. So a date's
// slots lines differ by at most slots·(3.0001·2^-53·termAbs + 3·2^-sc).
// It reports false when termAbs is not finite.
func (o *optSolver) splitAllowance(slots int64) (float64, bool) {
	if math.IsNaN(o.termAbs) || math.IsInf(o.termAbs, 0) {
		return 0, false
	}
	perLine := 3.0001*math.Ldexp(o.termAbs, -53) + 3*math.Ldexp(1, -o.sc)
	return float64(slots) * perLine, true
}

// certify computes the certificate of the boxes of the date at the solver's
// prices: the plan's value with exact scores, and bound(p) (boxes nil: the
// boxes the solver holds). The users' best boxes of the bound are found
// with exact scores, or, when the auction's polish summed them at these
// prices already (splitBound), that sum in the split model is taken and
// splitAllowance added to the bound's score: a true bound of the exact
// objective either way, at one oracle pass less per date.
func (o *optSolver) certify(boxes *DateBoxes, workers []*worker) DateCert {
	n := len(o.users)
	var slots int64
	for i := range o.users {
		slots += int64(o.e.in.BoxSize[o.users[i]])
	}
	sb := o.splitBound
	allowance, fused := 0.0, false
	if sb != nil && slices.Equal(sb.price, o.price) {
		allowance, fused = o.splitAllowance(slots)
	}
	calls := o.oracleCalls(workers)
	bests := make([]val, n)
	ach := make([]val, n)
	o.e.parallel(n, workers, func(w *worker, i int) {
		if fused {
			w.prepare(o.users[i]) // boxValue's scores (best prepares the worker otherwise)
		} else {
			bests[i] = calls.of(w).best(i, modelExact, true, true)
		}
		var lines []int32
		if boxes != nil {
			off := boxes.Slot[i]
			lines = boxes.Snack[off : off+boxes.Filled[i]]
		} else {
			lines = o.userBox(i)
		}
		v, ok := boxValue(o.e, w, o.users[i], o.day, lines, o.userReq(i), o.sc)
		if !ok {
			o.inexact.Store(true)
		}
		ach[i] = v
	})
	var users, stockV, achieved val
	for i := range bests {
		users = users.add(bests[i])
		achieved = achieved.add(ach[i])
	}
	if fused {
		users = sb.users
	}
	c := DateCert{Day: o.day, Phases: o.phases, Moves: o.moves, WarmRounds: o.warmRounds, ClearMoves: o.clearMoves}
	in := o.e.in
	slices.Sort(o.pricedList)
	for _, s := range o.pricedList {
		p := o.price[s]
		stockV = stockV.add(p.mulInt(o.q[s]))
		c.Prices = append(c.Prices, Price{Snack: s, SnackID: in.SnackID[s], Filled: p.f, Requested: p.r, OverCap: -p.o,
			Score: p.s.float(o.sc), Units: o.q[s]})
	}
	c.Slots = slots
	bound := users.add(stockV)
	c.Achieved = o.objective(achieved)
	c.Bound = o.objective(bound)
	c.BoundUsers = o.objective(users)
	c.BoundStock = o.objective(stockV)
	c.Certified = bound.f == achieved.f && bound.r == achieved.r && bound.o == achieved.o
	switch {
	case fused:
		c.Allowance = allowance
		c.Bound.Score += c.Allowance
	case o.inexact.Load():
		// A score term below the fixed-point resolution was rounded: widen the
		// bound by half a unit of resolution per line of every box.
		c.Allowance = float64(c.Slots) * math.Ldexp(1, -o.sc)
		c.Bound.Score += c.Allowance
	}
	return c
}

func (o *optSolver) objective(v val) Objective {
	return Objective{Filled: v.f, Requested: v.r, OverCap: -v.o, Score: v.s.float(o.sc)}
}

// optimalDate plans one date with the optimal allocator and commits it.
func (e *engine) optimalDate(ctx context.Context, di int, boxes *DateBoxes, workers []*worker, st *stock) (DateCert, error) {
	start := time.Now()
	o := e.newOptSolver(di, boxes, workers, st)
	// The greedy's boxes of the date (at the stock of its start) decide
	// whether it is contested, and are committed when it is not or when it
	// falls back.
	var count []int32
	greedyCount := func() []int32 {
		if count == nil {
			count = e.greedyChoose(di, boxes, workers, st)
		}
		return count
	}
	contested := false
	auction := e.gapTol >= AuctionMinTolerance && !e.certOnly
	if auction && !o.warmPriced() {
		// The auction starts from every user's best box at zero prices
		// (split model): when a snack is over-demanded there the date is
		// contested, and the greedy's boxes, the same boxes but for near
		// ties, are only needed if the date falls back.
		o.startBoxes(workers)
		contested = o.overDemanded()
	}
	if !contested {
		demand := make([]int64, e.in.NumSnacks())
		greedyCount()
		for i := range boxes.Users {
			off := boxes.Slot[i]
			for _, s := range boxes.Snack[off : off+boxes.Filled[i]] {
				demand[s]++
			}
		}
		for s, d := range demand {
			if d > st.left[s] {
				contested = true
				break
			}
		}
	}
	if !contested {
		// Every user takes its best box: the greedy commits exactly these.
		e.greedyCommit(di, boxes, workers, st, greedyCount(), nil)
		c := o.certify(boxes, workers)
		c.Status = StatusUncontested
		c.Seconds = time.Since(start).Seconds()
		e.traceOptimal(o, c.Status, st)
		return c, nil
	}
	var ok bool
	if auction {
		if o.auction(workers) && o.auctionCertified(workers) {
			ok = true
		} else {
			o = e.newOptSolver(di, boxes, workers, st)
		}
	}
	if !o.auctioned {
		var err error
		ok, err = o.solve(ctx, workers, e.maxPhases)
		if err != nil {
			return DateCert{}, err
		}
	}
	e.warm = slices.Clone(o.price)
	reason := ""
	if e.certOnly {
		reason = "greedy"
	} else if !ok {
		reason = fmt.Sprintf("fallback: excess left after %d exchange phases (the limit)", o.phases)
	} else if o.auctioned {
		// auctionCertified repaired the plan already.
	} else if repaired, settled := o.enforceRules(workers); !settled {
		reason = "fallback: the rule repair did not settle"
	} else {
		o.repaired = repaired
	}
	if reason != "" {
		e.greedyCommit(di, boxes, workers, st, greedyCount(), nil)
		c := o.certify(boxes, workers)
		c.Status = reason
		c.Seconds = time.Since(start).Seconds()
		e.traceOptimal(o, c.Status, st)
		return c, nil
	}
	o.writeBoxes(boxes, workers)
	var c DateCert
	if o.cert != nil {
		// The same boxes, only written in the SPEC's line order.
		c = *o.cert
	} else {
		c = o.certify(boxes, workers)
	}
	c.Status = StatusOptimal
	if o.stopped || o.auctioned {
		c.Status = StatusTolerance
	}
	c.Repaired = o.repaired
	c.ExitMoves = o.exitMoves
	for i, u := range boxes.Users {
		off := boxes.Slot[i]
		lines := boxes.Snack[off : off+boxes.Filled[i]]
		if e.trace != nil && e.trace.matches(e.in, u, boxes.Day) {
			w := workers[0]
			w.prepare(u)
			w.eligible(u, di, boxes.Day, w.elig)
			e.trace.captureEligible(e, u, w.elig, nil)
			e.trace.stockLeft = slices.Clone(o.q)
			e.trace.box = box{snack: slices.Clone(lines), score: slices.Clone(boxes.Score[off : off+boxes.Filled[i]]),
				requested: slices.Clone(boxes.Requested[off : off+boxes.Filled[i]])}
		}
		for j, s := range lines {
			boxes.Lot[off+int32(j)] = st.take(s)
		}
		e.remember(u, boxes.Day, lines)
	}
	c.Seconds = time.Since(start).Seconds()
	e.traceOptimal(o, c.Status, st)
	return c, nil
}

// traceOptimal records the date's status, prices and the units left at its
// end when the traced user ships on it.
func (e *engine) traceOptimal(o *optSolver, status string, st *stock) {
	t := e.trace
	if t == nil || t.Day != o.day || !t.found {
		return
	}
	t.opt = &traceOptimal{status: status, price: slices.Clone(o.price), left: slices.Clone(st.left), sc: o.sc}
}

// writeBoxes stores the plan in boxes: requested lines first in request order,
// then by score (descending) and snack_id, with the SPEC's float scores.
func (o *optSolver) writeBoxes(boxes *DateBoxes, workers []*worker) {
	o.e.parallel(len(o.users), workers, func(w *worker, i int) {
		u := o.users[i]
		w.prepare(u)
		w.box.reset()
		b := o.userBox(i)
		for _, s := range o.userReq(i) {
			if slices.Contains(b, s) {
				w.box.add(s, w.score(s, o.day), true)
			}
		}
		w.cands = w.cands[:0]
		for _, s := range b {
			if !o.isReq(i, s) {
				w.cands = append(w.cands, cand{w.score(s, o.day), s})
			}
		}
		slices.SortFunc(w.cands, compareCand)
		for _, c := range w.cands {
			w.box.add(c.s, c.score, false)
		}
		o.e.record(boxes, i, &w.box, nil)
	})
}
