package load_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/cmd/assign/load"
	"github.com/assign-dev/assign/cmd/assign/root"
	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/internal/dbtest"
	"github.com/assign-dev/assign/internal/extractfixtures"
	"github.com/assign-dev/assign/store"
)

const baseExtract = "../../../loaders/testdata/extracts/base"

// TestMain lets the tests run the test binary itself as the assign
// command (ASSIGN_TEST_MAIN=1), so kill and concurrency tests use real
// processes without building or `go run`.
func TestMain(m *testing.M) {
	if os.Getenv("ASSIGN_TEST_MAIN") == "1" {
		os.Exit(root.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	code := m.Run()
	dbtest.Stop()
	os.Exit(code)
}

type run struct {
	code        int
	out, errOut string
}

// assign runs the command in-process on a fresh factory over home.
func assign(t *testing.T, home string, tty bool, args ...string) run {
	t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	ios.SetTTY(false, false, tty)
	f := cmdutil.New(ios)
	f.HomeDir = func() string { return home }
	f.Now = func() time.Time { return time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC) }
	code := root.MainWith(f, args)
	return run{code, out.String(), errOut.String()}
}

func TestFlags(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	f := cmdutil.New(ios)
	var got *load.Options
	cmd := load.NewCmdLoad(f, func(o *load.Options) error { got = o; return nil })
	cmd.SetArgs([]string{"./x", "--reject-file", "r.csv", "--name", "n1", "--no-switch", "--threads", "2", "--memory-limit", "1GB"})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Dir != "./x" || got.RejectFile != "r.csv" || got.Name != "n1" || !got.NoSwitch || got.Threads != 2 || got.MemoryLimit != "1GB" {
		t.Errorf("options %+v", got)
	}
	home := t.TempDir()
	for _, args := range [][]string{{"load"}, {"load", "a", "b"}, {"load", "x", "--name", "a/b"}, {"load", "x", "--name", ".hidden"}, {"load", "x", "--threads", "-1"}, {"load", "x", "--memory-limit", "lots"}} {
		if r := assign(t, home, false, args...); r.code != cmdutil.ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, r.code, cmdutil.ExitUsage, r.errOut)
		}
	}
}

func TestLoadSummary(t *testing.T) {
	home := t.TempDir()
	extract := filepath.Join(t.TempDir(), "extract")
	copyDir(t, baseExtract, extract)
	os.Remove(filepath.Join(extract, "requests.csv"))
	os.WriteFile(filepath.Join(extract, "notes.txt"), []byte("x"), 0o644)
	rej := filepath.Join(t.TempDir(), "rejects.csv")
	r := assign(t, home, true, "load", extract, "--reject-file", rej)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	for _, want := range []string{
		"Loaded snapshot snap-20260301-020000 (now current) in ",
		"snacks     │    5 │        0 │ snacks.csv     │ csv",
		"requests   │    0 │        - │ (absent)       │ -",
		"Absent optional tables, loaded empty: requests",
		"No row rejected; " + rej + " holds only its header row",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.out)
		}
	}
	// Progress bars need a terminal size, which a buffer lacks; that they
	// are drawn on a real terminal was checked by hand, and the per-table
	// progress calls are tested in loaders.
	if !strings.Contains(r.errOut, "note: ignored notes.txt") {
		t.Errorf("stderr %q", r.errOut)
	}
	// Not a terminal: no progress decoration at all.
	// The same extract again: loaded (a duplicate, said so).
	r = assign(t, home, false, "load", extract, "--no-switch")
	if r.code != 0 || !regexp.MustCompile(`^note: ignored notes.txt: not <table>.csv, .parquet, .jsonl or .arrow for a table of the extract
note: the extract has the same content as snapshot snap-20260301-020000 \(checksum xxh3-128:[0-9a-f]{32}\), so this load duplicates it; 'assign load --skip-unchanged' skips a load whose extract equals the current snapshot's
$`).MatchString(r.errOut) {
		t.Errorf("exit %d, stderr %q", r.code, r.errOut)
	}
	if !strings.Contains(r.out, "(not current: switch with 'assign snapshots use snap-20260301-020000-2')") {
		t.Errorf("stdout %s", r.out)
	}
}

// TestSkipUnchanged loads an extract, then the same content from another
// folder with --skip-unchanged (skipped: exit 0, one line naming the current
// snapshot, no new snapshot), then a changed extract (loaded).
func TestSkipUnchanged(t *testing.T) {
	home := t.TempDir()
	extract := filepath.Join(t.TempDir(), "extract")
	copyDir(t, baseExtract, extract)
	if r := assign(t, home, false, "load", extract, "--skip-unchanged"); r.code != 0 || !strings.HasPrefix(r.out, "Loaded snapshot snap-20260301-020000 (now current)") {
		t.Fatalf("first load: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	again := filepath.Join(t.TempDir(), "copy")
	copyDir(t, extract, again)
	r := assign(t, home, false, "load", again, "--skip-unchanged")
	if r.code != 0 || r.errOut != "" || !regexp.MustCompile(`^Skipped: the extract is unchanged since snapshot snap-20260301-020000 \(checksum xxh3-128:[0-9a-f]{32}\), which stays current\n$`).MatchString(r.out) {
		t.Errorf("unchanged: exit %d, stdout %q, stderr %q", r.code, r.out, r.errOut)
	}
	h, _ := store.Open(home)
	if snaps, _ := h.ListSnapshots(); len(snaps) != 1 {
		t.Errorf("snapshots after a skipped load: %v", snaps)
	}
	// One changed byte is a changed extract.
	users := filepath.Join(again, "users.csv")
	data, _ := os.ReadFile(users)
	os.WriteFile(users, []byte(strings.Replace(string(data), ",8,", ",9,", 1)), 0o644)
	if r := assign(t, home, false, "load", again, "--skip-unchanged"); r.code != 0 || !strings.HasPrefix(r.out, "Loaded snapshot") || r.errOut != "" {
		t.Errorf("changed: exit %d, stdout %q, stderr %q", r.code, r.out, r.errOut)
	}
	if snaps, _ := h.ListSnapshots(); len(snaps) != 2 {
		t.Errorf("snapshots after a changed load: %v", snaps)
	}
}

// TestRejectSummary checks that rows set aside only because they refer to a
// rejected row are counted apart from the defects (two bad users rows read
// as "450 invalid values").
func TestRejectSummary(t *testing.T) {
	home := t.TempDir()
	extract := filepath.Join(t.TempDir(), "extract")
	copyDir(t, baseExtract, extract)
	os.WriteFile(filepath.Join(extract, "users.csv"), []byte("user_id,status,box_size,cadence_days,next_ship_on\n10,active,8,14,2026-03-02\n11,paused,6,28,2026-03-09\n12,on hold,10,14,2026-03-04\n13,cancelled,80,28,2026-02-01\n"), 0o644)
	rej := filepath.Join(t.TempDir(), "rejects.csv")
	r := assign(t, home, false, "load", extract, "--reject-file", rej)
	want := "Rejected 9 rows, written to " + rej + ": 2 rows with 2 invalid values, and 7 rows referring to rejected rows\n"
	if r.code != 0 || !strings.HasSuffix(r.out, want) {
		t.Errorf("exit %d, stdout:\n%s\nwant it to end with:\n%s", r.code, r.out, want)
	}
}

func TestLoadViolationsExit1(t *testing.T) {
	home := t.TempDir()
	extract := filepath.Join(t.TempDir(), "extract")
	copyDir(t, baseExtract, extract)
	var b strings.Builder
	b.WriteString("user_id,snack_id,rating,rated_at\n")
	for i := 0; i < 25; i++ {
		b.WriteString("10,1,7,2026-01-10\n")
	}
	os.WriteFile(filepath.Join(extract, "ratings.csv"), []byte(b.String()), 0o644)
	r := assign(t, home, false, "load", extract)
	if r.code != cmdutil.ExitFailure {
		t.Fatalf("exit %d", r.code)
	}
	lines := strings.Split(strings.TrimSpace(r.errOut), "\n")
	want := []string{`ratings.csv line 2, column rating: value "7" breaks rule rating 1..5`, "... and 5 more",
		"assign: the extract has 25 invalid values in 25 rows; fix them, or load with --reject-file FILE to set them aside and load the rest"}
	if len(lines) != 22 || lines[0] != want[0] || lines[20] != want[1] || lines[21] != want[2] {
		t.Errorf("stderr:\n%s", r.errOut)
	}
	if r.out != "" {
		t.Errorf("stdout %q", r.out)
	}
	h, _ := store.Open(home)
	if snaps, _ := h.ListSnapshots(); len(snaps) != 0 {
		t.Errorf("snapshots %v", snaps)
	}
}

// bigExtract writes an extract large enough that a load lasts a while.
func bigExtract(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "big")
	db, err := duck.OpenMemory(context.Background(), duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := extractfixtures.Generate(context.Background(), db, dir, extractfixtures.Scales["small"], "csv"); err != nil {
		t.Fatal(err)
	}
	return dir
}

// proc is a child process running the test binary as assign.
type proc struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{} // closed when the process has ended
	err  error         // of Wait, valid after done
}

// child starts the test binary as `assign --home home load dir`.
func child(t *testing.T, home, dir string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(os.Args[0], "--home", home, "load", dir), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "ASSIGN_TEST_MAIN=1")
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// wait waits for the end of the process and reports whether it succeeded.
func (p *proc) wait() bool {
	<-p.done
	return p.err == nil
}

// waitFor polls cond until it holds or the process ends; it reports
// whether cond held while the process still ran.
func waitFor(p *proc, cond func() bool) bool {
	for {
		if cond() {
			select {
			case <-p.done:
				return false
			default:
				return true
			}
		}
		select {
		case <-p.done:
			return false
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func lockHeldBy(h *store.Home, pid int) func() bool {
	return func() bool {
		// The lock file holds "<pid> <command>".
		b, _ := os.ReadFile(filepath.Join(h.Dir, "load.lock"))
		f := strings.Fields(string(b))
		return len(f) > 0 && f[0] == strconv.Itoa(pid)
	}
}

// checkHome asserts the invariants a killed load must keep: the previous
// snapshot is current and readable, and every listed snapshot is complete.
func checkHome(t *testing.T, h *store.Home, current string) {
	t.Helper()
	cur, err := h.Current()
	if err != nil || cur != current {
		t.Fatalf("current %q (%v), want %s", cur, err, current)
	}
	snaps, err := h.ListSnapshots()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps {
		db, err := duck.OpenSnapshot(context.Background(), s.Path, duck.Options{Threads: 1})
		if err != nil {
			t.Fatalf("snapshot %s unreadable: %v", s.Name, err)
		}
		var n int64
		err = db.QueryRow(context.Background(), "SELECT count(*) FROM users WHERE EXISTS (SELECT 1 FROM assign_meta WHERE key = 'snapshot')").Scan(&n)
		db.Close()
		if err != nil || n == 0 {
			t.Fatalf("snapshot %s incomplete: %d users, %v", s.Name, n, err)
		}
	}
}

// TestKilledLoad kills real load processes with SIGKILL at several points
// and checks that the previous snapshot stays current and readable, that no
// half-written file is listed, and that gc then removes the leftovers.
func TestKilledLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	home := t.TempDir()
	if r := assign(t, home, false, "load", baseExtract); r.code != 0 {
		t.Fatalf("first load: %s", r.errOut)
	}
	h, _ := store.Open(home)
	first, _ := h.Current()
	big := bigExtract(t)

	// A full run, to know how long a load lasts here.
	t0 := time.Now()
	full := child(t, home, big)
	if !full.wait() {
		t.Fatalf("full load: %v: %s", full.err, full.out.String())
	}
	dur := time.Since(t0)
	if err := h.SetCurrent(first); err != nil {
		t.Fatal(err)
	}
	pendingExists := func() bool {
		m, _ := filepath.Glob(filepath.Join(h.SnapshotsDir(), ".tmp-*.duckdb"))
		return len(m) > 0
	}
	type point struct {
		name string
		when func(p *proc) func() bool
	}
	points := []point{
		{"lock taken", func(p *proc) func() bool { return lockHeldBy(h, p.pid()) }},
		{"pending file created", func(*proc) func() bool { return pendingExists }},
	}
	for _, frac := range []float64{0.3, 0.5, 0.7, 0.85, 0.95} {
		points = append(points, point{fmt.Sprintf("at %.0f%% of a load", frac*100), func(*proc) func() bool {
			start := time.Now()
			return func() bool { return time.Since(start) >= time.Duration(frac*float64(dur)) }
		}})
	}
	killed := 0
	for _, pt := range points {
		p := child(t, home, big)
		if waitFor(p, pt.when(p)) {
			p.cmd.Process.Signal(syscall.SIGKILL)
			killed++
		}
		// A load that finished before the kill made its snapshot current.
		if p.wait() {
			cur, _ := h.Current()
			checkHome(t, h, cur)
			h.SetCurrent(first)
		}
		checkHome(t, h, first)
		t.Logf("%s: killed=%v", pt.name, p.err != nil)
	}
	if killed < 3 {
		t.Fatalf("only %d of %d loads were killed mid-way (a load took %s)", killed, len(points), dur)
	}
	// The lock died with the killed processes: a new load works.
	if r := assign(t, home, false, "load", baseExtract); r.code != 0 {
		t.Fatalf("load after kills: %s", r.errOut)
	}
	r := assign(t, home, false, "snapshots", "gc", "--keep", "100")
	if r.code != 0 {
		t.Fatalf("gc: %s", r.errOut)
	}
	if tmp := h.StaleTemporaries(); len(tmp) > 0 {
		t.Errorf("leftovers after gc: %v", tmp)
	}
	if entries, _ := os.ReadDir(h.TmpDir()); len(entries) > 0 {
		t.Errorf("spill folders after gc: %v", entries)
	}
}

// TestConcurrentLoads checks that a second load fails clearly while one
// runs, and that the running one completes.
func TestConcurrentLoads(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	home := t.TempDir()
	h, _ := store.Open(home)
	big := bigExtract(t)
	p := child(t, home, big)
	if !waitFor(p, lockHeldBy(h, p.pid())) {
		t.Fatalf("the first load ended before taking the lock: %s", p.out.String())
	}
	r := assign(t, home, false, "load", baseExtract)
	want := fmt.Sprintf("assign: another 'assign load' is writing a snapshot in this home (pid %d); wait for it to finish and try again\n", p.pid())
	if r.code != cmdutil.ExitFailure || r.errOut != want {
		t.Errorf("second load: exit %d, stderr %q, want %q", r.code, r.errOut, want)
	}
	// gc while the load runs leaves its pending file alone.
	g := assign(t, home, false, "snapshots", "gc", "--keep", "1")
	if g.code != 0 || !strings.Contains(g.errOut, "a load is running") {
		t.Errorf("gc during load: exit %d, %q", g.code, g.errOut)
	}
	if !p.wait() {
		t.Fatalf("first load failed: %v: %s", p.err, p.out.String())
	}
	snaps, _ := h.ListSnapshots()
	cur, _ := h.Current()
	if len(snaps) != 1 || snaps[0].Name != cur {
		t.Errorf("snapshots %v, current %s", snaps, cur)
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(dst, 0o755)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
