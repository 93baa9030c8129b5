package engine_test

import (
	"context"
	"testing"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/internal/spectest"
	"github.com/assign-dev/assign/results"
)

// TestCases runs the SPEC case suite (internal/spectest/testdata/cases)
// against the engine, the reference implementation: `go test ./engine -run
// TestCases -update` rewrites the cases' want/ sections from its output.
func TestCases(t *testing.T) {
	spectest.Run(t, spectest.Impl{
		Name:      "engine",
		Reference: true,
		Modes:     []string{spectest.Preassign, spectest.RunMode},
		Tables:    []string{"boxes", "demand", "snack_summary", "short_boxes", "picks"},
		Run: func(ctx context.Context, snapshot string, c spectest.Case, out string) error {
			db, err := duck.OpenSnapshot(ctx, snapshot, duck.Options{Threads: 2})
			if err != nil {
				return err
			}
			defer db.Close()
			in, err := engine.LoadInputs(ctx, db, engine.LoadOptions{D0: engine.DayOf(c.Start), Days: c.Days, Policy: c.Policy})
			if err != nil {
				return err
			}
			mode := engine.Preassign
			if c.Mode == spectest.RunMode {
				mode = engine.Assign
			}
			res, err := engine.Run(ctx, in, engine.Options{Policy: c.Policy, Mode: mode, Threads: c.Threads})
			if err != nil {
				return err
			}
			_, err = results.Write(ctx, db, results.Tables(res), out, results.FormatCSV)
			return err
		},
	})
}
