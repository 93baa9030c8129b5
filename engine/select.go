package engine

import (
	"math"
	"math/bits"
	"slices"
)

// cand is one eligible snack with its score for the user and date at hand.
type cand struct {
	score float64
	s     int32
}

// better is the ranking of SPEC section 4 step 2: score descending, ties by
// snack_id ascending (sidx order is snack_id order). Snacks are distinct, so
// this is a strict total order and the selection is deterministic.
func better(a, b cand) bool {
	return a.score > b.score || (a.score == b.score && a.s < b.s)
}

func compareCand(a, b cand) int {
	switch {
	case better(a, b):
		return -1
	case better(b, a):
		return 1
	}
	return 0
}

// insertTop inserts c into top (sorted best first) keeping at most limit
// entries; it returns the updated slice.
func insertTop(top []cand, c cand, limit int) []cand {
	n := len(top)
	if n == limit {
		if !better(c, top[n-1]) {
			return top
		}
		top = top[:n-1]
		n--
	}
	i := n
	top = append(top, c)
	for i > 0 && better(c, top[i-1]) {
		top[i] = top[i-1]
		i--
	}
	top[i] = c
	return top
}

// box is the chosen box of one user on one date, in selection order.
type box struct {
	snack     []int32
	score     []float64
	requested []bool
}

func (b *box) reset() {
	b.snack, b.score, b.requested = b.snack[:0], b.score[:0], b.requested[:0]
}

func (b *box) add(s int32, score float64, requested bool) {
	b.snack = append(b.snack, s)
	b.score = append(b.score, score)
	b.requested = append(b.requested, requested)
}

func (b *box) len() int { return len(b.snack) }

// choose fills out with the box of user u on day d from the eligible set
// elig (SPEC section 4, box selection). elig is consumed: chosen snacks are
// removed from it.
//
//  1. Open requests for eligible snacks in (requested_at, snack_id) order, up
//     to k; they count toward category caps but are not refused by them.
//  2. The rest by score, skipping a snack whose category holds the cap. This
//     equals taking, in ranking order, the union of every category's best
//     (cap - snacks already in the box) snacks. Each category's best come
//     from walking its snacks in the date's score order (see catOrder) and
//     stopping at the first score below the worst kept, so a box looks at a
//     few snacks per category instead of scoring every eligible snack.
//  3. If still short and fill_ignoring_caps: the best remaining snacks in the
//     same ranking, ignoring caps (a scan of every eligible snack; rare, as
//     the capped pass fills the box whenever enough categories are eligible).
func (w *worker) choose(u int32, d Day, elig bitset, out *box) {
	out.reset()
	clear(w.catCount)
	w.complete(u, d, elig, out)
}

// complete runs the three steps of choose on a box that may already hold
// lines (counted in w.catCount): requests, the capped pass and the fill
// pass take snacks of elig until the box has box_size lines.
func (w *worker) complete(u int32, d Day, elig bitset, out *box) {
	e := w.e
	in := e.in
	k := int(in.BoxSize[u])

	for r := in.ReqStart[u]; r < in.ReqStart[u+1] && out.len() < k; r++ {
		if in.ReqDay[r] >= d || e.reqClosed[r] {
			continue
		}
		s := in.ReqSnack[r]
		if !elig.has(s) { // ineligible, or already taken by an earlier request of the pair
			continue
		}
		out.add(s, w.score(s, d), true)
		elig.clear(s)
		w.catCount[in.SnackCat[s]]++
	}
	if out.len() == k {
		return
	}

	limit := e.p.MaxPerCategory
	w.merged = w.merged[:0]
	if orders := e.orderOn(d); orders != nil {
		for c := range orders {
			rem := limit - int(w.catCount[c])
			if rem <= 0 {
				continue
			}
			top := w.tops[c][:0]
			top = w.walk(orders[c].old, e.oldTerm, int32(c), rem, elig, top)
			top = w.walk(orders[c].new, e.newTerm, int32(c), rem, elig, top)
			w.tops[c] = top
			w.merged = append(w.merged, top...)
		}
	} else {
		for c := range w.tops {
			w.tops[c] = w.tops[c][:0]
		}
		w.scoreAll(d, elig)
		for _, c := range w.cands {
			cat := in.SnackCat[c.s]
			rem := limit - int(w.catCount[cat])
			if rem <= 0 {
				continue
			}
			w.tops[cat] = insertTop(w.tops[cat], c, rem)
		}
		for _, t := range w.tops {
			w.merged = append(w.merged, t...)
		}
	}
	// Only the best (k - filled) of the union go in, in ranking order.
	need := k - out.len()
	w.best = w.best[:0]
	for _, c := range w.merged {
		w.best = insertTop(w.best, c, need)
	}
	for _, c := range w.best {
		out.add(c.s, c.score, false)
		elig.clear(c.s)
	}

	if out.len() < k && e.p.FillIgnoringCaps {
		need := k - out.len()
		w.scoreAll(d, elig) // elig no longer holds the snacks already boxed
		w.best = w.best[:0]
		for _, c := range w.cands {
			w.best = insertTop(w.best, c, need)
		}
		for _, c := range w.best {
			out.add(c.s, c.score, false)
			elig.clear(c.s)
		}
	}
}

// walk adds to top (at most rem entries, best first) the best eligible
// snacks of list, one part of a category's catOrder whose snacks all get
// novelty term nov. Scores along list never increase, so the walk stops at
// the first score strictly below the worst entry of a full top; an equal
// score may still win its tie on snack_id, so it is kept walking.
func (w *worker) walk(list []int32, nov float64, c int32, rem int, elig bitset, top []cand) []cand {
	e := w.e
	for _, s := range list {
		if !elig.has(s) {
			continue
		}
		sc := ((e.popTerm[s] + w.prefTerm[c]) + w.affTerm[c]) + nov
		if len(top) == rem && sc < top[rem-1].score {
			break
		}
		top = insertTop(top, cand{sc, s}, rem)
	}
	return top
}

// scoreAll puts every snack of elig with its score into w.cands.
func (w *worker) scoreAll(d Day, elig bitset) {
	w.cands = w.cands[:0]
	for wi, word := range elig {
		for word != 0 {
			s := int32(wi<<6 + bits.TrailingZeros64(word))
			word &= word - 1
			w.cands = append(w.cands, cand{w.score(s, d), s})
		}
	}
}

// score is the score of snack s for the worker's current user on day d.
func (w *worker) score(s int32, d Day) float64 {
	e := w.e
	c := e.in.SnackCat[s]
	nov := e.oldTerm
	if IsNew(e.in.Launched[s], d, e.p.NewSnackDays) {
		nov = e.newTerm
	}
	return ((e.popTerm[s] + w.prefTerm[c]) + w.affTerm[c]) + nov
}

// catOrder is, for one ship date, the snacks of one category that are
// active and launched on that date, split by whether they are new on it,
// each part sorted by (popularity term descending, sidx ascending). For one
// user every snack of a part has the score fl(fl(fl(pop+pref)+aff)+nov) with
// the same pref, aff and nov; rounding to nearest is monotone, so along a
// part scores never increase, which lets the capped pass stop early. Ties
// after rounding are why a part is sorted by sidx second and why the walk
// continues through equal scores.
type catOrder struct{ old, new []int32 }

// buildOrders fills e.order: per date index, per category, the catOrder.
// It is skipped (e.order stays nil, and choose scores every eligible snack)
// when some popularity term is NaN, which has no order.
func (e *engine) buildOrders() {
	in := e.in
	nS := in.NumSnacks()
	byPop := make([]int32, nS)
	for s := range byPop {
		byPop[s] = int32(s)
		if math.IsNaN(e.popTerm[s]) {
			return
		}
	}
	slices.SortStableFunc(byPop, func(a, b int32) int {
		switch {
		case e.popTerm[a] > e.popTerm[b]:
			return -1
		case e.popTerm[a] < e.popTerm[b]:
			return 1
		}
		return int(a - b)
	})
	e.order = make([][]catOrder, in.Days)
	for di := range e.order {
		d := in.D0 + Day(di)
		orders := make([]catOrder, e.nCats)
		for _, s := range byPop {
			if !e.base[di].has(s) {
				continue
			}
			o := &orders[in.SnackCat[s]]
			if IsNew(in.Launched[s], d, e.p.NewSnackDays) {
				o.new = append(o.new, s)
			} else {
				o.old = append(o.old, s)
			}
		}
		e.order[di] = orders
	}
}

// orderOn returns the catOrders of day d, or nil when there are none.
func (e *engine) orderOn(d Day) []catOrder {
	di := int(d - e.in.D0)
	if e.order == nil || di < 0 || di >= len(e.order) {
		return nil
	}
	return e.order[di]
}
