package engine

// The exchange algorithm of the optimal allocator: successive shortest
// paths over the snacks that ran full, with snack prices as the dual
// (see optimal.go for the model and why it is exact).
//
// State: prices p >= 0 (lexicographic tuples), and every subscriber holds a
// box that is best for it at p (checked locally: no single add, drop or
// exchange of one snack for another gains at p, which for a laminar concave
// valuation means the box is a maximiser). Snacks with units left are never
// priced. A snack is a "node" once its stock is fully taken; only nodes can
// be over-demanded ("excess": more holders than units). A phase picks the
// node with the most excess, finds the cheapest way to move one unit out of
// it by Dijkstra over the nodes (an arc a -> b is a holder of a exchanging a
// for b, the sink is a holder exchanging for a snack with units left or
// dropping the line), raises the prices of the nodes on the near side of
// the sink by their distance to it (which keeps every box best), and moves
// as many units along the zero-cost path as tied subscribers allow.
//
// Arc costs are kept per (node a, category c) in a heap of a's holders keyed
// by the price-free part of the exchange cost: in the split score model,
// exchanging a for an unrequested snack b of category c costs
// K(u, a, c) - p(a) - (E(b) - p(b)) with E(b) the snack's own value, so one
// heap per category answers every node of that category. Requested targets
// are rare and checked one by one.

import (
	"fmt"
	"math"
	"slices"
)

// entry is a holder of node a in one of its heaps. A sink entry is valid
// while the user's box is unchanged (ver is the user's version) and t is
// its target snack (-1: dropping the line). An entry of category c depends
// only on the user's lines in a's category and in c: ver and t hold the
// user's versions of those two categories.
type entry struct {
	k   ekey
	i   int32
	ver uint32
	t   int32
}

// ekey is an entry's key, a val in compact form: its first three levels are
// a few lines and its tie-break a difference of two snack indexes, so an
// entry takes 40 bytes instead of 64 (the heaps are most of the allocator's
// memory).
type ekey struct {
	s       fix
	t       int32
	f, r, o int8
}

func toKey(v val) ekey {
	k := ekey{s: v.s, t: int32(v.t), f: int8(v.f), r: int8(v.r), o: int8(v.o)}
	if int64(k.t) != v.t || int64(k.f) != v.f || int64(k.r) != v.r || int64(k.o) != v.o {
		panic(fmt.Sprintf("engine: exchange key %+v out of the compact range", v))
	}
	return k
}

func (k ekey) val() val {
	return val{f: int64(k.f), r: int64(k.r), o: int64(k.o), s: k.s, t: int64(k.t)}
}

type entryHeap []entry

func entryLess(a, b *entry) bool {
	x, y := &a.k, &b.k
	switch {
	case x.f != y.f:
		return x.f < y.f
	case x.r != y.r:
		return x.r < y.r
	case x.o != y.o:
		return x.o < y.o
	}
	if c := x.s.cmp(y.s); c != 0 {
		return c < 0
	}
	if x.t != y.t {
		return x.t < y.t
	}
	return a.i < b.i
}

func (h *entryHeap) push(x entry) {
	*h = append(*h, x)
	s := *h
	j := len(s) - 1
	for j > 0 {
		p := (j - 1) / 2
		if !entryLess(&s[j], &s[p]) {
			break
		}
		s[j], s[p] = s[p], s[j]
		j = p
	}
}

func (h *entryHeap) pop() entry {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	*h = s[:n]
	h.down(0)
	return top
}

// down restores the heap order below position j.
func (h *entryHeap) down(j int) {
	s := *h
	n := len(s)
	for {
		l := 2*j + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && entryLess(&s[r], &s[l]) {
			m = r
		}
		if !entryLess(&s[m], &s[j]) {
			break
		}
		s[j], s[m] = s[m], s[j]
		j = m
	}
}

// heapWalk enumerates a heap's entries in order without changing it: a
// small heap of positions, seeded with the root, where popping a position
// adds its children.
type heapWalk struct {
	h   entryHeap
	pos []int32
}

func (w *heapWalk) start(h entryHeap) {
	w.h = h
	w.pos = w.pos[:0]
	if len(h) > 0 {
		w.pos = append(w.pos, 0)
	}
}

func (w *heapWalk) less(a, b int32) bool { return entryLess(&w.h[a], &w.h[b]) }

// next returns the next entry in order, or nil.
func (w *heapWalk) next() *entry {
	if len(w.pos) == 0 {
		return nil
	}
	p := w.pos
	top := p[0]
	n := len(p) - 1
	p[0] = p[n]
	p = p[:n]
	w.sift(p, 0)
	for _, c := range [2]int32{2*top + 1, 2*top + 2} {
		if int(c) < len(w.h) {
			p = append(p, c)
			j := len(p) - 1
			for j > 0 {
				q := (j - 1) / 2
				if !w.less(p[j], p[q]) {
					break
				}
				p[j], p[q] = p[q], p[j]
				j = q
			}
		}
	}
	w.pos = p
	return &w.h[top]
}

func (w *heapWalk) sift(p []int32, j int) {
	n := len(p)
	for {
		l := 2*j + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && w.less(p[r], p[l]) {
			m = r
		}
		if !w.less(p[m], p[j]) {
			return
		}
		p[j], p[m] = p[m], p[j]
		j = m
	}
}

// nodeData is the arc structure of one node. Its heaps are built when
// Dijkstra first needs them (from the node's holders) and kept current from
// then on: a date touches few of them.
type nodeData struct {
	cat       []entryHeap // per category of the target
	catBuilt  []bool
	sink      entryHeap
	sinkBuilt bool
}

// sinkHeap returns a's sink heap, building it on first use.
func (o *optSolver) sinkHeap(a int32) *entryHeap {
	nd := o.nd[a]
	if !nd.sinkBuilt {
		nd.sinkBuilt = true
		for _, i := range o.liveHolders(a) {
			base := o.vOf(int(i), a).sub(o.remGain(int(i), a))
			x, t := o.sinkBest(int(i), a)
			nd.sink = append(nd.sink, entry{k: toKey(base.sub(x)), i: i, ver: o.ver[i], t: t})
		}
		nd.sink.heapify()
	}
	return &nd.sink
}

// catHeap returns a's heap of category c, building it on first use.
func (o *optSolver) catHeap(a int32, c int32) *entryHeap {
	nd := o.nd[a]
	if !nd.catBuilt[c] {
		nd.catBuilt[c] = true
		for _, i := range o.liveHolders(a) {
			o.pushCatEntry(int(i), a, c, o.vOf(int(i), a).sub(o.remGain(int(i), a)))
		}
	}
	return &nd.cat[c]
}

// liveHolders returns the users holding a, each once (and prunes the list).
func (o *optSolver) liveHolders(a int32) []int32 {
	o.ustamp++
	hs := o.holders[a][:0]
	for _, i := range o.holders[a] {
		if o.userStamp[i] != o.ustamp && o.holds(int(i), a) {
			o.userStamp[i] = o.ustamp
			hs = append(hs, i)
		}
	}
	o.holders[a] = hs
	return hs
}

func (h *entryHeap) heapify() {
	for j := len(*h)/2 - 1; j >= 0; j-- {
		h.down(j)
	}
}

// validSink reports whether a sink entry still describes the holder's box.
func (o *optSolver) validSink(x *entry) bool { return o.ver[x.i] == x.ver }

// validCat reports whether an entry of a's heap of category c is current.
func (o *optSolver) validCat(x *entry, a, c int32) bool {
	base := int(x.i) * o.nC
	return o.cver[base+int(o.cat[a])] == x.ver && o.cver[base+int(c)] == uint32(x.t)
}

// vOf is the split-model value of snack s for local user i, request
// included, price excluded.
func (o *optSolver) vOf(i int, s int32) val {
	v := val{f: 1, s: o.g[s].add(o.userH(i)[o.cat[s]]), t: -int64(s)}
	if o.isReq(i, s) {
		v.r = 1
	}
	return v
}

// remGain is what removing a line of snack a gains: one less line over the
// cap when its category is over.
func (o *optSolver) remGain(i int, a int32) val {
	if int(o.userCnt(i)[o.cat[a]]) > o.cap {
		return val{o: 1}
	}
	return val{}
}

// addPen is the cost of adding a line of category c after removing a line
// of snack a (a < 0: nothing removed), and whether the rules allow it.
func (o *optSolver) addPen(i int, a int32, c int32, req bool) (val, bool) {
	n := int(o.userCnt(i)[c])
	if a >= 0 && o.cat[a] == c {
		n--
	}
	switch {
	case o.fill:
	case o.reqOnly(i, c):
		if !req {
			return val{}, false
		}
	case n >= o.cap:
		return val{}, false
	}
	if n >= o.cap {
		return overVal, true
	}
	return val{}, true
}

// reqOnly reports a category that, with fill_ignoring_caps off, holds more of
// the user's open requests than the cap: the plan takes only requests there.
func (o *optSolver) reqOnly(i int, c int32) bool {
	if o.fill {
		return false
	}
	n := 0
	for _, s := range o.userReq(i) {
		if o.cat[s] == c {
			n++
		}
	}
	return n > o.cap
}

// slackBest returns the best snack of category c with units left that user
// i could add (eligible, not in the box), or -1.
func (o *optSolver) slackBest(i int, c int32) int32 {
	j := i*o.nC + int(c)
	if o.slackVer[j] == o.cver[j] && (o.slackS[j] < 0 || !o.node.has(o.slackS[j])) {
		return o.slackS[j]
	}
	best := int32(-1)
	var bv val
	for _, s := range o.userReq(i) {
		if o.cat[s] != c || o.node.has(s) || o.holds(i, s) {
			continue
		}
		if v := o.vOf(i, s); best < 0 || v.cmp(bv) > 0 {
			best, bv = s, v
		}
	}
	if best < 0 && !o.reqOnly(i, c) {
		elig := o.userElig(i)
		for _, s := range o.catSorted[c] {
			if elig.has(s) && !o.node.has(s) && !o.holds(i, s) && !o.isReq(i, s) {
				best = s
				break
			}
		}
	}
	o.slackS[j], o.slackVer[j] = best, o.cver[j]
	if best >= 0 {
		o.slackDeps[best] = append(o.slackDeps[best], int32(i))
	}
	return best
}

// sinkBest is the best way for user i to give up node a towards the sink:
// exchange it for a snack with units left, or drop the line (target -1).
// It returns the value of what replaces a (0 for a drop).
func (o *optSolver) sinkBest(i int, a int32) (val, int32) {
	best, target := val{}, int32(-1)
	for c := int32(0); c < int32(o.nC); c++ {
		t := o.slackBest(i, c)
		if t < 0 {
			continue
		}
		// The swap's penalty is never positive: a snack worth no more than
		// the best so far on its own cannot beat it.
		if u := o.vOf(i, t); cmpVal(&u, &best) <= 0 {
			continue
		}
		if v, ok := o.replacement(i, a, t); ok && v.cmp(best) > 0 {
			best, target = v, t
		}
	}
	return best, target
}

// replacement is the value to user i of snack b in place of a, its own
// value plus the category-cap penalty of the swap (no price), and whether
// the caps allow the swap at all.
func (o *optSolver) replacement(i int, a, b int32) (val, bool) {
	pen, ok := o.addPen(i, a, o.cat[b], o.isReq(i, b))
	if !ok {
		return val{}, false
	}
	return o.vOf(i, b).add(pen), true
}

// pushEntries records user i as a holder of node a in a's heaps. An
// exchange of a for node b of category c is only needed when b is worth
// more to the user than its best snack of c with units left: otherwise
// exchanging for that snack (a sink exit) is at least as cheap now and
// stays so after every price update (prices only rise, on nodes), so the
// arc can never shorten a path nor turn negative. A category gets an entry
// when its best node the user can take passes that test; the entry stands
// for every node of the category. The user's entries are renewed when its
// box changes or when its best snack with units left in a category runs
// full (see makeNode).
func (o *optSolver) pushEntries(i int, a int32) {
	nd := o.nd[a]
	base := o.vOf(i, a).sub(o.remGain(i, a))
	for c := int32(0); c < int32(o.nC); c++ {
		if nd.catBuilt[c] {
			o.pushCatEntry(i, a, c, base)
		}
	}
	if nd.sinkBuilt {
		o.pushSink(i, a, base)
	}
}

func (o *optSolver) pushSink(i int, a int32, base val) {
	x, t := o.sinkBest(i, a)
	o.pushSinkHeap(a, entry{k: toKey(base.sub(x)), i: int32(i), ver: o.ver[i], t: t})
}

// pushCatEntry records user i, holding node a, in a's heap of category c
// when some node of c is worth an exchange to it (see pushEntries); base is
// vOf(i, a) - remGain(i, a).
func (o *optSolver) pushCatEntry(i int, a int32, c int32, base val) {
	nodes := o.nodesByCat[c]
	if len(nodes) == 0 || (len(nodes) == 1 && nodes[0] == a) {
		return
	}
	pen, ok := o.addPen(i, a, c, false)
	if !ok {
		return
	}
	if !o.worthExchange(i, a, c) {
		return
	}
	h := o.userH(i)[c]
	k := base.sub(val{s: h}).sub(pen)
	cv := o.cver[i*o.nC : (i+1)*o.nC]
	o.pushCatHeap(a, c, entry{k: toKey(k), i: int32(i), ver: cv[o.cat[a]], t: int32(cv[c])})
}

// worthExchange reports whether some node of category c that user i,
// holding a, could take is worth more to it than its best snack of c with
// units left (see pushEntries). It walks the nodes of c from the highest
// own value at its price down (catNodes) and stops at the first one the
// user may take, or once no node left could pass the test.
func (o *optSolver) worthExchange(i int, a int32, c int32) bool {
	return o.worthOver(i, a, c, o.slackBest(i, c))
}

// worthOver is worthExchange with t as the user's best snack of c with
// units left (-1: none).
func (o *optSolver) worthOver(i int, a int32, c int32, t int32) bool {
	var v val
	h := val{s: o.userH(i)[c]}
	if t >= 0 {
		v = o.vOf(i, t)
	}
	for _, n := range o.catNodes(c) {
		if t >= 0 {
			if x := n.e.add(h); cmpVal(&x, &v) <= 0 {
				return false
			}
		}
		if n.b != a && o.canTake(i, n.b) {
			return true
		}
	}
	return false
}

// pushSinkHeap and pushCatHeap add an entry and, when the heap has doubled
// since it was last compacted, drop the entries that went stale since.
func (o *optSolver) pushSinkHeap(a int32, x entry) {
	h := &o.nd[a].sink
	h.push(x)
	if n := len(*h); n >= 256 && n&(n-1) == 0 {
		o.compactSink(a)
	}
}

func (o *optSolver) pushCatHeap(a, c int32, x entry) {
	h := &o.nd[a].cat[c]
	h.push(x)
	if n := len(*h); n >= 256 && n&(n-1) == 0 {
		o.compactCat(a, c)
	}
}

func (o *optSolver) compactSink(a int32) {
	h := &o.nd[a].sink
	live := (*h)[:0]
	for _, y := range *h {
		if o.validSink(&y) {
			live = append(live, y)
		}
	}
	*h = live
	h.heapify()
}

func (o *optSolver) compactCat(a, c int32) {
	h := &o.nd[a].cat[c]
	live := (*h)[:0]
	for _, y := range *h {
		if o.validCat(&y, a, c) {
			live = append(live, y)
		}
	}
	*h = live
	h.heapify()
}

// renew re-records user i after its box changed in categories c1 and c2:
// the entries of a held node in one of them all change (its removal gain
// may), the others only for c1 and c2; every sink entry changes.
func (o *optSolver) renew(i int, c1, c2 int32) {
	o.ver[i]++
	cv := o.cver[i*o.nC : (i+1)*o.nC]
	cv[c1]++
	if c2 != c1 {
		cv[c2]++
	}
	for _, a := range o.userBox(i) {
		if !o.node.has(a) {
			continue
		}
		ca := o.cat[a]
		if ca == c1 || ca == c2 {
			o.pushEntries(i, a)
			continue
		}
		nd := o.nd[a]
		base := o.vOf(i, a).sub(o.remGain(i, a))
		if nd.catBuilt[c1] {
			o.pushCatEntry(i, a, c1, base)
		}
		if c2 != c1 && nd.catBuilt[c2] {
			o.pushCatEntry(i, a, c2, base)
		}
		if nd.sinkBuilt {
			o.pushSink(i, a, base)
		}
	}
}

// e is the own value of snack s at its price: E(s) - p(s).
func (o *optSolver) eOf(s int32) val {
	v := val{f: 1, s: o.g[s], t: -int64(s)}
	return v.sub(o.price[s])
}

// canTake reports whether user i may take unrequested node b by exchange.
func (o *optSolver) canTake(i int, b int32) bool {
	return o.userElig(i).has(b) && !o.holds(i, b) && !o.isReq(i, b)
}

// exchRC is the reduced cost for user i of exchanging a for b at the
// current prices, and whether the rules allow the exchange.
func (o *optSolver) exchRC(i int, a, b int32) (val, bool) {
	if !o.userElig(i).has(b) || o.holds(i, b) || !o.holds(i, a) {
		return val{}, false
	}
	rb, ok := o.replacement(i, a, b)
	if !ok {
		return val{}, false
	}
	ra := o.vOf(i, a).sub(o.price[a]).sub(o.remGain(i, a))
	return ra.sub(rb.sub(o.price[b])), true
}

// catNode is a node with its own value at its price, E(b) - p(b).
type catNode struct {
	e val
	b int32
}

// catNodes returns the nodes of category c by own value at their price,
// highest first, cached until a price or the nodes of c change (maxEOK).
func (o *optSolver) catNodes(c int32) []catNode {
	if !o.maxEOK[c] {
		o.maxEOK[c] = true
		l := o.eSorted[c][:0]
		for _, b := range o.nodesByCat[c] {
			l = append(l, catNode{o.eOf(b), b})
		}
		slices.SortFunc(l, func(x, y catNode) int {
			if r := cmpVal(&y.e, &x.e); r != 0 {
				return r
			}
			return int(x.b - y.b)
		})
		o.eSorted[c] = l
	}
	return o.eSorted[c]
}

// makeNode turns snack t, whose stock just ran full, into a node.
func (o *optSolver) makeNode(t int32) {
	o.node.set(t)
	o.nodes = append(o.nodes, t)
	o.nodesByCat[o.cat[t]] = append(o.nodesByCat[o.cat[t]], t)
	o.nd[t] = &nodeData{cat: make([]entryHeap, o.nC), catBuilt: make([]bool, o.nC)}
	o.maxEOK[o.cat[t]] = false
	// Users whose best snack with units left in t's category was t: their
	// exchanges into that category may now be needed (their other entries
	// stand; a sink entry aiming at t is renewed when it is next read).
	c := o.cat[t]
	for _, i := range o.slackDeps[t] {
		j := int(i)*o.nC + int(c)
		if o.slackS[j] != t || o.slackVer[j] != o.cver[j] {
			continue // stale, or a user listed twice (slackBest lists it on every refresh)
		}
		o.slackVer[j] = math.MaxUint32
		for _, a := range o.userBox(int(i)) {
			// An exchange that was worth it against t already has its entry:
			// the entry of (i, a, c) was last weighed when the user's lines in
			// a's category or in c changed, when a's heap of c was built, or
			// here when its best snack of c with units left ran full, always
			// against the best snack of c with units left at the time, which
			// has been t since; and against a fixed t the test only turns
			// from true to false (prices only rise, and a snack that turned
			// into a node since was worth no more than t to the user), so the
			// entry was pushed then and never retired. Only the exchanges that
			// t's running full makes worth it need a new entry (a duplicate
			// would cost a heap push and its memory for nothing).
			if o.node.has(a) && o.nd[a].catBuilt[c] && !o.worthOver(int(i), a, c, t) {
				o.pushCatEntry(int(i), a, c, o.vOf(int(i), a).sub(o.remGain(int(i), a)))
			}
		}
	}
	o.slackDeps[t] = nil
}

// move replaces snack from by to (to < 0: drops the line) in user i's box.
func (o *optSolver) move(i int, from, to int32) {
	box := o.userBox(i)
	j := slices.Index(box, from)
	cnt := o.userCnt(i)
	cnt[o.cat[from]]--
	o.used[from]--
	if to >= 0 {
		box[j] = to
		cnt[o.cat[to]]++
		o.used[to]++
		o.holders[to] = append(o.holders[to], int32(i))
	} else {
		box[j] = box[len(box)-1]
		o.boxLen[i]--
	}
	c2 := o.cat[from]
	if to >= 0 {
		c2 = o.cat[to]
	}
	o.renew(i, o.cat[from], c2)
	if to >= 0 && !o.node.has(to) && o.used[to] >= o.q[to] {
		o.makeNode(to)
	}
}

// phase runs one successive-shortest-path step. It returns false when no
// node has excess left.
func (o *optSolver) phase() bool {
	src := int32(-1)
	var ex int64
	for _, a := range o.nodes {
		if x := o.used[a] - o.q[a]; x > ex || (x == ex && x > 0 && a < src) {
			src, ex = a, x
		}
	}
	if src < 0 {
		return false
	}
	o.stamp++
	st := o.stamp
	o.reached = o.reached[:0]
	o.dist[src], o.distStamp[src] = val{}, st
	o.reached = append(o.reached, src)
	sinkDist, sinkFrom, sinkUser := infVal, int32(-1), int32(-1)
	var fins []int32
	for {
		best := int32(-1)
		for _, b := range o.reached {
			if o.finStamp[b] != st && (best < 0 || o.dist[b].cmp(o.dist[best]) < 0) {
				best = b
			}
		}
		if best < 0 || sinkDist.cmp(o.dist[best]) <= 0 {
			break
		}
		o.finStamp[best] = st
		fins = append(fins, best)
		o.relaxFrom(best, &sinkDist, &sinkFrom, &sinkUser)
	}
	if sinkFrom < 0 {
		return false // unreachable: a holder can always drop its line
	}
	for _, v := range fins {
		if d := sinkDist.sub(o.dist[v]); d.positive() {
			o.price[v] = o.price[v].add(d)
			o.maxEOK[o.cat[v]] = false
			if !o.priced.has(v) {
				o.priced.set(v)
				o.pricedList = append(o.pricedList, v)
			}
		}
	}
	// The path, from the source to the sink.
	type hop struct{ from, to int32 }
	path := []hop{{sinkFrom, -2}}
	for b := sinkFrom; b != src; b = o.predFrom[b] {
		path = append(path, hop{o.predFrom[b], b})
	}
	slices.Reverse(path)
	cands := make([][]int32, len(path))
	m := ex
	for j, h := range path {
		if h.to == -2 {
			cands[j] = o.sinkZero(h.from, m)
		} else {
			cands[j] = o.arcZero(h.from, h.to, m)
		}
		m = min(m, int64(len(cands[j])))
	}
	moved := m
	o.phases++
	for j, h := range path {
		n := int64(0)
		for _, ii := range cands[j] {
			if n == moved {
				break
			}
			i := int(ii)
			if h.to == -2 {
				if !o.holds(i, h.from) {
					continue
				}
				x, t := o.sinkBest(i, h.from)
				rc := o.vOf(i, h.from).sub(o.price[h.from]).sub(o.remGain(i, h.from)).sub(x)
				if !rc.isZero() || (t >= 0 && o.used[t] >= o.q[t]) {
					continue
				}
				o.move(i, h.from, t)
			} else {
				rc, ok := o.exchRC(i, h.from, h.to)
				if !ok || !rc.isZero() {
					continue
				}
				o.move(i, h.from, h.to)
			}
			n++
		}
		moved = n
		o.moves += n
	}
	return true
}

// relaxFrom relaxes every arc out of the finalised node a.
func (o *optSolver) relaxFrom(a int32, sinkDist *val, sinkFrom, sinkUser *int32) {
	da := o.dist[a]
	pa := o.price[a]
	// Sink: the cheapest holder giving a up for a snack with units left.
	sink := o.sinkHeap(a)
	for len(*sink) > 0 {
		x := &(*sink)[0]
		if !o.validSink(x) {
			sink.pop()
			continue
		}
		if x.t >= 0 && o.node.has(x.t) { // the target ran full since
			e := sink.pop()
			v, t := o.sinkBest(int(e.i), a)
			e.k = toKey(o.vOf(int(e.i), a).sub(o.remGain(int(e.i), a)).sub(v))
			e.t = t
			sink.push(e)
			continue
		}
		if d := da.add(x.k.val().sub(pa)); d.cmp(*sinkDist) < 0 {
			*sinkDist, *sinkFrom, *sinkUser = d, a, x.i
		}
		break
	}
	// Node targets, category by category, walking a's holders cheapest
	// first. A walk stops once no target of the category could come closer
	// than the sink already is: such an arc can never be on a shortest path,
	// and its reduced cost stays >= 0 after the price update (a's price rises
	// by at most D - d(a) <= its cost).
	st := o.stamp
	for c := range o.nodesByCat {
		targets := o.targets[:0]
		var maxE val
		for _, b := range o.nodesByCat[c] {
			if b != a && o.finStamp[b] != st {
				if e := o.eOf(b); len(targets) == 0 || cmpVal(&e, &maxE) > 0 {
					maxE = e
				}
				targets = append(targets, b)
			}
		}
		o.targets = targets
		if len(targets) == 0 {
			continue
		}
		floor := da.sub(pa).sub(maxE) // + K: the least distance via an entry
		heap := o.catHeap(a, int32(c))
		o.walk.start(*heap)
		left := len(targets)
		stale, seen := 0, 0
		for left > 0 {
			x := o.walk.next()
			if x == nil {
				break
			}
			if lb := floor.add(x.k.val()); cmpVal(&lb, sinkDist) >= 0 {
				break
			}
			seen++
			if !o.validCat(x, a, int32(c)) {
				stale++
				continue
			}
			took := false
			for ti, b := range targets {
				if b < 0 || !o.canTake(int(x.i), b) {
					continue
				}
				took = true
				targets[ti] = -1
				left--
				o.relaxTo(b, da.add(x.k.val().sub(pa).sub(o.eOf(b))), a, x.i)
			}
			// An entry no target wanted may have become dominated since it
			// was made (prices only rise): then it can never matter again
			// until the user's box or its best snack with units left in c
			// changes, which makes a fresh entry. Retire it.
			if !took && !o.worthExchange(int(x.i), a, int32(c)) {
				x.ver = ^x.ver
				stale++
			}
		}
		if stale > 16 && 2*stale > seen {
			o.compactCat(a, int32(c))
		}
	}
	// Requested targets, one by one.
	for _, b := range o.nodes {
		if b == a || o.finStamp[b] == st {
			continue
		}
		for _, i := range o.reqBy[b] {
			if rc, ok := o.exchRC(int(i), a, b); ok {
				o.relaxTo(b, da.add(rc), a, i)
			}
		}
	}
}

func (o *optSolver) relaxTo(b int32, d val, from, user int32) {
	if o.distStamp[b] != o.stamp {
		o.distStamp[b] = o.stamp
		o.reached = append(o.reached, b)
	} else if d.cmp(o.dist[b]) >= 0 {
		return
	}
	o.dist[b], o.predFrom[b], o.predUser[b] = d, from, user
}

// sinkZero lists up to m holders of a whose exit to the sink costs nothing
// at the current prices.
func (o *optSolver) sinkZero(a int32, m int64) []int32 {
	h := o.sinkHeap(a)
	var out []int32
	o.buf = o.buf[:0]
	pa := o.price[a]
	for len(*h) > 0 && int64(len(out)) < m {
		x := h.pop()
		if !o.validSink(&x) {
			continue
		}
		if x.t >= 0 && o.node.has(x.t) {
			v, t := o.sinkBest(int(x.i), a)
			x.k = toKey(o.vOf(int(x.i), a).sub(o.remGain(int(x.i), a)).sub(v))
			x.t = t
			h.push(x)
			continue
		}
		o.buf = append(o.buf, x)
		if !x.k.val().sub(pa).isZero() {
			break
		}
		out = append(out, x.i)
	}
	for _, x := range o.buf {
		h.push(x)
	}
	return out
}

// arcZero lists up to m holders of a whose exchange of a for node b costs
// nothing at the current prices.
func (o *optSolver) arcZero(a, b int32, m int64) []int32 {
	var out []int32
	want := o.price[a].add(o.eOf(b)) // K at zero reduced cost
	heap := o.catHeap(a, o.cat[b])
	o.walk.start(*heap)
	o.ustamp++
	stale, seen := 0, 0
	for int64(len(out)) < m {
		x := o.walk.next()
		if x == nil {
			break
		}
		seen++
		if !o.validCat(x, a, o.cat[b]) {
			stale++
			continue
		}
		if c := x.k.val().cmp(want); c > 0 {
			break
		} else if c == 0 && o.userStamp[x.i] != o.ustamp && o.canTake(int(x.i), b) {
			o.userStamp[x.i] = o.ustamp
			out = append(out, x.i)
		}
	}
	if stale > 16 && 2*stale > seen {
		o.compactCat(a, o.cat[b])
	}
	for _, i := range o.reqBy[b] {
		if int64(len(out)) >= m {
			break
		}
		if rc, ok := o.exchRC(int(i), a, b); ok && rc.isZero() && o.userStamp[i] != o.ustamp {
			o.userStamp[i] = o.ustamp
			out = append(out, i)
		}
	}
	return out
}
