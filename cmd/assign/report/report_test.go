package report_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/cmd/assign/root"
	"github.com/assign-dev/assign/internal/testhome"
	"github.com/assign-dev/assign/report"
)

var homeDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "report-cmd-test-")
	if err != nil {
		panic(err)
	}
	homeDir = filepath.Join(dir, "home")
	if _, _, err := testhome.OpenSmall(context.Background(), homeDir, time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	f := cmdutil.New(ios)
	f.HomeDir = func() string { return homeDir }
	f.Now = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	code = root.MainWith(f, append([]string{"report"}, args...))
	return out.String(), errOut.String(), code
}

func TestShortageAlertExitsThree(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, code := run(t, "--date", "2026-03-02", "--days", "7", "--out", out, "--fail-on-shortage", "10")
	if code != cmdutil.ExitAlert {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, stdout, stderr)
	}
	s, err := report.ReadSummary(filepath.Join(out, "2026-03-02"))
	if err != nil {
		t.Fatalf("the report must be written before the alert: %v", err)
	}
	w := s.WorstSnack
	line := strings.TrimSpace(stderr)
	if strings.Contains(line, "\n") || !strings.HasPrefix(line, "assign: shortage alert: snack ") ||
		!strings.Contains(line, w.Name) || !strings.Contains(line, "above --fail-on-shortage 10") {
		t.Errorf("alert line %q does not name the worst snack %q", stderr, w.Name)
	}
	if !strings.Contains(stdout, "Written to "+filepath.Join(out, "2026-03-02", "report.html")) {
		t.Errorf("summary: %s", stdout)
	}
	// At or above the worst shortage: no alert. --reuse takes the run above.
	_, stderr, code = run(t, "--date", "2026-03-02", "--days", "7", "--out", out, "--reuse", "--fail-on-shortage", itoa(w.Shortage))
	if code != 0 {
		t.Errorf("threshold equal to the worst shortage: exit %d, %s", code, stderr)
	}
	// Without the flag nothing alerts.
	if _, stderr, code = run(t, "--date", "2026-03-02", "--days", "7", "--out", out, "--reuse"); code != 0 {
		t.Errorf("no threshold: exit %d, %s", code, stderr)
	}
}

func TestJSONSummary(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, code := run(t, "--date", "2026-03-02", "--days", "3", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var s report.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout)
	}
	if s.Dates.From != "2026-03-02" || s.Dates.To != "2026-03-04" || s.Dates.Days != 3 {
		t.Errorf("dates %+v", s.Dates)
	}
}

func TestReportFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--out", "x"}, `required flag(s) "date"`},
		{[]string{"--date", "2026-03-02"}, `required flag(s) "out"`},
		{[]string{"--date", "2026-13-01", "--out", "x"}, "--date"},
		{[]string{"--date", "2026-03-02", "--out", "x", "--days", "0"}, "--days 0"},
		{[]string{"--date", "2026-03-02", "--out", "x", "--fail-on-shortage", "-1"}, "--fail-on-shortage -1"},
		{[]string{"--date", "2026-03-02", "--out", "x", "--max-per-category", "21"}, "max_per_category"},
	} {
		_, stderr, code := run(t, c.args...)
		if code != cmdutil.ExitUsage || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %q", c.args, code, stderr, c.msg)
		}
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
