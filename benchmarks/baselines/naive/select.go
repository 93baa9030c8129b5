package naive

import "sort"

// popularity holds the per-snack popularity terms, computed once from the
// latest rating of every (user, snack) pair in the snapshot.
type popularity struct {
	popn map[int64]float64 // snacks with ratings
	none float64           // popn of a snack nobody rated: (0 + m*C) / (0 + m)
}

func computePopularity(latest map[pair]int, m float64) popularity {
	var sum, count int64
	sumS := map[int64]int64{}
	nS := map[int64]int64{}
	for k, r := range latest {
		sum += int64(r)
		count++
		sumS[k.snack] += int64(r)
		nS[k.snack]++
	}
	c := 3.0
	if count > 0 {
		c = float64(sum) / float64(count)
	}
	f := func(sum, n int64) float64 {
		pop := (float64(sum) + float64(m*c)) / (float64(n) + m)
		return (pop - 1) / 4
	}
	p := popularity{popn: map[int64]float64{}, none: f(0, 0)}
	for s, n := range nS {
		p.popn[s] = f(sumS[s], n)
	}
	return p
}

func (p popularity) of(s int64) float64 {
	if v, ok := p.popn[s]; ok {
		return v
	}
	return p.none
}

// userDay is one user on one ship date with everything the decision needs.
type userDay struct {
	u          *user
	data       *userData
	deliveries []delivery // snapshot rows plus boxes of earlier horizon dates
}

// eligibleIgnoringStock applies every eligibility rule but the stock one.
func (r *runner) eligibleIgnoringStock(ud *userDay, s *snack, d Day) bool {
	if !s.active || s.launched > d {
		return false
	}
	for _, t := range s.tags {
		if ud.data.ng[t] {
			return false
		}
	}
	w := Day(r.opt.Policy.RepeatWindowDays)
	for _, dl := range ud.deliveries {
		if dl.snack == s.id && d-w < dl.on && dl.on <= d {
			return false
		}
	}
	if rating, ok := ud.data.latest[s.id]; ok && rating <= r.opt.Policy.NeverAgainRating {
		return false
	}
	return true
}

// eligible is the full eligibility rule; stock counts only in run mode.
func (r *runner) eligible(ud *userDay, s *snack, d Day) bool {
	if !r.eligibleIgnoringStock(ud, s, d) {
		return false
	}
	if r.opt.Mode == RunMode && r.stock.usableLeft(s.id, d) <= 0 {
		return false
	}
	return true
}

// scoreTerms are the four terms of section 4 before weighting.
type scoreTerms struct {
	popn, pref, aff, novelty float64
}

func (r *runner) terms(ud *userDay, s *snack, d Day) scoreTerms {
	var t scoreTerms
	t.popn = r.pop.of(s.id)
	if w, ok := ud.data.prefs[s.category]; ok {
		t.pref = float64(w) / 2
	}
	var n, sum int64
	for sid, rating := range ud.data.latest {
		if sn := r.snacks[sid]; sn != nil && sn.category == s.category {
			n++
			sum += int64(rating)
		}
	}
	if n > 0 {
		mean := float64(sum) / float64(n)
		t.aff = (float64(n) / float64(n+3)) * ((mean - 3) / 2)
	}
	if age := d - s.launched; 0 <= age && age < Day(r.opt.Policy.NewSnackDays) {
		t.novelty = 1
	}
	return t
}

// score combines the terms in the SPEC's order of operations; each product
// is converted on its own so the compiler cannot fuse it into an FMA.
func (p Policy) score(t scoreTerms) float64 {
	a := float64(p.WPopularity * t.popn)
	b := float64(p.WPreference * t.pref)
	c := float64(p.WAffinity * t.aff)
	e := float64(p.WNovelty * t.novelty)
	return ((a + b) + c) + e
}

// candidate is an eligible snack with its score.
type candidate struct {
	s     *snack
	score float64
}

// openRequests returns, per snack, the earliest requested_at among the
// user's requests open on d (date(t) < d and no delivery of s with
// shipped_on >= date(t)).
func openRequests(ud *userDay, d Day) map[int64]int64 {
	out := map[int64]int64{}
	for _, q := range ud.data.requests {
		td := dayOfMicros(q.at)
		if td >= d {
			continue
		}
		closed := false
		for _, dl := range ud.deliveries {
			if dl.snack == q.snack && dl.on >= td {
				closed = true
				break
			}
		}
		if closed {
			continue
		}
		if at, ok := out[q.snack]; !ok || q.at < at {
			out[q.snack] = q.at
		}
	}
	return out
}

// chosen is one line of a box before stock is attached.
type chosen struct {
	s         *snack
	score     float64
	requested bool
}

// selectBox runs steps 1-3 of section 4 over the eligible candidates.
func selectBox(k int, cands []candidate, open map[int64]int64, p Policy) []chosen {
	var reqs, rest []candidate
	for _, c := range cands {
		if _, ok := open[c.s.id]; ok {
			reqs = append(reqs, c)
		} else {
			rest = append(rest, c)
		}
	}
	// Step 1: open requests for eligible snacks by requested_at, snack_id.
	sort.Slice(reqs, func(i, j int) bool {
		ai, aj := open[reqs[i].s.id], open[reqs[j].s.id]
		if ai != aj {
			return ai < aj
		}
		return reqs[i].s.id < reqs[j].s.id
	})
	var box []chosen
	inBox := map[int64]bool{}
	perCat := map[string]int{}
	add := func(c candidate, requested bool) {
		box = append(box, chosen{c.s, c.score, requested})
		inBox[c.s.id] = true
		perCat[c.s.category]++
	}
	// Requests beyond k are not taken on d and stay open; the box is then
	// full, so steps 2 and 3 take nothing and "the rest" needs no requests.
	for _, c := range reqs {
		if len(box) == k {
			break
		}
		add(c, true)
	}
	// Step 2: the rest by score descending, snack_id ascending, under caps.
	sort.Slice(rest, func(i, j int) bool {
		if rest[i].score != rest[j].score {
			return rest[i].score > rest[j].score
		}
		return rest[i].s.id < rest[j].s.id
	})
	for _, c := range rest {
		if len(box) == k {
			break
		}
		if perCat[c.s.category] >= p.MaxPerCategory {
			continue
		}
		add(c, false)
	}
	// Step 3: walk the same order again from the top, ignoring caps.
	if p.FillIgnoringCaps {
		for _, c := range rest {
			if len(box) == k {
				break
			}
			if !inBox[c.s.id] {
				add(c, false)
			}
		}
	}
	return box
}
