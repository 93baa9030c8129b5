package engine

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// The reference greedy allocator for one date (SPEC section 4, run).
// Users are ordered once, at the start of the date, by (eligible snacks
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

// greedyChoose is the parallel half of the greedy for one date: every
// user's box against the stock at the start of the date, and its count of
// eligible snacks with stock (the greedy's order key).
func (e *engine) greedyChoose(di int, boxes *DateBoxes, workers []*worker, st *stock) []int32 {
	n := len(boxes.Users)
	count := make([]int32, n)
	e.parallel(n, workers, func(w *worker, i int) {
		count[i] = e.greedyBox(w, di, boxes, i, st)
	})
	return count
}

// greedyBox chooses user i's box against the stock st (its eligible
// snacks with stock, the SPEC's selection), records it in boxes and
// returns the user's count of eligible snacks with stock (the greedy's
// order key).
func (e *engine) greedyBox(w *worker, di int, boxes *DateBoxes, i int, st *stock) int32 {
	u := boxes.Users[i]
	w.prepare(u)
	w.eligible(u, di, boxes.Day, w.elig)
	w.elig.and(st.has)
	count := int32(w.elig.count())
	w.choose(u, boxes.Day, w.elig, &w.box)
	e.record(boxes, i, &w.box, nil)
	return count
}

// greedyOrder is the order in which a date's users take their units:
// by count (the number of their eligible snacks with stock at the start
// of the date), then user_id (the users are in uidx order).
func greedyOrder(count []int32) []int32 {
	order := make([]int32, len(count))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if count[a] != count[b] {
			return int(count[a] - count[b])
		}
		return int(a - b)
	})
	return order
}

// greedyCommit is the sequential half of the greedy for one date: users in the greedy's
// order keep their precomputed box, or choose again when stock ran out
// under it, and take their units. With share (nil: none), other workers
// choose again ahead of it the boxes gone stale (helpCommit).
func (e *engine) greedyCommit(di int, boxes *DateBoxes, workers []*worker, st *stock, count []int32, share *commitShare) {
	order := greedyOrder(count)
	if share != nil {
		share.begin(order)
		defer share.end()
	}

	w := workers[0]
	for p, i := range order {
		if share != nil {
			share.take(p)
		}
		u := boxes.Users[i]
		off := boxes.Slot[i]
		lines := boxes.Snack[off : off+boxes.Filled[i]]
		traced := e.trace != nil && e.trace.matches(e.in, u, boxes.Day)
		if !st.has.allIn(lines) || traced {
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
			if share != nil && st.left[s] == 0 {
				share.soldOut()
			}
		}
		e.remember(u, boxes.Day, lines)
	}
}

// commitShare lets idle workers help a date's commit (greedyCommit): late
// in a horizon, when popular snacks sell out, many of a date's boxes go
// stale under the commit and were chosen again on its one core (20-36 ms
// of a late medium date's 35-45, the other core idle once the next
// date's boxes were chosen). Each time a snack sells out, a helper walks
// the commit's order from a little ahead of it and chooses again, against
// the stock as the commit leaves it at that moment, each box that has a
// sold-out snack by then. That stock holds every snack the box's user can
// have at its turn (within a date, stock only shrinks), so by the
// argument above the box the helper chose is the user's at its turn
// whenever all its snacks still have stock then; the commit checks
// exactly that, as for any box, and chooses again itself otherwise.
//
// A position of the order is held by one side at a time: a helper holds
// it (slotChoosing) while it reads and rewrites the user's slot, and the
// commit takes it (slotTaken) before reading it; a helper leaves it free,
// or chosen when it chose the box again.
type commitShare struct {
	ready chan struct{} // closed once order is set
	over  chan struct{} // closed when the commit ends
	wake  chan struct{} // a snack sold out (one pending signal at most)
	order []int32
	pos   atomic.Int64 // the commit's position in order
	state []atomic.Uint32
}

const (
	slotFree uint32 = iota
	slotChoosing
	slotChosen
	slotTaken
)

// commitLead is how far ahead of the commit a helper starts: the commit
// passes a position in well under a microsecond when it keeps the box,
// and a box takes a helper a few.
const commitLead = 64

func newCommitShare() *commitShare {
	return &commitShare{ready: make(chan struct{}), over: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// begin publishes the commit's order to the helpers.
func (sh *commitShare) begin(order []int32) {
	sh.order = order
	sh.state = make([]atomic.Uint32, len(order))
	close(sh.ready)
}

// end tells the helpers the commit is over.
func (sh *commitShare) end() { close(sh.over) }

// soldOut tells the helpers a snack sold out.
func (sh *commitShare) soldOut() {
	select {
	case sh.wake <- struct{}{}:
	default:
	}
}

// take claims position p for the commit, waiting for a helper that holds
// it.
func (sh *commitShare) take(p int) {
	sh.pos.Store(int64(p))
	st := &sh.state[p]
	for !st.CompareAndSwap(slotFree, slotTaken) && !st.CompareAndSwap(slotChosen, slotTaken) {
		runtime.Gosched()
	}
}

// helpCommit is a helper of date di's commit (see commitShare) until the
// commit ends: a pass over the positions ahead of it each time a snack
// sold out.
func (e *engine) helpCommit(w *worker, di int, boxes *DateBoxes, st *stock, sh *commitShare) {
	<-sh.ready
	for {
		select {
		case <-sh.wake:
		case <-sh.over:
			return
		}
		e.helpPass(w, di, boxes, st, sh)
	}
}

// helpPass chooses again, against the stock of the moment, every box from
// commitLead positions ahead of the commit on that has a sold-out snack
// and that the commit has not taken; it returns how many it chose.
func (e *engine) helpPass(w *worker, di int, boxes *DateBoxes, st *stock, sh *commitShare) int {
	order := sh.order
	chosen := 0
	for p := int(sh.pos.Load()) + commitLead; p < len(order); p++ {
		if at := int(sh.pos.Load()) + commitLead; p < at {
			p = at // the commit caught up
			if p >= len(order) {
				break
			}
		}
		ps := &sh.state[p]
		was := slotFree
		if !ps.CompareAndSwap(slotFree, slotChoosing) {
			if was = slotChosen; !ps.CompareAndSwap(slotChosen, slotChoosing) {
				continue // the commit's
			}
		}
		i := order[p]
		off := boxes.Slot[i]
		if st.has.allInLive(boxes.Snack[off : off+boxes.Filled[i]]) {
			ps.Store(was)
			continue
		}
		u := boxes.Users[i]
		w.prepare(u)
		w.eligible(u, di, boxes.Day, w.elig)
		w.elig.andLive(st.has)
		w.choose(u, boxes.Day, w.elig, &w.box)
		e.record(boxes, int(i), &w.box, nil)
		ps.Store(slotChosen)
		chosen++
	}
	return chosen
}

// greedyCommitHelped commits date di (no next date to choose) on
// workers[0] with workers[1:] helping it.
func (e *engine) greedyCommitHelped(di int, boxes *DateBoxes, workers []*worker, st *stock, count []int32) {
	if len(workers) == 1 || e.trace != nil {
		e.greedyCommit(di, boxes, workers, st, count, nil)
		return
	}
	share := newCommitShare()
	var wg sync.WaitGroup
	for _, w := range workers[1:] {
		wg.Go(func() { e.helpCommit(w, di, boxes, st, share) })
	}
	e.greedyCommit(di, boxes, workers, st, count, share)
	wg.Wait()
}

// The greedy's dates overlap: while one date's boxes are committed (the
// sequential half, one core), the other workers choose the next date's
// boxes against the stock as the commit leaves it at that moment: each
// box reads st.has word by word (atomically; the commit clears a snack's
// bit when it sells out), and whatever moment of the commit it sees, torn
// across words or not, holds every snack the next date can have (stock
// only shrinks: units are taken and lots stop being usable as the date
// advances). So by the argument above a box chosen against it is still
// right at the user's turn whenever all its snacks have stock then;
// greedyFinish and the commit check exactly that. Reading the live stock
// rather than a copy from the commit's start matters for the work: at
// medium a third of the next date's boxes are chosen during the commit,
// and against the copy 12.7 % of all boxes were chosen again for a snack
// sold out since; against the live stock 3.5-4.7 % (it varies with the
// goroutines' timing; the boxes do not); without the snacks the commit
// is expected to sell out as well (expectSoldOut), none.
//
// What the commit changes besides the stock is the boxes and the closed
// requests of its own users: a user that also ships on the committed date
// is left out and chosen after the commit. The order key
// (eligible snacks with stock at the start of the date) is counted from
// the eligible sets kept for it once the next date's stock is known.

// greedyAhead is the next date's boxes chosen during a commit.
type greedyAhead struct {
	di     int
	elig   []uint64 // per user of the date, its eligible set (stock aside)
	words  int
	chosen []bool // false: the user is chosen after the commit
	// soldOut is the snacks the commit was expected to sell out, left out
	// of the boxes chosen ahead (see greedyCommitAhead).
	soldOut bitset
}

// assignDates runs the greedy over every date, overlapping each date's
// commit with the choice of the next date's boxes when there are two or
// more workers. alloc makes a date's (empty) boxes.
func (e *engine) assignDates(ctx context.Context, dates []DateBoxes, workers []*worker, st *stock, alloc func(*DateBoxes), progress func(done, total int), total int) error {
	var ahead *greedyAhead
	done := 0
	for di := range dates {
		if err := ctx.Err(); err != nil {
			return err
		}
		boxes := &dates[di]
		if ahead == nil || ahead.di != di {
			alloc(boxes)
		}
		st.begin(boxes.Day)
		var count []int32
		if ahead != nil && ahead.di == di {
			count = e.greedyFinish(di, boxes, workers, st, ahead)
		} else {
			count = e.greedyChoose(di, boxes, workers, st)
		}
		// The next date's ahead reuses this one's buffers (it is done
		// with): fresh ones every date were about 70 MB at medium.
		spent := ahead
		ahead = nil
		if len(workers) > 1 && di+1 < len(dates) && e.trace == nil {
			alloc(&dates[di+1])
			ahead = e.greedyCommitAhead(di, dates, workers, st, count, spent)
		} else {
			e.greedyCommitHelped(di, boxes, workers, st, count)
		}
		done += len(boxes.Users)
		if progress != nil {
			progress(done, total)
		}
	}
	return nil
}

// greedyCommitAhead commits date di on workers[0] while workers[1:] choose
// the boxes of date di+1 (allocated, its stock not begun) against the
// stock as the commit leaves it; the committing goroutine joins them when
// it is done.
//
// spent, when not nil, is an ahead the caller is done with, whose buffers
// are reused.
func (e *engine) greedyCommitAhead(di int, dates []DateBoxes, workers []*worker, st *stock, count []int32, spent *greedyAhead) *greedyAhead {
	next := &dates[di+1]
	words := len(st.has)
	n := len(next.Users)
	a := &greedyAhead{di: di + 1, words: words}
	if spent != nil {
		a.elig, a.chosen = spent.elig[:0], spent.chosen[:0]
	}
	// elig is written wherever chosen is set, and read only there.
	a.elig = slices.Grow(a.elig, n*words)[:n*words]
	a.chosen = slices.Grow(a.chosen, n)[:n]
	clear(a.chosen)
	a.soldOut = e.expectSoldOut(&dates[di], st, a.soldOut)
	day := dates[di].Day
	const chunk = 256
	var claim atomic.Int64
	work := func(w *worker) {
		for {
			lo := int(claim.Add(chunk)) - chunk
			if lo >= n {
				return
			}
			for i := lo; i < min(lo+chunk, n); i++ {
				u := next.Users[i]
				// A user shipping on the committed date is chosen after it.
				if e.shipsOn(u, day) {
					continue
				}
				e.chooseAhead(w, a, next, i, st.has)
			}
		}
	}
	// The workers choosing ahead help the commit when no box is left to
	// choose: the day before a small date, and late in the horizon.
	share := newCommitShare()
	var wg sync.WaitGroup
	for _, w := range workers[1:] {
		wg.Go(func() {
			work(w)
			e.helpCommit(w, di, &dates[di], st, share)
		})
	}
	e.greedyCommit(di, &dates[di], workers, st, count, share)
	work(workers[0])
	wg.Wait()
	return a
}

// chooseAhead chooses user i's box of date a.di (boxes) ahead of its
// stock, against has (read live) less the snacks expected to sell out,
// and keeps the user's eligible set for greedyFinish.
func (e *engine) chooseAhead(w *worker, a *greedyAhead, boxes *DateBoxes, i int, has bitset) {
	u := boxes.Users[i]
	w.prepare(u)
	w.eligible(u, a.di, boxes.Day, w.elig)
	copy(a.elig[i*a.words:(i+1)*a.words], w.elig)
	w.elig.andLive(has)
	w.elig.andNot(a.soldOut)
	w.choose(u, boxes.Day, w.elig, &w.box)
	e.record(boxes, i, &w.box, nil)
	a.chosen[i] = true
}

// expectSoldOut returns, in dst (reused), the snacks that date boxes'
// commit is expected to sell out: those its boxes, as chosen before the
// commit, ask for as many units of as are left. The next date's boxes are
// chosen ahead without them: with them, 3.5-4.7 % of a medium horizon's
// boxes were chosen ahead with a snack sold out by the next date and had
// to be chosen again. A box chosen without them is still chosen against
// a superset of its user's eligible snacks with stock at the next date
// (the argument of the commit) unless an expected snack kept stock and
// the user may have it; greedyFinish chooses such boxes again.
func (e *engine) expectSoldOut(boxes *DateBoxes, st *stock, dst bitset) bitset {
	demand := make([]int32, len(st.left))
	for i := range boxes.Users {
		off := boxes.Slot[i]
		for _, s := range boxes.Snack[off : off+boxes.Filled[i]] {
			demand[s]++
		}
	}
	dst = slices.Grow(dst[:0], len(st.has))[:len(st.has)]
	clear(dst)
	for s, d := range demand {
		if d > 0 && int64(d) >= st.left[s] {
			dst.set(int32(s))
		}
	}
	return dst
}

// shipsOn reports whether user u ships on day d.
func (e *engine) shipsOn(u int32, d Day) bool {
	in := e.in
	for j := in.ShipStart[u]; j < in.ShipStart[u+1]; j++ {
		if in.ShipDay[j] >= d {
			return in.ShipDay[j] == d
		}
	}
	return false
}

// greedyFinish completes a date chosen ahead once its stock is begun: the
// order key of the users chosen ahead from their kept eligible sets, and
// the whole choice (greedyChoose's) for the users left out and for those
// whose box lost a snack's stock since: the boxes are then greedyChoose's.
// Both run on every worker: the key and the stock test were a serial pass
// over the date's users, with the other cores idle.
func (e *engine) greedyFinish(di int, boxes *DateBoxes, workers []*worker, st *stock, a *greedyAhead) []int32 {
	n := len(boxes.Users)
	count := make([]int32, n)
	words := a.words
	// The snacks expected to sell out that still have stock: a box chosen
	// without them is chosen again when its user may have one.
	wrong := slices.Clone(a.soldOut)
	wrong.and(st.has)
	anyWrong := wrong.count() > 0
	e.parallel(n, workers, func(w *worker, i int) {
		if a.chosen[i] {
			elig := bitset(a.elig[i*words : (i+1)*words])
			count[i] = int32(elig.andCount(st.has))
			// A box with a snack out of stock at the start of the date
			// is chosen again here, as greedyChoose would have: left to
			// the commit, it would be chosen there, on one core.
			off := boxes.Slot[i]
			if st.has.allIn(boxes.Snack[off:off+boxes.Filled[i]]) && (!anyWrong || elig.andCount(wrong) == 0) {
				return
			}
		}
		count[i] = e.greedyBox(w, di, boxes, i, st)
	})
	return count
}
