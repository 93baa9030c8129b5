package snapshots_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/cmd/assign/root"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/store"
)

const baseExtract = "../../../loaders/testdata/extracts/base"

type run struct {
	code        int
	out, errOut string
}

func assign(t *testing.T, home string, args ...string) run {
	t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	f := cmdutil.New(ios)
	f.HomeDir = func() string { return home }
	code := root.MainWith(f, args)
	return run{code, out.String(), errOut.String()}
}

// homeWith loads the base extract n times, a minute apart, into a new home
// and returns it with the snapshot names, oldest first.
func homeWith(t *testing.T, n int) (*store.Home, []string) {
	t.Helper()
	h, err := store.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := 0; i < n; i++ {
		now := time.Date(2026, 3, 1, 2, i, 0, 0, time.UTC)
		res, err := loaders.Load(context.Background(), loaders.Options{Dir: baseExtract, Home: h, Now: func() time.Time { return now }, Version: "test", Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		// Modification times order gc; make them distinct.
		os.Chtimes(res.Path, now, now)
		names = append(names, res.Snapshot)
	}
	return h, names
}

func TestListFormats(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	if r := assign(t, empty, "snapshots"); r.code != 0 || !strings.Contains(r.out, "No snapshots yet") {
		t.Errorf("empty home: %d %q %q", r.code, r.out, r.errOut)
	}
	h, names := homeWith(t, 2)
	r := assign(t, h.Dir, "snapshots")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	lines := strings.Split(strings.TrimRight(r.out, "\n"), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "deliveries") ||
		!strings.Contains(lines[2], "snap-20260301-020000 │ 2026-03-01T02:00:00Z") || strings.HasSuffix(strings.TrimSpace(lines[2]), "*") ||
		!strings.Contains(lines[3], "│      5 │     4 │     5 │          4 │       4 │ *") {
		t.Errorf("table:\n%s", r.out)
	}

	r = assign(t, h.Dir, "snapshots", "--format", "csv")
	csvLines := strings.Split(strings.TrimSpace(r.out), "\n")
	if r.code != 0 || len(csvLines) != 3 ||
		csvLines[0] != "name,created_at,size_bytes,current,snacks,snack_tags,users,skips,user_ng,user_prefs,deliveries,ratings,requests,stock,rows_rejected,error" ||
		!strings.HasPrefix(csvLines[2], names[1]+",2026-03-01T02:01:00Z,") || !strings.HasSuffix(csvLines[2], ",true,5,5,4,1,3,3,4,4,1,5,0,") {
		t.Errorf("csv:\n%s", r.out)
	}

	r = assign(t, h.Dir, "snapshots", "--format", "json")
	var got []struct {
		Name      string           `json:"name"`
		Current   bool             `json:"current"`
		Rows      map[string]int64 `json:"rows"`
		SizeBytes int64            `json:"size_bytes"`
	}
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || len(got) != 2 {
		t.Fatalf("json %v: %s", err, r.out)
	}
	if got[0].Name != names[0] || got[0].Current || !got[1].Current || got[1].Rows["users"] != 4 || got[1].SizeBytes == 0 {
		t.Errorf("json %+v", got)
	}

	if r := assign(t, h.Dir, "snapshots", "--format", "xml"); r.code != cmdutil.ExitUsage {
		t.Errorf("--format xml: exit %d", r.code)
	}
}

func TestUse(t *testing.T) {
	h, names := homeWith(t, 2)
	r := assign(t, h.Dir, "snapshots", "use", names[0])
	if r.code != 0 || r.out != "Current snapshot is now "+names[0]+"\n" {
		t.Errorf("use: %d %q %q", r.code, r.out, r.errOut)
	}
	if cur, _ := h.Current(); cur != names[0] {
		t.Errorf("current %s", cur)
	}
	r = assign(t, h.Dir, "snapshots", "use", "nope")
	if r.code != cmdutil.ExitFailure || !strings.Contains(r.errOut, `snapshot "nope" not found`) {
		t.Errorf("use nope: %d %q", r.code, r.errOut)
	}
	if r := assign(t, h.Dir, "snapshots", "use"); r.code != cmdutil.ExitUsage {
		t.Errorf("use without name: exit %d", r.code)
	}
}

func TestGC(t *testing.T) {
	h, names := homeWith(t, 4)
	// The oldest is current: gc keeps it although it is not among the newest.
	if err := h.SetCurrent(names[0]); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(h.SnapshotsDir(), ".tmp-snap-20260301-030000.duckdb")
	os.WriteFile(leftover, []byte("half"), 0o644)
	os.WriteFile(leftover+".wal", []byte("half"), 0o644)
	spill := h.LoadTmpDir(999999)
	os.MkdirAll(spill, 0o755)
	// A killed query's spill folder (no process has that id: above
	// pid_max) goes, even while a load runs; a live one's stays.
	deadQuery := filepath.Join(h.TmpDir(), store.QueryTmpPrefix+"99999999-123")
	os.MkdirAll(deadQuery, 0o755)
	os.WriteFile(filepath.Join(deadQuery, "duckdb_temp_storage-0.tmp"), []byte("spill"), 0o644)
	liveQuery := filepath.Join(h.TmpDir(), fmt.Sprintf("%s%d-456", store.QueryTmpPrefix, os.Getpid()))
	os.MkdirAll(liveQuery, 0o755)

	// While a load holds the lock, leftovers stay.
	unlock, err := h.LockLoad()
	if err != nil {
		t.Fatal(err)
	}
	r := assign(t, h.Dir, "snapshots", "gc", "--keep", "2")
	unlock()
	if r.code != 0 || !strings.Contains(r.errOut, "a load is running") {
		t.Errorf("gc during load: %d %q %q", r.code, r.out, r.errOut)
	}
	if _, err := os.Stat(leftover); err != nil {
		t.Error("leftover removed while a load ran")
	}
	if _, err := os.Stat(deadQuery); err == nil || !strings.Contains(r.out, "deleted leftover "+deadQuery) {
		t.Errorf("a killed query's spill folder stayed: %q", r.out)
	}
	if _, err := os.Stat(liveQuery); err != nil {
		t.Error("a running query's spill folder was removed")
	}
	snaps, _ := h.ListSnapshots()
	var left []string
	for _, s := range snaps {
		left = append(left, s.Name)
	}
	if want := []string{names[0], names[2], names[3]}; strings.Join(left, " ") != strings.Join(want, " ") {
		t.Errorf("left %v, want %v", left, want)
	}
	if !strings.Contains(r.out, "deleted snapshot "+names[1]) {
		t.Errorf("gc output %q", r.out)
	}

	r = assign(t, h.Dir, "snapshots", "gc", "--keep", "0")
	if r.code != 0 {
		t.Fatalf("gc: %s", r.errOut)
	}
	snaps, _ = h.ListSnapshots()
	if len(snaps) != 1 || snaps[0].Name != names[0] || !snaps[0].Current {
		t.Errorf("after gc --keep 0: %v", snaps)
	}
	for _, p := range []string{leftover, leftover + ".wal", spill} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s not removed", p)
		}
	}
	if !strings.Contains(r.out, "3 files left over by killed loads") {
		t.Errorf("gc output %q", r.out)
	}
	if r := assign(t, h.Dir, "snapshots", "gc"); r.code != cmdutil.ExitUsage {
		t.Errorf("gc without --keep: exit %d", r.code)
	}
	if r := assign(t, h.Dir, "snapshots", "gc", "--keep", "-1"); r.code != cmdutil.ExitUsage {
		t.Errorf("gc --keep -1: exit %d", r.code)
	}
}

// TestGCKeepsSnapshotsOfRuns: gc --keep 0 used to delete every old
// snapshot, also those runs were made from, with no way to see what it
// would do. Now --dry-run deletes nothing and says what it would, runs
// protect their snapshots unless --force, and `snapshots rm` deletes by
// name, refusing the current one and (without --force) one runs use.
func TestGCKeepsSnapshotsOfRuns(t *testing.T) {
	h, names := homeWith(t, 4) // names[3] is current
	for _, n := range names[:2] {
		if r := assign(t, h.Dir, "preassign", "--date", "2026-03-02", "--snapshot", n); r.code != 0 {
			t.Fatalf("preassign on %s: %s", n, r.errOut)
		}
	}
	runs, _ := h.ListRuns()
	listed := func() []string {
		snaps, _ := h.ListSnapshots()
		var out []string
		for _, s := range snaps {
			out = append(out, s.Name)
		}
		return out
	}

	r := assign(t, h.Dir, "snapshots", "gc", "--keep", "0", "--dry-run")
	if r.code != 0 || len(listed()) != 4 {
		t.Fatalf("a dry run deleted: exit %d, left %v: %s", r.code, listed(), r.errOut)
	}
	for _, want := range []string{
		"would delete snapshot " + names[2] + " (",
		"kept snapshot " + names[0] + " (", ", used by 1 run (" + runs[0].ID + "); --force deletes it too",
		"kept snapshot " + names[1] + " (",
		"Dry run: would free ", "1 snapshot, 0 files left over by killed loads or queries; nothing was deleted",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, r.out)
		}
	}

	r = assign(t, h.Dir, "snapshots", "gc", "--keep", "0")
	if got := listed(); r.code != 0 || strings.Join(got, " ") != strings.Join([]string{names[0], names[1], names[3]}, " ") {
		t.Fatalf("gc --keep 0: exit %d, left %v:\n%s%s", r.code, got, r.out, r.errOut)
	}

	r = assign(t, h.Dir, "snapshots", "rm", names[3])
	if r.code != cmdutil.ExitFailure || !strings.Contains(r.errOut, "snapshot "+names[3]+" is the current one: make another current first ('assign snapshots use NAME')") {
		t.Errorf("rm of the current snapshot: %d %q", r.code, r.errOut)
	}
	r = assign(t, h.Dir, "snapshots", "rm", names[1], names[0])
	if r.code != cmdutil.ExitFailure || !strings.Contains(r.errOut, "snapshot "+names[1]+" is used by 1 run ("+runs[1].ID+"): 'assign check' of a run needs its snapshot; pass --force to delete it anyway") {
		t.Errorf("rm of a snapshot runs use: %d %q", r.code, r.errOut)
	}
	if r := assign(t, h.Dir, "snapshots", "rm", "snap-nope"); r.code != cmdutil.ExitFailure || !strings.Contains(r.errOut, `snapshot "snap-nope" not found`) {
		t.Errorf("rm of an unknown snapshot: %d %q", r.code, r.errOut)
	}
	if len(listed()) != 3 {
		t.Fatalf("a refused rm deleted: %v", listed())
	}
	r = assign(t, h.Dir, "snapshots", "rm", names[1], "--force")
	if r.code != 0 || !strings.Contains(r.out, "deleted snapshot "+names[1]+" (") || len(listed()) != 2 {
		t.Errorf("rm --force: %d %q %q, left %v", r.code, r.out, r.errOut, listed())
	}
	r = assign(t, h.Dir, "snapshots", "gc", "--keep", "0", "--force")
	if got := listed(); r.code != 0 || len(got) != 1 || got[0] != names[3] || !strings.Contains(r.out, "deleted snapshot "+names[0]) {
		t.Errorf("gc --force: %d, left %v:\n%s", r.code, got, r.out)
	}
}
