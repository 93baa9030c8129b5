package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/report"
	"github.com/assign-dev/assign/store"
)

// killPoints is how many kill -9 points each command gets: 20 by default
// (a few seconds each), more with ASSIGN_FAULT_POINTS for a long run.
func killPoints() int { return envInt("ASSIGN_FAULT_POINTS", 20) }

// killSeed makes every run pick the same delays (ASSIGN_FAULT_SEED to vary).
func killSeed() uint64 { return uint64(envInt("ASSIGN_FAULT_SEED", 7)) }

// killSeries starts args as a real process once per point and sends it
// SIGKILL after a seeded random share of its expected length (from before
// its first write to a little past its end), then calls check. It returns
// how many were killed before they finished.
//
// The expected length is the shortest complete run seen so far: a first
// complete run, then every point that finished before its kill. The first
// run can be much slower than the rest (cold caches, other test packages
// running beside it), and delays sized by it would let most runs finish.
func killSeries(t *testing.T, name, home string, args func(i int) []string, check func(i int, killed bool)) int {
	t.Helper()
	full := startAssign(t, home, args(-1)...)
	if !full.wait() {
		t.Fatalf("%s: a complete run failed: %v\n%s", name, full.err, full.out.String())
	}
	dur := full.end.Sub(full.start)
	check(-1, false)
	rng := rand.New(rand.NewPCG(killSeed(), uint64(len(name))))
	points := killPoints()
	killed := 0
	for i := 0; i < points; i++ {
		// Uniform over [2%, 110%] of a complete run: from before the
		// first write to past the expected end.
		delay := time.Duration((0.02 + 1.08*rng.Float64()) * float64(dur))
		p := startAssign(t, home, args(i)...)
		k := p.killAt(delay, nil)
		if k {
			killed++
		} else if !p.wait() {
			t.Fatalf("%s point %d: the run failed on its own: %v\n%s", name, i, p.err, p.out.String())
		} else {
			dur = min(dur, p.end.Sub(p.start))
		}
		check(i, k)
	}
	t.Logf("%s: %d points (seed %d), %d killed mid-run, %d finished first; the shortest complete run took %s",
		name, points, killSeed(), killed, points-killed, dur.Round(time.Millisecond))
	if killed < points/2 {
		t.Errorf("%s: only %d of %d runs were killed mid-way; the delays do not cover the run", name, killed, points)
	}
	return killed
}

// checkQueryable runs `assign query` on the current snapshot and returns
// its user count.
func checkQueryable(t *testing.T, home string) string {
	t.Helper()
	users, err := queryValue(t, home, "SELECT count(*) FROM users")
	if err != nil {
		t.Fatalf("the current snapshot does not answer a query: %v", err)
	}
	return users
}

// checkRuns verifies that every listed run is complete: its manifest
// parses and each table it lists is a readable Parquet file of the stated
// row count; that `assign query` lists the same runs; and that no
// temporary folder is listed. It returns the run ids.
func checkRuns(t *testing.T, home string) []string {
	t.Helper()
	h, err := store.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := h.ListRuns()
	if err != nil {
		t.Fatal(err)
	}
	db, err := duck.OpenMemory(context.Background(), duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids []string
	for _, r := range runs {
		if strings.HasPrefix(r.ID, ".") {
			t.Fatalf("a temporary run folder is listed: %s", r.ID)
		}
		b, err := os.ReadFile(filepath.Join(r.Dir, store.ManifestFile))
		if err != nil {
			t.Fatalf("listed run %s: %v", r.ID, err)
		}
		var m plan.Manifest
		if err := json.Unmarshal(b, &m); err != nil || m.RunID != r.ID || len(m.Files) == 0 {
			t.Fatalf("listed run %s has a broken manifest (%v): %s", r.ID, err, b)
		}
		for _, f := range m.Files {
			var n int64
			p := filepath.Join(r.Dir, f.File)
			if err := db.QueryRow(context.Background(), "SELECT count(*) FROM read_parquet("+duck.Quote(p)+")").Scan(&n); err != nil || n != f.Rows {
				t.Fatalf("listed run %s: %s holds %d rows (%v), the manifest says %d", r.ID, f.File, n, err, f.Rows)
			}
		}
		ids = append(ids, r.ID)
	}
	got, err := queryValue(t, home, "SELECT count(*) FROM runs")
	if err != nil || got != fmt.Sprint(len(ids)) {
		t.Fatalf("assign query lists %s runs (%v), the home has %d complete ones", got, err, len(ids))
	}
	return ids
}

// checkReports verifies that every report folder in out (hidden temporary
// folders aside) is complete and names a complete run; it returns the
// folders.
func checkReports(t *testing.T, out string, runs []string) []string {
	t.Helper()
	entries, err := os.ReadDir(out)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var folders []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(out, e.Name())
		for _, f := range []string{report.HTMLFile, report.SummaryFile, report.SnacksCSV, report.CategoriesCSV, report.DatesCSV} {
			if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
				t.Fatalf("report %s lacks %s (%v)", e.Name(), f, err)
			}
		}
		html, _ := os.ReadFile(filepath.Join(dir, report.HTMLFile))
		if !strings.HasSuffix(strings.TrimSpace(string(html)), "</html>") {
			t.Fatalf("report %s: report.html is cut short", e.Name())
		}
		var sum report.Summary
		b, _ := os.ReadFile(filepath.Join(dir, report.SummaryFile))
		if err := json.Unmarshal(b, &sum); err != nil || sum.Dates.From != e.Name() {
			t.Fatalf("report %s: summary.json broken or for another date (%v)", e.Name(), err)
		}
		if !slices.Contains(runs, sum.RunID) {
			t.Fatalf("report %s names run %s, which is not a complete run", e.Name(), sum.RunID)
		}
		folders = append(folders, e.Name())
	}
	return folders
}

// TestKillLoad kills real `assign load` processes at seeded random moments.
// After each: the snapshot current before it (or the new one, when the load
// finished first) is current, every listed snapshot is complete, and
// `assign query` answers; at the end a rerun loads and gc clears the
// leftovers.
func TestKillLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	home := goodHome(t)
	extract := tinyExtract(t, 1)
	want := map[string]string{} // snapshot -> users
	cur := stateOf(t, home).current
	want[cur] = checkQueryable(t, home)
	killSeries(t, "load", home, func(int) []string { return []string{"load", extract} }, func(i int, killed bool) {
		// A load killed after its switch (while exiting) has a new
		// current snapshot: allowed, as long as it is whole.
		st := stateOf(t, home)
		if _, listed := st.files[st.current]; !listed {
			t.Fatalf("point %d: CURRENT names %s, which is not a listed snapshot", i, st.current)
		}
		checkSnapshotsComplete(t, home)
		users := checkQueryable(t, home)
		if w, ok := want[st.current]; ok && w != users {
			t.Fatalf("point %d: snapshot %s has %s users, had %s", i, st.current, users, w)
		}
		if st.current != cur {
			want[st.current] = users
			if users != "600" {
				t.Fatalf("point %d: the new snapshot has %s users, want 600 (killed=%v)", i, users, killed)
			}
		} else if !killed && i >= 0 {
			t.Fatalf("point %d: a load that finished did not switch CURRENT", i)
		}
		cur = st.current
	})
	mustAssign(t, home, "load", extract)
	if got := checkQueryable(t, home); got != "600" {
		t.Fatalf("after the rerun: %s users", got)
	}
	mustAssign(t, home, "snapshots", "gc", "--keep", "1000")
	h, _ := store.Open(home)
	if left := h.StaleTemporaries(); len(left) > 0 {
		t.Errorf("leftovers after gc: %v", left)
	}
}

// TestKillPreassign kills real `assign preassign` processes: a killed run
// is never listed, every listed run is complete and queryable, and a rerun
// succeeds.
func TestKillPreassign(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	home := filepath.Join(t.TempDir(), "home")
	mustAssign(t, home, "load", tinyExtract(t, 1))
	before := stateOf(t, home)
	args := []string{"preassign", "--date", "2026-03-02", "--days", "28"}
	runs := checkRuns(t, home)
	killSeries(t, "preassign", home, func(int) []string { return args }, func(i int, killed bool) {
		// A preassign killed after publishing its run (while exiting)
		// leaves it listed: allowed, checkRuns has found it complete.
		got := checkRuns(t, home)
		switch {
		case killed && len(got) != len(runs) && len(got) != len(runs)+1:
			t.Fatalf("point %d: a killed preassign changed the runs from %v to %v", i, runs, got)
		case !killed && len(got) != len(runs)+1:
			t.Fatalf("point %d: a finished preassign left %d runs, had %d", i, len(got), len(runs))
		}
		runs = got
		if after := stateOf(t, home); after.current != before.current || !mapsEqual(after.files, before.files) {
			t.Fatalf("point %d: preassign changed the snapshots", i)
		}
		if _, err := queryValue(t, home, "SELECT count(*) FROM latest.boxes"); err != nil {
			t.Fatalf("point %d: the latest run does not answer: %v", i, err)
		}
	})
	mustAssign(t, home, args...)
	if got := checkRuns(t, home); len(got) != len(runs)+1 {
		t.Fatalf("the rerun was not listed: %v", got)
	}
}

// TestKillReport kills real `assign report` processes writing into one
// folder, for a new date and for a date whose report exists (replaced by
// an atomic exchange): every report folder present is complete and names a
// complete run, and a rerun succeeds.
func TestKillReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	home := filepath.Join(t.TempDir(), "home")
	mustAssign(t, home, "load", tinyExtract(t, 1))
	out := filepath.Join(t.TempDir(), "reports")
	dates := []string{"2026-03-02", "2026-03-09"}
	args := func(i int) []string {
		d := dates[0]
		if i >= 0 && i%2 == 1 {
			d = dates[1]
		}
		return []string{"report", "--date", d, "--days", "14", "--out", out}
	}
	var folders []string
	killSeries(t, "report", home, args, func(i int, killed bool) {
		runs := checkRuns(t, home)
		got := checkReports(t, out, runs)
		for _, f := range folders {
			if !slices.Contains(got, f) {
				t.Fatalf("point %d: report %s vanished (killed=%v)", i, f, killed)
			}
		}
		folders = got
		checkQueryable(t, home)
	})
	for _, d := range dates {
		mustAssign(t, home, "report", "--date", d, "--days", "14", "--out", out)
	}
	if got := checkReports(t, out, checkRuns(t, home)); len(got) != 2 {
		t.Fatalf("after the reruns: reports %v", got)
	}
}
