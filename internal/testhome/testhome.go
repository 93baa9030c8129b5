// Package testhome builds data homes holding small generated snapshots for
// the tests of the commands and libraries that read them (query, report).
// It writes the typed schema of sql/schema.sql and fills it with a seeded
// SQL generator, the same way a load would leave a snapshot, without
// depending on the loader.
package testhome

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	queries "github.com/assign-dev/assign/sql"
	"github.com/assign-dev/assign/store"
)

//go:embed extract.sql
var extractSQL string

// Size sets the scale of a generated snapshot.
type Size struct {
	Users  int
	Snacks int
	Seed   int
	// Derived adds the derived rating tables a load writes (latest_ratings,
	// ...); without them readers fall back to computing them.
	Derived bool
}

// Small is a snapshot that runs a two-week preassign in well under a second.
var Small = Size{Users: 2000, Snacks: 60, Seed: 7, Derived: true}

// WriteSnapshot writes a complete snapshot of the given size into home as a
// pending snapshot and commits it; makeCurrent switches CURRENT to it. It
// returns the snapshot's name.
func WriteSnapshot(ctx context.Context, home *store.Home, sz Size, at time.Time, makeCurrent bool) (string, error) {
	p, err := home.NewPendingSnapshot(at)
	if err != nil {
		return "", err
	}
	if err := Fill(ctx, p.Path, sz); err != nil {
		p.Abort()
		return "", err
	}
	if err := p.Commit(makeCurrent); err != nil {
		p.Abort()
		return "", err
	}
	return p.Name, nil
}

// OpenSmall opens (or creates) the home at dir and writes a Small snapshot
// into it as the current one, created at at; it returns the home and the
// snapshot's name.
func OpenSmall(ctx context.Context, dir string, at time.Time) (*store.Home, string, error) {
	h, err := store.Open(dir)
	if err != nil {
		return nil, "", err
	}
	name, err := WriteSnapshot(ctx, h, Small, at, true)
	if err != nil {
		return nil, "", err
	}
	return h, name, nil
}

// Fill creates the schema in the database file at path and fills it.
func Fill(ctx context.Context, path string, sz Size) error {
	db, err := duck.OpenFile(ctx, path, duck.Options{Threads: 2})
	if err != nil {
		return err
	}
	if _, err := db.Exec(ctx, queries.Get("schema")); err != nil {
		db.Close()
		return fmt.Errorf("create schema: %w", err)
	}
	r := strings.NewReplacer(":users", fmt.Sprint(sz.Users), ":snacks", fmt.Sprint(sz.Snacks), ":seed", fmt.Sprint(sz.Seed))
	if _, err := db.Exec(ctx, r.Replace(extractSQL)); err != nil {
		db.Close()
		return fmt.Errorf("generate extract: %w", duck.Clean(err))
	}
	if sz.Derived {
		if err := engine.DeriveTables(ctx, db); err != nil {
			db.Close()
			return err
		}
	}
	if _, err := db.Exec(ctx, "CHECKPOINT"); err != nil {
		db.Close()
		return fmt.Errorf("checkpoint: %w", err)
	}
	return db.Close()
}

// D0 is the first ship date the generated extracts are built around.
var D0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// Preassign runs a preassign of days from D0 on the current snapshot of
// home and returns the run folder.
func Preassign(ctx context.Context, home *store.Home, days int, at time.Time) (string, error) {
	out, err := plan.Execute(ctx, home, plan.Request{
		Mode: engine.Preassign, D0: engine.DayOf(D0), Days: days, Policy: policy.Default(), Threads: 2,
		Now: func() time.Time { return at }, Version: "test",
	})
	if err != nil {
		return "", err
	}
	return out.RunDir, nil
}
