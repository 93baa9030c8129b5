package engine

// Stopping a date's exchange phases at a certified gap (Options.GapTolerance).
//
// At every point of the exchange algorithm each box is best at the prices
// p, only nodes carry a price, and only nodes can hold excess e(a) (more
// holders than units). Summing the users' best boxes,
//
//	bound(p) = V(B) - sum over nodes of p(a)·e(a)
//
// where V(B) is the value of the boxes held. Sending e(a) holders of every
// node a out to the sink (each gives a up for its best snack with units
// left, or drops the line) makes the plan feasible and costs V(B) exactly
// the exits' costs, so the feasible plan falls short of bound(p) by the sum
// of the exits' reduced costs (cost minus p(a), each >= 0 since every box is
// best at p). When every exit's reduced cost is zero in the first three
// levels (no line dropped, no request given up, no line over a cap that the
// bound does not pay for) and the score part of their sum is within the
// tolerance of bound(p), the feasible plan equals the bound in filled,
// requested and over-cap lines and is within the tolerance in score: the
// exchange phases stop there and the holders leave. The certificate is then
// computed as for every date (exact scores, the oracle at p), so the bound
// it prints is a true bound whatever the tolerance; the date's status says
// "within tolerance" instead of "optimal".

import "math"

// DefaultGapTolerance is the CLI's default relative gap per date at which
// the exchange phases stop (0.01 %; the target is 0.1 % in total).
const DefaultGapTolerance = 1e-4

// toleranceEvery is the number of exchange phases between two checks of the
// stopping rule.
const toleranceEvery = 16

// exitGap estimates the gap left if the excess holders left now: the sum of
// the reduced costs of the cheapest exits of every node with excess. It
// reports false when an exit would change a level above the score, or when
// the score sum passes limit (it stops counting there). Exits are counted
// with the boxes as they are; exitCommit makes them one by one.
func (o *optSolver) exitGap(limit fix) (fix, bool) {
	var gap fix
	var taken map[int32]int64 // units of snacks with units left taken by the exits counted
	for _, a := range o.nodes {
		e := o.used[a] - o.q[a]
		if e <= 0 {
			continue
		}
		pa := o.price[a]
		h := o.sinkHeap(a)
		o.walk.start(*h)
		o.ustamp++
		for e > 0 {
			x := o.walk.next()
			if x == nil {
				return gap, false
			}
			i := int(x.i)
			if !o.validSink(x) || o.userStamp[i] == o.ustamp {
				continue
			}
			o.userStamp[i] = o.ustamp
			v, t := o.sinkBest(i, a)
			if t >= 0 && taken != nil && o.used[t]+taken[t] >= o.q[t] {
				// The exits counted already fill t: the user's best exit
				// without the snacks they filled.
				v, t = o.sinkBestWithout(i, a, func(s int32) bool { return o.used[s]+taken[s] >= o.q[s] })
			}
			if t >= 0 {
				if taken == nil {
					taken = map[int32]int64{}
				}
				taken[t]++
			}
			rc := o.vOf(i, a).sub(pa).sub(o.remGain(i, a)).sub(v)
			if rc.f != 0 || rc.r != 0 || rc.o != 0 {
				return gap, false
			}
			gap = gap.add(rc.s)
			if gap.cmp(limit) > 0 {
				return gap, false
			}
			e--
		}
	}
	return gap, true
}

// sinkBestWithout is sinkBest with the snacks full() says are taken left
// out too, computed afresh (the cached best snacks with units left are not
// touched).
func (o *optSolver) sinkBestWithout(i int, a int32, full func(int32) bool) (val, int32) {
	best, target := val{}, int32(-1)
	elig := o.userElig(i)
	for c := int32(0); c < int32(o.nC); c++ {
		t := int32(-1)
		var tv val
		for _, s := range o.userReq(i) {
			if o.cat[s] != c || o.node.has(s) || o.holds(i, s) || full(s) {
				continue
			}
			if v := o.vOf(i, s); t < 0 || v.cmp(tv) > 0 {
				t, tv = s, v
			}
		}
		if t < 0 && !o.reqOnly(i, c) {
			for _, s := range o.catSorted[c] {
				if elig.has(s) && !o.node.has(s) && !o.holds(i, s) && !o.isReq(i, s) && !full(s) {
					t = s
					break
				}
			}
		}
		if t < 0 {
			continue
		}
		if v, ok := o.replacement(i, a, t); ok && v.cmp(best) > 0 {
			best, target = v, t
		}
	}
	return best, target
}

// boundSplit is bound(p) in the split score model: V(B) - sum p(a)·e(a).
func (o *optSolver) boundSplit() val {
	var v val
	for i := range o.users {
		for _, s := range o.userBox(i) {
			v = v.add(o.vOf(i, s))
		}
		cnt := o.userCnt(i)
		for c := range cnt {
			if n := int(cnt[c]); n > o.cap {
				v.o -= int64(n - o.cap)
			}
		}
	}
	for _, a := range o.nodes {
		if e := o.used[a] - o.q[a]; e > 0 {
			v = v.sub(o.price[a].mulInt(e))
		}
	}
	return v
}

// withinTolerance reports whether the excess holders may leave now: the
// estimated gap is within tol of bound(p) and changes no level above the
// score.
func (o *optSolver) withinTolerance(tol float64) bool {
	if tol <= 0 {
		return false
	}
	excess := false
	for _, a := range o.nodes {
		if o.used[a] > o.q[a] {
			excess = true
			break
		}
	}
	if !excess {
		return false
	}
	b := o.boundSplit()
	lim, _ := toFix(tol*math.Abs(b.s.float(o.sc)), o.sc)
	_, ok := o.exitGap(lim)
	return ok
}

// exitCommit sends the excess holders of every node out to the sink, the
// cheapest exits first, and reports the users moved.
func (o *optSolver) exitCommit() int64 {
	var moved int64
	nodes := append([]int32(nil), o.nodes...)
	for _, a := range nodes {
		h := o.sinkHeap(a)
		for o.used[a] > o.q[a] && len(*h) > 0 {
			x := h.pop()
			i := int(x.i)
			if !o.validSink(&x) || !o.holds(i, a) {
				continue
			}
			v, t := o.sinkBest(i, a)
			k := o.vOf(i, a).sub(o.remGain(i, a)).sub(v)
			if k.cmp(x.k.val()) != 0 || t != x.t {
				x.k, x.t = toKey(k), t
				h.push(x)
				continue
			}
			o.move(i, a, t)
			moved++
		}
	}
	return moved
}
