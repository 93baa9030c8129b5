package engine

import (
	"slices"
	"testing"

	"github.com/assign-dev/assign/policy"
)

// greedyDate makes a run-mode engine over a synthetic extract (8000
// users, seed) and the boxes of its first date with more than minUsers
// users, empty; it returns them with the date's index, the stock begun
// on it and alloc, which gives a DateBoxes of those users empty slots.
func greedyDate(t *testing.T, seed, minUsers int) (e *engine, dates []DateBoxes, di int, st *stock, alloc func(*DateBoxes)) {
	t.Helper()
	p := policy.Default()
	in := syntheticInputs(t, 8000, 120, seed, d0Test, 7, p)
	e, err := newEngine(in, Options{Policy: p, Mode: Assign, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	dates = make([]DateBoxes, in.Days)
	for di := range dates {
		dates[di].Day = in.D0 + Day(di)
	}
	e.placeUsers(dates)
	di = slices.IndexFunc(dates, func(d DateBoxes) bool { return len(d.Users) > minUsers })
	if di < 0 {
		t.Fatal("no date with enough users")
	}
	alloc = func(boxes *DateBoxes) {
		boxes.Slot = make([]int32, len(boxes.Users)+1)
		for i, u := range boxes.Users {
			boxes.Slot[i+1] = boxes.Slot[i] + in.BoxSize[u]
		}
		m := boxes.Slot[len(boxes.Users)]
		boxes.Filled, boxes.Snack, boxes.Score, boxes.Requested, boxes.Lot = make([]int32, len(boxes.Users)), make([]int32, m), make([]float64, m), make([]bool, m), make([]int32, m)
	}
	alloc(&dates[di])
	st = newStock(in, p.MinShelfDays)
	st.begin(dates[di].Day)
	return e, dates, di, st, alloc
}

// TestHelpPass: a helper of a date's commit (helpPass) chooses again, from
// commitLead positions ahead of the commit on, exactly the boxes that a
// snack sold out since made stale, each against the stock of that moment
// (the box greedyBox chooses then), and leaves the rest, and the positions
// the commit took, alone.
func TestHelpPass(t *testing.T) {
	e, dates, di, st, _ := greedyDate(t, 1, 3*commitLead)
	boxes := &dates[di]
	w, ref := e.newWorker(), e.newWorker()
	count := e.greedyChoose(di, boxes, []*worker{w}, st)
	order := greedyOrder(count)
	before := DateBoxes{Filled: slices.Clone(boxes.Filled), Snack: slices.Clone(boxes.Snack)}
	boxOf := func(b *DateBoxes, i int32) []int32 {
		off := boxes.Slot[i]
		return b.Snack[off : off+b.Filled[i]]
	}

	// The commit is at position 10 and has taken positions 0..10; the
	// snack most boxes from there on hold sells out.
	sh := newCommitShare()
	sh.begin(order)
	const at = 10
	for p := 0; p <= at; p++ {
		sh.take(p)
	}
	holders := map[int32]int{}
	for _, i := range order[at+commitLead:] {
		for _, s := range boxOf(boxes, i) {
			holders[s]++
		}
	}
	var gone int32 = -1
	for s, n := range holders {
		if gone < 0 || n > holders[gone] || n == holders[gone] && s < gone {
			gone = s
		}
	}
	if holders[gone] < 10 {
		t.Fatalf("snack %d is in only %d boxes ahead of the commit: nothing to test", gone, holders[gone])
	}
	st.takeUpTo(gone, st.left[gone])
	if st.has.has(gone) {
		t.Fatal("the snack did not sell out")
	}

	n := e.helpPass(w, di, boxes, st, sh)
	if n != holders[gone] {
		t.Fatalf("the helper chose %d boxes again, want the %d ahead of the commit holding snack %d", n, holders[gone], gone)
	}
	for p, i := range order {
		got, old := boxOf(boxes, i), boxOf(&before, i)
		state := sh.state[p].Load()
		switch {
		case p <= at:
			if state != slotTaken || !slices.Equal(got, old) {
				t.Fatalf("position %d, taken by the commit: state %d, box %v (was %v)", p, state, got, old)
			}
		case p < at+commitLead || !slices.Contains(old, gone):
			if state != slotFree || !slices.Equal(got, old) {
				t.Fatalf("position %d: state %d, box %v changed from %v", p, state, got, old)
			}
		default:
			ref.prepare(boxes.Users[i])
			ref.eligible(boxes.Users[i], di, boxes.Day, ref.elig)
			ref.elig.and(st.has)
			ref.choose(boxes.Users[i], boxes.Day, ref.elig, &ref.box)
			if state != slotChosen || !slices.Equal(got, ref.box.snack) || slices.Contains(got, gone) {
				t.Fatalf("position %d: state %d, box %v, want %v chosen again without snack %d", p, state, got, ref.box.snack, gone)
			}
		}
	}
	// A second pass has nothing left to do, and the commit takes a chosen
	// position.
	if n := e.helpPass(w, di, boxes, st, sh); n != 0 {
		t.Fatalf("a second pass chose %d boxes again", n)
	}
	last := len(order) - 1
	sh.take(last)
	if s := sh.state[last].Load(); s != slotTaken {
		t.Fatalf("the commit's take left state %d", s)
	}
}

// TestFinishWrongSoldOut: boxes chosen ahead without the snacks the
// commit was expected to sell out are chosen again at the date's start
// when an expected snack kept its stock and the user may have it, and
// the date's boxes are then greedyChoose's exactly.
func TestFinishWrongSoldOut(t *testing.T) {
	e, dates, di, st, alloc := greedyDate(t, 2, 200)
	in := e.in
	workers := []*worker{e.newWorker(), e.newWorker()}

	// The boxes as greedyChoose makes them, and the snack most of them hold.
	want := DateBoxes{Day: dates[di].Day, Users: dates[di].Users}
	alloc(&want)
	wantCount := e.greedyChoose(di, &want, workers, st)
	holders := make([]int, in.NumSnacks())
	for _, s := range want.Snack {
		holders[s]++
	}
	popular := int32(slices.Index(holders, slices.Max(holders)))

	// Ahead, the popular snack was expected to sell out but keeps its stock.
	boxes := &dates[di]
	words := len(st.has)
	a := &greedyAhead{di: di, words: words, elig: make([]uint64, len(boxes.Users)*words), chosen: make([]bool, len(boxes.Users)), soldOut: newBitset(in.NumSnacks())}
	a.soldOut.set(popular)
	for i := range boxes.Users {
		e.chooseAhead(workers[0], a, boxes, i, st.has)
	}
	if !st.has.has(popular) || holders[popular] < 20 {
		t.Fatalf("snack %d: stock %v, in %d boxes: nothing to test", popular, st.has.has(popular), holders[popular])
	}
	count := e.greedyFinish(di, boxes, workers, st, a)
	if !slices.Equal(count, wantCount) {
		t.Fatal("the order keys differ from greedyChoose's")
	}
	if !slices.Equal(boxes.Filled, want.Filled) || !slices.Equal(boxes.Snack, want.Snack) || !slices.Equal(boxes.Score, want.Score) {
		t.Fatal("the boxes differ from greedyChoose's: a box chosen without a snack that kept its stock was kept")
	}
}
