package dbsource_test

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assign-dev/assign/internal/dbtest"
	"github.com/assign-dev/assign/loaders/dbsource"
)

// TestNoTornSnapshot loads while a writer commits, as fast as it can,
// transactions that each move one delivery (delete an old one, insert a
// new one at the end of the table) and add a rating for the new one. The
// tables are read at different moments and in two parts on two
// connections; the snapshot must hold the deliveries' count unchanged and
// exactly one marker rating per marker delivery.
func TestNoTornSnapshot(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"postgres", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var s *dbtest.Server
			var db, url string
			if kind == "postgres" {
				s, db = pgSource(t, dbtest.PostgresSchema)
				url = pgURL(s, db)
			} else {
				s, db = mySource(t, dbtest.MariaDBSchema)
				url = myURL(s, db)
			}
			n0 := s.QueryIntIn(ctx, db, "SELECT count(*) FROM deliveries")
			del := "DELETE FROM deliveries WHERE id = (SELECT min(id) FROM deliveries WHERE shipped_on <> '2001-01-01')"
			if kind == "mysql" {
				del = "DELETE FROM deliveries WHERE shipped_on <> '2001-01-01' ORDER BY id LIMIT 1"
			}
			tx := []string{del,
				"INSERT INTO deliveries (user_id, snack_id, shipped_on) VALUES (100001, 1001, '2001-01-01')",
				"INSERT INTO ratings (user_id, snack_id, rating, rated_at) VALUES (100001, 1001, 4, '2001-01-01 00:00:00')",
			}
			var commits atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.WriteLoop(ctx, db, tx, stop, &commits); err != nil {
					t.Error(err)
				}
			}()
			for commits.Load() < 20 {
				time.Sleep(5 * time.Millisecond)
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			before := commits.Load()
			got, err := loadURL(t, url, func(c *dbsource.Config) { c.Parallel, c.SplitRows, c.Logger = 2, 1000, log }, nil)
			during := commits.Load() - before
			close(stop)
			wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if during < 10 {
				t.Fatalf("only %d commits during the load: the test proves nothing", during)
			}
			if !strings.Contains(logs.String(), "table=deliveries source=\"source table deliveries\" parts=2") {
				t.Errorf("deliveries was not read in two parts:\n%s", logs.String())
			}
			rows := queryStrings(t, got.path(), `SELECT (SELECT count(*) FROM deliveries) || ' ' || (SELECT count(*) FROM deliveries WHERE shipped_on = DATE '2001-01-01') || ' ' || (SELECT count(*) FROM ratings WHERE rated_at = TIMESTAMP '2001-01-01 00:00:00')`)
			f := strings.Fields(rows[0])
			if f[0] != strconv.FormatInt(n0, 10) || f[1] != f[2] {
				t.Errorf("torn snapshot: %s deliveries (want %d), %s moved deliveries, %s marker ratings", f[0], n0, f[1], f[2])
			}
			t.Logf("%d commits during the load; the snapshot holds %s of them", during, f[1])
		})
	}
}

// TestMariaDBWithoutLockTables: a user without the LOCK TABLES privilege
// cannot line up several snapshots, so one connection reads everything,
// and the load still equals the files.
func TestMariaDBWithoutLockTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := mySource(t, dbtest.MariaDBSchema)
	if err := s.Exec(ctx, "", "CREATE USER IF NOT EXISTS 'nolock'@'%' IDENTIFIED BY '"+testPW+"'", "GRANT SELECT ON `"+db+"`.* TO 'nolock'@'%'"); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	url := strings.Replace(myURL(s, db), testUser+"@", "nolock@", 1)
	got, err := loadURL(t, url, func(c *dbsource.Config) { c.Parallel, c.SplitRows, c.Logger = 2, 1000, log }, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameTables(t, loadFiles(t).path(), got.path())
	if !strings.Contains(logs.String(), "reading with one connection: the tables cannot be locked") || !strings.Contains(logs.String(), "table=deliveries source=\"source table deliveries\" parts=1") {
		t.Errorf("log:\n%s", logs.String())
	}
}
