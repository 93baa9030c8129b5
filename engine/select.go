package engine

import (
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
//     (cap - snacks already in the box) snacks, which needs one pass over the
//     eligible snacks and no full sort.
//  3. If still short and fill_ignoring_caps: the best remaining snacks in the
//     same ranking, ignoring caps.
func (w *worker) choose(u int32, d Day, elig bitset, out *box) {
	e := w.e
	in := e.in
	k := int(in.BoxSize[u])
	out.reset()
	clear(w.catCount)

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

	w.cands = w.cands[:0]
	for wi, word := range elig {
		for word != 0 {
			s := int32(wi<<6 + bits.TrailingZeros64(word))
			word &= word - 1
			w.cands = append(w.cands, cand{w.score(s, d), s})
		}
	}

	limit := e.p.MaxPerCategory
	for c := range w.tops {
		w.tops[c] = w.tops[c][:0]
	}
	for _, c := range w.cands {
		cat := in.SnackCat[c.s]
		rem := limit - int(w.catCount[cat])
		if rem <= 0 {
			continue
		}
		w.tops[cat] = insertTop(w.tops[cat], c, rem)
	}
	w.merged = w.merged[:0]
	for _, t := range w.tops {
		w.merged = append(w.merged, t...)
	}
	slices.SortFunc(w.merged, compareCand)
	for _, c := range w.merged {
		if out.len() == k {
			return
		}
		out.add(c.s, c.score, false)
		elig.clear(c.s)
	}

	if out.len() < k && e.p.FillIgnoringCaps {
		need := k - out.len()
		w.merged = w.merged[:0]
		for _, c := range w.cands {
			if elig.has(c.s) {
				w.merged = insertTop(w.merged, c, need)
			}
		}
		for _, c := range w.merged {
			out.add(c.s, c.score, false)
			elig.clear(c.s)
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
