package dashboard

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/internal/testhome"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/store"
)

// evilName is a snack name holding markup: every page must show it as text.
const evilName = `<img src=x onerror="window.__xss=1"><b>Bold</b> Crunch & "Co"`

var clock = time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)

type fixture struct {
	home *store.Home
	// evilID is the snack renamed to evilName.
	evilID int64
	// worst is the snack the preassign is short of the most, and shortage
	// its units short over the horizon.
	worst, shortage int64
	// user ships on the first date of the runs.
	user      int64
	preassign string
	run       string
}

// newFixture is a small snapshot (one snack named with markup), a 14-day
// preassign and a 14-day run.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	h, err := store.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.NewPendingSnapshot(clock)
	if err != nil {
		t.Fatal(err)
	}
	if err := testhome.Fill(ctx, p.Path, testhome.Small); err != nil {
		t.Fatal(err)
	}
	f := &fixture{home: h}
	db, err := duck.OpenFile(ctx, p.Path, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, "SELECT max(snack_id) FROM snacks WHERE active").Scan(&f.evilID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "UPDATE snacks SET name = $1 WHERE snack_id = $2", evilName, f.evilID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := p.Commit(true); err != nil {
		t.Fatal(err)
	}
	for i, mode := range []engine.Mode{engine.Assign, engine.Preassign} {
		at := clock.Add(time.Duration(i) * time.Minute)
		out, err := plan.Execute(ctx, h, plan.Request{Mode: mode, D0: engine.DayOf(testhome.D0), Days: 14, Policy: policy.Default(),
			Threads: 2, Now: func() time.Time { return at }, Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if mode == engine.Preassign {
			f.preassign = out.Manifest.RunID
		} else {
			f.run = out.Manifest.RunID
		}
	}
	db, err = duck.OpenMemory(ctx, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := fmt.Sprintf("SELECT snack_id, shortage FROM read_parquet(%s) ORDER BY shortage DESC, snack_id LIMIT 1",
		duck.Quote(filepath.Join(h.RunsDir(), f.preassign, "snack_summary.parquet")))
	if err := db.QueryRow(ctx, q).Scan(&f.worst, &f.shortage); err != nil {
		t.Fatal(err)
	}
	q = fmt.Sprintf("SELECT min(user_id) FROM read_parquet(%s)", duck.Quote(filepath.Join(h.RunsDir(), f.preassign, "boxes.parquet")))
	if err := db.QueryRow(ctx, q).Scan(&f.user); err != nil {
		t.Fatal(err)
	}
	if f.shortage == 0 {
		t.Fatal("the fixture's preassign has no shortage")
	}
	return f
}

func (f *fixture) server(t testing.TB, opt Options) (*Server, *httptest.Server) {
	t.Helper()
	if opt.Threads == 0 {
		opt.Threads = 2
	}
	opt.Now = func() time.Time { return clock.Add(time.Hour) }
	if opt.Worker == nil {
		opt.Worker, opt.WorkerEnv = testWorker()
	}
	s := New(f.home, opt)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, ts
}

// workerEnv makes the test binary a SQL console worker (see TestMain), as
// assign serve --sql-worker is in the product.
const workerEnv = "ASSIGN_DASHBOARD_TEST_SQL_WORKER"

func testWorker() ([]string, []string) {
	return []string{os.Args[0]}, []string{workerEnv + "=1"}
}

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		if err := RunWorker(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "assign: "+err.Error())
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
