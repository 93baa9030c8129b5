package root

import (
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
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
		{[]string{"preassign", "--date", "2026-02-30"}, cmdutil.ExitUsage, `--date "2026-02-30": want a date as YYYY-MM-DD`},
		{[]string{"preassign", "--date", "2026-03-02", "--days", "0"}, cmdutil.ExitUsage, "--days 0: must be between 1 and 366"},
		{[]string{"preassign", "--date", "2026-03-02", "--days", "10000"}, cmdutil.ExitUsage, "--days 10000: must be between 1 and 366"},
		{[]string{"preassign", "--date", "2026-03-02", "--days", "x"}, cmdutil.ExitUsage, `invalid argument "x" for "--days"`},
		{[]string{"preassign", "--date", "2026-03-02", "--format", "xml"}, cmdutil.ExitUsage, `--format "xml": must be one of [parquet csv]`},
		{[]string{"preassign", "--date", "2026-03-02", "--threads", "-1"}, cmdutil.ExitUsage, "--threads -1: must be between 0 and 1024"},
		{[]string{"preassign", "--date", "2026-03-02", "--max-per-category", "30"}, cmdutil.ExitUsage, "max_per_category = 30 is out of range: allowed 0..20"},
		{[]string{"preassign", "--date", "2026-03-02", "--prior-weight", "0"}, cmdutil.ExitUsage, "prior_weight = 0 is out of range"},
		{[]string{"preassign", "--date", "2026-03-02", "--policy", "/nonexistent/p.toml"}, cmdutil.ExitFailure, "read policy file"},
		{[]string{"preassign", "--date", "2026-03-02"}, cmdutil.ExitFailure, "no snapshot loaded yet: run 'assign load DIR' (or 'assign demo') first"},
		{[]string{"preassign", "--date", "2026-03-02", "--snapshot", "nope"}, cmdutil.ExitFailure, `snapshot "nope" not found`},
		{[]string{"preassign", "--date", "2026-03-02", "--snapshot", "../etc"}, cmdutil.ExitFailure, `invalid name "../etc"`},
		{[]string{"run", "--date", "2026-03-02", "--allocator", "magic"}, cmdutil.ExitUsage, `--allocator "magic": must be one of [greedy]`},
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
