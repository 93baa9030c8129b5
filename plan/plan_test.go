package plan_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/internal/testhome"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/results"
	"github.com/assign-dev/assign/store"
)

func sameFile(t *testing.T, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(x) == 0 || !bytes.Equal(x, y) {
		t.Errorf("%s (%d bytes) and %s (%d bytes) differ", a, len(x), b, len(y))
	}
}

// TestOutFolderBesideTheRun: with --out, Parquet tables are the run
// folder's files copied, and CSV tables (written while the run folder's
// Parquet is) are the same as when written alone.
func TestOutFolderBesideTheRun(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	home, _, err := testhome.OpenSmall(ctx, t.TempDir(), at)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	exec := func(out, format string, noSave bool) *plan.Outcome {
		t.Helper()
		o, err := plan.Execute(ctx, home, plan.Request{Mode: engine.Assign, D0: engine.DayOf(testhome.D0), Days: 14,
			Policy: policy.Default(), Threads: 2, OutDir: out, OutFormat: format, NoSave: noSave,
			Now: func() time.Time { return at }, Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}

	pq := exec(filepath.Join(tmp, "pq"), results.FormatParquet, false)
	if len(pq.Manifest.Files) != 5 {
		t.Fatalf("run files %v, want the five tables of a run", pq.Manifest.Files)
	}
	for _, f := range pq.Manifest.Files {
		sameFile(t, filepath.Join(pq.RunDir, f.File), filepath.Join(tmp, "pq", f.File))
	}
	if _, err := os.Stat(filepath.Join(tmp, "pq", store.ManifestFile)); err != nil {
		t.Error(err)
	}

	both := exec(filepath.Join(tmp, "csv"), results.FormatCSV, false)
	alone := exec(filepath.Join(tmp, "alone"), results.FormatCSV, true)
	for _, f := range alone.Manifest.Files {
		sameFile(t, filepath.Join(tmp, "alone", f.File), filepath.Join(tmp, "csv", f.File))
	}
	for _, f := range both.Manifest.Files {
		if filepath.Ext(f.File) != ".parquet" {
			t.Errorf("run folder file %s, want Parquet", f.File)
		}
		if _, err := os.Stat(filepath.Join(both.RunDir, f.File)); err != nil {
			t.Error(err)
		}
	}
}
