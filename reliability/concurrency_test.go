package reliability

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/assign-dev/assign/plan"
)

// TestLoadsRaceReaders runs rounds of two `assign load` processes started
// together, alternating two extracts, while reader processes run back to
// back: `assign query` counting users and `assign preassign`. One load of a
// pair wins and the other fails with the busy message (or, when they did
// not overlap, both succeed); every reader succeeds and sees one whole
// snapshot (the user count of one of the extracts, never a mix or an
// error); afterwards every listed snapshot and run is complete.
func TestLoadsRaceReaders(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	home := goodHome(t) // the base extract: 4 users
	tiny := tinyExtract(t, 2)
	extracts := []string{tiny, baseExtract}
	valid := map[string]bool{"4": true, "600": true}

	var (
		mu      sync.Mutex
		reads   = map[string]int{}
		failure string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if failure == "" {
			failure = fmt.Sprintf(format, args...)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	reader := func(kind string, args []string, check func(out string) error) {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			cmd := exec.Command(os.Args[0], append([]string{"--home", home}, args...)...)
			cmd.Env = append(os.Environ(), "ASSIGN_TEST_MAIN=1")
			out, err := cmd.Output()
			if err != nil {
				msg := err.Error()
				if ee, ok := err.(*exec.ExitError); ok {
					msg += ": " + string(ee.Stderr)
				}
				fail("%s reader failed during loads: %s", kind, msg)
				return
			}
			if err := check(string(out)); err != nil {
				fail("%s reader: %v", kind, err)
				return
			}
			mu.Lock()
			reads[kind]++
			mu.Unlock()
		}
	}
	countUsers := func(out string) error {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !valid[lines[1]] {
			return fmt.Errorf("users counted as %q: not one whole snapshot", out)
		}
		return nil
	}
	planned := func(out string) error {
		var m plan.Manifest
		if err := json.Unmarshal([]byte(out), &m); err != nil || m.RunID == "" || m.Snapshot == "" {
			return fmt.Errorf("preassign printed no manifest (%v): %s", err, out)
		}
		return nil
	}
	wg.Add(3)
	go reader("query", []string{"query", "--format", "csv", "SELECT count(*) FROM users"}, countUsers)
	go reader("query", []string{"query", "--format", "csv", "SELECT count(*) FROM users"}, countUsers)
	go reader("preassign", []string{"preassign", "--date", "2026-03-02", "--days", "7", "--json"}, planned)

	rounds := envInt("ASSIGN_RACE_ROUNDS", 6)
	won, both := 0, 0
	for i := 0; i < rounds; i++ {
		ex := extracts[i%2]
		a := startAssign(t, home, "load", ex)
		b := startAssign(t, home, "load", ex)
		okA, okB := a.wait(), b.wait()
		switch {
		case okA && okB:
			both++
		case okA != okB:
			won++
			loser := b
			if okB {
				loser = a
			}
			if !strings.Contains(loser.out.String(), "another 'assign load' is writing a snapshot in this home") || loser.exitCode() != 1 {
				t.Errorf("round %d: the losing load did not fail clearly (exit %d):\n%s", i, loser.exitCode(), loser.out.String())
			}
		default:
			t.Fatalf("round %d: both loads failed:\n%s\n%s", i, a.out.String(), b.out.String())
		}
		want := map[string]string{tiny: "600", baseExtract: "4"}[ex]
		if got := checkQueryable(t, home); got != want {
			t.Errorf("round %d: the current snapshot has %s users after loading %s users", i, got, want)
		}
	}
	close(stop)
	wg.Wait()
	if failure != "" {
		t.Fatal(failure)
	}
	checkSnapshotsComplete(t, home)
	checkRuns(t, home)
	t.Logf("%d rounds of two loads: %d with one winner and one clear refusal, %d without overlap; readers held during the loads: %d query and %d preassign processes",
		rounds, won, both, reads["query"], reads["preassign"])
	if reads["query"] == 0 || reads["preassign"] == 0 {
		t.Errorf("the readers did not run during the loads: %v", reads)
	}
}
