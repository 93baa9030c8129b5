package engine

import "slices"

// assignDate is the reference greedy allocator for one date (SPEC section 4,
// run). Users are ordered once, at the start of the date, by (eligible snacks
// with usable stock left, user_id); each then chooses among the snacks with
// stock left at its turn and consumes one unit FEFO per boxed snack.
//
// The choices are computed in parallel against the stock at the start of the
// date and then committed in order. A precomputed box stays right when all
// its snacks still have stock at the user's turn: stock only shrinks within a
// date, and removing snacks that a selection did not take never changes what
// it takes (requests, the capped pass and the fill pass all walk fixed orders
// and skip only what they would have skipped). Otherwise the box is chosen
// again against the stock of that moment. The result is the sequential
// greedy's, for any number of threads.
func (e *engine) assignDate(di int, boxes *DateBoxes, workers []*worker, st *stock) {
	e.greedyCommit(di, boxes, workers, st, e.greedyChoose(di, boxes, workers, st))
}

// greedyChoose is the parallel half of assignDate: every user's box against
// the stock at the start of the date, and its count of eligible snacks with
// stock (the greedy's order key).
func (e *engine) greedyChoose(di int, boxes *DateBoxes, workers []*worker, st *stock) []int32 {
	n := len(boxes.Users)
	count := make([]int32, n)
	e.parallel(n, workers, func(w *worker, i int) {
		u := boxes.Users[i]
		w.prepare(u)
		w.eligible(u, di, boxes.Day, w.elig)
		w.elig.and(st.has)
		count[i] = int32(w.elig.count())
		w.choose(u, boxes.Day, w.elig, &w.box)
		e.record(boxes, i, &w.box, nil)
	})
	return count
}

// greedyCommit is the sequential half of assignDate: users in the greedy's
// order keep their precomputed box, or choose again when stock ran out
// under it, and take their units.
func (e *engine) greedyCommit(di int, boxes *DateBoxes, workers []*worker, st *stock, count []int32) {
	n := len(boxes.Users)
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	// Users are in uidx (user_id) order, so the index breaks count ties.
	slices.SortFunc(order, func(a, b int32) int {
		if count[a] != count[b] {
			return int(count[a] - count[b])
		}
		return int(a - b)
	})

	w := workers[0]
	for _, i := range order {
		u := boxes.Users[i]
		off := boxes.Slot[i]
		lines := boxes.Snack[off : off+boxes.Filled[i]]
		traced := e.trace != nil && e.trace.matches(e.in, u, boxes.Day)
		stale := false
		for _, s := range lines {
			if !st.has.has(s) {
				stale = true
				break
			}
		}
		if stale || traced {
			w.prepare(u)
			w.eligible(u, di, boxes.Day, w.elig)
			if traced {
				e.trace.captureEligible(e, u, w.elig, st)
			}
			w.elig.and(st.has)
			w.choose(u, boxes.Day, w.elig, &w.box)
			if traced {
				e.trace.captureBox(&w.box)
			}
			e.record(boxes, int(i), &w.box, nil)
			lines = boxes.Snack[off : off+boxes.Filled[i]]
		}
		for j, s := range lines {
			boxes.Lot[off+int32(j)] = st.take(s)
		}
		e.remember(u, boxes.Day, lines)
	}
}
