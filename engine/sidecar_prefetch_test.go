package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/store"
)

// prefetchSkips adds skips the calendar must read exactly from the file:
// one listed twice, skips of no user, outside every horizon, before 1970
// (a negative day) and on days users ship.
const prefetchSkips = `INSERT INTO skips
	SELECT user_id, next_ship_on + 2 * cadence_days FROM users WHERE user_id % 7 = 0
	UNION ALL SELECT user_id, next_ship_on FROM users WHERE user_id % 11 = 0
	UNION ALL SELECT 3, next_ship_on FROM users WHERE user_id = 3
	UNION ALL SELECT 999999, DATE '2026-03-05'
	UNION ALL SELECT 5, DATE '1969-12-01'
	UNION ALL SELECT 6, DATE '2030-01-01'`

// loadPrefetched loads opt's inputs through SQL, then with a prefetch of
// the sidecar at file (started before LoadInputs, as plan.Execute does)
// for the horizon and policy of pre, and fails unless the inputs are the
// same. It returns the prefetched inputs and the second load's log.
func loadPrefetched(t *testing.T, db *duck.DB, file string, pre, opt LoadOptions) (*Inputs, string) {
	t.Helper()
	opt.Prefetch = PrefetchSidecar(file, pre)
	defer opt.Prefetch.Close()
	_, viaFile, log := loadCompared(t, db, opt)
	return viaFile, log
}

// TestSidecarPrefetch: a prefetch started before LoadInputs computes the
// ship calendar from the file and reads the per-user inputs, the same as
// the SQL path's, for several horizons, policies and reader counts, and
// closes the requests a delivery closed beside the reader; a prefetch of
// another horizon is not taken.
func TestSidecarPrefetch(t *testing.T) {
	// Deliveries of requested snacks around the requests' days, as in
	// TestSidecarInputsEqualSQL: some requests are closed.
	path := sidecarSnapshot(t, 1500, 120, 3, prefetchSkips, closingDeliveries)
	db := openSnapshot(t, path)
	file := store.SidecarPath(path)
	pol := windowPolicy
	cases := []struct {
		name string
		opt  LoadOptions
	}{
		{"default", LoadOptions{D0: d0Test, Days: 14, Policy: policy.Default()}},
		{"window=0,never=0", LoadOptions{D0: d0Test, Days: 28, Policy: pol(0, 0)}},
		{"long horizon", LoadOptions{D0: d0Test - 20, Days: 120, Policy: pol(30, 1)}},
		{"one day", LoadOptions{D0: d0Test + 3, Days: 1, Policy: policy.Default()}},
		{"after history", LoadOptions{D0: d0Test + 500, Days: 5, Policy: pol(180, 2)}},
		{"3 readers", LoadOptions{D0: d0Test, Days: 28, Policy: policy.Default(), Threads: 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.opt.Threads == 3 {
				defer func(u, r int) { sidecarPartUsers, calendarPartRows = u, r }(sidecarPartUsers, calendarPartRows)
				sidecarPartUsers, calendarPartRows = 64, 100
			}
			in, log := loadPrefetched(t, db, file, c.opt, c.opt)
			if !strings.Contains(log, "query=calendar from=sidecar") || !strings.Contains(log, "query=sidecar ") {
				t.Fatalf("the prefetch was not taken; log:\n%s", log)
			}
			if strings.Contains(log, "inputs_calendar") || strings.Contains(log, "inputs_skips") {
				t.Fatalf("the calendar's queries ran beside the prefetch; log:\n%s", log)
			}
			if in.SidecarRebuild != "" {
				t.Fatalf("the prefetch was taken, yet the inputs ask to rebuild %s", in.SidecarRebuild)
			}
			if in.NumUsers() == 0 {
				t.Fatal("a case without users tests nothing")
			}
			if c.name == "default" {
				someClosed(t, db, c.opt, in)
			}
		})
	}
	// A prefetch for another horizon or policy is not taken: the job reads
	// the sidecar as usual.
	other := cases[0].opt
	for name, pre := range map[string]LoadOptions{
		"other first day": {D0: d0Test + 1, Days: 14, Policy: policy.Default()},
		"other window":    {D0: d0Test, Days: 14, Policy: pol(90, 2)},
	} {
		t.Run(name, func(t *testing.T) {
			_, log := loadPrefetched(t, db, file, pre, other)
			if strings.Contains(log, "from=sidecar") || !strings.Contains(log, "query=sidecar ") {
				t.Fatalf("want the sidecar read as usual, without the prefetch; log:\n%s", log)
			}
		})
	}
	// No prefetch where the job has a user filter or the policy reads
	// what the file does not hold.
	for name, o := range map[string]LoadOptions{
		"one user":   {D0: d0Test, Days: 14, Policy: policy.Default(), UserID: 3, OnlyUser: true},
		"users":      {D0: d0Test, Days: 14, Policy: policy.Default(), Users: []int64{3}},
		"never=6":    {D0: d0Test, Days: 14, Policy: pol(180, 6)},
		"no horizon": {D0: d0Test, Days: 0, Policy: policy.Default()},
	} {
		if p := PrefetchSidecar(file, o); p != nil {
			p.Close()
			t.Errorf("%s: a prefetch started", name)
		}
	}
}

// TestSidecarPrefetchFallsBack: a prefetch of a file that is not the
// snapshot's, or damaged, leaves inputs equal to SQL's; a damaged file
// is rebuilt.
func TestSidecarPrefetchFallsBack(t *testing.T) {
	path := sidecarSnapshot(t, 600, 80, 11, prefetchSkips)
	db := openSnapshot(t, path)
	sb := readSidecarBytes(t, store.SidecarPath(path))
	h, withHeader, flip := sb.h, sb.withHeader, sb.flip
	if h.Calendar != 1 || h.Sec[secSkip].Len == 0 {
		t.Fatalf("the file holds no calendar (%d) or no skips (%d bytes)", h.Calendar, h.Sec[secSkip].Len)
	}
	opt := LoadOptions{D0: d0Test, Days: 14, Policy: policy.Default()}
	variants := []struct {
		name    string
		b       []byte
		rebuild bool   // the inputs ask to rebuild the file
		log     string // what the log must say
	}{
		{"schedule byte", flip(h.Sec[secSched].Off + h.Sec[secSched].Len/2), true, "engine sidecar damaged"},
		{"skip byte", flip(h.Sec[secSkip].Off + 2), true, "engine sidecar damaged"},
		{"skip offsets byte", flip(h.Sec[secSkipOff].Off + 5), true, "engine sidecar damaged"},
		{"delivery byte", flip(h.Sec[secDel].Off + h.Sec[secDel].Len/2), true, "engine sidecar damaged"},
		{"stale load id", withHeader(func(h *sidecarHeader) { copy(h.LoadID[:], "load-2") }), true, "stale"},
		{"other catalogue", withHeader(func(h *sidecarHeader) { h.Catalogue++ }), true, "otherwise than the snapshot"},
		{"calendar flag", withHeader(func(h *sidecarHeader) { h.Calendar = 2 }), true, "unreadable"},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x.engine")
			if err := os.WriteFile(p, v.b, 0o644); err != nil {
				t.Fatal(err)
			}
			o := opt
			o.SidecarPath = p
			in, log := loadPrefetched(t, db, p, o, o)
			if got := in.SidecarRebuild == p; got != v.rebuild {
				t.Errorf("rebuild asked: %v, want %v (%q)", got, v.rebuild, in.SidecarRebuild)
			}
			if !strings.Contains(log, v.log) {
				t.Errorf("the log does not say %q:\n%s", v.log, log)
			}
		})
	}
}

// TestSidecarWithoutCalendar: a users table listing a user twice gets a
// sidecar without schedules; no prefetch starts, and the job reports the
// user as the SQL path does.
func TestSidecarWithoutCalendar(t *testing.T) {
	path := sidecarSnapshot(t, 300, 40, 5, "INSERT INTO users FROM users WHERE user_id = 7")
	sc, err := openSidecar(store.SidecarPath(path))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if sc.h.Calendar != 0 || sc.h.NUsers != 300 {
		t.Fatalf("calendar %d, %d users; want 0 and 300", sc.h.Calendar, sc.h.NUsers)
	}
	opt := LoadOptions{D0: d0Test, Days: 14, Policy: policy.Default()}
	if p := PrefetchSidecar(store.SidecarPath(path), opt); p != nil {
		p.Close()
		t.Fatal("a prefetch started on a sidecar without schedules")
	}
	ctx := context.Background()
	db := openSnapshot(t, path)
	if _, err := LoadInputs(ctx, db, opt); err == nil || !strings.Contains(err.Error(), "user 7 has two rows") {
		t.Fatalf("err = %v, want the user listed twice", err)
	}
}
