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
	// The same test on the rows' day offsets from in.DelBase.
	olo, od := int32(lo-in.DelBase), int32(d-in.DelBase)
	for g := in.delSegs(u); g < in.delSegs(u+1); g++ {
		from, to := in.DelSegFrom[g], in.DelSegTo[g]
		if in.DelSnackHi != nil {
			for j := from; j < to; j++ {
				if sd := int32(in.DelDay[j]); sd > olo && sd <= od {
					s, _ := in.Delivery(j)
					dst.clear(s)
				}
			}
			continue
		}
		for j := from; j < to; j++ {
			if sd := int32(in.DelDay[j]); sd > olo && sd <= od {
				dst.clear(int32(in.DelSnack[j]))
			}
		}
	}
	// The user's boxes of earlier dates in the horizon (ship days ascend;
	// a user ships at most once a date, and its box of d is not chosen yet).
	for j := in.ShipStart[u]; j < in.ShipStart[u+1]; j++ {
		sd := in.ShipDay[j]
		if sd >= d {
			break
		}
		if sd > lo {
			for _, s := range e.earlierBox(u, j) {
				dst.clear(s)
			}
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
