package reliability

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
)

// listDir lists the entries of a folder, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// TestOutNeverMixesRuns: reusing --out used to leave the tables of the
// earlier run beside the new ones (preassign csv over a run's csv kept its
// picks.csv; csv beside the parquet of another run), and 'assign check
// DIR' then reported thousands of false violations. Now a folder assign
// wrote is replaced whole, and a folder holding anything else is refused,
// naming what is there. The same holds for a report's dated folder.
func TestOutNeverMixesRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs several plans")
	}
	home := filepath.Join(t.TempDir(), "home")
	mustAssign(t, home, "load", tinyExtract(t, 1))
	work := t.TempDir()
	out := filepath.Join(work, "out")
	dates := []string{"--date", "2026-03-02", "--days", "7"}
	modeOf := func() string {
		var m struct {
			Mode string `json:"mode"`
		}
		b, _ := os.ReadFile(filepath.Join(out, "manifest.json"))
		json.Unmarshal(b, &m)
		return m.Mode
	}

	mustAssign(t, home, append([]string{"run", "--out", out, "--format", "csv"}, dates...)...)
	if got := listDir(t, out); !slices.Contains(got, "picks.csv") {
		t.Fatalf("run --out wrote %v", got)
	}
	for _, step := range []struct {
		args []string
		want []string
	}{
		{[]string{"preassign", "--out", out, "--format", "csv"}, []string{"boxes.csv", "demand.csv", "manifest.json", "short_boxes.csv", "snack_summary.csv"}},
		{[]string{"preassign", "--out", out}, []string{"boxes.parquet", "demand.parquet", "manifest.json", "short_boxes.parquet", "snack_summary.parquet"}},
		{[]string{"run", "--out", out}, []string{"boxes.parquet", "demand.parquet", "manifest.json", "picks.parquet", "short_boxes.parquet", "snack_summary.parquet"}},
	} {
		mustAssign(t, home, append(step.args, dates...)...)
		if got := listDir(t, out); !slices.Equal(got, step.want) {
			t.Errorf("%s: the folder holds %v, want %v", strings.Join(step.args, " "), got, step.want)
		}
		if modeOf() != step.args[0] {
			t.Errorf("%s: the manifest says mode %q", strings.Join(step.args, " "), modeOf())
		}
		if r := assign(t, home, "check", out); r.code != 0 {
			t.Errorf("check after %s: exit %d\n%s%s", strings.Join(step.args, " "), r.code, r.out, r.errOut)
		}
	}
	if left := listDir(t, work); !slices.Equal(left, []string{"out"}) {
		t.Errorf("beside the output folder: %v", left)
	}

	// A folder assign did not write, or one it wrote holding a file of
	// the user's, is refused and left as it was.
	notes := filepath.Join(work, "notes")
	os.MkdirAll(notes, 0o755)
	os.WriteFile(filepath.Join(notes, "plan.txt"), []byte("mine"), 0o644)
	os.WriteFile(filepath.Join(out, "README.txt"), []byte("mine"), 0o644)
	for _, c := range []struct{ dir, want string }{
		{notes, "--out " + notes + " is not empty and was not written by assign (it holds 'plan.txt')"},
		{out, "--out " + out + " holds 'README.txt', which assign did not write there"},
	} {
		before := listDir(t, c.dir)
		runs := checkRuns(t, home)
		r := assign(t, home, append([]string{"preassign", "--out", c.dir}, dates...)...)
		if r.code != cmdutil.ExitUsage || !strings.Contains(r.errOut, c.want) {
			t.Errorf("--out %s: exit %d, %q; want exit 2 and %q", c.dir, r.code, r.errOut, c.want)
		}
		if got := listDir(t, c.dir); !slices.Equal(got, before) {
			t.Errorf("a refused --out changed %s from %v to %v", c.dir, before, got)
		}
		if got := checkRuns(t, home); len(got) != len(runs) {
			t.Errorf("a refused --out still wrote a run")
		}
	}

	// report --out: an earlier report of the date is replaced whole; a
	// folder of that name holding something else is refused.
	reports := filepath.Join(work, "reports")
	mustAssign(t, home, append([]string{"report", "--out", reports}, dates...)...)
	mustAssign(t, home, append([]string{"report", "--out", reports}, dates...)...)
	day := filepath.Join(reports, "2026-03-02")
	os.WriteFile(filepath.Join(day, "notes.txt"), []byte("mine"), 0o644)
	r := assign(t, home, append([]string{"report", "--out", reports}, dates...)...)
	if r.code != cmdutil.ExitUsage || !strings.Contains(r.errOut, day+" holds notes.txt, which is not part of an assign report") {
		t.Errorf("report over a folder holding a user's file: exit %d, %q", r.code, r.errOut)
	}
	if _, err := os.Stat(filepath.Join(day, "notes.txt")); err != nil {
		t.Errorf("the user's file is gone: %v", err)
	}
}
