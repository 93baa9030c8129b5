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
	"math"
	"slices"
)

// entry is a holder of node a in one of its heaps.
type entry struct {
	k   val
	i   int32
	ver uint32
	t   int32 // sink entries: the target snack, -1 for dropping the line
}

type entryHeap []entry

func entryLess(a, b *entry) bool {
	if c := a.k.cmp(b.k); c != 0 {
		return c < 0
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
	s = s[:n]
	j := 0
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
	*h = s
	return top
}

// nodeData is the arc structure of one node.
type nodeData struct {
	cat  []entryHeap // per category of the target
	sink entryHeap
}

// valid reports whether an entry still describes the holder's box.
func (o *optSolver) valid(x *entry) bool { return o.ver[x.i] == x.ver }

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
	if o.slackVer[j] == o.ver[i] && (o.slackS[j] < 0 || !o.node.has(o.slackS[j])) {
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
	o.slackS[j], o.slackVer[j] = best, o.ver[i]
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
		pen, ok := o.addPen(i, a, c, o.isReq(i, t))
		if !ok {
			continue
		}
		if v := o.vOf(i, t).add(pen); v.cmp(best) > 0 {
			best, target = v, t
		}
	}
	return best, target
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
	h := o.userH(i)
	ver := o.ver[i]
	for c := int32(0); c < int32(o.nC); c++ {
		if len(o.nodesByCat[c]) == 0 || (len(o.nodesByCat[c]) == 1 && o.nodesByCat[c][0] == a) {
			continue
		}
		pen, ok := o.addPen(i, a, c, false)
		if !ok {
			continue
		}
		found := false
		var bestE val
		for _, b := range o.nodesByCat[c] {
			if b != a && o.canTake(i, b) {
				if e := o.eOf(b); !found || e.cmp(bestE) > 0 {
					bestE, found = e, true
				}
			}
		}
		if !found {
			continue
		}
		if t := o.slackBest(i, c); t >= 0 && bestE.add(val{s: h[c]}).cmp(o.vOf(i, t)) <= 0 {
			continue
		}
		k := base.sub(val{s: h[c]}).sub(pen)
		nd.cat[c].push(entry{k: k, i: int32(i), ver: ver})
	}
	x, t := o.sinkBest(i, a)
	nd.sink.push(entry{k: base.sub(x), i: int32(i), ver: ver, t: t})
}

// refresh re-records user i in the heaps of every node it holds, after its
// box changed.
func (o *optSolver) refresh(i int) {
	o.ver[i]++
	for _, s := range o.userBox(i) {
		if o.node.has(s) {
			o.pushEntries(i, s)
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
	pen, ok := o.addPen(i, a, o.cat[b], o.isReq(i, b))
	if !ok {
		return val{}, false
	}
	ra := o.vOf(i, a).sub(o.price[a]).sub(o.remGain(i, a))
	rb := o.vOf(i, b).sub(o.price[b]).add(pen)
	return ra.sub(rb), true
}

// makeNode turns snack t, whose stock just ran full, into a node.
func (o *optSolver) makeNode(t int32) {
	o.node.set(t)
	o.nodes = append(o.nodes, t)
	o.nodesByCat[o.cat[t]] = append(o.nodesByCat[o.cat[t]], t)
	o.nd[t] = &nodeData{cat: make([]entryHeap, o.nC)}
	hs := o.holders[t][:0]
	for _, i := range o.holders[t] {
		if o.holds(int(i), t) && !slices.Contains(hs, i) {
			hs = append(hs, i)
		}
	}
	o.holders[t] = hs
	for _, i := range hs {
		o.pushEntries(int(i), t)
	}
	// Users whose best snack with units left in t's category was t: their
	// exchanges into that category may now be needed.
	c := o.cat[t]
	for _, i := range o.slackDeps[t] {
		j := int(i)*o.nC + int(c)
		if o.slackS[j] == t && o.slackVer[j] == o.ver[i] {
			o.slackVer[j] = math.MaxUint32
			if o.holdsNode(int(i)) {
				o.refresh(int(i))
			}
		}
	}
	o.slackDeps[t] = nil
}

// holdsNode reports whether user i holds some node.
func (o *optSolver) holdsNode(i int) bool {
	for _, s := range o.userBox(i) {
		if o.node.has(s) {
			return true
		}
	}
	return false
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
	o.refresh(i)
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
	nd := o.nd[a]
	da := o.dist[a]
	pa := o.price[a]
	// Sink: the cheapest holder giving a up for a snack with units left.
	for len(nd.sink) > 0 {
		x := &nd.sink[0]
		if !o.valid(x) {
			nd.sink.pop()
			continue
		}
		if x.t >= 0 && o.node.has(x.t) { // the target ran full since
			e := nd.sink.pop()
			v, t := o.sinkBest(int(e.i), a)
			e.k = o.vOf(int(e.i), a).sub(o.remGain(int(e.i), a)).sub(v)
			e.t = t
			nd.sink.push(e)
			continue
		}
		if d := da.add(x.k.sub(pa)); d.cmp(*sinkDist) < 0 {
			*sinkDist, *sinkFrom, *sinkUser = d, a, x.i
		}
		break
	}
	st := o.stamp
	for c := range o.nodesByCat {
		var targets []int32
		for _, b := range o.nodesByCat[c] {
			if b != a && o.finStamp[b] != st {
				targets = append(targets, b)
			}
		}
		if len(targets) == 0 {
			continue
		}
		h := &nd.cat[c]
		o.buf = o.buf[:0]
		left := len(targets)
		for left > 0 && len(*h) > 0 {
			x := h.pop()
			if !o.valid(&x) {
				continue
			}
			o.buf = append(o.buf, x)
			for ti, b := range targets {
				if b < 0 || !o.canTake(int(x.i), b) {
					continue
				}
				targets[ti] = -1
				left--
				o.relaxTo(b, da.add(x.k.sub(pa).sub(o.eOf(b))), a, x.i)
			}
		}
		for _, x := range o.buf {
			h.push(x)
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
	h := &o.nd[a].sink
	var out []int32
	o.buf = o.buf[:0]
	pa := o.price[a]
	for len(*h) > 0 && int64(len(out)) < m {
		x := h.pop()
		if !o.valid(&x) {
			continue
		}
		if x.t >= 0 && o.node.has(x.t) {
			v, t := o.sinkBest(int(x.i), a)
			x.k = o.vOf(int(x.i), a).sub(o.remGain(int(x.i), a)).sub(v)
			x.t = t
			h.push(x)
			continue
		}
		o.buf = append(o.buf, x)
		if !x.k.sub(pa).isZero() {
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
	h := &o.nd[a].cat[o.cat[b]]
	var out []int32
	o.buf = o.buf[:0]
	want := o.price[a].add(o.eOf(b)) // K at zero reduced cost
	for len(*h) > 0 && int64(len(out)) < m {
		x := h.pop()
		if !o.valid(&x) {
			continue
		}
		o.buf = append(o.buf, x)
		if c := x.k.cmp(want); c > 0 {
			break
		} else if c == 0 && o.canTake(int(x.i), b) {
			out = append(out, x.i)
		}
	}
	for _, x := range o.buf {
		h.push(x)
	}
	for _, i := range o.reqBy[b] {
		if int64(len(out)) >= m {
			break
		}
		if rc, ok := o.exchRC(int(i), a, b); ok && rc.isZero() && !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	return out
}
