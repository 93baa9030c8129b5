package engine

// The per-subscriber oracle of the optimal allocator: the best box of one
// user on one date at given snack prices (see optimal.go for the model).
//
// A box's value is the sum of its lines' values minus one "over" unit per
// line beyond the cap in its category; a line of snack s is worth
// (1 filled, 1 if s is an open request, 0, score, -sidx) minus the price of
// s. For one user this is a laminar concave function: each category's
// lines, taken best first, have non-increasing marginal values (the cap
// only ever subtracts), and the box holds at most k lines. So taking the
// largest positive marginal value across categories, k times at most, is
// optimal (the same exchange argument that makes the SPEC's capped greedy
// right), and with the snack index in the value no two marginals tie, so
// the optimum is unique. At zero prices on the snacks that have stock, it
// is the SPEC's box (requests first, the capped pass, then the fill pass)
// except that when more open requests are available than the box holds, the
// oracle takes the best-scored of them rather than the earliest.

import "slices"

// scoreModel selects how the oracle scores a snack.
type scoreModel int

const (
	// modelSplit scores s for user u as popTerm(s) + novelty(s) + pref(u, c)
	// + aff(u, c), summed exactly in fixed point: every user ranks the snacks
	// of a category the same way and a price moves tied users together. The
	// allocator plans in it.
	modelSplit scoreModel = iota
	// modelExact uses the SPEC's float score exactly; the certificate and the
	// final rule check use it.
	modelExact
)

// cv is a candidate line: snack, value at the prices, requested.
type cv struct {
	v   val
	s   int32
	req bool
}

// ocat is one category's candidate stream inside an oracle call.
type ocat struct {
	// expl: the explicit candidates (requests, and priced snacks unless
	// the priced stream has them); expl[:ei] are taken, and head selects
	// the best allowed one of the rest (a full sort cost more: a category
	// gives a box a line or two).
	expl  []cv
	ei    int
	parts [3]ostream
	taken int // lines taken in the category
	nonRq int // unrequested lines taken
	nOpen int // open requests available in the category
	head  cv  // best candidate the limits allow
	ok    bool
	marg  val // its marginal value
	// ub bounds the lines of a category not walked yet.
	ub val
}

type ostream struct {
	list []int32
	pos  int
	head cv
	ok   bool
	// priced: the list holds priced snacks (see oracleCall.pricedCats),
	// valued at their prices; the other streams skip priced snacks.
	priced bool
}

// oracleCall is the scratch of one oracle call; one per worker.
type oracleCall struct {
	o     *optSolver
	w     *worker
	i     int
	model scoreModel
	// relaxed: with fill_ignoring_caps off, a category holding more open
	// requests than the cap may hold up to cap unrequested lines besides
	// the requests (a superset of the boxes the rules allow, for the bound);
	// otherwise (the plan) such a category takes requests only.
	relaxed bool
	prices  bool
	cats    []ocat
	out     []cv
	active  []int32 // walked categories
	pending []int32 // the others, by bound descending
	// pricedCats, when set (splitPricedOrder), holds per category the
	// priced snacks by own value at their price, descending: in the split
	// model every user ranks a category's unrequested snacks in that order,
	// so a call with prices walks them as a third stream, lazily, instead
	// of valuing every eligible priced snack up front. Only for modelSplit
	// with prices, and only while the prices are those it was built at.
	pricedCats [][]int32
	// heads caches splitHeads for the orders alone and with pricedCats
	// (keyed by it: a new pricedCats is a new slice).
	heads, headsPriced streamHeads
	headsKey           *[]int32
}

// streamHeads holds per category the largest (1, 0, 0, g(s), -s) over the
// first snacks of its streams, and whether it has one.
type streamHeads struct {
	v   []val
	has []bool
}

// splitHeads is the split model's streamHeads of the solver's orders, and
// of pricedCats too when stream: a category's bound in best is its head
// plus the user's h(c), the largest of its streams' first lines (the
// first snack's value without price bounds a stream).
func (oc *oracleCall) splitHeads(stream bool) *streamHeads {
	o := oc.o
	build := func(sh *streamHeads, priced [][]int32) {
		sh.v = make([]val, o.nC)
		sh.has = make([]bool, o.nC)
		for c := 0; c < o.nC; c++ {
			lists := [3][]int32{o.orders[c].old, o.orders[c].new}
			if priced != nil {
				lists[2] = priced[c]
			}
			for _, l := range lists {
				if len(l) == 0 {
					continue
				}
				v := val{f: 1, s: o.g[l[0]], t: -int64(l[0])}
				if !sh.has[c] || cmpVal(&v, &sh.v[c]) > 0 {
					sh.v[c], sh.has[c] = v, true
				}
			}
		}
	}
	if !stream {
		if oc.heads.v == nil {
			build(&oc.heads, nil)
		}
		return &oc.heads
	}
	if key := &oc.pricedCats[0]; key != oc.headsKey {
		build(&oc.headsPriced, oc.pricedCats)
		oc.headsKey = key
	}
	return &oc.headsPriced
}

// splitPricedOrder is the pricedCats of the current prices.
func (o *optSolver) splitPricedOrder() [][]int32 {
	by := make([][]int32, o.nC)
	for _, s := range o.pricedList {
		by[o.cat[s]] = append(by[o.cat[s]], s)
	}
	for _, l := range by {
		slices.SortFunc(l, func(a, b int32) int {
			ea, eb := o.eOf(a), o.eOf(b)
			return cmpVal(&eb, &ea)
		})
	}
	return by
}

func (o *optSolver) newOracleCall(w *worker) *oracleCall {
	oc := &oracleCall{o: o, w: w, cats: make([]ocat, o.nC)}
	return oc
}

// oracleCalls holds one oracleCall per worker, for a parallel pass.
type oracleCalls struct {
	calls []*oracleCall
	idx   map[*worker]int
}

func (o *optSolver) oracleCalls(workers []*worker) *oracleCalls {
	cs := &oracleCalls{calls: make([]*oracleCall, len(workers)), idx: map[*worker]int{}}
	for j, w := range workers {
		cs.calls[j] = o.newOracleCall(w)
		cs.idx[w] = j
	}
	return cs
}

// of is worker w's own call.
func (cs *oracleCalls) of(w *worker) *oracleCall { return cs.calls[cs.idx[w]] }

// setPricedCats sets every call's pricedCats.
func (cs *oracleCalls) setPricedCats(po [][]int32) {
	for _, oc := range cs.calls {
		oc.pricedCats = po
	}
}

// lineVal is the value of snack s for user i without price or request.
func (oc *oracleCall) lineVal(s int32) val {
	o := oc.o
	v := val{f: 1, t: -int64(s)}
	if oc.model == modelSplit {
		v.s = o.g[s].add(o.userH(oc.i)[o.cat[s]])
	} else {
		f, ok := toFix(oc.w.score(s, o.day), o.sc)
		if !ok {
			o.inexact.Store(true)
		}
		v.s = f
	}
	return v
}

// fullVal is the value of s for user i at the oracle's prices.
func (oc *oracleCall) fullVal(s int32) val {
	o := oc.o
	v := oc.lineVal(s)
	if o.isReq(oc.i, s) {
		v.r = 1
	}
	if oc.prices && o.priced.has(s) {
		v = v.sub(o.price[s])
	}
	return v
}

// advance moves a stream to its next candidate: eligible, not requested,
// not priced (those are explicit).
func (oc *oracleCall) advance(st *ostream) {
	o := oc.o
	elig := o.userElig(oc.i)
	for st.pos < len(st.list) {
		s := st.list[st.pos]
		st.pos++
		if !elig.has(s) || o.isReq(oc.i, s) {
			continue
		}
		if st.priced {
			st.head = cv{v: oc.lineVal(s).sub(o.price[s]), s: s}
		} else if oc.prices && o.priced.has(s) {
			continue
		} else {
			st.head = cv{v: oc.lineVal(s), s: s}
		}
		st.ok = true
		return
	}
	st.ok = false
}

// best runs the oracle for local user i and returns the box's value; the
// box (best first) is left in oc.out.
func (oc *oracleCall) best(i int, model scoreModel, prices, relaxed bool) val {
	o := oc.o
	oc.i, oc.model, oc.prices, oc.relaxed = i, model, prices, relaxed
	if model == modelExact {
		oc.w.prepare(o.users[i])
	}
	orders := o.orders
	for c := range oc.cats {
		ct := &oc.cats[c]
		ct.expl, ct.ei, ct.taken, ct.nonRq, ct.nOpen, ct.ok = ct.expl[:0], 0, 0, 0, 0, false
	}
	elig := o.userElig(i)
	for _, s := range o.userReq(i) {
		ct := &oc.cats[o.cat[s]]
		ct.nOpen++
		ct.expl = append(ct.expl, cv{v: oc.fullVal(s), s: s, req: true})
	}
	stream := prices && model == modelSplit && oc.pricedCats != nil
	if prices && !stream {
		for _, s := range o.pricedList {
			if elig.has(s) && !o.isReq(i, s) {
				ct := &oc.cats[o.cat[s]]
				ct.expl = append(ct.expl, cv{v: oc.fullVal(s), s: s})
			}
		}
	}
	// Categories start inactive with an upper bound on their best line (the
	// value of their first snack, eligible or not); one is activated (its
	// candidates walked) only when its bound beats the best active line, so
	// a box looks at the few categories it draws from.
	oc.active = oc.active[:0]
	oc.pending = oc.pending[:0]
	var heads *streamHeads
	var h []fix
	if model == modelSplit {
		heads = oc.splitHeads(stream)
		h = o.userH(i)
	}
	for c := range oc.cats {
		ct := &oc.cats[c]
		ct.parts[0] = ostream{list: orders[c].old}
		ct.parts[1] = ostream{list: orders[c].new}
		ct.parts[2] = ostream{}
		if stream {
			ct.parts[2] = ostream{list: oc.pricedCats[c], priced: true}
		}
		if len(ct.expl) > 0 {
			oc.activate(c)
			continue
		}
		ok := false
		if model == modelSplit {
			// The same bound, from the streams' heads kept per category:
			// in the split model the user's h(c) adds to all of them.
			if ok = heads.has[c]; ok {
				ct.ub = heads.v[c]
				ct.ub.s = ct.ub.s.add(h[c])
			}
		} else {
			for p := range ct.parts {
				if l := ct.parts[p].list; len(l) > 0 {
					// The first snack's value without price bounds the
					// stream (prices are never negative).
					if v := oc.lineVal(l[0]); !ok || cmpVal(&v, &ct.ub) > 0 {
						ct.ub, ok = v, true
					}
				}
			}
		}
		if ok {
			oc.pending = append(oc.pending, int32(c))
		}
	}
	pend := oc.pending
	for a := 1; a < len(pend); a++ {
		for b := a; b > 0 && cmpVal(&oc.cats[pend[b]].ub, &oc.cats[pend[b-1]].ub) > 0; b-- {
			pend[b], pend[b-1] = pend[b-1], pend[b]
		}
	}
	k := int(o.e.in.BoxSize[o.users[i]])
	oc.out = oc.out[:0]
	var total val
	next := 0
	for len(oc.out) < k {
		var best *ocat
		for _, c := range oc.active {
			ct := &oc.cats[c]
			if ct.ok && (best == nil || cmpVal(&ct.marg, &best.marg) > 0) {
				best = ct
			}
		}
		if next < len(pend) && (best == nil || cmpVal(&oc.cats[pend[next]].ub, &best.marg) > 0) {
			oc.activate(int(pend[next]))
			next++
			continue
		}
		if best == nil || !best.marg.positive() {
			break
		}
		h := best.head
		total = total.add(best.marg)
		oc.take(best, h)
		oc.out = append(oc.out, h)
		oc.refreshHead(best)
	}
	return total
}

// activate walks category c's candidates to its first allowed one.
func (oc *oracleCall) activate(c int) {
	ct := &oc.cats[c]
	oc.active = append(oc.active, int32(c))
	if oc.allowsUnrequested(ct) {
		for p := range ct.parts {
			oc.advance(&ct.parts[p])
		}
	}
	oc.refreshHead(ct)
}

// refreshHead recomputes category c's best candidate and its marginal
// value.
func (oc *oracleCall) refreshHead(ct *ocat) {
	ct.head, ct.ok = oc.head(ct)
	if ct.ok {
		ct.marg = ct.head.v
		if ct.taken >= oc.o.cap {
			ct.marg = ct.marg.add(overVal)
		}
	}
}

// allowsUnrequested reports whether the category may take another
// unrequested line.
func (oc *oracleCall) allowsUnrequested(ct *ocat) bool {
	o := oc.o
	if o.fill {
		return true
	}
	if ct.nOpen > o.cap { // a category of requests beyond the cap
		return oc.relaxed && ct.nonRq < o.cap && ct.taken < ct.nOpen
	}
	return ct.taken < o.cap
}

// allowsRequested reports whether the category may take another requested
// line.
func (oc *oracleCall) allowsRequested(ct *ocat) bool {
	o := oc.o
	if o.fill || ct.nOpen > o.cap {
		return true
	}
	return ct.taken < o.cap
}

// head returns the category's best remaining candidate that its limits
// allow.
func (oc *oracleCall) head(ct *ocat) (cv, bool) {
	okU := oc.allowsUnrequested(ct)
	okR := oc.allowsRequested(ct)
	// The best allowed explicit candidate moves to expl[ei] (no two values
	// tie: the snack index is in them).
	bi := -1
	for j := ct.ei; j < len(ct.expl); j++ {
		x := &ct.expl[j]
		if ((x.req && okR) || (!x.req && okU)) && (bi < 0 || cmpVal(&x.v, &ct.expl[bi].v) > 0) {
			bi = j
		}
	}
	var best cv
	found := false
	if bi >= 0 {
		ct.expl[ct.ei], ct.expl[bi] = ct.expl[bi], ct.expl[ct.ei]
		best, found = ct.expl[ct.ei], true
	}
	if okU {
		for p := range ct.parts {
			st := &ct.parts[p]
			if st.ok && (!found || st.head.v.cmp(best.v) > 0) {
				best, found = st.head, true
			}
		}
	}
	return best, found
}

func (oc *oracleCall) take(ct *ocat, h cv) {
	ct.taken++
	if !h.req {
		ct.nonRq++
	}
	if ct.ei < len(ct.expl) && ct.expl[ct.ei].s == h.s {
		ct.ei++
		return
	}
	for p := range ct.parts {
		st := &ct.parts[p]
		if st.ok && st.head.s == h.s {
			oc.advance(st)
			return
		}
	}
}
