package sqlonly

import (
	"context"
	"testing"

	"github.com/assign-dev/assign/internal/spectest"
)

// TestCases runs the SPEC case suite (internal/spectest/testdata/cases)
// against this baseline, which implements preassign only.
func TestCases(t *testing.T) {
	spectest.Run(t, spectest.Impl{
		Name:   "sqlonly",
		Modes:  []string{spectest.Preassign},
		Tables: []string{"boxes", "demand", "snack_summary", "short_boxes"},
		Run: func(ctx context.Context, snapshot string, c spectest.Case, out string) error {
			_, err := Run(ctx, Options{Snapshot: snapshot, Start: c.Start, Days: c.Days, OutDir: out, Policy: c.Policy, Threads: c.Threads})
			return err
		},
	})
}
