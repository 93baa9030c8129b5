package engine

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/assign-dev/assign/policy"
)

// Mode selects what the engine computes (SPEC section 4, Modes).
type Mode int

const (
	// Preassign chooses boxes ignoring stock, then covers the demand FEFO.
	Preassign Mode = iota
	// Assign chooses boxes under stock with the reference greedy allocator.
	Assign
)

func (m Mode) String() string {
	if m == Assign {
		return "run"
	}
	return "preassign"
}

// Options configure a Run.
type Options struct {
	Policy policy.Policy
	Mode   Mode
	// Threads is the number of goroutines choosing boxes; 0 means all cores.
	// Results are identical for every value.
	Threads int
	// Progress, when set, is called after each ship date with the number of
	// boxes chosen so far and in all.
	Progress func(done, total int)
	// Trace, when set, records everything explain shows for one user and date.
	Trace *Trace
	// Allocator selects run mode's allocator (Greedy, the reference, by
	// default).
	Allocator Allocator
	// MaxPhases limits the optimal allocator's exchange phases per date
	// (0: DefaultMaxPhases); a date needing more takes the greedy's boxes.
	MaxPhases int64
	// GapTolerance lets the optimal allocator stop a date's exchange phases
	// once the plan they lead to is certified within this fraction of the
	// date's bound in score, and equal to it in filled, requested and
	// over-cap lines (0: exact; the CLI's default is DefaultGapTolerance).
	GapTolerance float64

	// certifyGreedy makes the optimal allocator commit the greedy's boxes
	// on every date and certify those (the horizon fallback).
	certifyGreedy bool
}

// hdelEntry is a box line chosen earlier in the horizon: for later dates it
// counts as a delivery of snack on day (explain's trace lists them).
type hdelEntry struct {
	snack int32
	day   Day
}

// engine is the state of one Run.
type engine struct {
	in      *Inputs
	p       policy.Policy
	mode    Mode
	threads int

	popn    []float64    // per snack
	popTerm []float64    // float64(w_popularity * popn)
	newTerm float64      // float64(w_novelty * 1)
	oldTerm float64      // float64(w_novelty * 0)
	tagMask []bitset     // per tag: snacks carrying it
	base    []bitset     // per date index: active and launched on that date
	order   [][]catOrder // per date index, per category: see catOrder
	nCats   int

	// The boxes chosen earlier in the horizon count as deliveries for a
	// user's later dates. They are read where they are kept, not copied:
	// in dates (shipPos: per entry of in.ShipDay, the user's index among
	// its date's users), or, in the final pass, in planned (per user, its
	// boxes in ship order).
	dates     []DateBoxes
	shipPos   []int32
	planned   [][]PlannedBox
	reqClosed []bool // per request: closed by a box chosen earlier in the horizon

	trace *Trace

	alloc     Allocator
	fixSc     int // fixed-point scale of the optimal allocator
	maxPhases int64
	gapTol    float64
	certOnly  bool  // commit and certify the greedy's boxes
	warm      []val // the last optimal date's prices (a warm start)
}

func newEngine(in *Inputs, opt Options) (*engine, error) {
	if err := opt.Policy.Validate(); err != nil {
		return nil, err
	}
	p := opt.Policy
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	nS := in.NumSnacks()
	e := &engine{
		in: in, p: p, mode: opt.Mode, threads: threads,
		nCats:     len(in.Categories),
		newTerm:   float64(p.WNovelty * 1),
		oldTerm:   float64(p.WNovelty * 0),
		reqClosed: make([]bool, len(in.ReqSnack)),
		trace:     opt.Trace,
		alloc:     opt.Allocator,
		maxPhases: opt.MaxPhases,
		gapTol:    opt.GapTolerance,
		certOnly:  opt.certifyGreedy,
	}
	if e.maxPhases <= 0 {
		e.maxPhases = DefaultMaxPhases
	}
	e.fixSc = fixScale(max(math.Abs(p.WPopularity), math.Abs(p.WPreference), math.Abs(p.WAffinity), math.Abs(p.WNovelty), 1))
	e.popn = Popularity(in, p.PriorWeight)
	e.popTerm = make([]float64, nS)
	for s, v := range e.popn {
		e.popTerm[s] = float64(p.WPopularity * v)
	}
	e.tagMask = make([]bitset, len(in.Tags))
	for t := range e.tagMask {
		e.tagMask[t] = newBitset(nS)
	}
	for s := 0; s < nS; s++ {
		for j := in.TagStart[s]; j < in.TagStart[s+1]; j++ {
			e.tagMask[in.SnackTag[j]].set(int32(s))
		}
	}
	e.base = make([]bitset, in.Days)
	for di := range e.base {
		d := in.D0 + Day(di)
		b := newBitset(nS)
		for s := 0; s < nS; s++ {
			if in.Active[s] && in.Launched[s] <= d {
				b.set(int32(s))
			}
		}
		e.base[di] = b
	}
	e.buildOrders()
	return e, nil
}

// worker holds one goroutine's scratch space; nothing in it is shared.
type worker struct {
	e        *engine
	user     int32
	ng       bitset
	elig     bitset
	prefTerm []float64 // per category: float64(w_preference * pref)
	affTerm  []float64 // per category: float64(w_affinity * aff)
	catCount []int32
	tops     [][]cand
	cands    []cand
	merged   []cand
	best     []cand
	box      box
}

func (e *engine) newWorker() *worker {
	nS := e.in.NumSnacks()
	w := &worker{
		e: e, user: -1,
		ng: newBitset(nS), elig: newBitset(nS),
		prefTerm: make([]float64, e.nCats), affTerm: make([]float64, e.nCats),
		catCount: make([]int32, e.nCats),
		tops:     make([][]cand, e.nCats),
	}
	for c := range w.tops {
		w.tops[c] = make([]cand, 0, e.p.MaxPerCategory)
	}
	return w
}

// DateBoxes are the boxes of one ship date. Users are in user_id order; user
// i's lines are Snack[Slot[i] : Slot[i]+Filled[i]] (and the same range of
// Score, Requested and Lot), in selection order.
type DateBoxes struct {
	Day       Day
	Users     []int32 // uidx
	Slot      []int32
	Filled    []int32
	Snack     []int32
	Score     []float64
	Requested []bool
	Lot       []int32 // lot index in Inputs, -1 in preassign
}

// Result is the outcome of a Run.
type Result struct {
	Inputs *Inputs
	Policy policy.Policy
	Mode   Mode
	Dates  []DateBoxes
	// Demand, Covered: per date index, per snack.
	Demand  [][]int32
	Covered [][]int32
	// StockUsable is, per snack, the quantity of its lots usable on D0 before
	// any consumption.
	StockUsable []int64
	// LotTaken is, per date index, per lot, the units taken from it.
	LotTaken [][]int32
	// LotLeft is, per lot, the units left after the horizon.
	LotLeft []int32
	Timings map[string]time.Duration
	// Optimal is the optimal allocator's report (nil for the greedy).
	Optimal *OptimalReport
}

// Run chooses every box of the horizon and covers the demand (SPEC section 4).
func Run(ctx context.Context, in *Inputs, opt Options) (*Result, error) {
	if opt.Mode == Assign && opt.Allocator == Optimal {
		return runOptimal(ctx, in, opt)
	}
	opt.Allocator = Greedy
	return run(ctx, in, opt)
}

// runOptimal runs the reference greedy and the optimal allocator over the
// horizon and keeps the optimal plan unless it has more short boxes or a
// lower total score than the greedy's. The two runs go side by side: they
// share nothing but the inputs, which they only read, and the greedy's
// cores fill what the optimal run's serial steps leave idle.
func runOptimal(ctx context.Context, in *Inputs, opt Options) (*Result, error) {
	defer optimalGC()()
	gopt := opt
	gopt.Allocator = Greedy
	gopt.Trace = nil
	// The greedy runs on one goroutine: the optimal run keeps the cores
	// busy, and the greedy's own parallel machinery (a date chosen ahead
	// during a commit, helpers of the commit) is extra work there, 7 % of
	// the job's CPU on scarce medium, for a plan needed only at the end.
	gopt.Threads = 1
	if progress := opt.Progress; progress != nil {
		// The two runs' dates done, together, out of twice the dates.
		var mu sync.Mutex
		var gDone, oDone int
		gopt.Progress = func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			gDone = done
			progress(gDone+oDone, 2*total)
		}
		opt.Progress = func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			oDone = done
			progress(gDone+oDone, 2*total)
		}
	}
	type greedyOut struct {
		gs   planSummary
		time time.Duration
		err  error
	}
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	gch := make(chan greedyOut, 1)
	start := time.Now()
	go func() {
		greedy, err := run(gctx, in, gopt)
		if err != nil {
			gch <- greedyOut{err: err}
			return
		}
		// Only the greedy's totals are compared: summarised here, its
		// boxes are garbage for the rest of the optimal run; a greedy plan
		// kept in the end is made again below.
		gch <- greedyOut{gs: summarize(greedy), time: time.Since(start)}
	}()
	res, err := run(ctx, in, opt)
	if err != nil {
		cancel()
		<-gch
		return nil, err
	}
	g := <-gch
	if g.err != nil {
		return nil, g.err
	}
	gs, greedyTime := g.gs, g.time
	rep := res.Optimal
	os := summarize(res)
	rep.GreedyScore, rep.GreedyShortBoxes, rep.GreedyShortUnits = gs.score, gs.shortBoxes, gs.shortUnits
	rep.Chosen = "optimal"
	switch {
	case os.shortBoxes > gs.shortBoxes:
		rep.Chosen = "greedy"
		rep.Reason = fmt.Sprintf("the optimal plan has %d short boxes, the greedy's %d", os.shortBoxes, gs.shortBoxes)
	case os.score < gs.score:
		rep.Chosen = "greedy"
		rep.Reason = fmt.Sprintf("the optimal plan scores %.6f, the greedy's %.6f", os.score, gs.score)
	}
	if rep.Chosen == "greedy" {
		// The greedy's plan, certified date by date from its own states.
		copt := opt
		copt.certifyGreedy = true
		cres, err := run(ctx, in, copt)
		if err != nil {
			return nil, err
		}
		crep := cres.Optimal
		crep.Chosen, crep.Reason = rep.Chosen, rep.Reason
		crep.GreedyScore, crep.GreedyShortBoxes, crep.GreedyShortUnits = rep.GreedyScore, rep.GreedyShortBoxes, rep.GreedyShortUnits
		cres.Timings["greedy"] = greedyTime
		cres.Timings["select"] += res.Timings["select"]
		return cres, nil
	}
	res.Timings["greedy"] = greedyTime
	return res, nil
}

type planSummary struct {
	score      float64
	shortBoxes int
	shortUnits int64
}

func summarize(res *Result) planSummary {
	var s planSummary
	in := res.Inputs
	for _, boxes := range res.Dates {
		for i, u := range boxes.Users {
			off := boxes.Slot[i]
			for j := int32(0); j < boxes.Filled[i]; j++ {
				s.score += boxes.Score[off+j]
			}
			if boxes.Filled[i] < in.BoxSize[u] {
				s.shortBoxes++
				s.shortUnits += int64(in.BoxSize[u] - boxes.Filled[i])
			}
		}
	}
	return s
}

func run(ctx context.Context, in *Inputs, opt Options) (*Result, error) {
	e, err := newEngine(in, opt)
	if err != nil {
		return nil, err
	}
	if e.alloc == Optimal && e.order == nil {
		return nil, fmt.Errorf("the optimal allocator needs finite scores; a score weight or popularity is not a number")
	}
	res := &Result{Inputs: in, Policy: e.p, Mode: opt.Mode, Timings: map[string]time.Duration{}}
	if e.alloc == Optimal {
		res.Optimal = &OptimalReport{Scale: e.fixSc, GapTolerance: e.gapTol}
	}
	res.Dates = make([]DateBoxes, in.Days)
	for di := range res.Dates {
		res.Dates[di].Day = in.D0 + Day(di)
	}
	total := e.placeUsers(res.Dates)
	st := newStock(in, e.p.MinShelfDays)
	st.begin(in.D0)
	res.StockUsable = slices.Clone(st.left)

	workers := make([]*worker, e.threads)
	for i := range workers {
		workers[i] = e.newWorker()
	}
	start := time.Now()
	alloc := func(boxes *DateBoxes) {
		boxes.Slot = make([]int32, len(boxes.Users)+1)
		for i, u := range boxes.Users {
			boxes.Slot[i+1] = boxes.Slot[i] + in.BoxSize[u]
		}
		n := boxes.Slot[len(boxes.Users)]
		boxes.Filled = make([]int32, len(boxes.Users))
		boxes.Snack = make([]int32, n)
		boxes.Score = make([]float64, n)
		boxes.Requested = make([]bool, n)
		boxes.Lot = make([]int32, n)
	}
	if opt.Mode == Preassign {
		e.eachDate(len(res.Dates), func(di int) { alloc(&res.Dates[di]) })
		if err := e.preassignUsers(ctx, workers, opt.Progress, total); err != nil {
			return nil, err
		}
	} else if e.alloc != Optimal {
		if err := e.assignDates(ctx, res.Dates, workers, st, alloc, opt.Progress, total); err != nil {
			return nil, err
		}
	} else {
		done := 0
		for di := range res.Dates {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			boxes := &res.Dates[di]
			alloc(boxes)
			st.begin(boxes.Day)
			if len(boxes.Users) > 0 {
				c, err := e.optimalDate(ctx, di, boxes, workers, st)
				if err != nil {
					return nil, err
				}
				res.Optimal.Dates = append(res.Optimal.Dates, c)
			}
			done += len(boxes.Users)
			if opt.Progress != nil {
				opt.Progress(done, total)
			}
		}
	}
	res.Timings["select"] = time.Since(start)

	start = time.Now()
	e.cover(res, st)
	res.Timings["cover"] = time.Since(start)
	return res, nil
}

// placeUsers lists every shipping user under its ship dates (in uidx
// order) and keeps where, so the boxes chosen there are read back as
// deliveries for the user's later dates. It returns the number of boxes.
func (e *engine) placeUsers(dates []DateBoxes) int {
	in := e.in
	e.dates, e.shipPos = dates, make([]int32, len(in.ShipDay))
	// Sized first: grown by appends, the lists were copied again and again.
	count := make([]int32, len(dates))
	for _, d := range in.ShipDay {
		count[d-in.D0]++
	}
	for di := range dates {
		dates[di].Users = make([]int32, 0, count[di])
	}
	for u := 0; u < in.NumUsers(); u++ {
		for j := in.ShipStart[u]; j < in.ShipStart[u+1]; j++ {
			boxes := &dates[in.ShipDay[j]-in.D0]
			e.shipPos[j] = int32(len(boxes.Users))
			boxes.Users = append(boxes.Users, int32(u))
		}
	}
	return len(in.ShipDay)
}

// parallel runs fn(w, i) for i in [0, n) on all workers, in chunks.
func (e *engine) parallel(n int, workers []*worker, fn func(w *worker, i int)) {
	e.parallelChunk(n, 256, workers, fn)
}

// parallelChunk is parallel with the given chunk size; with n of one chunk
// or less, fn runs on the caller's goroutine with the first worker.
func (e *engine) parallelChunk(n, chunk int, workers []*worker, fn func(w *worker, i int)) {
	if n <= chunk || len(workers) == 1 {
		for i := 0; i < n; i++ {
			fn(workers[0], i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+chunk, n); i++ {
					fn(w, i)
				}
			}
		}(w)
	}
	wg.Wait()
}

// eachDate runs fn(di) for di in [0, n) on e.threads goroutines.
func (e *engine) eachDate(n int, fn func(di int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(max(1, e.threads), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for di := int(next.Add(1)) - 1; di < n; di = int(next.Add(1)) - 1 {
				fn(di)
			}
		}()
	}
	wg.Wait()
}

// preassignUsers chooses every box of the horizon ignoring stock. Without
// stock, a user's boxes depend on nothing but its own inputs and its
// earlier boxes, so the users are independent over the whole horizon: each
// worker takes users and chooses their boxes date after date (the date
// order within a user is what the date-by-date loop gives), which prepares
// a user once for all its boxes and reads its deliveries while they are
// in cache. Any split over workers gives the same boxes.
//
// The workers take chunks of users in order from one counter until none
// is left, with no wait between: a chunk is at most 1/64 of a worker's
// share, so the workers end within one small chunk of each other, also
// when one core runs slower. Progress is told, under a lock, each time
// another 1/32 of the boxes is done.
func (e *engine) preassignUsers(ctx context.Context, workers []*worker, progress func(done, total int), total int) error {
	in := e.in
	nU := in.NumUsers()
	chunk := min(256, max(16, nU/(64*len(workers))))
	var next, boxes, told atomic.Int64
	var mu sync.Mutex
	tell := func(n int) {
		if progress == nil {
			return
		}
		done := boxes.Add(int64(n))
		if done-told.Load() < int64(total/32) && done < int64(total) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if done = boxes.Load(); done > told.Load() {
			told.Store(done)
			progress(int(done), total)
		}
	}
	work := func(w *worker) {
		for ctx.Err() == nil {
			lo := int(next.Add(int64(chunk))) - chunk
			if lo >= nU {
				return
			}
			hi := min(lo+chunk, nU)
			for u := int32(lo); u < int32(hi); u++ {
				for j := in.ShipStart[u]; j < in.ShipStart[u+1]; j++ {
					di := int(in.ShipDay[j] - in.D0)
					e.preassignBox(w, u, di, &e.dates[di], int(e.shipPos[j]))
				}
			}
			tell(int(in.ShipStart[hi] - in.ShipStart[lo]))
		}
	}
	if len(workers) == 1 {
		work(workers[0])
	} else {
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Go(func() { work(w) })
		}
		wg.Wait()
	}
	return ctx.Err()
}

// preassignBox chooses the box of user u, the i-th user of date di, ignoring
// stock. The user's boxes of earlier dates must be chosen.
func (e *engine) preassignBox(w *worker, u int32, di int, boxes *DateBoxes, i int) {
	w.prepare(u)
	w.eligible(u, di, boxes.Day, w.elig)
	traced := e.trace != nil && e.trace.matches(e.in, u, boxes.Day)
	if traced {
		e.trace.captureEligible(e, u, w.elig, nil)
	}
	w.choose(u, boxes.Day, w.elig, &w.box)
	if traced {
		e.trace.captureBox(&w.box)
	}
	e.record(boxes, i, &w.box, nil)
	e.remember(u, boxes.Day, w.box.snack)
}

// record stores a chosen box in the date's slots; lots, when given, are the
// lot of every line.
func (e *engine) record(boxes *DateBoxes, i int, b *box, lots []int32) {
	off := boxes.Slot[i]
	boxes.Filled[i] = int32(b.len())
	copy(boxes.Snack[off:], b.snack)
	copy(boxes.Score[off:], b.score)
	copy(boxes.Requested[off:], b.requested)
	for j := 0; j < b.len(); j++ {
		if lots != nil {
			boxes.Lot[off+int32(j)] = lots[j]
		} else {
			boxes.Lot[off+int32(j)] = -1
		}
	}
	// Clear what an earlier, longer choice of this user left in the slot
	// (run mode rechooses when stock ran out), so results hold no stale data.
	for k := off + int32(b.len()); k < boxes.Slot[i+1]; k++ {
		boxes.Snack[k], boxes.Score[k], boxes.Requested[k], boxes.Lot[k] = 0, 0, false, 0
	}
}

// remember closes the user's requests of the snacks of a box chosen on day
// d that were made on or before d. (The box's snacks block later dates in
// the repeat window through earlierBox, which reads the box where it is
// stored.)
func (e *engine) remember(u int32, d Day, snacks []int32) {
	in := e.in
	if in.ReqStart[u] == in.ReqStart[u+1] {
		return
	}
	for _, s := range snacks {
		for r := in.ReqStart[u]; r < in.ReqStart[u+1]; r++ {
			if in.ReqSnack[r] == s && in.ReqDay[r] <= d {
				e.reqClosed[r] = true
			}
		}
	}
}

// earlierBox returns the snacks of the box of ship j (an index into
// in.ShipDay) of user u, chosen on a date before the one being planned.
func (e *engine) earlierBox(u int32, j int32) []int32 {
	if e.planned != nil {
		return e.planned[u][j-e.in.ShipStart[u]].Snack
	}
	if e.shipPos == nil {
		return nil // no box chosen yet (a test's bare engine)
	}
	boxes := &e.dates[e.in.ShipDay[j]-e.in.D0]
	i := e.shipPos[j]
	off := boxes.Slot[i]
	return boxes.Snack[off : off+boxes.Filled[i]]
}

// earlierBoxes returns, in ship order, the lines of u's boxes chosen on
// dates before d (explain's trace).
func (e *engine) earlierBoxes(u int32, d Day) []hdelEntry {
	var out []hdelEntry
	in := e.in
	for j := in.ShipStart[u]; j < in.ShipStart[u+1] && in.ShipDay[j] < d; j++ {
		for _, s := range e.earlierBox(u, j) {
			out = append(out, hdelEntry{snack: s, day: in.ShipDay[j]})
		}
	}
	return out
}

// cover fills demand and covered per date and snack. In preassign, demand
// takes units FEFO from the lots usable on each date, date by date; in run,
// the boxes already took their units, so covered = demand.
func (e *engine) cover(res *Result, st *stock) {
	in := e.in
	nS := in.NumSnacks()
	res.Demand = make([][]int32, in.Days)
	// Dates are counted on every core: one pass over every box line (two
	// in run mode) was 15-30 ms of a medium job, serial.
	e.eachDate(len(res.Dates), func(di int) {
		boxes := &res.Dates[di]
		dem := make([]int32, nS)
		for i := range boxes.Users {
			off := boxes.Slot[i]
			for j := int32(0); j < boxes.Filled[i]; j++ {
				dem[boxes.Snack[off+j]]++
			}
		}
		res.Demand[di] = dem
	})
	if e.mode == Preassign {
		// st was only read (begin(D0)) so far; coverFEFO starts afresh.
		coverFEFO(in, e.p.MinShelfDays, res)
		return
	}
	res.Covered = make([][]int32, in.Days)
	res.LotTaken = make([][]int32, in.Days)
	e.eachDate(len(res.Dates), func(di int) {
		boxes := &res.Dates[di]
		res.Covered[di] = slices.Clone(res.Demand[di])
		taken := make([]int32, len(in.LotQty))
		for i := range boxes.Users {
			off := boxes.Slot[i]
			for j := int32(0); j < boxes.Filled[i]; j++ {
				taken[boxes.Lot[off+j]]++
			}
		}
		res.LotTaken[di] = taken
	})
	res.LotLeft = slices.Clone(in.LotQty)
	for _, t := range res.LotTaken {
		for l, n := range t {
			res.LotLeft[l] -= n
		}
	}
}

// coverFEFO covers res.Demand date by date: each date's demand takes units
// first-expiry-first-out from the lots usable on that date, starting from
// the lots' full quantities. It fills Covered, LotTaken and LotLeft.
func coverFEFO(in *Inputs, minShelf int, res *Result) {
	nS := in.NumSnacks()
	st := newStock(in, minShelf)
	res.Covered = make([][]int32, in.Days)
	res.LotTaken = make([][]int32, in.Days)
	prevRemaining := slices.Clone(in.LotQty)
	for di := range res.Dates {
		st.begin(res.Dates[di].Day)
		cov := make([]int32, nS)
		for s, n := range res.Demand[di] {
			if n > 0 {
				cov[s] = int32(st.takeUpTo(int32(s), int64(n)))
			}
		}
		res.Covered[di] = cov
		taken := make([]int32, len(in.LotQty))
		for l := range taken {
			taken[l] = prevRemaining[l] - st.remaining[l]
		}
		copy(prevRemaining, st.remaining)
		res.LotTaken[di] = taken
	}
	res.LotLeft = st.remaining
}

// CoverDemand is preassign's coverage of a demand computed elsewhere (the
// merge of a sharded preassign sums its parts' demand): demand holds, per
// date index of in's horizon and per sidx, the units the boxes need. The
// Result has no boxes; Demand, Covered, StockUsable, LotTaken and LotLeft
// are what a single preassign of the same boxes computes.
func CoverDemand(in *Inputs, p policy.Policy, demand [][]int32) *Result {
	res := &Result{Inputs: in, Policy: p, Mode: Preassign, Timings: map[string]time.Duration{}, Demand: demand}
	res.Dates = make([]DateBoxes, in.Days)
	for di := range res.Dates {
		res.Dates[di].Day = in.D0 + Day(di)
	}
	st := newStock(in, p.MinShelfDays)
	st.begin(in.D0)
	res.StockUsable = slices.Clone(st.left)
	coverFEFO(in, p.MinShelfDays, res)
	return res
}

// StockUsable is, per snack, the quantity of its lots usable on in.D0
// before any consumption (snack_summary.stock_usable).
func StockUsable(in *Inputs, minShelf int) []int64 {
	st := newStock(in, minShelf)
	st.begin(in.D0)
	return st.left
}
