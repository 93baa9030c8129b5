package plancmd

import (
	"strings"
	"testing"

	"github.com/assign-dev/assign/engine"
)

// TestCheckGapTolerance: --gap-tolerance is a percent between 0 and 1, set
// only with the optimal allocator.
func TestCheckGapTolerance(t *testing.T) {
	for _, tc := range []struct {
		pct   float64
		alloc engine.Allocator
		want  string
	}{
		{DefaultGapTolerancePct, engine.Greedy, ""},
		{DefaultGapTolerancePct, engine.Optimal, ""},
		{0, engine.Optimal, ""},
		{1, engine.Optimal, ""},
		{0.05, engine.Greedy, "--allocator optimal"},
		{-0.1, engine.Optimal, "between 0"},
		{1.5, engine.Optimal, "between 0"},
	} {
		err := CheckGapTolerance(tc.pct, tc.alloc)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v %v: error %v, want %q", tc.pct, tc.alloc, err, tc.want)
		}
	}
}
