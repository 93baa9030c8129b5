package engine

// Bulk clearing, the exchange algorithm's head start. An over-demanded
// snack s is priced, alone, at the level where exactly its units keep
// holders: every holder's cost of giving s up (its value minus the best it
// can do without s, which for a laminar concave valuation is its box minus
// s plus at most one other snack) is computed, holders are ranked by it,
// and the price rises by the cost of the first holder beyond the units.
// Holders past it give s up for their best replacement. Every box stays
// best at the prices, and the priced snack is exactly full, so the state
// meets what the exchange algorithm needs; what is left over (replacements
// that over-demand another snack) is its work. One snack at a time moves
// thousands of users in one step; repeated on snacks whose substitutes push
// users back, it would creep, which is why only a few passes are made and
// the exact algorithm finishes.

import (
	"slices"
)

// exitBest is user i's best way to do without snack s (held) at the
// current prices: the value of the best snack to put in its place
// (penalty included), and that snack, or -1 to drop the line.
func (o *optSolver) exitBest(i int, s int32) (val, int32) {
	best, target := val{}, int32(-1)
	elig := o.userElig(i)
	h := o.userH(i)
	reqs := o.userReq(i)
	box := o.userBox(i)
	offer := func(b int32, v val) {
		if c := cmpVal(&v, &best); c > 0 || (c == 0 && target >= 0 && b < target) {
			best, target = v, b
		}
	}
	// Requests first: a request outranks every unrequested snack, so the
	// categories' bounds below then stop the walk at once. The result does
	// not depend on the order (the best value, ties to the smaller snack).
	for _, b := range reqs {
		if b == s || !elig.has(b) || slices.Contains(box, b) {
			continue
		}
		// The swap's penalty is never positive: b's own value at its price
		// bounds what it can be worth here.
		if u := o.vOf(i, b).sub(o.price[b]); cmpVal(&u, &best) < 0 {
			continue
		}
		if v, ok := o.replacement(i, s, b); ok {
			offer(b, v.sub(o.price[b]))
		}
	}
	var order []int32
	if o.catOrder != nil {
		order = o.catOrder[i*o.nC : (i+1)*o.nC]
	}
	for k := 0; k < o.nC; k++ {
		c := int32(k)
		if order != nil {
			// Categories by bound, descending: no unrequested snack of c is
			// worth more than (1, 0, 0, h(c) + the category's largest g) in
			// the levels above the tie-break (prices are >= 0 there, swap
			// penalties <= 0), so once the best beats that bound strictly,
			// no later category can beat or tie it.
			c = order[k]
			if beyondCat(&best, h[c].add(o.catMaxG[c])) {
				break
			}
		}
		// The penalty of an unrequested line of c in place of s, the same
		// for every snack of c.
		pen, ok := o.addPen(i, s, c, false)
		if !ok {
			continue
		}
		// An unrequested snack b of c (eligible, not held, not s) is worth
		// u + pen here, u = (1, 0, 0, g(b) + h(c), -b) - p(b) (p(b) = 0
		// for an unpriced snack).
		//
		// Unpriced, unrequested snacks come in value order, and so do the
		// priced ones in pricedByCat (a category's snacks differ in value
		// by the snack's own terms and price only): the first of each the
		// user may take is the best of them, and the first of each list
		// bounds the rest; a list whose bound is below the best is left
		// unwalked.
		list, k := o.catSorted[c], 0
		var skip *int32 // exitSkip: snacks before it can never qualify
		if o.exitSkip != nil {
			skip = &o.exitSkip[i*o.nC+int(c)]
			k = int(*skip)
		}
		if k < len(list) {
			if u := (val{f: 1, s: o.g[list[k]].add(h[c]), t: -int64(list[k])}); cmpVal(&u, &best) < 0 {
				k = len(list)
			}
		}
		for ; k < len(list); k++ {
			b := list[k]
			if !elig.has(b) || o.priced.has(b) || slices.Contains(reqs, b) {
				if skip != nil {
					*skip = int32(k + 1)
				}
				continue
			}
			if b != s && !slices.Contains(box, b) {
				if u := (val{f: 1, s: o.g[b].add(h[c]), t: -int64(b)}); cmpVal(&u, &best) >= 0 {
					offer(b, u.add(pen))
				}
				break
			}
			skip = nil // s or a held snack may qualify in a later call
		}
		priced := o.pricedByCat[c]
		if len(priced) == 0 {
			continue
		}
		u := o.pricedTop[c]
		if u.s = u.s.add(h[c]); cmpVal(&u, &best) < 0 {
			continue
		}
		for _, b := range priced {
			if b != s && elig.has(b) && !slices.Contains(box, b) && !slices.Contains(reqs, b) {
				u := val{f: 1, s: o.g[b].add(h[c]), t: -int64(b)}.sub(o.price[b])
				if cmpVal(&u, &best) >= 0 {
					offer(b, u.add(pen))
				}
				break
			}
		}
	}
	return best, target
}

// beyondCat reports whether v exceeds (1, 0, 0, ub) in the levels filled,
// requested, over-cap and score.
func beyondCat(v *val, ub fix) bool {
	switch {
	case v.f != 1:
		return v.f > 1
	case v.r != 0:
		return v.r > 0
	case v.o != 0:
		return v.o > 0
	}
	return v.s.cmp(ub) > 0
}

// orderCats fills catOrder and catMaxG (exitBest's category order per
// user: by h(c) + the category's largest g, descending, ties by index).
// catSorted holds the snacks with units at the start of the date only:
// no user is eligible for the others (eligibility is taken with stock). On
// scarce dates the most popular snacks are gone, and the bound of their
// category used to keep it in every exit's walk.
func (o *optSolver) orderCats(workers []*worker) {
	o.catMaxG = make([]fix, o.nC)
	for c, l := range o.catSorted {
		if len(l) > 0 {
			o.catMaxG[c] = o.g[l[0]]
		}
	}
	o.catOrder = make([]int32, len(o.users)*o.nC)
	o.e.parallel(len(o.users), workers, func(w *worker, i int) {
		h := o.userH(i)
		ord := o.catOrder[i*o.nC : (i+1)*o.nC]
		for c := range ord {
			ord[c] = int32(c)
		}
		slices.SortFunc(ord, func(a, b int32) int {
			if x := h[b].add(o.catMaxG[b]).cmp(h[a].add(o.catMaxG[a])); x != 0 {
				return x
			}
			return int(a - b)
		})
	})
}

// sortPriced rebuilds pricedByCat[c]: the priced snacks of category c by
// own value at their price, descending (ties by snack index).
func (o *optSolver) sortPriced(c int32) {
	l := o.pricedByCat[c][:0]
	for _, b := range o.pricedList {
		if o.cat[b] == c {
			l = append(l, b)
		}
	}
	slices.SortFunc(l, func(a, b int32) int {
		ea, eb := o.eOf(a), o.eOf(b)
		return cmpVal(&eb, &ea)
	})
	o.pricedByCat[c] = l
	if len(l) > 0 {
		o.pricedTop[c] = o.eOf(l[0])
	}
}

// initPricedByCat builds pricedByCat from the priced snacks, for the
// clearings.
func (o *optSolver) initPricedByCat() {
	o.pricedByCat = make([][]int32, o.nC)
	o.pricedTop = make([]val, o.nC)
	for c := range o.pricedByCat {
		o.sortPriced(int32(c))
	}
}

// clearExit is a holder's way out of a snack being cleared: the user, what
// keeping the snack is worth to it over its best exit at the prices (its
// value minus price and cap gain, minus the exit's value), and the exit's
// snack (-1: drop the line).
type clearExit struct {
	i     int32
	delta val
	to    int32
}

// clearExitOf is user i's clearExit from snack s at the current prices.
func (o *optSolver) clearExitOf(i int, s int32) clearExit {
	x, t := o.exitBest(i, s)
	d := o.vOf(i, s).sub(o.price[s]).sub(o.remGain(i, s)).sub(x)
	return clearExit{int32(i), d, t}
}

// clearPasses clears over-demanded snacks one at a time, up to passes
// times over all of them.
func (o *optSolver) clearPasses(workers []*worker, passes int) {
	n := len(o.users)
	o.initPricedByCat()
	var holders []int32
	var exits []clearExit
	for pass := 0; pass < passes; pass++ {
		var over []int32
		for s := range o.used {
			if o.used[s] > o.q[s] {
				over = append(over, int32(s))
			}
		}
		if len(over) == 0 {
			return
		}
		for _, s := range over {
			if o.used[s] <= o.q[s] {
				continue
			}
			holders = holders[:0]
			for i := 0; i < n; i++ {
				if o.holds(i, s) {
					holders = append(holders, int32(i))
				}
			}
			exits = slices.Grow(exits[:0], len(holders))[:len(holders)]
			o.e.parallel(len(holders), workers, func(w *worker, j int) {
				exits[j] = o.clearExitOf(int(holders[j]), s)
			})
			slices.SortFunc(exits, func(a, b clearExit) int {
				if c := cmpVal(&b.delta, &a.delta); c != 0 {
					return c
				}
				return int(a.i - b.i)
			})
			q := int(o.q[s])
			t := exits[q].delta // the first holder beyond the units
			if t.positive() {
				o.price[s] = o.price[s].add(t)
				if !o.priced.has(s) {
					o.priced.set(s)
					o.pricedList = append(o.pricedList, s)
				}
				o.sortPriced(o.cat[s])
			}
			for _, x := range exits[q:] {
				o.clearMove(int(x.i), s, x.to)
			}
			o.clearMoves += int64(len(exits) - q)
		}
	}
}

// clearMove replaces s by to (or drops it) in user i's box before the
// exchange structures exist.
func (o *optSolver) clearMove(i int, s, to int32) {
	box := o.userBox(i)
	j := slices.Index(box, s)
	cnt := o.userCnt(i)
	cnt[o.cat[s]]--
	o.used[s]--
	if to >= 0 {
		box[j] = to
		cnt[o.cat[to]]++
		o.used[to]++
	} else {
		box[j] = box[len(box)-1]
		o.boxLen[i]--
	}
}
