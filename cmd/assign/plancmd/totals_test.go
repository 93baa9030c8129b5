package plancmd

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/assign-dev/assign/engine"
)

// TestAssignedTotals: the box lines' count and score sum are the same at
// any number of goroutines, and the sum is the exact one rounded (within
// an ulp or two), where a plain running sum over the same lines drifts.
func TestAssignedTotals(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	res := &engine.Result{Dates: make([]engine.DateBoxes, 9)}
	exact := new(big.Float).SetPrec(2000)
	var naive float64
	var lines int64
	for d := range res.Dates {
		b := &res.Dates[d]
		n := 3000 + rng.IntN(2000)
		if d == 4 {
			n = 0 // a date without boxes
		}
		b.Users = make([]int32, n)
		b.Slot = make([]int32, n+1)
		b.Filled = make([]int32, n)
		for i := range n {
			size := int32(6 + rng.IntN(5))
			b.Slot[i+1] = b.Slot[i] + size
			b.Filled[i] = size - int32(rng.IntN(3)) // some short boxes
		}
		b.Score = make([]float64, b.Slot[n])
		for i := range n {
			for j := b.Slot[i]; j < b.Slot[i]+b.Filled[i]; j++ {
				v := rng.Float64()*10 - 1 + 1e-7*rng.Float64()
				b.Score[j] = v
				exact.Add(exact, new(big.Float).SetFloat64(v))
				naive += v
				lines++
			}
			for j := b.Slot[i] + b.Filled[i]; j < b.Slot[i+1]; j++ {
				b.Score[j] = 1e9 // past Filled: not a line
			}
		}
	}
	want, _ := exact.Float64()
	if math.Abs(naive-want) <= 2*ulp(want) {
		t.Fatalf("a plain sum is exact here (%.17g): the test shows nothing", naive)
	}
	for _, threads := range []int{1, 2, 3, 0} {
		units, score := assignedTotals(res, threads)
		if units != lines {
			t.Fatalf("threads %d: %d lines, want %d", threads, units, lines)
		}
		if d := math.Abs(score - want); d > 2*ulp(want) {
			t.Fatalf("threads %d: sum %.17g, exact %.17g (off by %.3g; a plain sum is off by %.3g)", threads, score, want, d, math.Abs(naive-want))
		}
		if _, first := assignedTotals(res, 1); score != first {
			t.Fatalf("threads %d: sum %.17g, at 1 thread %.17g", threads, score, first)
		}
	}
}

func ulp(x float64) float64 { return math.Nextafter(x, math.Inf(1)) - x }
