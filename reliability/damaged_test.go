package reliability

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/store"
)

// TestDamagedSnapshot: a snapshot file cut short used to fail preassign
// with DuckDB's "Could not read enough bytes from file"; every command now
// says which snapshot is damaged and what to do, and `snapshots verify`
// finds it (and a snapshot whose row counts differ from the load's), while
// a whole one verifies.
func TestDamagedSnapshot(t *testing.T) {
	home := goodHome(t)
	mustAssign(t, home, "load", baseExtract) // a second, whole snapshot
	h, _ := store.Open(home)
	snaps, _ := h.ListSnapshots()
	bad, good := snaps[0], snaps[1]

	r := mustAssign(t, home, "snapshots", "verify")
	if !strings.Contains(r.out, bad.Name) || strings.Count(r.out, " ok ") != 2 {
		t.Fatalf("verify of whole snapshots:\n%s", r.out)
	}

	// A tampered row count: the file is whole, the content is not what
	// the load wrote.
	tampered := filepath.Join(t.TempDir(), "t.duckdb")
	copyFile(t, good.Path, tampered)
	db, err := duck.OpenFile(context.Background(), tampered, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(context.Background(), "DELETE FROM users WHERE user_id = (SELECT max(user_id) FROM users)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	mismatch := h.SnapshotPath("snap-tampered")
	copyFile(t, tampered, mismatch)
	r = assign(t, home, "snapshots", "verify", "snap-tampered", "--format", "json")
	var got []struct {
		Snapshot string `json:"snapshot"`
		Problem  string `json:"problem"`
		Damaged  bool   `json:"damaged"`
	}
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || r.code != 1 || len(got) != 1 ||
		got[0].Problem != "table users has 3 rows, the load recorded 4" || got[0].Damaged {
		t.Errorf("verify of a tampered snapshot: exit %d %v %+v\n%s", r.code, err, got, r.errOut)
	}
	os.Remove(mismatch)

	// Cut the current snapshot short, as a disk fault or an unfinished copy
	// does.
	mustAssign(t, home, "snapshots", "use", bad.Name)
	fi, _ := os.Stat(bad.Path)
	if err := os.Truncate(bad.Path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	want := "assign: snapshot " + bad.Name + " is damaged (" + bad.Path + ": cut short); make another snapshot current with 'assign snapshots use NAME' or load its extract again, and check the others with 'assign snapshots verify'\n"
	// Half of it: the catalog opens and reading the tables fails.
	for _, args := range [][]string{
		{"preassign", "--date", "2026-03-02"},
		{"explain", "--user", "100001", "--date", "2026-03-02"},
	} {
		r := assign(t, home, args...)
		if r.code != cmdutil.ExitFailure || r.errOut != want {
			t.Errorf("%s on a snapshot cut in half: exit %d, stderr %q", args[0], r.code, r.errOut)
		}
	}
	if r := assign(t, home, "snapshots", "verify", bad.Name); r.code != cmdutil.ExitFailure || !strings.Contains(r.out, "damaged: cut short") {
		t.Errorf("verify of a snapshot cut in half: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	// Most of it: the catalog does not open.
	if err := os.Truncate(bad.Path, 200_000); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"preassign", "--date", "2026-03-02"},
		{"query", "SELECT count(*) FROM users"},
		{"explain", "--user", "100001", "--date", "2026-03-02"},
	} {
		r := assign(t, home, args...)
		if r.code != cmdutil.ExitFailure || r.errOut != want {
			t.Errorf("%s on a damaged snapshot: exit %d, stderr %q", args[0], r.code, r.errOut)
		}
	}
	r = assign(t, home, "snapshots", "verify")
	if r.code != cmdutil.ExitFailure || !strings.Contains(r.out, "damaged: cut short") ||
		!strings.Contains(r.errOut, "1 of 2 snapshots is not whole: "+bad.Name+" (damaged: cut short)") {
		t.Errorf("verify of a damaged snapshot: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	// A header overwritten: not a DuckDB file at all.
	f, _ := os.OpenFile(bad.Path, os.O_WRONLY, 0)
	f.WriteAt(make([]byte, 4096), 0)
	f.Close()
	if r := assign(t, home, "preassign", "--date", "2026-03-02"); !strings.Contains(r.errOut, "is damaged ("+bad.Path+": not a DuckDB database file)") {
		t.Errorf("a snapshot with a broken header: %q", r.errOut)
	}
}

// TestPlainMessages: the home and command messages an operator meets (issue
// 11 item 10): no current snapshot while snapshots exist; "(1 days)";
// check's JSON with no violation.
func TestPlainMessages(t *testing.T) {
	home := goodHome(t)
	r := mustAssign(t, home, "preassign", "--date", "2026-03-02")
	if !strings.Contains(r.out, "2026-03-02 to 2026-03-02 (1 day)\n") {
		t.Errorf("a one-day summary:\n%s", r.out)
	}
	r = mustAssign(t, home, "check", "latest", "--format", "json")
	if !strings.Contains(r.out, `"first_violations": []`) {
		t.Errorf("check --format json without violations:\n%s", r.out)
	}
	cur := stateOf(t, home).current
	os.WriteFile(filepath.Join(home, "CURRENT"), nil, 0o644)
	r = assign(t, home, "preassign", "--date", "2026-03-02")
	want := "assign: no snapshot is current (CURRENT is empty) although the home holds 1; make one current with 'assign snapshots use " + cur + "' (the newest by name), see 'assign snapshots'\n"
	if r.code != cmdutil.ExitFailure || r.errOut != want {
		t.Errorf("an empty CURRENT: exit %d, %q", r.code, r.errOut)
	}
	os.Remove(filepath.Join(home, "CURRENT"))
	if r := assign(t, home, "query", "SELECT 1"); !strings.Contains(r.errOut, "no snapshot is current (CURRENT is missing)") {
		t.Errorf("a missing CURRENT: %q", r.errOut)
	}
	if r := assign(t, t.TempDir(), "query", "SELECT 1"); !strings.Contains(r.errOut, "no snapshot loaded yet") {
		t.Errorf("an empty home: %q", r.errOut)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedRunCheckDiff: check and diff of a run whose Parquet table is
// cut short (or whose manifest is not JSON) printed DuckDB's error over
// several lines ("No magic bytes found ... LINE 1: CREATE ... ^"); they now
// name the run, what is wrong and what to do, in one line.
func TestDamagedRunCheckDiff(t *testing.T) {
	home := goodHome(t)
	mustAssign(t, home, "preassign", "--date", "2026-03-02")
	mustAssign(t, home, "preassign", "--date", "2026-03-02", "--days", "3")
	h, _ := store.Open(home)
	runs, _ := h.ListRuns()
	whole, cut := runs[0], runs[1]
	demand := filepath.Join(cut.Dir, "demand.parquet")
	if err := os.Truncate(demand, 100); err != nil {
		t.Fatal(err)
	}
	want := "assign: run " + cut.ID + " cannot be read: demand.parquet is damaged: it does not end like a Parquet file (cut short?); remove it (rm -r " + cut.Dir + ") or make it again\n"
	for _, args := range [][]string{{"check", "latest"}, {"diff", whole.ID, cut.ID}} {
		if r := assign(t, home, args...); r.code != cmdutil.ExitFailure || r.errOut != want {
			t.Errorf("%s of a cut run: exit %d, stderr %q", args[0], r.code, r.errOut)
		}
	}
	os.WriteFile(filepath.Join(cut.Dir, store.ManifestFile), []byte("{"), 0o644)
	if r := assign(t, home, "diff", cut.ID, whole.ID); r.code != cmdutil.ExitFailure ||
		!strings.HasPrefix(r.errOut, "assign: run "+cut.ID+" cannot be read: manifest.json is not valid JSON") || strings.Count(r.errOut, "\n") != 1 {
		t.Errorf("diff of a run with a broken manifest: exit %d, stderr %q", r.code, r.errOut)
	}
	mustAssign(t, home, "check", whole.ID)
}
