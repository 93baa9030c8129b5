package shard

import (
	"math/rand/v2"
	"testing"
)

func TestSplitLot(t *testing.T) {
	cases := []struct {
		q      int64
		w      []int64
		rotate int
		want   []int64
	}{
		{10, []int64{1, 1}, 0, []int64{5, 5}},
		{11, []int64{1, 1}, 0, []int64{6, 5}},
		{11, []int64{1, 1}, 1, []int64{5, 6}}, // the tie goes round
		{7, []int64{3, 0, 1}, 0, []int64{5, 0, 2}},
		{5, []int64{0, 0, 0}, 0, []int64{2, 2, 1}}, // no demand: even split
		{5, []int64{0, 0, 0}, 2, []int64{1, 2, 2}},
		{0, []int64{4, 5}, 0, []int64{0, 0}},
		{100, []int64{1}, 0, []int64{100}},
		{3, []int64{1000, 1, 1}, 0, []int64{3, 0, 0}},
	}
	for _, c := range cases {
		got := SplitLot(c.q, c.w, c.rotate)
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("SplitLot(%d, %v, %d) = %v, want %v", c.q, c.w, c.rotate, got, c.want)
				break
			}
		}
	}
}

// TestSplitLotProperties: random splits sum to the lot, give nothing to a
// shard without demand (unless none has any), and stay within one unit of
// the exact proportion.
func TestSplitLotProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 20000; trial++ {
		n := 1 + r.IntN(16)
		w := make([]int64, n)
		var total int64
		for i := range w {
			if r.IntN(4) > 0 {
				w[i] = r.Int64N(1_000_000)
			}
			total += w[i]
		}
		q := r.Int64N(1 << 31)
		got := SplitLot(q, w, r.IntN(10))
		var sum int64
		for i, g := range got {
			sum += g
			if total > 0 {
				exact := float64(q) * float64(w[i]) / float64(total)
				if float64(g) < exact-1 || float64(g) > exact+1 {
					t.Fatalf("SplitLot(%d, %v): shard %d gets %d, exact share %.1f", q, w, i, g, exact)
				}
				if w[i] == 0 && g != 0 {
					t.Fatalf("SplitLot(%d, %v): shard %d without demand gets %d", q, w, i, g)
				}
			}
		}
		if sum != q {
			t.Fatalf("SplitLot(%d, %v) sums to %d", q, w, sum)
		}
	}
}

func TestLotQuota(t *testing.T) {
	lotSnack := []int32{0, 0, 1, 2, 2, 2}
	lotQty := []int32{10, 3, 7, 1, 1, 1}
	demand := func(s int32) []int64 { return [][]int64{{1, 1}, {0, 5}, {2, 1}}[s] }
	var sum [6]int32
	for i := 0; i < 2; i++ {
		q := LotQuota(lotSnack, lotQty, demand, Spec{Index: i, Count: 2})
		for l := range q {
			sum[l] += q[l]
		}
		if i == 1 && q[2] != 7 {
			t.Errorf("snack 1 is wanted by shard 1 only, which gets %d of 7", q[2])
		}
	}
	for l := range lotQty {
		if sum[l] != lotQty[l] {
			t.Errorf("lot %d: shards get %d of %d units", l, sum[l], lotQty[l])
		}
	}
}

// TestWeights: a snack one shard does not want still gets a share by shard
// size, the shards' demand still leads, and one shard takes every lot whole.
func TestWeights(t *testing.T) {
	demand := map[int64][]int64{
		1: {90, 110}, // a favourite
		2: {0, 4},    // few first choices, all in shard 1
		3: {10, 6},
	}
	w := Weights(demand, 2)
	// sizes 100 and 120; k = 4*3 = 12
	want := map[int64][]int64{1: {1180, 1440}, 2: {100, 168}, 3: {220, 192}}
	for id, ws := range want {
		for i := range ws {
			if w[id][i] != ws[i] {
				t.Errorf("snack %d: weights %v, want %v", id, w[id], ws)
				break
			}
		}
	}
	if got := SplitLot(10, w[2], 0); got[0] == 0 {
		t.Errorf("snack 2's lot of 10 split %v: shard 0 wants none first, but its users take it once their favourites run out", got)
	}
	one := Weights(map[int64][]int64{7: {5}, 8: {0}}, 1)
	if got := SplitLot(9, one[8], 0); got[0] != 9 {
		t.Errorf("one shard gets %v of a lot of 9", got)
	}
}
