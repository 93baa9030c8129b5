package reliability

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/report"
	"github.com/assign-dev/assign/store"
)

// interruptPoints is how many Ctrl-C points each command gets.
func interruptPoints() int { return envInt("ASSIGN_INTERRUPT_POINTS", 6) }

// interruptSeries runs args once to completion to time it, then starts it
// again once per point and sends SIGINT, as Ctrl-C does, at evenly spread
// shares of that time after the process logged its start (from then on its
// handler is installed). An interrupted process must exit 130 with one
// line from want and no driver or Go wording; check then inspects what it
// left. At least half the points must interrupt a running process.
func interruptSeries(t *testing.T, name, home string, args []string, want func(line string) bool, check func(i int, interrupted bool)) {
	t.Helper()
	args = append([]string{"--log-level", "debug"}, args...)
	// started starts a process and returns it once it has logged its
	// start, with the time it did.
	started := func() (*proc, time.Time) {
		p := startAssign(t, home, args...)
		for p.running() && !strings.Contains(p.out.String(), "msg=start") {
			time.Sleep(time.Millisecond)
		}
		return p, time.Now()
	}
	full, at := started()
	if !full.wait() {
		t.Fatalf("%s: a complete run failed: %v\n%s", name, full.err, full.out.String())
	}
	// The expected length is the shortest complete run seen (the first
	// one may be slowed by cold caches or other tests).
	dur := full.end.Sub(at)
	check(-1, false)
	points := interruptPoints()
	interrupted := 0
	for i := 0; i < points; i++ {
		p, at := started()
		time.Sleep(time.Duration(0.8 * float64(dur) * float64(i) / float64(points)))
		sent := p.running() && p.cmd.Process.Signal(syscall.SIGINT) == nil
		code := p.exitCode()
		out := p.out.String()
		switch {
		case code == 0:
			// Finished before the signal (or handled it after its last step).
			dur = min(dur, p.end.Sub(at))
		case code == cmdutil.ExitInterrupted && sent:
			interrupted++
			lines := strings.Split(strings.TrimSpace(out), "\n")
			last := lines[len(lines)-1]
			if !want(last) {
				t.Errorf("%s point %d: interrupted with %q", name, i, last)
			}
			for _, bad := range []string{"context canceled", "INTERRUPT Error", "goroutine ", "panic"} {
				if strings.Contains(out, bad) {
					t.Errorf("%s point %d: the output shows %q:\n%s", name, i, bad, out)
				}
			}
		default:
			t.Fatalf("%s point %d: exit %d (signal sent: %v), want 0 or %d:\n%s", name, i, code, sent, cmdutil.ExitInterrupted, out)
		}
		check(i, code == cmdutil.ExitInterrupted)
	}
	t.Logf("%s: %d points, %d interrupted mid-run; a complete run took %s", name, points, interrupted, dur.Round(time.Millisecond))
	if interrupted < points/2 {
		t.Errorf("%s: only %d of %d runs were interrupted mid-way", name, interrupted, points)
	}
}

// nothingWritten is the line of a command that was interrupted before it
// published anything.
func nothingWritten(line string) bool { return line == "assign: interrupted; nothing was written" }

// noTemporaries fails when a folder holds a hidden temporary entry.
func noTemporaries(t *testing.T, dirs ...string) {
	t.Helper()
	for _, dir := range dirs {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".tmp-") || strings.Contains(e.Name(), ".tmp-") {
				t.Fatalf("%s holds the temporary %s after an interrupt", dir, e.Name())
			}
		}
	}
}

// reportRunOf is the run a report folder was made from ("" when absent).
func reportRunOf(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, report.SummaryFile))
	if os.IsNotExist(err) {
		return ""
	}
	var sum report.Summary
	if err != nil || json.Unmarshal(b, &sum) != nil {
		t.Fatalf("report %s: unreadable summary (%v)", dir, err)
	}
	return sum.RunID
}

// TestInterrupt sends a real SIGINT to running preassign, report, load and
// query processes: each stops with exit 130 and one line saying what it
// left, and leaves no partial run, report, snapshot or file behind.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	home := filepath.Join(t.TempDir(), "home")
	extract := tinyExtract(t, 1)
	mustAssign(t, home, "load", extract)
	h, _ := store.Open(home)

	t.Run("preassign", func(t *testing.T) {
		runs := checkRuns(t, home)
		work := t.TempDir()
		out := filepath.Join(work, "forecast")
		manifest := func() string {
			b, _ := os.ReadFile(filepath.Join(out, store.ManifestFile))
			return string(b)
		}
		was := manifest()
		args := []string{"preassign", "--date", "2026-03-02", "--days", "366", "--threads", "1", "--out", out, "--format", "csv"}
		interruptSeries(t, "preassign", home, args, nothingWritten, func(i int, interrupted bool) {
			got := checkRuns(t, home)
			if interrupted && len(got) != len(runs) {
				t.Fatalf("point %d: an interrupted preassign changed the runs from %v to %v", i, runs, got)
			}
			if now := manifest(); interrupted && now != was {
				t.Fatalf("point %d: an interrupted preassign replaced its --out folder", i)
			} else {
				was = now
			}
			runs = got
			noTemporaries(t, h.RunsDir(), work)
		})
	})

	t.Run("report", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "reports")
		runs := checkRuns(t, home)
		var saved, published string
		want := func(line string) bool {
			if nothingWritten(line) {
				return true
			}
			rest, ok := strings.CutPrefix(line, "assign: interrupted; preassign run ")
			id, ok2 := strings.CutSuffix(rest, " was saved, the report was not written")
			saved = id
			return ok && ok2
		}
		args := []string{"report", "--date", "2026-03-02", "--days", "366", "--threads", "1", "--out", out}
		interruptSeries(t, "report", home, args, want, func(i int, interrupted bool) {
			got := checkRuns(t, home)
			folder := reportRunOf(t, filepath.Join(out, "2026-03-02"))
			if interrupted {
				if folder != published {
					t.Fatalf("point %d: an interrupted report replaced the report of run %s by one of run %s", i, published, folder)
				}
				if saved != "" && !slices.Contains(got, saved) {
					t.Fatalf("point %d: the report says run %s was saved; the runs are %v", i, saved, got)
				}
				if len(got) != len(runs) && !(saved != "" && len(got) == len(runs)+1) {
					t.Fatalf("point %d: an interrupted report changed the runs from %v to %v", i, runs, got)
				}
			}
			saved = ""
			runs = got
			published = folder
			checkReports(t, out, got)
			noTemporaries(t, out, h.RunsDir())
		})
	})

	t.Run("load", func(t *testing.T) {
		before := stateOf(t, home)
		interruptSeries(t, "load", home, []string{"load", extract}, nothingWritten, func(i int, interrupted bool) {
			after := stateOf(t, home)
			if interrupted && (after.current != before.current || !mapsEqual(after.files, before.files)) {
				t.Fatalf("point %d: an interrupted load changed the snapshots", i)
			}
			before = after
			checkSnapshotsComplete(t, home)
			checkQueryable(t, home)
			if left := h.StaleTemporaries(); len(left) > 0 {
				t.Fatalf("point %d: an interrupted load left %v", i, left)
			}
		})
	})

	t.Run("query --out", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "pairs.csv")
		sql := "SELECT count(*) AS n FROM users a, users b, (FROM users LIMIT 200) c WHERE a.user_id + b.user_id <> c.user_id"
		interruptSeries(t, "query", home, []string{"query", "--format", "csv", "--out", file, sql}, nothingWritten, func(i int, interrupted bool) {
			if _, err := os.Stat(file); interrupted && err == nil {
				t.Fatalf("point %d: an interrupted query wrote %s", i, file)
			}
			os.Remove(file)
			noTemporaries(t, dir)
		})
	})
}
