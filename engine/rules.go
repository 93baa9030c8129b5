package engine

// The final rule check of the optimal allocator's plan, with the SPEC's
// float scores, against the snacks with units left at the end of the date
// (what `assign check` tests): a better snack of the same category, or of a
// category under the cap, left unused; a short box while a snack it could
// take is left; a category over the cap while an under-cap snack is left
// (or at all, with fill_ignoring_caps off); an open request for a snack
// left unused while the box has unrequested lines. The plan is optimal in
// the split score model, which can order two snacks within a few units in
// the last place differently from the float score; a user breaking a rule
// takes the greedy's box from its own snacks and those left over instead.

// ruleViolation reports whether user i's box breaks a rule.
func (o *optSolver) ruleViolation(w *worker, i int) bool {
	e := o.e
	in := e.in
	u := o.users[i]
	w.prepare(u)
	d := o.day
	box := o.userBox(i)
	k := int(in.BoxSize[u])
	cnt := o.userCnt(i)
	reqIn := make([]int, o.nC)
	nreq := 0
	for _, s := range box {
		if o.isReq(i, s) {
			reqIn[o.cat[s]]++
			nreq++
		}
	}
	// Worst unrequested line per category and overall.
	worst := make([]cand, o.nC)
	has := make([]bool, o.nC)
	var worstAll cand
	hasAll := false
	for _, s := range box {
		if o.isReq(i, s) {
			continue
		}
		c := cand{w.score(s, d), s}
		ct := o.cat[s]
		if !has[ct] || better(worst[ct], c) {
			worst[ct], has[ct] = c, true
		}
		if !hasAll || better(worstAll, c) {
			worstAll, hasAll = c, true
		}
	}
	// Best leftover candidate per category.
	elig := o.userElig(i)
	orders := o.orders // the snacks with units at the start of the date
	left := func(s int32) bool { return elig.has(s) && o.used[s] < o.q[s] && !o.holds(i, s) }
	overCap := false
	for c := 0; c < o.nC; c++ {
		if int(cnt[c])-reqIn[c] > max(o.cap-reqIn[c], 0) {
			overCap = true
		}
	}
	if overCap && !o.fill {
		return true
	}
	for c := 0; c < o.nC; c++ {
		var best cand
		found := false
		for _, part := range [][]int32{orders[c].old, orders[c].new} {
			for _, s := range part {
				if left(s) {
					x := cand{w.score(s, d), s}
					if !found || better(x, best) {
						best, found = x, true
					}
					break
				}
			}
		}
		if !found {
			continue
		}
		under := int(cnt[c]) < o.cap
		if has[c] && better(best, worst[c]) {
			return true
		}
		if under && hasAll && better(best, worstAll) {
			return true
		}
		if len(box) < k && (o.fill || under) {
			return true
		}
		if overCap && under {
			return true
		}
	}
	if nreq < k {
		for _, s := range o.userReq(i) {
			if o.used[s] < o.q[s] && !o.holds(i, s) {
				return true
			}
		}
	}
	return false
}

// repair gives user i the greedy's box chosen from its own snacks and the
// snacks left over.
func (o *optSolver) repair(w *worker, i int) {
	u := o.users[i]
	w.prepare(u)
	elig := newBitset(len(o.q))
	all := o.userElig(i)
	for s := range o.q {
		if all.has(int32(s)) && o.used[s] < o.q[s] {
			elig.set(int32(s))
		}
	}
	old := append([]int32(nil), o.userBox(i)...)
	for _, s := range old {
		elig.set(s)
	}
	w.choose(u, o.day, elig, &w.box)
	cnt := o.userCnt(i)
	for _, s := range old {
		o.used[s]--
		cnt[o.cat[s]]--
	}
	box := o.box[o.slot[i]:o.slot[i+1]]
	for j, s := range w.box.snack {
		box[j] = s
		o.used[s]++
		cnt[o.cat[s]]++
	}
	o.boxLen[i] = int32(w.box.len())
	o.ver[i]++
	for c := range cnt {
		o.cver[i*o.nC+c]++
	}
}

// enforceRules checks every box and repairs the ones breaking a rule, until
// none does (settled) or a few passes did not suffice.
func (o *optSolver) enforceRules(workers []*worker) (repaired int, settled bool) {
	n := len(o.users)
	bad := make([]bool, n)
	for pass := 0; pass < 4; pass++ {
		o.e.parallel(n, workers, func(w *worker, i int) { bad[i] = o.ruleViolation(w, i) })
		any := false
		for i := range bad {
			if bad[i] && o.ruleViolation(workers[0], i) {
				o.repair(workers[0], i)
				repaired++
				any = true
			}
		}
		if !any {
			return repaired, true
		}
	}
	return repaired, false
}
