package query_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// countingWriter counts the bytes a child process writes and keeps none.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// child runs the assign binary on the test home and reports its exit
// code, standard error, the bytes of standard output and its peak RSS.
type childResult struct {
	code   int
	stderr string
	out    int64
	maxRSS int64 // bytes
	took   time.Duration
}

func runChild(t *testing.T, args ...string) childResult {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--home", homeDir}, args...)...)
	var out countingWriter
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start := time.Now()
	err := cmd.Run()
	r := childResult{stderr: stderr.String(), out: out.n, took: time.Since(start)}
	if cmd.ProcessState == nil {
		t.Fatalf("assign %v: %v", args, err)
	}
	r.code = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss << 10 // KiB on Linux
	}
	return r
}

// Every format streams: twenty times the rows cost no more memory. The
// result holds 600,000 rows of about 300 bytes (180 MB as CSV); before,
// every text format held the whole result in memory, and RSS grew with it.
func TestEveryFormatStreamsInConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 5 x 180 MB through child processes")
	}
	const sql = "SELECT i, repeat('x', 290) AS pad, i * 0.5 AS half FROM range(%d) t(i)"
	for _, format := range []string{"csv", "json", "jsonl", "markdown", "table"} {
		small := runChild(t, "query", "--format", format, "--max-rows", "1000", fmt.Sprintf(sql, 30000))
		big := runChild(t, "query", "--format", format, "--max-rows", "1000", fmt.Sprintf(sql, 600000))
		if small.code != 0 || big.code != 0 {
			t.Fatalf("%s: exit %d / %d: %s %s", format, small.code, big.code, small.stderr, big.stderr)
		}
		if format != "table" && big.out < 150<<20 {
			t.Errorf("%s: wrote only %d bytes", format, big.out)
		}
		growth := big.maxRSS - small.maxRSS
		t.Logf("%s: %d bytes out, peak RSS %d MiB (30k rows: %d MiB), %s", format, big.out, big.maxRSS>>20, small.maxRSS>>20, big.took.Round(time.Millisecond))
		if growth > 64<<20 {
			t.Errorf("%s: peak RSS grew by %d MiB for 20x the rows (%d -> %d MiB): the result is held, not streamed",
				format, growth>>20, small.maxRSS>>20, big.maxRSS>>20)
		}
	}
}

// A runaway query ends with one line naming the limit and exit 1, not
// with the machine's memory or never: a list far past --memory-limit
// (DuckDB does not account for it; the process cap stops it), a sort
// past it with no room to spill, and a recursive CTE without end
// (--timeout).
func TestRunawayQueriesEndWithOneLine(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"--memory-limit", "512MB", "SELECT len(range(0, 400000000)) AS n"}, "memory limit of 488.3 MiB"},
		{[]string{"--timeout", "2s", "WITH RECURSIVE t(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM t) SELECT count(*) FROM t"}, "the time limit of 2s"},
	}
	for _, c := range cases {
		r := runChild(t, append([]string{"query", "--format", "csv"}, c.args...)...)
		line := strings.TrimSpace(r.stderr)
		if r.code != 1 || strings.Contains(line, "\n") || !strings.HasPrefix(line, "assign: ") || !strings.Contains(line, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and one line naming %q", c.args, r.code, r.stderr, c.msg)
		}
		if r.maxRSS > 2<<30 {
			t.Errorf("%v: peak RSS %d MiB", c.args, r.maxRSS>>20)
		}
		if r.took > time.Minute {
			t.Errorf("%v: took %s", c.args, r.took)
		}
	}
}

// --out leaves nothing behind on any error: a refusal, an SQL error in the
// middle of the result, a time limit, a memory limit, in every format.
func TestOutLeavesNoTemporaryFile(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	for _, name := range []string{"o.csv", "o.parquet"} {
		out := filepath.Join(dir, name)
		for _, args := range [][]string{
			{"SELECT * FROM enable_logging(storage = 'file', storage_path = '/tmp')"},
			{"SELECT CASE WHEN i < 200000 THEN i::VARCHAR ELSE 'x' END::INTEGER AS v FROM range(400000) t(i)"},
			{"--timeout", "1s", "SELECT count(*) FROM range(100000000000)"},
			{"--memory-limit", "300MB", "SELECT len(range(0, 400000000)) AS n"},
		} {
			r := runChild(t, append([]string{"query", "--out", out}, args...)...)
			if r.code != 1 {
				t.Errorf("--out %s %v: exit %d: %s", name, args, r.code, r.stderr)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("--out %s %v left %v", name, args, entries[0].Name())
			}
		}
	}
}

// A trailing line comment or semicolon works with --out FILE.parquet (the
// COPY wrapper put the closing parenthesis inside the comment), and a
// leading "-- comment" in the SQL argument is SQL, not a flag.
func TestCommentsInTheSQLArgument(t *testing.T) {
	dir := t.TempDir()
	for i, sql := range []string{"SELECT 1 AS a -- c", "SELECT 1 AS a;", "SELECT 1 AS a -- c\n;", "SELECT 1 AS a /* c */"} {
		out := filepath.Join(dir, fmt.Sprintf("x%d.parquet", i))
		if r := run(t, "", "--out", out, sql); r.code != 0 {
			t.Errorf("--out x.parquet %q: exit %d: %s", sql, r.code, r.err)
		}
	}
	for _, args := range [][]string{
		{"-- weekly check\nSELECT 1 AS a", "--format", "csv"},
		{"--format", "csv", "-- weekly check\nSELECT 1 AS a"},
		{"--format", "csv", "--", "-- weekly check\nSELECT 1 AS a"},
		{"--\tc\nSELECT 1 AS a", "--format", "csv"},
	} {
		if r := run(t, "", args...); r.code != 0 || r.out != "a\n1\n" {
			t.Errorf("%q: exit %d, out %q, err %q", args, r.code, r.out, r.err)
		}
	}
}

// ANSI escapes from the data reach a terminal table escaped.
func TestTableOutputEscapesControlCharacters(t *testing.T) {
	r := run(t, "", "--format", "table", "SELECT 'ok' || chr(27) || '[31m red' AS name")
	if r.code != 0 || strings.ContainsRune(r.out, 0x1b) || !strings.Contains(r.out, `ok\x1b[31m red`) {
		t.Errorf("exit %d, out %q", r.code, r.out)
	}
	r = run(t, "", "--format", "csv", "SELECT 'ok' || chr(27) AS name")
	if r.code != 0 || r.out != "name\nok\x1b\n" {
		t.Errorf("csv: exit %d, out %q", r.code, r.out)
	}
	// A value DuckDB quotes in an error message is escaped too.
	r = run(t, "", "--format", "csv", "SELECT (CASE WHEN i = 9 THEN 'x' || chr(27) || '[2J' ELSE i::VARCHAR END)::INTEGER AS v FROM range(10) t(i)")
	if r.code != 1 || strings.ContainsRune(r.err, 0x1b) || !strings.Contains(r.err, `x\x1b[2J`) {
		t.Errorf("error: exit %d, stderr %q", r.code, r.err)
	}
}
