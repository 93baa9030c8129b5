package reliability

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
)

// TestNoShipmentsWritesNoRun: a range in which no user ships used to end
// with "No user ships" and exit 0, and still wrote a run folder that
// became `latest`, hiding the last real forecast. Now preassign, run and
// report write nothing, exit 4 and name the next ship date.
func TestNoShipmentsWritesNoRun(t *testing.T) {
	home := goodHome(t) // users ship from 2026-03-02
	mustAssign(t, home, "preassign", "--date", "2026-03-02", "--days", "7")
	before := checkRuns(t, home)
	out := filepath.Join(t.TempDir(), "out")
	reports := filepath.Join(t.TempDir(), "reports")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"preassign", "--date", "2026-01-05"}, "assign: no user ships on 2026-01-05 on snapshot "},
		{[]string{"run", "--date", "2026-01-05", "--days", "3", "--out", out}, "assign: no user ships from 2026-01-05 to 2026-01-07 on snapshot "},
		{[]string{"report", "--date", "2026-01-05", "--days", "3", "--out", reports}, "assign: no user ships from 2026-01-05 to 2026-01-07 on snapshot "},
	} {
		r := assign(t, home, c.args...)
		if r.code != cmdutil.ExitNoShipments || !strings.HasPrefix(r.errOut, c.want) ||
			!strings.HasSuffix(r.errOut, ", so no run was written; the next date a user is scheduled to ship is 2026-03-02\n") {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q...", strings.Join(c.args, " "), r.code, r.errOut, cmdutil.ExitNoShipments, c.want)
		}
	}
	if got := checkRuns(t, home); len(got) != len(before) {
		t.Errorf("runs were written for a range without shipments: %v, had %v", got, before)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("run --out wrote %s", out)
	}
	if entries, _ := os.ReadDir(reports); len(entries) > 0 {
		t.Errorf("report wrote %v", entries)
	}
	if got, err := queryValue(t, home, "SELECT count(*) FROM latest.boxes"); err != nil || got == "0" {
		t.Errorf("latest is no longer the real forecast: %s boxes (%v)", got, err)
	}
}
