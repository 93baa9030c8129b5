package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/internal/spectest"
	"github.com/assign-dev/assign/results"
)

// TestCases runs the SPEC case suite (internal/spectest/testdata/cases)
// against the engine, the reference implementation: `go test ./engine -run
// TestCases -update` rewrites the cases' want/ sections from its output.
// Cases with `allocator optimal` also pin the certificate
// (want/certificate.txt, see writeCertificate).
func TestCases(t *testing.T) {
	spectest.Run(t, spectest.Impl{
		Name:       "engine",
		Reference:  true,
		Modes:      []string{spectest.Preassign, spectest.RunMode},
		Allocators: []string{"optimal"},
		Tables:     []string{"boxes", "demand", "snack_summary", "short_boxes", "picks", "certificate.txt"},
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
			alloc := engine.Greedy
			switch c.Allocator {
			case spectest.Greedy:
			case "optimal":
				alloc = engine.Optimal
			default:
				return fmt.Errorf("unknown allocator %q", c.Allocator)
			}
			res, err := engine.Run(ctx, in, engine.Options{Policy: c.Policy, Mode: mode, Threads: c.Threads, Allocator: alloc})
			if err != nil {
				return err
			}
			if _, err = results.Write(ctx, db, results.Tables(res), out, results.FormatCSV); err != nil {
				return err
			}
			if res.Optimal != nil {
				return os.WriteFile(filepath.Join(out, "certificate.txt"), []byte(certificateText(res)), 0o644)
			}
			return nil
		},
	})
}

// certificateText renders the optimal allocator's report: the plan kept,
// then per date its status, the plan's value and the bound level by level
// (filled, requested, over the cap, score to 9 decimals) and the priced
// snacks (price levels and units), so a case can pin the certificate.
func certificateText(res *engine.Result) string {
	r := res.Optimal
	var b strings.Builder
	fmt.Fprintf(&b, "chosen %s %s\n", r.Chosen, r.Reason)
	fmt.Fprintf(&b, "greedy score %.9f short_boxes %d short_units %d\n", r.GreedyScore, r.GreedyShortBoxes, r.GreedyShortUnits)
	for _, c := range r.Dates {
		fmt.Fprintf(&b, "%s %s certified=%v\n", c.Day, c.Status, c.Certified)
		fmt.Fprintf(&b, "  plan  filled %d requested %d over %d score %.9f\n", c.Achieved.Filled, c.Achieved.Requested, c.Achieved.OverCap, c.Achieved.Score)
		fmt.Fprintf(&b, "  bound filled %d requested %d over %d score %.9f\n", c.Bound.Filled, c.Bound.Requested, c.Bound.OverCap, c.Bound.Score)
		for _, p := range c.Prices {
			fmt.Fprintf(&b, "  price snack %d filled %d requested %d over %d score %.9f units %d\n", p.SnackID, p.Filled, p.Requested, p.OverCap, p.Score, p.Units)
		}
	}
	return b.String()
}
