package engine

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestNthElement: after nthElement(xs, k), xs[k] is the k-th smallest,
// everything before it smaller and everything after it larger, as a full
// sort would place them.
func TestNthElement(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	less := func(a, b *[2]int) bool { return a[0] < b[0] || (a[0] == b[0] && a[1] < b[1]) }
	for trial := 0; trial < 2000; trial++ {
		n := 1 + rng.IntN(60)
		xs := make([][2]int, n)
		for i := range xs {
			xs[i] = [2]int{rng.IntN(1 + n/3), i} // many ties in the first key
		}
		want := slices.Clone(xs)
		slices.SortFunc(want, func(a, b [2]int) int {
			if less(&a, &b) {
				return -1
			}
			return 1
		})
		k := rng.IntN(n)
		nthElement(xs, k, less)
		if xs[k] != want[k] {
			t.Fatalf("n %d k %d: xs[k] = %v, want %v", n, k, xs[k], want[k])
		}
		for i := range xs {
			if (i < k && !less(&xs[i], &xs[k])) || (i > k && !less(&xs[k], &xs[i])) {
				t.Fatalf("n %d k %d: %v at %d is on the wrong side of %v", n, k, xs[i], i, xs[k])
			}
		}
	}
}
