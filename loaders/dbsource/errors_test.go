package dbsource_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/internal/dbtest"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/loaders/dbsource"
)

// oneLine fails unless err is one line that holds every want and never
// the password.
func oneLine(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || strings.Contains(msg, testPW) || strings.Contains(msg, "wrong-pw") {
		t.Errorf("message is not one clean line: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q lacks %q", msg, w)
		}
	}
}

func writeMap(t *testing.T, text string) dbsource.Map {
	t.Helper()
	p := filepath.Join(t.TempDir(), "map.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := dbsource.ReadMap(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPostgresErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := pgSource(t, dbtest.PostgresSchema)
	port, _ := dbtest.FreePort()
	addr := fmt.Sprintf("127.0.0.1:%d", s.Port)
	_, err := source(ctx, fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", testUser, port, db), nil)
	oneLine(t, err, fmt.Sprintf("cannot reach PostgreSQL at 127.0.0.1:%d: connection refused", port))
	_, err = source(ctx, fmt.Sprintf("postgres://%s:wrong-pw@127.0.0.1:%d/%s?sslmode=disable", testUser, s.Port, db), nil)
	oneLine(t, err, "PostgreSQL at "+addr+" refused the password of user "+testUser+" (authentication failed)")
	_, err = source(ctx, fmt.Sprintf("postgres://%s@127.0.0.1:%d/nosuchdb?sslmode=disable", testUser, s.Port), nil)
	oneLine(t, err, "PostgreSQL at "+addr+" has no database nosuchdb")

	// The other errors on a copy with one thing wrong each.
	cases := []struct {
		name  string
		setup []string
		m     string
		want  string
	}{
		{"table missing", []string{"ALTER TABLE users RENAME TO customers"}, "",
			"PostgreSQL database %s at " + addr + " has no table users for users (map it with [users] table = \"...\" in --map)"},
		{"column missing", []string{"ALTER TABLE users DROP COLUMN box_size"}, "",
			"source table users has no column box_size for users.box_size (its columns: user_id, status, cadence_days, next_ship_on); map the column holding it with columns.box_size in --map"},
		{"unusable type", []string{"ALTER TABLE snacks ALTER COLUMN launched_on TYPE boolean USING true"}, "",
			"column launched_on of source table snacks has type boolean, which cannot hold the date values of snacks.launched_on"},
		{"permission denied", []string{"REVOKE SELECT ON stock FROM " + testUser}, "",
			"permission denied: user " + testUser + " cannot read source table stock on PostgreSQL at " + addr + "; run GRANT SELECT ON public.stock TO " + testUser},
		{"bad query", nil, "[ratings]\nquery = \"SELECT user_id, snack_id, stars AS rating, rated_at FROM ratings\"\n",
			"the query of ratings in --map fails: PostgreSQL at " + addr + ` says: column "stars" does not exist (SQLSTATE 42703)`},
		{"mapped table missing", nil, "[skips]\ntable = \"holidays\"\n", "PostgreSQL database %s at " + addr + " has no table holidays for skips"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db2 := db
			if len(c.setup) > 0 {
				db2 = dbName(t)
				if err := s.CreatePostgresDB(ctx, db2); err != nil {
					t.Fatal(err)
				}
				if err := s.ImportPostgres(ctx, db2, tinyExtract(t), dbtest.PostgresSchema); err != nil {
					t.Fatal(err)
				}
				pgReader(t, s, db2)
				if err := s.Exec(ctx, db2, c.setup...); err != nil {
					t.Fatal(err)
				}
			}
			var m dbsource.Map
			if c.m != "" {
				m = writeMap(t, c.m)
			}
			_, err := source(ctx, pgURL(s, db2), func(cfg *dbsource.Config) { cfg.Map = m })
			oneLine(t, err, strings.ReplaceAll(c.want, "%s", db2))
		})
	}
}

func TestMariaDBErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := mySource(t, dbtest.MariaDBSchema)
	port, _ := dbtest.FreePort()
	addr := fmt.Sprintf("127.0.0.1:%d", s.Port)
	_, err := source(ctx, fmt.Sprintf("mysql://%s@127.0.0.1:%d/%s", testUser, port, db), nil)
	oneLine(t, err, fmt.Sprintf("cannot reach MySQL at 127.0.0.1:%d: connection refused", port))
	_, err = source(ctx, fmt.Sprintf("mysql://%s:wrong-pw@127.0.0.1:%d/%s", testUser, s.Port, db), nil)
	oneLine(t, err, "MySQL at "+addr+" refused the password of user "+testUser+" (authentication failed)")
	_, err = source(ctx, fmt.Sprintf("mysql://%s@127.0.0.1:%d/nosuchdb", testUser, s.Port), nil)
	oneLine(t, err, "MySQL at "+addr+" does not let user "+testUser+" use database nosuchdb: it does not exist, or the user has no privilege on it")

	cases := []struct {
		name  string
		setup []string
		m     string
		want  string
	}{
		{"table missing", []string{"RENAME TABLE users TO customers"}, "",
			"MySQL database %s at " + addr + " has no table users for users (map it with [users] table = \"...\" in --map)"},
		{"column missing", []string{"ALTER TABLE users DROP COLUMN box_size"}, "",
			"source table users has no column box_size for users.box_size (its columns: user_id, status, cadence_days, next_ship_on)"},
		{"unusable type", []string{"ALTER TABLE stock MODIFY lot_id VARBINARY(20)"}, "",
			"column lot_id of source table stock has type varbinary, which cannot hold the text values of stock.lot_id"},
		{"permission denied", append([]string{"REVOKE SELECT ON %s.* FROM '" + testUser + "'@'%'"}, grantsBut("stock")...), "",
			"permission denied: user " + testUser + " cannot read source table stock on MySQL at " + addr},
		{"bad query", nil, "[ratings]\nquery = \"SELECT user_id, snack_id, stars AS rating, rated_at FROM ratings\"\n",
			"the query of ratings in --map fails: MySQL at " + addr + " says: Unknown column 'stars' in 'SELECT' (error 1054)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db2 := db
			if len(c.setup) > 0 {
				db2 = dbName(t)
				if err := s.CreateMariaDB(ctx, db2); err != nil {
					t.Fatal(err)
				}
				if err := s.ImportMariaDB(ctx, db2, tinyExtract(t), dbtest.MariaDBSchema); err != nil {
					t.Fatal(err)
				}
				myReader(t, s, db2)
				var stmts []string
				for _, q := range c.setup {
					stmts = append(stmts, strings.ReplaceAll(q, "%s", db2))
				}
				if err := s.Exec(ctx, db2, stmts...); err != nil {
					t.Fatal(err)
				}
			}
			var m dbsource.Map
			if c.m != "" {
				m = writeMap(t, c.m)
			}
			_, err := source(ctx, myURL(s, db2), func(cfg *dbsource.Config) { cfg.Map = m })
			oneLine(t, err, strings.ReplaceAll(c.want, "%s", db2))
		})
	}
}

// TestConnectionLost kills the reading connection in the middle of a read
// (the query waits first, so it is surely running) and checks the load
// fails with one line and leaves no snapshot.
func TestConnectionLost(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"postgres", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var s *dbtest.Server
			var url, m, find, kill string
			if kind == "postgres" {
				var db string
				s, db = pgSource(t, dbtest.PostgresSchema)
				url = pgURL(s, db)
				m = "[deliveries]\nquery = \"SELECT d.* FROM deliveries d, (SELECT pg_sleep(30)) AS z\"\n"
				find = "SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND usename = '" + testUser + "'"
				kill = "SELECT pg_terminate_backend(%d)"
			} else {
				var db string
				s, db = mySource(t, dbtest.MariaDBSchema)
				url = myURL(s, db)
				m = "[deliveries]\nquery = \"SELECT d.* FROM deliveries d WHERE d.id <> 5000 OR SLEEP(30) = 0\"\n"
				find = "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SLEEP(30)%' AND USER = '" + testUser + "'"
				kill = "KILL CONNECTION %d"
			}
			mp := writeMap(t, m)
			done := make(chan error, 1)
			var home string
			go func() {
				l, err := loadURL(t, url, func(c *dbsource.Config) { c.Map = mp }, func(o *loaders.Options) { home = o.Home.Dir })
				_ = l
				done <- err
			}()
			deadline := time.Now().Add(20 * time.Second)
			var pid int64
			for pid == 0 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				pid = s.QueryInt(ctx, find)
			}
			if pid == 0 {
				t.Fatal("the reading query never showed up")
			}
			if err := s.Exec(ctx, "", fmt.Sprintf(kill, pid)); err != nil && kind == "postgres" {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				oneLine(t, err, "read the query of deliveries in --map: lost the connection to", "nothing was loaded")
			case <-time.After(30 * time.Second):
				t.Fatal("the load did not stop")
			}
			entries, _ := os.ReadDir(filepath.Join(home, "snapshots"))
			for _, e := range entries {
				t.Errorf("left in snapshots/: %s", e.Name())
			}
		})
	}
}

// grantsBut grants SELECT on every table of the schema but one.
func grantsBut(table string) []string {
	var out []string
	for _, t := range dbtest.MariaDBSchema {
		if t.Name != table {
			out = append(out, "GRANT SELECT ON %s."+t.Name+" TO '"+testUser+"'@'%'")
		}
	}
	return out
}
