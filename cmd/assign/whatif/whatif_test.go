package whatif_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/cmd/assign/root"
	"github.com/assign-dev/assign/internal/testhome"
	"github.com/assign-dev/assign/rundiff"
)

// The whatif and diff commands end to end, in process, on a small home.
func TestWhatifAndDiff(t *testing.T) {
	homeDir := filepath.Join(t.TempDir(), "home")
	at := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	h, _, err := testhome.OpenSmall(context.Background(), homeDir, at)
	if err != nil {
		t.Fatal(err)
	}
	tick := 0
	run := func(args ...string) (string, string, int) {
		ios, _, out, errOut := cmdutil.Test()
		f := cmdutil.New(ios)
		f.HomeDir = func() string { return homeDir }
		tick++
		now := at.Add(time.Duration(tick) * time.Minute)
		f.Now = func() time.Time { return now }
		code := root.MainWith(f, args)
		return out.String(), errOut.String(), code
	}

	if _, stderr, code := run("whatif", "--add", "1=5"); code == 0 || !strings.Contains(stderr, "home has none yet") {
		t.Errorf("whatif without a run: exit %d, %s", code, stderr)
	}
	if out, stderr, code := run("preassign", "--date", "2026-03-02", "--days", "7"); code != 0 {
		t.Fatalf("preassign: %s %s", out, stderr)
	}
	base, _ := h.FindRun("")

	// Usage mistakes are exit 2 and run nothing.
	for _, args := range [][]string{
		{"whatif", "--add", "12=x"},
		{"whatif", "--scale", "chips"},
		{"whatif", "--lot", "12=5"},
		{"whatif", "--mode", "optimal"},
		{"whatif", "--add", "99999999=5"},
		{"whatif", "--scale", "caviar=2"},
		{"whatif", "--max-per-category", "99"},
		{"diff", "latest", "latest", "--format", "csv"},
	} {
		if _, stderr, code := run(args...); code != cmdutil.ExitUsage {
			t.Errorf("%v: exit %d, want 2: %s", args, code, stderr)
		}
	}
	if runs, _ := h.ListRuns(); len(runs) != 1 {
		t.Errorf("refused scenarios left runs: %v", runs)
	}

	out, stderr, code := run("whatif", "--max-per-category", "1", "--format", "json")
	if code != 0 {
		t.Fatalf("whatif: %s", stderr)
	}
	var d rundiff.Diff
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("whatif --format json: %v\n%s", err, out)
	}
	if d.A.ID != base.ID || d.B.Scenario == nil || d.BoxesChanged == 0 || d.UsersChanged == 0 {
		t.Errorf("scenario diff: base %s scenario %+v, %d boxes changed", d.A.ID, d.B.Scenario, d.BoxesChanged)
	}
	if latest, _ := h.FindRun(""); latest.ID != base.ID {
		t.Errorf("the scenario became latest: %s", latest.ID)
	}

	// diff shows the same comparison; the table names both runs.
	out, stderr, code = run("diff", base.ID, d.B.ID)
	if code != 0 || !strings.Contains(out, "B is a what-if scenario of "+base.ID) || !strings.Contains(out, "Boxes that changed:") {
		t.Errorf("diff table: exit %d\n%s\n%s", code, out, stderr)
	}
	out, _, code = run("diff", base.ID, d.B.ID, "--format", "csv", "--show", "summary")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(recs) != 1+len(rundiff.Metrics) || strings.Join(recs[0], ",") != "metric,a,b,delta" {
		t.Errorf("diff csv: exit %d, %v\n%s", code, err, out)
	}
	out, _, _ = run("diff", base.ID, d.B.ID, "--format", "csv", "--show", "boxes")
	recs, _ = csv.NewReader(strings.NewReader(out)).ReadAll()
	if int64(len(recs)-1) != d.BoxesChanged {
		t.Errorf("diff csv boxes: %d rows, want every changed box (%d)", len(recs)-1, d.BoxesChanged)
	}
	// A run against itself: nothing changed.
	out, _, code = run("diff", "latest", base.ID)
	if code != 0 || !strings.Contains(out, "No box changed.") || !strings.Contains(out, "No snack's units") {
		t.Errorf("diff of a run with itself:\n%s", out)
	}
}
