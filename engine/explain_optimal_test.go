package engine_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/internal/spectest"
)

// TestExplainOptimal: explain of an optimal run names the price that
// steered a user away from the snack that ran short, and why the other user
// got it (the case optimal_scarce_snack: snack 1, one unit, price 0.4).
func TestExplainOptimal(t *testing.T) {
	snap, c := spectest.Build(t, "optimal_scarce_snack")
	db, err := duck.OpenSnapshot(context.Background(), snap, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d0 := engine.DayOf(c.Start)
	explain := func(user int64) *engine.Explanation {
		ex, err := engine.Explain(context.Background(), db, engine.ExplainOptions{
			UserID: user, Day: d0, From: d0, Mode: engine.Assign, Policy: c.Policy, Allocator: engine.Optimal,
		})
		if err != nil {
			t.Fatal(err)
		}
		if ex.DateStatus != "optimal" || ex.Allocator != engine.Optimal {
			t.Fatalf("user %d: date status %q, allocator %v", user, ex.DateStatus, ex.Allocator)
		}
		return ex
	}
	snack := func(ex *engine.Explanation, id int64) engine.SnackVerdict {
		for _, v := range ex.Snacks {
			if v.SnackID == id {
				return v
			}
		}
		t.Fatalf("snack %d missing", id)
		return engine.SnackVerdict{}
	}
	ex := explain(10)
	if len(ex.Box) != 1 || ex.Box[0].SnackID != 2 {
		t.Fatalf("user 10's box: %+v", ex.Box)
	}
	v := snack(ex, 1)
	if v.Price == nil || math.Abs(v.Price.Score-0.4) > 1e-12 || v.UnitsFrom != 1 || v.UnitsLeft != 0 ||
		!strings.Contains(v.Why, "ran short (price 0.4000)") || !strings.Contains(v.Why, "worth 0.5000 here after the price") {
		t.Fatalf("user 10, snack 1: price %+v, units %d/%d, why %q", v.Price, v.UnitsFrom, v.UnitsLeft, v.Why)
	}
	if v := snack(ex, 2); v.Position != 1 || v.Price != nil || !strings.Contains(v.Why, "in the box") {
		t.Fatalf("user 10, snack 2: %+v", v)
	}
	ex = explain(20)
	if len(ex.Box) != 1 || ex.Box[0].SnackID != 1 {
		t.Fatalf("user 20's box: %+v", ex.Box)
	}
	if v := snack(ex, 1); !strings.Contains(v.Why, "went to this user: worth 0.9000 here") {
		t.Fatalf("user 20, snack 1: why %q", v.Why)
	}
}
