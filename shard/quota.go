package shard

import (
	"math/bits"
	"sort"
)

// Stock couples the shards of a run: a unit one shard takes, another cannot.
// Before a sharded run, every lot is split among the shards in proportion to
// each shard's demand for the lot's snack (a merged preassign of the job
// gives it), so each shard runs the reference greedy within its own share,
// independently. The merge then gives the units no shard used to the boxes
// left short (see package merge).

// SplitLot splits q units among len(weights) shards in proportion to the
// weights (largest remainders): shard i gets floor(q*w_i/W), and the units
// left over go one each to the shards with the largest remainders
// q*w_i mod W, ties broken by (i + rotate) mod n ascending, so that the lots
// of a snack (rotate = the lot's ordinal) do not all favour the same shard.
// All weights zero split the lot evenly. The result is deterministic and
// sums to q.
func SplitLot(q int64, weights []int64, rotate int) []int64 {
	n := len(weights)
	out := make([]int64, n)
	if n == 0 || q <= 0 {
		return out
	}
	ws := make([]uint64, n)
	var total uint64
	for i, w := range weights {
		if w > 0 {
			ws[i] = uint64(w)
			total += ws[i]
		}
	}
	if total == 0 {
		for i := range ws {
			ws[i] = 1
		}
		total = uint64(n)
	}
	rem := make([]uint64, n)
	var given int64
	for i := range out {
		// q*w_i < 2^126 and w_i <= total, so the quotient fits 64 bits.
		hi, lo := bits.Mul64(uint64(q), ws[i])
		quo, r := bits.Div64(hi, lo, total)
		out[i], rem[i] = int64(quo), r
		given += int64(quo)
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ia, ib := order[a], order[b]
		if rem[ia] != rem[ib] {
			return rem[ia] > rem[ib]
		}
		return (ia+rotate)%n < (ib+rotate)%n
	})
	// The units left (fewer than the shards with a nonzero remainder) go
	// to the largest remainders; a zero weight has a zero remainder.
	for k := 0; given < q; k++ {
		out[order[k]]++
		given++
	}
	return out
}

// Weights returns the weights that split the lots of each snack among the
// shards, from each shard's preassigned demand per snack (demand: snack ->
// one count per shard): for shard i and a snack, 4*S*d_i + size_i, where d_i
// is the shard's demand for the snack, size_i its demand for all snacks and
// S the number of snacks in demand. That is the shard's demand plus a prior
// of a quarter of the average snack's demand, shared by shard size.
//
// The prior matters where stock is short: preassign counts first choices,
// and a snack that is few users' first choice (a shard may want none of it)
// is many users' second choice once the favourites run out, in every shard
// alike. Split by raw demand, such a snack's lots went to the one or two
// shards that happened to want it first, and the users of the others took
// worse snacks or stayed short (medium, stock x0.4, 16 shards: 0.6 % of the
// total score lost against one machine; see benchmarks/RESULTS.md).
// Weights is deterministic, and every shard and the merge compute the same.
func Weights(demand map[int64][]int64, count int) map[int64][]int64 {
	size := make([]int64, count)
	for _, d := range demand {
		for i := 0; i < count && i < len(d); i++ {
			size[i] += d[i]
		}
	}
	k := 4 * int64(len(demand))
	out := make(map[int64][]int64, len(demand))
	for id, d := range demand {
		w := make([]int64, count)
		for i := range w {
			if i < len(d) {
				w[i] = k * d[i]
			}
			w[i] += size[i]
		}
		out[id] = w
	}
	return out
}

// LotQuota returns, for the lots of a snapshot in FEFO order (lotSnack: the
// snack index of every lot, lots of a snack consecutive), the units of each
// lot that shard s may use: SplitLot of the lot's quantity by the shards'
// demand for its snack (demand(snack) returns one weight per shard), rotated
// by the lot's ordinal within its snack.
func LotQuota(lotSnack []int32, lotQty []int32, demand func(snack int32) []int64, s Spec) []int32 {
	out := make([]int32, len(lotQty))
	ordinal := 0
	for l := range lotQty {
		if l > 0 && lotSnack[l] == lotSnack[l-1] {
			ordinal++
		} else {
			ordinal = 0
		}
		w := demand(lotSnack[l])
		if len(w) != s.Count {
			w = make([]int64, s.Count)
		}
		out[l] = int32(SplitLot(int64(lotQty[l]), w, ordinal)[s.Index])
	}
	return out
}
