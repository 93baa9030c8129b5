package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/internal/testhome"
)

// TestBadInvocations: every bad flag or value gets one clear message naming
// the flag and what is allowed, the usage exit code for usage mistakes, the
// failure code otherwise, and never a panic.
func TestBadInvocations(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"frobnicate"}, cmdutil.ExitUsage, `unknown command "frobnicate"`},
		{[]string{"preassign"}, cmdutil.ExitUsage, `required flag(s) "date" not set`},
		{[]string{"preassign", "--date", "2026-3-2"}, cmdutil.ExitUsage, `--date "2026-3-2": want a date as YYYY-MM-DD`},
		{[]string{"preassign", "--date", "2026-02-30"}, cmdutil.ExitUsage, `--date "2026-02-30": there is no such day: February 2026 has 28 days`},
		{[]string{"preassign", "--date", "2028-02-30"}, cmdutil.ExitUsage, `--date "2028-02-30": there is no such day: February 2028 has 29 days`},
		{[]string{"preassign", "--date", "2026-13-01"}, cmdutil.ExitUsage, `--date "2026-13-01": there is no month 13`},
		{[]string{"explain", "--user", "1", "--date", "2026-04-31"}, cmdutil.ExitUsage, `--date "2026-04-31": there is no such day: April 2026 has 30 days`},
		{[]string{"preassign", "--date", "2026-03-02", "--days", "0"}, cmdutil.ExitUsage, "--days 0: must be between 1 and 366"},
		{[]string{"preassign", "--date", "2026-03-02", "--days", "10000"}, cmdutil.ExitUsage, "--days 10000: must be between 1 and 366"},
		{[]string{"preassign", "--date", "2026-03-02", "--days", "x"}, cmdutil.ExitUsage, `invalid argument "x" for "--days"`},
		{[]string{"preassign", "--date", "2026-03-02", "--format", "xml"}, cmdutil.ExitUsage, `--format "xml": must be one of [parquet csv]`},
		{[]string{"preassign", "--date", "2026-03-02", "--threads", "-1"}, cmdutil.ExitUsage, "--threads -1: must be between 0 and 1024"},
		{[]string{"preassign", "--date", "2026-03-02", "--max-per-category", "30"}, cmdutil.ExitUsage, "max_per_category = 30 is out of range: allowed 0..20"},
		{[]string{"preassign", "--date", "2026-03-02", "--prior-weight", "0"}, cmdutil.ExitUsage, "prior_weight = 0 is out of range"},
		{[]string{"preassign", "--date", "2026-03-02", "--policy", "/nonexistent/p.toml"}, cmdutil.ExitUsage, "--policy /nonexistent/p.toml: cannot read the file (no such file or directory)"},
		{[]string{"preassign", "--date", "2026-03-02"}, cmdutil.ExitFailure, "no snapshot loaded yet: run 'assign load DIR' (or 'assign demo') first"},
		{[]string{"preassign", "--date", "2026-03-02", "--snapshot", "nope"}, cmdutil.ExitFailure, `snapshot "nope" not found`},
		{[]string{"preassign", "--date", "2026-03-02", "--snapshot", "../etc"}, cmdutil.ExitFailure, `invalid name "../etc"`},
		{[]string{"run", "--date", "2026-03-02", "--allocator", "magic"}, cmdutil.ExitUsage, `--allocator "magic": must be one of [greedy optimal]`},
		{[]string{"run", "--date", "2026-03-02", "--max-phases", "10"}, cmdutil.ExitUsage, `--max-phases limits the optimal allocator; use it with --allocator optimal`},
		{[]string{"run", "--date", "2026-03-02", "--allocator", "optimal", "--max-phases", "-1"}, cmdutil.ExitUsage, `--max-phases -1: must lie between 1 and 1000000000`},
		{[]string{"explain", "--user", "1", "--date", "2026-03-02", "--allocator", "optimal"}, cmdutil.ExitUsage, `--allocator optimal explains a run: add --mode run`},
		{[]string{"explain", "--user", "1", "--date", "2026-03-02", "--mode", "run", "--allocator", "best"}, cmdutil.ExitUsage, `--allocator "best": must be one of [greedy optimal]`},
		{[]string{"gen", "--out", "x", "--stock-factor", "-2"}, cmdutil.ExitUsage, `--stock-factor -2: must lie between 0.01 and 100`},
		{[]string{"explain", "--date", "2026-03-02"}, cmdutil.ExitUsage, `required flag(s) "user" not set`},
		{[]string{"explain", "--user", "x", "--date", "2026-03-02"}, cmdutil.ExitUsage, `invalid argument "x" for "--user"`},
		{[]string{"explain", "--user", "1", "--date", "2026-03-02", "--from", "2026-03-05"}, cmdutil.ExitUsage, "--from 2026-03-05 is after --date 2026-03-02"},
		{[]string{"explain", "--user", "1", "--date", "2026-03-02", "--mode", "x"}, cmdutil.ExitUsage, `--mode "x": must be one of [preassign run]`},
		{[]string{"explain", "--user", "1", "--date", "2026-03-02", "--show", "x"}, cmdutil.ExitUsage, `--show "x"`},
		{[]string{"check", "a", "b"}, cmdutil.ExitUsage, "accepts at most 1 arg(s)"},
		{[]string{"check"}, cmdutil.ExitFailure, "no runs yet"},
		{[]string{"check", "nope"}, cmdutil.ExitFailure, `run "nope" not found`},
		{[]string{"demo", "--scale", "huge"}, cmdutil.ExitUsage, `--scale "huge"`},
		{[]string{"demo", "--days", "0"}, cmdutil.ExitUsage, "--days 0: must be between 1 and 366"},
		{[]string{"--log-level", "loud", "snapshots"}, cmdutil.ExitUsage, `--log-level "loud"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ios, _, out, errOut := cmdutil.Test()
			f := cmdutil.New(ios)
			f.HomeDir = func() string { return home }
			f.Now = func() time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) }
			code := MainWith(f, tt.args)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tt.code, errOut)
			}
			if !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.want)
			}
			if strings.Contains(errOut.String(), "goroutine ") || strings.Contains(errOut.String(), "panic") {
				t.Errorf("stderr shows a panic: %s", errOut)
			}
			if lines := strings.Count(strings.TrimSpace(errOut.String()), "\n") + 1; lines > 3 {
				t.Errorf("error takes %d lines, want one sentence (plus a usage hint):\n%s", lines, errOut)
			}
			_ = out
		})
	}
}

// TestBadValuesEverywhere extends TestBadInvocations to every command that
// takes values (gen, load, snapshots, query, report, explain, preassign),
// in a home with a loaded snapshot so that values are checked against data
// (unknown snapshot, run or user), with policy files holding bad keys and
// paths that are missing or of the wrong kind. $D is a scratch folder.
func TestBadValuesEverywhere(t *testing.T) {
	home := t.TempDir()
	d := t.TempDir()
	for name, data := range map[string]string{
		"unknown.toml": "max_per_categry = 3\n",
		"range.toml":   "max_per_category = 99\n",
		"syntax.toml":  "max_per_category = = 2\n",
		"type.toml":    "fill_ignoring_caps = \"yes\"\n",
		"afile":        "x",
		"full/x":       "x",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(d, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (int, string) {
		ios, _, _, errOut := cmdutil.Test()
		f := cmdutil.New(ios)
		f.HomeDir = func() string { return home }
		return MainWith(f, args), errOut.String()
	}
	if code, errOut := run("load", "../../../loaders/testdata/extracts/base"); code != 0 {
		t.Fatalf("load: %s", errOut)
	}
	const dates = "2026-03-02"
	tests := []struct {
		args []string
		code int
		want string
	}{
		// gen
		{[]string{"gen"}, cmdutil.ExitUsage, `required flag(s) "out" not set`},
		{[]string{"gen", "--out", "$D/g", "--scale", "huge"}, cmdutil.ExitUsage, `--scale "huge": must be one of small, medium, large`},
		{[]string{"gen", "--out", "$D/g", "--format", "xml"}, cmdutil.ExitUsage, `--format "xml": must be one of [parquet csv jsonl arrow]`},
		{[]string{"gen", "--out", "$D/g", "--as-of", "2026-02-30"}, cmdutil.ExitUsage, `--as-of "2026-02-30": there is no such day: February 2026 has 28 days`},
		{[]string{"gen", "--out", "$D/g", "--as-of", "1900-01-01"}, cmdutil.ExitUsage, "--as-of 1900-01-01: must lie between 1975 and 2200"},
		{[]string{"gen", "--out", "$D/g", "--split", "-1"}, cmdutil.ExitUsage, "--split -1: must be between 0 and 1024"},
		{[]string{"gen", "--out", "$D/g", "--seed", "x"}, cmdutil.ExitUsage, `invalid argument "x" for "--seed" flag: want an integer`},
		{[]string{"gen", "--out", "$D/full"}, cmdutil.ExitUsage, "--out $D/full: output folder is not empty"},
		{[]string{"gen", "--out", "$D/afile"}, cmdutil.ExitUsage, "--out $D/afile is a file, not a folder"},
		{[]string{"gen", "--out", "$D/afile/sub"}, cmdutil.ExitUsage, "--out $D/afile/sub: $D/afile is a file, not a folder"},
		// load
		{[]string{"load"}, cmdutil.ExitUsage, "accepts 1 arg(s), received 0"},
		{[]string{"load", "$D/missing"}, cmdutil.ExitFailure, "extract folder $D/missing does not exist"},
		{[]string{"load", "$D/afile"}, cmdutil.ExitFailure, "extract $D/afile is not a folder"},
		{[]string{"load", "$D/full"}, cmdutil.ExitFailure, "lacks the required tables snacks, users, stock"},
		{[]string{"load", "x", "--name", "a/b"}, cmdutil.ExitUsage, `--name: invalid name "a/b"`},
		{[]string{"load", "x", "--memory-limit", "lots"}, cmdutil.ExitUsage, `--memory-limit "lots": want a size such as 4GB`},
		{[]string{"load", "x", "--threads", "x"}, cmdutil.ExitUsage, `invalid argument "x" for "--threads" flag: want an integer`},
		{[]string{"load", "../../../loaders/testdata/extracts/base", "--reject-file", "$D/full"}, cmdutil.ExitFailure, "reject file $D/full is a folder: give a file path"},
		{[]string{"load", "../../../loaders/testdata/extracts/base", "--reject-file", "$D/missing/r.csv"}, cmdutil.ExitFailure, "create reject file $D/missing/r.csv: no such file or directory"},
		// snapshots
		{[]string{"snapshots", "--format", "xml"}, cmdutil.ExitUsage, `--format "xml": must be one of [table csv json]`},
		{[]string{"snapshots", "frob"}, cmdutil.ExitUsage, `unknown command "frob" for "assign snapshots"`},
		{[]string{"snapshots", "use"}, cmdutil.ExitUsage, "accepts 1 arg(s), received 0"},
		{[]string{"snapshots", "use", "nope"}, cmdutil.ExitFailure, `snapshot "nope" not found in`},
		{[]string{"snapshots", "use", "../x"}, cmdutil.ExitFailure, `invalid name "../x": names are plain file names, not paths`},
		{[]string{"snapshots", "gc"}, cmdutil.ExitUsage, `required flag(s) "keep" not set`},
		{[]string{"snapshots", "gc", "--keep", "-1"}, cmdutil.ExitUsage, "--keep -1: must be between 0 and 1000000"},
		// query
		{[]string{"query"}, cmdutil.ExitUsage, "no SQL given: pass it as an argument, with -f FILE, or on standard input"},
		{[]string{"query", "-f", "$D/missing.sql"}, cmdutil.ExitUsage, "-f $D/missing.sql: no such file or directory"},
		{[]string{"query", "SELECT 1", "-f", "$D/afile"}, cmdutil.ExitUsage, "give the SQL either as an argument or with -f, not both"},
		{[]string{"query", "SELECT 1", "--format", "xml"}, cmdutil.ExitUsage, `--format "xml": must be one of [table csv json jsonl parquet markdown]`},
		{[]string{"query", "SELECT 1", "--format", "parquet"}, cmdutil.ExitUsage, "--format parquet needs --out FILE"},
		{[]string{"query", "SELECT 1", "--out", "$D/x.xml"}, cmdutil.ExitUsage, "--out $D/x.xml: cannot tell the format from the extension; add --format"},
		{[]string{"query", "SELECT 1", "--out", "$D/missing/x.csv"}, cmdutil.ExitUsage, "--out $D/missing/x.csv: folder $D/missing does not exist"},
		{[]string{"query", "SELECT 1", "--out", "$D/full"}, cmdutil.ExitUsage, "--out $D/full is a folder; give a file name"},
		{[]string{"query", "SELECT 1", "--date", "2026-02-30"}, cmdutil.ExitUsage, `--date "2026-02-30": there is no such day`},
		{[]string{"query", "SELECT 1", "--days", "10000"}, cmdutil.ExitUsage, "--days 10000: must be between 0 and 366"},
		{[]string{"query", "SELECT 1", "--snapshot", "nope"}, cmdutil.ExitFailure, `snapshot "nope" not found in`},
		{[]string{"query", "SELECT 1", "--run", "nope"}, cmdutil.ExitFailure, `run "nope" not found in`},
		{[]string{"query", "DROP TABLE users"}, cmdutil.ExitFailure, "refused DROP (a write) in statement 1: assign query is read-only"},
		{[]string{"query", "SELECT * FROM nosuchtable"}, cmdutil.ExitFailure, "statement 1: Catalog Error: Table with name nosuchtable does not exist!"},
		{[]string{"query", "SELEC 1"}, cmdutil.ExitFailure, `statement 1: Parser Error: syntax error at or near "SELEC" (at line 1: SELEC 1)`},
		{[]string{"query", "SELECT CAST('x' AS INTEGER)"}, cmdutil.ExitFailure, "Conversion Error: Could not convert string 'x' to INT32"},
		// report
		{[]string{"report", "--date", dates}, cmdutil.ExitUsage, `required flag(s) "out" not set`},
		{[]string{"report", "--date", "03/02/2026", "--out", "$D/r"}, cmdutil.ExitUsage, `--date "03/02/2026": want a date as YYYY-MM-DD`},
		{[]string{"report", "--date", dates, "--out", "$D/r", "--days", "0"}, cmdutil.ExitUsage, "--days 0: must be between 1 and 366"},
		{[]string{"report", "--date", dates, "--out", "$D/r", "--days", "10000"}, cmdutil.ExitUsage, "--days 10000: must be between 1 and 366"},
		{[]string{"report", "--date", dates, "--out", "$D/r", "--top", "0"}, cmdutil.ExitUsage, "--top 0: must be between 1 and 200"},
		{[]string{"report", "--date", dates, "--out", "$D/r", "--fail-on-shortage", "-1"}, cmdutil.ExitUsage, "--fail-on-shortage -1: must be between 0 and 2147483647"},
		{[]string{"report", "--date", dates, "--out", "$D/afile"}, cmdutil.ExitUsage, "--out $D/afile is a file, not a folder"},
		{[]string{"report", "--date", dates, "--out", "$D/r", "--snapshot", "nope"}, cmdutil.ExitFailure, `snapshot "nope" not found in`},
		{[]string{"report", "--date", dates, "--out", "$D/r", "--max-per-category", "99"}, cmdutil.ExitUsage, "max_per_category = 99 is out of range: allowed 0..20 (check the flag or the policy file)"},
		{[]string{"report", "--date", dates, "--out", "$D/r", "--policy", "$D/unknown.toml"}, cmdutil.ExitUsage, `policy file $D/unknown.toml: unknown key "max_per_categry"; known keys: max_per_category, `},
		{[]string{"report", "--date", dates, "--out", "$D/r", "--policy", "$D/range.toml"}, cmdutil.ExitUsage, "policy file $D/range.toml: policy key max_per_category = 99 is out of range: allowed 0..20"},
		{[]string{"report", "--date", dates, "--out", "$D/r", "--policy", "$D/syntax.toml"}, cmdutil.ExitUsage, "policy file $D/syntax.toml line 1: expected value but found '=' instead"},
		{[]string{"report", "--date", dates, "--out", "$D/r", "--policy", "$D/type.toml"}, cmdutil.ExitUsage, "policy file $D/type.toml"},
		{[]string{"report", "--date", dates, "--out", "$D/r", "--policy", "$D/missing.toml"}, cmdutil.ExitUsage, "--policy $D/missing.toml: cannot read the file (no such file or directory)"},
		// explain, preassign, run, check
		{[]string{"explain", "--user", "999999", "--date", dates}, cmdutil.ExitFailure, "user 999999 not found in the snapshot"},
		{[]string{"explain", "--user", "10", "--date", dates, "--format", "xml"}, cmdutil.ExitUsage, `--format "xml": must be one of [table json]`},
		{[]string{"preassign", "--date", dates, "--policy", "$D/unknown.toml"}, cmdutil.ExitUsage, `unknown key "max_per_categry"`},
		{[]string{"preassign", "--date", dates, "--out", "$D/afile"}, cmdutil.ExitUsage, "--out $D/afile is a file, not a folder"},
		{[]string{"preassign", "--date", dates, "--out", "$D/afile/sub"}, cmdutil.ExitUsage, "--out $D/afile/sub: $D/afile is a file, not a folder"},
		{[]string{"preassign", "--date", dates, "--w-novelty", "abc"}, cmdutil.ExitUsage, `invalid argument "abc" for "--w-novelty" flag: want a number`},
		{[]string{"preassign", "--date", dates, "--fill-ignoring-caps=maybe"}, cmdutil.ExitUsage, `invalid argument "maybe" for "--fill-ignoring-caps" flag: want true or false`},
		{[]string{"run", "--date", dates, "--days", "99999999999999999999"}, cmdutil.ExitUsage, `invalid argument "99999999999999999999" for "--days" flag: the number is out of range`},
		{[]string{"check", "$D/afile"}, cmdutil.ExitFailure, `run "$D/afile" not found in`},
	}
	for _, tt := range tests {
		args := make([]string, len(tt.args))
		for i, a := range tt.args {
			args[i] = strings.ReplaceAll(a, "$D", d)
		}
		want := strings.ReplaceAll(tt.want, "$D", d)
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, errOut := run(args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tt.code, errOut)
			}
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr %q does not contain %q", errOut, want)
			}
			for _, bad := range []string{"goroutine ", "panic", "internal error"} {
				if strings.Contains(errOut, bad) {
					t.Errorf("stderr shows %q: %s", bad, errOut)
				}
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if len(lines) > 2 || (len(lines) == 2 && !strings.HasPrefix(lines[1], "Run 'assign ")) {
				t.Errorf("the error takes %d lines, want one sentence (plus a usage hint):\n%s", len(lines), errOut)
			}
			if (code == cmdutil.ExitUsage) != (len(lines) == 2) {
				t.Errorf("a usage error (and only one) ends with the usage hint:\n%s", errOut)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(d, "r")); err == nil {
		t.Errorf("a refused report created its folder")
	}
}

// TestEveryCommandHasHelpWithExamples: --help works everywhere and shows examples.
func TestEveryCommandHasHelpWithExamples(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	root := NewCmdRoot(cmdutil.New(ios))
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			if c.Example == "" && len(c.Commands()) == 0 {
				t.Errorf("%s has no examples in --help", c.Name())
			}
			ios, _, out, _ := cmdutil.Test()
			if code := MainWith(cmdutil.New(ios), []string{c.Name(), "--help"}); code != 0 {
				t.Fatalf("--help exit code %d", code)
			}
			if !strings.Contains(out.String(), "Usage:") {
				t.Fatalf("no usage in --help:\n%s", out)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	ios, _, out, _ := cmdutil.Test()
	if code := MainWith(cmdutil.New(ios), []string{"--version"}); code != 0 {
		t.Fatal(code)
	}
	if !strings.HasPrefix(out.String(), "assign ") {
		t.Fatalf("--version printed %q", out)
	}
}

// TestInterruptedExit: a command whose context is cancelled (what Ctrl-C
// does) exits 130 with one line, whatever error the command surfaced; a
// command that says what it left keeps its words.
func TestInterruptedExit(t *testing.T) {
	home := t.TempDir()
	h, _, err := testhome.OpenSmall(context.Background(), home, time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{
		{"preassign", "--date", "2026-03-02", "--days", "7"},
		{"report", "--date", "2026-03-02", "--days", "7", "--out", filepath.Join(home, "reports")},
		{"query", "SELECT count(*) FROM users"},
		{"explain", "--user", "1", "--date", "2026-03-02"},
	} {
		ios, _, _, errOut := cmdutil.Test()
		f := cmdutil.New(ios)
		f.HomeDir = func() string { return home }
		code := MainContext(ctx, f, args)
		if code != cmdutil.ExitInterrupted {
			t.Errorf("%s: exit %d, want %d; stderr: %s", args[0], code, cmdutil.ExitInterrupted, errOut)
		}
		if got := errOut.String(); got != "assign: interrupted; nothing was written\n" {
			t.Errorf("%s: stderr %q", args[0], got)
		}
	}
	runs, _ := h.ListRuns()
	if len(runs) != 0 {
		t.Errorf("interrupted commands wrote runs: %v", runs)
	}

	ios, _, _, errOut := cmdutil.Test()
	f := cmdutil.New(ios)
	if code := reportError(f, nil, errors.New("x")); code != cmdutil.ExitFailure {
		t.Errorf("a plain error exits %d", code)
	}
	errOut.Reset()
	if code := reportInterrupt(f, ctx, fmt.Errorf("wrapped: %w", cmdutil.Interrupted("interrupted; run R was saved"))); code != cmdutil.ExitInterrupted || errOut.String() != "assign: interrupted; run R was saved\n" {
		t.Errorf("a command's own interrupt line: exit %d, %q", code, errOut)
	}
}
