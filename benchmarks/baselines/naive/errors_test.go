package naive

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunErrors: bad inputs give one sentence naming the fault, not a panic.
func TestRunErrors(t *testing.T) {
	good := buildSnapshot(t, `INSERT INTO snacks VALUES (1,'a','A','2020-01-01',true)`)
	badUser := buildSnapshot(t, `INSERT INTO users VALUES (1,'active',1,0,'2026-01-10')`)
	start := mustDay(t, d0)
	withPolicy := func(f func(*Policy)) Policy { p := DefaultPolicy(); f(&p); return p }
	cases := []struct {
		name string
		opt  Options
		want string
	}{
		{"unknown mode", Options{Snapshot: good, Start: start, Days: 1, Mode: "explain", Policy: DefaultPolicy()}, `mode "explain" is unknown`},
		{"no days", Options{Snapshot: good, Start: start, Days: 0, Mode: Preassign, Policy: DefaultPolicy()}, "days is 0"},
		{"prior weight", Options{Snapshot: good, Start: start, Days: 1, Mode: Preassign, Policy: withPolicy(func(p *Policy) { p.PriorWeight = 0 })}, "prior_weight is 0"},
		{"missing file", Options{Snapshot: filepath.Join(t.TempDir(), "nope.duckdb"), Start: start, Days: 1, Mode: Preassign, Policy: DefaultPolicy()}, "open snapshot"},
		{"cadence 0", Options{Snapshot: badUser, Start: start, Days: 1, Mode: RunMode, Policy: DefaultPolicy()}, "user 1 has cadence_days 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Run(context.Background(), c.opt)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
}
