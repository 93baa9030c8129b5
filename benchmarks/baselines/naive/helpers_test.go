package naive

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assign-dev/assign/duck"
	queries "github.com/assign-dev/assign/sql"
)

// d0 is the first ship date of every test horizon.
const d0 = "2026-01-10"

// buildSnapshot writes a fresh snapshot file with sql/schema.sql and the
// given statements (small multi-row INSERTs written by hand).
func buildSnapshot(t *testing.T, stmts ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "snap.duckdb")
	ctx := context.Background()
	db, err := duck.OpenFile(ctx, path, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, queries.Get("schema")); err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := db.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return path
}

func mustDay(t *testing.T, s string) Day {
	t.Helper()
	d, err := ParseDay(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// runCase runs the baseline on a fresh snapshot.
func runCase(t *testing.T, mode Mode, days int, p Policy, stmts ...string) *Result {
	t.Helper()
	res, err := Run(context.Background(), Options{
		Snapshot: buildSnapshot(t, stmts...), Start: mustDay(t, d0), Days: days, Mode: mode, Policy: p, Threads: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// boxLines renders the boxes compactly, one string per (ship_on, user):
// "2026-01-10 u1: 6* 5 3@L2" where * marks a requested line and @ the lot.
func boxLines(res *Result) []string {
	var out []string
	var cur string
	for i, b := range res.Boxes {
		head := fmt.Sprintf("%s u%d:", b.ShipOn, b.UserID)
		if i == 0 || head != strings.SplitAfter(cur, ":")[0] {
			if cur != "" {
				out = append(out, cur)
			}
			cur = head
		}
		cur += fmt.Sprintf(" %d", b.SnackID)
		if b.Requested {
			cur += "*"
		}
		if b.LotID.Valid {
			cur += "@" + b.LotID.String
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

func equalLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
