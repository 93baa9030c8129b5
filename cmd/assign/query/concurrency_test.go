package query_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// bin is the assign binary built for the process tests.
var bin string

func buildBinary(dir string) error {
	bin = filepath.Join(dir, "assign")
	cmd := exec.Command("go", "build", "-tags", "duckdb_arrow", "-o", bin, "github.com/assign-dev/assign/cmd/assign")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build assign for the process tests: %w", err)
	}
	return nil
}

// assign runs the binary and returns its standard output; on failure the
// error carries standard error.
func assign(home string, args ...string) (string, error) {
	cmd := exec.Command(bin, append([]string{"--home", home}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		err = fmt.Errorf("%w: %s", err, stderr.String())
	}
	return string(out), err
}

// Readers in separate processes keep working while 'assign load' writes
// and switches to a new snapshot and while 'assign preassign' runs: the
// snapshot is attached read-only, the switch is a rename, and run folders
// appear whole.
func TestConcurrentReadersDuringLoadAndPreassign(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	extract := filepath.Join(dir, "extract")
	if out, err := assign(home, "gen", "--out", extract, "--scale", "small"); err != nil {
		t.Fatalf("gen: %v\n%s", err, out)
	}
	if out, err := assign(home, "load", extract); err != nil {
		t.Fatalf("load: %v\n%s", err, out)
	}
	if out, err := assign(home, "preassign", "--date", "2026-03-02", "--days", "7"); err != nil {
		t.Fatalf("preassign: %v\n%s", err, out)
	}
	first, _ := os.ReadFile(filepath.Join(home, "CURRENT"))

	var writersDone sync.WaitGroup
	stop := make(chan struct{})
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	writersDone.Add(2)
	go func() {
		defer writersDone.Done()
		if out, err := assign(home, "load", extract); err != nil {
			fail("load during queries: %v\n%s", err, out)
		}
	}()
	go func() {
		defer writersDone.Done()
		if out, err := assign(home, "preassign", "--date", "2026-03-09", "--days", "7"); err != nil {
			fail("preassign during queries: %v\n%s", err, out)
		}
	}()
	const readers = 4
	var readersDone sync.WaitGroup
	counts := make([]int, readers)
	for i := 0; i < readers; i++ {
		readersDone.Add(1)
		go func(i int) {
			defer readersDone.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					if n >= 3 {
						return
					}
				default:
				}
				// The snapshot and the latest run in turn: one statement
				// reading both is refused while latest.* is a run of the
				// snapshot the load replaced.
				q, want := "SELECT count(*) AS snacks FROM snacks", "snacks\n300"
				if n%2 == 1 {
					q, want = "SELECT sum(demand) > 0 AS has_demand FROM latest.demand", "has_demand\ntrue"
				}
				out, err := assign(home, "query", "--format", "csv", q)
				if err != nil || strings.TrimSpace(out) != want {
					fail("reader %d query %d: %v\n%s", i, n, err, out)
					return
				}
				counts[i]++
			}
		}(i)
	}
	writersDone.Wait()
	close(stop)
	readersDone.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	second, _ := os.ReadFile(filepath.Join(home, "CURRENT"))
	if string(first) == string(second) {
		t.Errorf("the concurrent load did not switch CURRENT (%s)", first)
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	t.Logf("%d queries by %d processes while a load and a preassign ran", total, readers)
	// A query after both sees the new snapshot and both runs.
	out, err := assign(home, "query", "--format", "csv", "SELECT count(*) AS runs FROM runs")
	if err != nil || strings.TrimSpace(out) != "runs\n2" {
		t.Errorf("after: %v %q", err, out)
	}
}
