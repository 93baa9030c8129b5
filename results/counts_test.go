package results_test

import (
	"slices"
	"testing"

	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/results"
)

// TestCountDateAndTopShortages: a box below its size is short (an empty one
// too), and the top shortages are ordered by shortage, then snack_id.
func TestCountDateAndTopShortages(t *testing.T) {
	in := &engine.Inputs{SnackID: []int64{30, 10, 20, 40}, BoxSize: []int32{3, 2, 4}}
	res := &engine.Result{
		Inputs:  in,
		Dates:   []engine.DateBoxes{{Users: []int32{0, 1, 2}, Filled: []int32{3, 1, 0}}},
		Demand:  [][]int32{{5, 4, 4, 1}},
		Covered: [][]int32{{3, 2, 4, 1}},
	}
	c := results.CountDate(res, 0)
	want := results.DateCount{Users: 3, Boxes: 2, ShortBoxes: 2, Lines: 4, Demand: 14, Shortage: 4}
	if c != want {
		t.Errorf("CountDate = %+v, want %+v", c, want)
	}
	tot := []results.SnackTotals{{Shortage: 2}, {Shortage: 2}, {Shortage: 0}, {Shortage: 3}}
	if got := results.TopShortages(res, tot, 2); !slices.Equal(got, []int{3, 1}) {
		t.Errorf("TopShortages = %v, want [3 1] (largest, then the lower snack_id)", got)
	}
}
