package engine

// eligible writes into dst the snacks user u may receive on day d, stock
// aside (SPEC section 4, eligibility): active and launched on d (the date's
// base set), no NG tag of the user, no delivery of the snack in
// (d - window, d] (snapshot deliveries and boxes chosen earlier in the
// horizon), and a latest rating above never_again_rating.
// The worker must have been prepared for u.
func (w *worker) eligible(u int32, di int, d Day, dst bitset) {
	e := w.e
	in := e.in
	base := e.base[di]
	for i := range dst {
		dst[i] = base[i] &^ w.ng[i]
	}
	for j := in.BadStart[u]; j < in.BadStart[u+1]; j++ {
		dst.clear(in.BadSnack[j])
	}
	lo := d - Day(e.p.RepeatWindowDays) // blocks iff lo < shipped_on <= d
	for r := range in.DelRuns {
		from, to := in.DelRuns[r].rows(u)
		for j := from; j < to; j++ {
			if sd := in.DelDay[j]; sd > lo && sd <= d {
				dst.clear(in.DelSnack[j])
			}
		}
	}
	for _, h := range e.hdel[u] {
		if h.day > lo && h.day <= d {
			dst.clear(h.snack)
		}
	}
}

// prepare computes what depends on the user only: the union of the snacks
// carrying one of the user's NG tags, and the preference and affinity terms
// of every category.
func (w *worker) prepare(u int32) {
	if w.user == u {
		return
	}
	w.user = u
	e := w.e
	in := e.in
	clear(w.ng)
	for j := in.NGStart[u]; j < in.NGStart[u+1]; j++ {
		m := e.tagMask[in.NGTag[j]]
		for i := range w.ng {
			w.ng[i] |= m[i]
		}
	}
	zeroPref := float64(e.p.WPreference * Preference(0))
	zeroAff := float64(e.p.WAffinity * Affinity(0, 0))
	for c := range w.prefTerm {
		w.prefTerm[c] = zeroPref
		w.affTerm[c] = zeroAff
	}
	for j := in.PrefStart[u]; j < in.PrefStart[u+1]; j++ {
		w.prefTerm[in.PrefCat[j]] = float64(e.p.WPreference * Preference(in.PrefW[j]))
	}
	for j := in.AffStart[u]; j < in.AffStart[u+1]; j++ {
		w.affTerm[in.AffCat[j]] = float64(e.p.WAffinity * Affinity(in.AffN[j], in.AffSum[j]))
	}
}
