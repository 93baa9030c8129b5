package synth_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/shard"
	"github.com/assign-dev/assign/store"
	"github.com/assign-dev/assign/synth"
)

// TestLoadWritesASidecarThatPlansAsSQL generates an extract, loads it (the
// load writes the engine sidecar beside the snapshot), and plans it for
// several policies, horizons, a shard and one user with the inputs read
// through the sidecar and through SQL: the boxes, demand and lots are the
// same. A sidecar removed or left by another load is not read.
func TestLoadWritesASidecarThatPlansAsSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("generates, loads and plans an extract")
	}
	ctx := context.Background()
	home, res, dir := loadSmall(t, 5)
	side := store.SidecarPath(res.Path)
	if _, err := os.Stat(side); err != nil {
		t.Fatalf("the load wrote no sidecar: %v", err)
	}
	db, err := duck.OpenSnapshot(ctx, res.Path, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d0 := engine.DayOf(synth.DefaultAsOf)
	pol := func(window, never int) policy.Policy {
		p := policy.Default()
		p.RepeatWindowDays, p.NeverAgainRating = window, never
		return p
	}
	plan := func(t *testing.T, opt engine.LoadOptions, mode engine.Mode, wantSidecar bool) (*engine.Result, *engine.Inputs) {
		t.Helper()
		var buf bytes.Buffer
		opt.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		in, err := engine.LoadInputs(ctx, db, opt)
		if err != nil {
			t.Fatal(err)
		}
		if used := strings.Contains(buf.String(), "query=sidecar"); used != wantSidecar {
			t.Fatalf("sidecar used = %v, want %v:\n%s", used, wantSidecar, buf.String())
		}
		r, err := engine.Run(ctx, in, engine.Options{Policy: opt.Policy, Mode: mode, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		r.Inputs, r.Timings = nil, nil
		return r, in
	}
	same := func(t *testing.T, opt engine.LoadOptions, mode engine.Mode, wantSidecar bool) {
		t.Helper()
		o := opt
		o.NoSidecar = true
		a, ina := plan(t, o, mode, false)
		b, inb := plan(t, opt, mode, wantSidecar)
		if ina.NumDeliveries() != inb.NumDeliveries() || len(ina.BadSnack) != len(inb.BadSnack) || len(ina.AffCat) != len(inb.AffCat) ||
			len(ina.NGTag) != len(inb.NGTag) || len(ina.PrefCat) != len(inb.PrefCat) {
			t.Fatalf("input sizes differ: deliveries %d vs %d, never-again %d vs %d, affinities %d vs %d, NG tags %d vs %d, preferences %d vs %d",
				ina.NumDeliveries(), inb.NumDeliveries(), len(ina.BadSnack), len(inb.BadSnack), len(ina.AffCat), len(inb.AffCat),
				len(ina.NGTag), len(inb.NGTag), len(ina.PrefCat), len(inb.PrefCat))
		}
		if ina.NumUsers() == 0 || len(ina.DelDay) == 0 && opt.Policy.RepeatWindowDays > 0 {
			t.Fatal("nothing planned: the case tests nothing")
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatal("the plans differ")
		}
	}
	for _, c := range []struct {
		name string
		opt  engine.LoadOptions
		mode engine.Mode
	}{
		{"preassign 28", engine.LoadOptions{D0: d0, Days: 28, Policy: policy.Default()}, engine.Preassign},
		{"run 14", engine.LoadOptions{D0: d0, Days: 14, Policy: policy.Default()}, engine.Assign},
		{"window 30, never 4", engine.LoadOptions{D0: d0 + 3, Days: 10, Policy: pol(30, 4)}, engine.Preassign},
		{"window 400, never 1", engine.LoadOptions{D0: d0, Days: 21, Policy: pol(400, 1)}, engine.Assign},
		{"window 0, never 0", engine.LoadOptions{D0: d0 + 1, Days: 7, Policy: pol(0, 0)}, engine.Preassign},
		{"shard 2/4", engine.LoadOptions{D0: d0, Days: 28, Policy: policy.Default(), Shard: shard.Spec{Index: 2, Count: 4}}, engine.Preassign},
	} {
		t.Run(c.name, func(t *testing.T) { same(t, c.opt, c.mode, true) })
	}
	var uid int64
	if err := db.QueryRow(ctx, "SELECT min(user_id) FROM deliveries WHERE shipped_on > DATE '2025-12-01'").Scan(&uid); err != nil {
		t.Fatal(err)
	}
	t.Run("one user", func(t *testing.T) {
		same(t, engine.LoadOptions{D0: d0, Days: 28, Policy: policy.Default(), UserID: uid, OnlyUser: true}, engine.Preassign, true)
	})

	// A sidecar of another load (stale) and a missing one are not read.
	good, err := os.ReadFile(side)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := loaders.Load(ctx, loaders.Options{Dir: dir, Home: home, Threads: 2, Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(store.SidecarPath(res2.Path), good, 0o644); err != nil {
		t.Fatal(err)
	}
	db2, err := duck.OpenSnapshot(ctx, res2.Path, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	db = db2
	t.Run("stale", func(t *testing.T) {
		same(t, engine.LoadOptions{D0: d0, Days: 14, Policy: policy.Default()}, engine.Preassign, false)
	})
	if err := os.Remove(store.SidecarPath(res2.Path)); err != nil {
		t.Fatal(err)
	}
	t.Run("missing", func(t *testing.T) {
		same(t, engine.LoadOptions{D0: d0, Days: 14, Policy: policy.Default()}, engine.Preassign, false)
	})
}
