package plan_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/results"
	"github.com/assign-dev/assign/store"
	"github.com/assign-dev/assign/synth"
)

// loadTiny generates the tiny extract and loads it into a new home through
// the real loader, which writes the snapshot's engine sidecar.
func loadTiny(t *testing.T, seed int64) (*store.Home, string) {
	t.Helper()
	ctx := context.Background()
	h, err := store.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := synth.LookupScale("tiny")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "extract")
	if _, err := synth.Generate(ctx, synth.Options{Scale: sc, Seed: seed, Format: synth.FormatParquet, OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := loaders.Load(ctx, loaders.Options{Dir: dir, Home: h}); err != nil {
		t.Fatal(err)
	}
	_, path, err := h.Resolve("")
	if err != nil {
		t.Fatal(err)
	}
	return h, store.SidecarPath(path)
}

// TestSidecarRebuilt: a planning job that finds the snapshot's engine
// sidecar missing, damaged or stale plans through SQL with the same
// results, then writes the sidecar again, byte for byte the one the load
// wrote, and the next job reads it.
func TestSidecarRebuilt(t *testing.T) {
	ctx := context.Background()
	home, sidecar := loadTiny(t, 11)
	want, err := os.ReadFile(sidecar)
	if err != nil {
		t.Fatal(err)
	}
	_, other := loadTiny(t, 11) // the same extract, another load: another load id
	stale, err := os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(stale, want) {
		t.Fatal("two loads wrote the same sidecar: the stale case would test nothing")
	}

	tmp := t.TempDir()
	job := func(name string) (outDir, log string) {
		t.Helper()
		var buf bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		outDir = filepath.Join(tmp, name)
		at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
		if _, err := plan.Execute(ctx, home, plan.Request{Mode: engine.Assign, D0: engine.DayOf(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)), Days: 14,
			Policy: policy.Default(), Threads: 2, OutDir: outDir, OutFormat: results.FormatCSV, NoSave: true,
			Now: func() time.Time { return at }, Version: "test", Logger: logger}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return outDir, buf.String()
	}
	readSidecar := func(log string) bool { return strings.Contains(log, "query=sidecar") }

	base, log := job("base")
	if !readSidecar(log) {
		t.Fatalf("the loaded snapshot's sidecar was not read:\n%s", log)
	}
	damaged := append([]byte(nil), want...)
	damaged[64<<10+8] ^= 0x40 // the second user's id, in the block after the header's

	for _, tc := range []struct {
		name    string
		prepare func() error
		logs    string
	}{
		{"missing", func() error { return os.Remove(sidecar) }, "no engine sidecar"},
		{"damaged", func() error { return os.WriteFile(sidecar, damaged, 0o644) }, "engine sidecar damaged"},
		{"stale", func() error { return os.WriteFile(sidecar, stale, 0o644) }, "engine sidecar is stale"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.prepare(); err != nil {
				t.Fatal(err)
			}
			out, log := job(tc.name)
			if readSidecar(log) || !strings.Contains(log, tc.logs) || !strings.Contains(log, "engine sidecar rebuilt") {
				t.Fatalf("want the job to say %q, plan through SQL and rebuild the sidecar; it logged:\n%s", tc.logs, log)
			}
			sameTables(t, base, out)
			got, err := os.ReadFile(sidecar)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("the rebuilt sidecar (%d bytes) differs from the load's (%d bytes)", len(got), len(want))
			}
			out, log = job(tc.name + "-after")
			if !readSidecar(log) || strings.Contains(log, "rebuilt") {
				t.Fatalf("the job after the rebuild did not read the sidecar:\n%s", log)
			}
			sameTables(t, base, out)
		})
	}
}

// sameTables fails unless two --out folders hold the same tables.
func sameTables(t *testing.T, a, b string) {
	t.Helper()
	entries, err := os.ReadDir(a)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".csv" {
			sameFile(t, filepath.Join(a, e.Name()), filepath.Join(b, e.Name()))
			n++
		}
	}
	if n == 0 {
		t.Fatalf("%s holds no table", a)
	}
}
