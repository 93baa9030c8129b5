package reliability

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/cmd/assign/root"
	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/store"
	"github.com/assign-dev/assign/synth"
)

// baseExtract is the loaders' small hand-written extract: the "good
// snapshot" every test starts from.
const baseExtract = "../loaders/testdata/extracts/base"

// TestMain lets the tests run the test binary itself as the assign command
// (ASSIGN_TEST_MAIN=1): fault tests need real processes to kill, and this
// needs no build step.
func TestMain(m *testing.M) {
	if os.Getenv("ASSIGN_TEST_MAIN") == "1" {
		os.Exit(root.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// result is the outcome of one command.
type result struct {
	code        int
	out, errOut string
}

// assign runs one command in-process, through the same entry point as the
// binary, on home.
func assign(t *testing.T, home string, args ...string) result {
	t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	f := cmdutil.New(ios)
	f.HomeDir = func() string { return home }
	code := root.MainWith(f, args)
	return result{code, out.String(), errOut.String()}
}

// mustAssign runs a command that must succeed.
func mustAssign(t *testing.T, home string, args ...string) result {
	t.Helper()
	r := assign(t, home, args...)
	if r.code != 0 {
		t.Fatalf("assign %s: exit %d: %s", strings.Join(args, " "), r.code, r.errOut)
	}
	return r
}

// lockedBuffer is a bytes.Buffer a test may read while the child process
// writes into it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is a child process running the test binary as assign.
type proc struct {
	cmd   *exec.Cmd
	out   lockedBuffer
	start time.Time
	done  chan struct{} // closed when the process has ended
	err   error         // of Wait, valid after done
	end   time.Time     // when Wait returned, valid after done
}

// startAssign starts `assign --home home args...` as a child process.
func startAssign(t *testing.T, home string, args ...string) *proc {
	t.Helper()
	return startProc(t, exec.Command(os.Args[0], append([]string{"--home", home}, args...)...))
}

func startProc(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{cmd: cmd, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "ASSIGN_TEST_MAIN=1")
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); p.end = time.Now(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for the end of the process and reports whether it succeeded.
func (p *proc) wait() bool {
	<-p.done
	return p.err == nil
}

// running reports whether the process has not ended yet.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// exitCode is the process's exit status, -1 when killed by a signal.
func (p *proc) exitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}

// killAt sends SIGKILL once d has passed since the start, or once cond
// holds when cond is set (polling; never a fixed sleep beyond d). It
// reports whether the process was still running when killed.
func (p *proc) killAt(d time.Duration, cond func() bool) bool {
	deadline := p.start.Add(d)
	for {
		if !p.running() {
			return false
		}
		if (cond == nil && !time.Now().Before(deadline)) || (cond != nil && cond()) {
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
			return true
		}
		select {
		case <-p.done:
			return false
		case <-time.After(time.Millisecond):
		}
	}
}

// goodHome returns a fresh home whose current snapshot is the base extract.
func goodHome(t *testing.T) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	mustAssign(t, home, "load", baseExtract)
	return home
}

// tinyExtract generates the hidden tiny synthetic scale (600 users) as CSV:
// large enough for a load or a plan to take a measurable moment, small
// enough for dozens of runs.
func tinyExtract(t *testing.T, seed int64) string {
	t.Helper()
	sc, err := synth.LookupScale("tiny")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "tiny")
	if _, err := synth.Generate(context.Background(), synth.Options{Scale: sc, Seed: seed, AsOf: synth.DefaultAsOf, Format: synth.FormatCSV, OutDir: dir, Threads: 2}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// snapshotState is what a reader of the home sees: the current pointer and
// every listed snapshot with a digest of its bytes.
type snapshotState struct {
	current string
	files   map[string]string // name -> sha256
}

func stateOf(t *testing.T, home string) snapshotState {
	t.Helper()
	h, err := store.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	st := snapshotState{files: map[string]string{}}
	st.current, _ = h.Current()
	snaps, err := h.ListSnapshots()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps {
		st.files[s.Name] = fileDigest(t, s.Path)
	}
	return st
}

func fileDigest(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// queryValue runs `assign query` in-process and returns its single CSV
// value.
func queryValue(t *testing.T, home, sql string) (string, error) {
	t.Helper()
	r := assign(t, home, "query", "--format", "csv", sql)
	if r.code != 0 {
		return "", errors.New(strings.TrimSpace(r.errOut))
	}
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 2 {
		return "", errors.New("want a header and one row, got: " + r.out)
	}
	return lines[1], nil
}

// checkSnapshotsComplete opens every listed snapshot read-only and checks
// it holds its metadata and users: a listed snapshot is never half written.
func checkSnapshotsComplete(t *testing.T, home string) {
	t.Helper()
	h, err := store.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := h.ListSnapshots()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps {
		db, err := duck.OpenSnapshot(context.Background(), s.Path, duck.Options{Threads: 1})
		if err != nil {
			t.Fatalf("listed snapshot %s does not open: %v", s.Name, err)
		}
		var n int64
		err = db.QueryRow(context.Background(), "SELECT count(*) FROM users WHERE EXISTS (SELECT 1 FROM assign_meta WHERE key = 'snapshot')").Scan(&n)
		db.Close()
		if err != nil || n == 0 {
			t.Fatalf("listed snapshot %s is incomplete: %d users, %v", s.Name, n, err)
		}
	}
}

// copyTree copies a folder (files and folders only).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// envInt reads an integer knob from the environment.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
