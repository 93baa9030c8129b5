package results_test

import (
	"context"
	"testing"
	"time"

	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/internal/testhome"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
)

// smallPlan plans 14 days of testhome's small snapshot in mode, in a home
// of its own, and returns the engine's result (nothing is saved).
func smallPlan(t *testing.T, mode engine.Mode) *engine.Result {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	home, _, err := testhome.OpenSmall(ctx, t.TempDir(), at)
	if err != nil {
		t.Fatal(err)
	}
	out, err := plan.Execute(ctx, home, plan.Request{Mode: mode, D0: engine.DayOf(testhome.D0), Days: 14,
		Policy: policy.Default(), Threads: 2, Now: func() time.Time { return at }, Version: "test", NoSave: true})
	if err != nil {
		t.Fatal(err)
	}
	return out.Result
}
