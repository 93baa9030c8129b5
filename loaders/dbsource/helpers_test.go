package dbsource_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/internal/dbtest"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/loaders/dbsource"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/store"
	"github.com/assign-dev/assign/synth"
)

const (
	testUser = "assign_reader"
	testPW   = "s3cret-Pw-4711"
)

var (
	extractOnce sync.Once
	extractDir  string
	extractErr  error
	tmpRoot     string
)

func TestMain(m *testing.M) {
	tmpRoot, _ = os.MkdirTemp("", "assign-dbsource-test-")
	code := m.Run()
	dbtest.Stop()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// tinyExtract is a generated extract (the hidden "tiny" scale, ~40k rows)
// as CSV, made once per test binary.
func tinyExtract(t *testing.T) string {
	t.Helper()
	extractOnce.Do(func() {
		sc, err := synth.LookupScale("tiny")
		if err != nil {
			extractErr = err
			return
		}
		extractDir = filepath.Join(tmpRoot, "tiny")
		_, extractErr = synth.Generate(context.Background(), synth.Options{Scale: sc, Seed: 11, Format: "csv", OutDir: extractDir, Threads: 2})
	})
	if extractErr != nil {
		t.Fatal(extractErr)
	}
	return extractDir
}

// dbName is a database name unique to the test.
func dbName(t *testing.T) string {
	n := strings.ToLower(strings.NewReplacer("/", "_", "-", "_", " ", "_").Replace(t.Name()))
	if len(n) > 50 {
		n = n[len(n)-50:]
	}
	return "t_" + n
}

// pgSource makes a database holding the tiny extract and a reader role.
func pgSource(t *testing.T, schema []dbtest.Table) (*dbtest.Server, string) {
	t.Helper()
	ctx := context.Background()
	s := dbtest.Postgres(t)
	db := dbName(t)
	if err := s.CreatePostgresDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportPostgres(ctx, db, tinyExtract(t), schema); err != nil {
		t.Fatal(err)
	}
	pgReader(t, s, db)
	return s, db
}

func pgReader(t *testing.T, s *dbtest.Server, db string) {
	t.Helper()
	ctx := context.Background()
	_ = s.Exec(ctx, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", testUser, testPW))
	if err := s.Exec(ctx, db, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO "+testUser); err != nil {
		t.Fatal(err)
	}
}

func myReader(t *testing.T, s *dbtest.Server, db string) {
	t.Helper()
	ctx := context.Background()
	if err := s.Exec(ctx, "", fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s'", testUser, testPW),
		fmt.Sprintf("GRANT SELECT, LOCK TABLES ON `%s`.* TO '%s'@'%%'", db, testUser)); err != nil {
		t.Fatal(err)
	}
}

// mySource makes a MariaDB database holding the tiny extract and a reader.
func mySource(t *testing.T, schema []dbtest.Table) (*dbtest.Server, string) {
	t.Helper()
	ctx := context.Background()
	s := dbtest.MariaDB(t)
	db := dbName(t)
	if err := s.CreateMariaDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportMariaDB(ctx, db, tinyExtract(t), schema); err != nil {
		t.Fatal(err)
	}
	myReader(t, s, db)
	return s, db
}

func pgURL(s *dbtest.Server, db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", testUser, s.Port, db)
}

func myURL(s *dbtest.Server, db string) string {
	return fmt.Sprintf("mysql://%s@127.0.0.1:%d/%s", testUser, s.Port, db)
}

// source opens url with the test password.
func source(ctx context.Context, url string, tune func(*dbsource.Config)) (*dbsource.Source, error) {
	tg, err := dbsource.ParseURL(url)
	if err != nil {
		return nil, err
	}
	if tg.Password == "" {
		tg.Password = testPW
	}
	cfg := dbsource.Config{Target: tg, ConnectTimeout: 5 * time.Second}
	if tune != nil {
		tune(&cfg)
	}
	return dbsource.Open(ctx, cfg)
}

type loaded struct {
	home *store.Home
	res  *loaders.Result
}

func (l loaded) path() string { return l.home.SnapshotPath(l.res.Snapshot) }

// loadURL loads a database into a fresh home.
func loadURL(t *testing.T, url string, tune func(*dbsource.Config), opt func(*loaders.Options)) (loaded, error) {
	t.Helper()
	ctx := context.Background()
	src, err := source(ctx, url, tune)
	if err != nil {
		return loaded{}, err
	}
	defer src.Close()
	h, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o := loaders.Options{Dir: url, Extract: src.Extract, Home: h, Threads: 2, Now: fixedNow}
	if opt != nil {
		opt(&o)
	}
	res, err := loaders.Load(ctx, o)
	return loaded{h, res}, err
}

func fixedNow() time.Time { return time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC) }

var (
	fileMu    sync.Mutex
	fileLoads = map[string]loaded{}
)

// loadFiles loads the tiny extract from its CSV files, once.
func loadFiles(t *testing.T) loaded { return loadDir(t, tinyExtract(t)) }

// loadDir loads an extract folder into a home of its own, once per folder.
func loadDir(t *testing.T, dir string) loaded {
	t.Helper()
	fileMu.Lock()
	defer fileMu.Unlock()
	if l, ok := fileLoads[dir]; ok {
		return l
	}
	h, err := store.Open(filepath.Join(tmpRoot, fmt.Sprintf("filehome%d", len(fileLoads))))
	if err != nil {
		t.Fatal(err)
	}
	res, err := loaders.Load(context.Background(), loaders.Options{Dir: dir, Home: h, Threads: 2, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	fileLoads[dir] = loaded{h, res}
	return fileLoads[dir]
}

// sameTables fails unless every SPEC table holds the same rows (as a
// multiset) in both snapshots.
func sameTables(t *testing.T, a, b string) {
	t.Helper()
	ctx := context.Background()
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, fmt.Sprintf("ATTACH %s AS a (READ_ONLY); ATTACH %s AS b (READ_ONLY)", duck.Quote(a), duck.Quote(b))); err != nil {
		t.Fatal(err)
	}
	for _, tb := range loaders.Tables {
		var cols []string
		for _, c := range tb.Columns {
			cols = append(cols, duck.Ident(c.Name))
		}
		cl := strings.Join(cols, ", ")
		var na, nb, onlyA, onlyB int64
		q := fmt.Sprintf(`SELECT (SELECT count(*) FROM a.%[1]s), (SELECT count(*) FROM b.%[1]s),
			(SELECT count(*) FROM (SELECT %[2]s FROM a.%[1]s EXCEPT ALL SELECT %[2]s FROM b.%[1]s)),
			(SELECT count(*) FROM (SELECT %[2]s FROM b.%[1]s EXCEPT ALL SELECT %[2]s FROM a.%[1]s))`, tb.Name, cl)
		if err := db.QueryRow(ctx, q).Scan(&na, &nb, &onlyA, &onlyB); err != nil {
			t.Fatal(err)
		}
		if na != nb || onlyA != 0 || onlyB != 0 {
			t.Errorf("table %s differs: %d vs %d rows, %d only in the first, %d only in the second", tb.Name, na, nb, onlyA, onlyB)
		}
	}
}

// samePreassign runs the same preassign on both snapshots and fails
// unless every output table holds the same rows.
func samePreassign(t *testing.T, a, b loaded) {
	t.Helper()
	ctx := context.Background()
	var dirs []string
	for _, l := range []loaded{a, b} {
		out, err := plan.Execute(ctx, l.home, plan.Request{Mode: engine.Preassign, Snapshot: l.res.Snapshot,
			D0: engine.DayOf(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)), Days: 7, Policy: policy.Default(), Threads: 2, Now: fixedNow})
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, out.RunDir)
	}
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tb := range []string{"boxes", "demand", "snack_summary", "short_boxes"} {
		pa, pb := duck.Quote(filepath.Join(dirs[0], tb+".parquet")), duck.Quote(filepath.Join(dirs[1], tb+".parquet"))
		var n, diff int64
		q := fmt.Sprintf(`SELECT (SELECT count(*) FROM read_parquet(%[1]s)),
			(SELECT count(*) FROM (SELECT * FROM read_parquet(%[1]s) EXCEPT ALL SELECT * FROM read_parquet(%[2]s))) +
			(SELECT count(*) FROM (SELECT * FROM read_parquet(%[2]s) EXCEPT ALL SELECT * FROM read_parquet(%[1]s)))`, pa, pb)
		if err := db.QueryRow(ctx, q).Scan(&n, &diff); err != nil {
			t.Fatal(err)
		}
		if diff != 0 || (tb == "boxes" && n == 0) {
			t.Errorf("preassign %s differs: %d rows, %d differ", tb, n, diff)
		}
	}
}
