package engine

// stock tracks lot quantities through a horizon (SPEC section 4, Stock).
// A lot is usable on d iff best_before >= d + min_shelf_days; units are taken
// first-expiry-first-out: lots of a snack are kept in (best_before, lot_id)
// order, so the usable lots of a date are a suffix of that order and FEFO
// takes from the front of the suffix, passing over empty lots.
type stock struct {
	in        *Inputs
	minShelf  int
	remaining []int32 // per lot
	lotStart  []int32 // CSR over lots by sidx
	cursor    []int32 // per snack: first usable lot that may still hold units
	left      []int64 // per snack: usable units left on the current date
	// has is the snacks with left > 0. A unit taken clears a bit
	// atomically: the greedy's next date reads has (andLive) while the
	// current date's commit takes units (allocate.go).
	has bitset
}

func newStock(in *Inputs, minShelf int) *stock {
	nS := in.NumSnacks()
	st := &stock{
		in:        in,
		minShelf:  minShelf,
		remaining: make([]int32, len(in.LotQty)),
		lotStart:  make([]int32, nS+1),
		cursor:    make([]int32, nS),
		left:      make([]int64, nS),
		has:       newBitset(nS),
	}
	copy(st.remaining, in.LotQty)
	for _, s := range in.LotSnack {
		st.lotStart[s+1]++
	}
	for s := 0; s < nS; s++ {
		st.lotStart[s+1] += st.lotStart[s]
	}
	return st
}

// begin moves to day d: it recomputes every snack's usable lots and units.
func (st *stock) begin(d Day) {
	limit := d + Day(st.minShelf)
	clear(st.has)
	for s := range st.left {
		lo, hi := st.lotStart[s], st.lotStart[s+1]
		i := lo
		for i < hi && st.in.LotBefore[i] < limit {
			i++
		}
		st.cursor[s] = i
		var n int64
		for j := i; j < hi; j++ {
			n += int64(st.remaining[j])
		}
		st.left[s] = n
		if n > 0 {
			st.has.set(int32(s))
		}
	}
}

// take consumes one usable unit of s and returns its lot, or -1 if none.
func (st *stock) take(s int32) int32 {
	if st.left[s] == 0 {
		return -1
	}
	i := st.cursor[s]
	for st.remaining[i] == 0 {
		i++
	}
	st.cursor[s] = i
	st.remaining[i]--
	st.left[s]--
	if st.left[s] == 0 {
		st.has.clearLive(s)
	}
	return i
}

// takeUpTo consumes up to n usable units of s FEFO and returns how many it took.
func (st *stock) takeUpTo(s int32, n int64) int64 {
	got := min(n, st.left[s])
	need := got
	i := st.cursor[s]
	for need > 0 {
		t := min(need, int64(st.remaining[i]))
		st.remaining[i] -= int32(t)
		need -= t
		if st.remaining[i] == 0 {
			i++
		}
	}
	st.cursor[s] = i
	st.left[s] -= got
	if st.left[s] == 0 {
		st.has.clearLive(s)
	}
	return got
}
