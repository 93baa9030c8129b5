package synth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/assign-dev/assign/duck"
)

var tiny = mustScale("tiny")

func mustScale(name string) Scale {
	s, err := LookupScale(name)
	if err != nil {
		panic(err)
	}
	return s
}

func generate(t testing.TB, opt Options) (string, Summary) {
	t.Helper()
	if opt.OutDir == "" {
		opt.OutDir = filepath.Join(t.TempDir(), "extract")
	}
	s, err := Generate(context.Background(), opt)
	if err != nil {
		t.Fatalf("generate %+v: %v", opt, err)
	}
	return opt.OutDir, s
}

// readTree returns every file under dir by relative path.
func readTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestSameSeedSameBytes(t *testing.T) {
	for _, format := range Formats {
		for _, split := range []int{0, 3} {
			if split > 0 && (format == FormatJSONL || format == FormatArrow) {
				continue // split goes through the same sinks; two formats show it
			}
			t.Run(fmt.Sprintf("%s/split=%d", format, split), func(t *testing.T) {
				t.Parallel()
				a, _ := generate(t, Options{Scale: tiny, Seed: 7, Format: format, Split: split, Threads: 1})
				b, _ := generate(t, Options{Scale: tiny, Seed: 7, Format: format, Split: split, Threads: 3})
				fa, fb := readTree(t, a), readTree(t, b)
				want := len(Tables)
				if split > 0 {
					want += len(SplitTables) * (split - 1)
				}
				if len(fa) != want || len(fb) != want {
					t.Fatalf("got %d and %d files, want %d", len(fa), len(fb), want)
				}
				for name, x := range fa {
					if !bytes.Equal(x, fb[name]) {
						t.Errorf("%s differs between two runs with seed 7 (threads 1 and 3)", name)
					}
				}
				c, _ := generate(t, Options{Scale: tiny, Seed: 8, Format: format, Split: split})
				fc := readTree(t, c)
				for _, tb := range []string{TableUsers, TableRatings, TableStock} {
					name := tb + "." + format
					if split > 0 && tb == TableRatings {
						name = filepath.Join(tb, "part-0000."+format)
					}
					if bytes.Equal(fa[name], fc[name]) {
						t.Errorf("%s is the same for seeds 7 and 8", name)
					}
				}
			})
		}
	}
}

func TestAsOfMovesTheExtract(t *testing.T) {
	a, _ := generate(t, Options{Scale: tiny, Seed: 1, Format: FormatCSV})
	b, _ := generate(t, Options{Scale: tiny, Seed: 1, Format: FormatCSV, AsOf: DefaultAsOf.AddDate(0, 0, 7)})
	db := openDB(t)
	q := func(dir string) string {
		var s string
		must(t, db.QueryRow(context.Background(), fmt.Sprintf(
			"SELECT strftime(max(shipped_on), '%%Y-%%m-%%d') FROM read_csv(%s)", duck.Quote(filepath.Join(dir, "deliveries.csv")))).Scan(&s))
		return s
	}
	if qa, qb := q(a), q(b); qa >= qb {
		t.Errorf("last delivery %s with the default as-of, %s a week later: want it to move", qa, qb)
	}
}

// TestStockFactorScalesOnlyStock: --stock-factor scales every lot's units
// (rounded up) and leaves the lots themselves and every other table as
// they were; factor 1 is the usual extract byte for byte.
func TestStockFactorScalesOnlyStock(t *testing.T) {
	a, _ := generate(t, Options{Scale: tiny, Seed: 3, Format: FormatCSV})
	one, _ := generate(t, Options{Scale: tiny, Seed: 3, Format: FormatCSV, StockFactor: 1})
	half, _ := generate(t, Options{Scale: tiny, Seed: 3, Format: FormatCSV, StockFactor: 0.5})
	for _, f := range []string{"snacks.csv", "users.csv", "deliveries.csv", "ratings.csv", "requests.csv", "stock.csv"} {
		x, err := os.ReadFile(filepath.Join(a, f))
		must(t, err)
		y, err := os.ReadFile(filepath.Join(one, f))
		must(t, err)
		if string(x) != string(y) {
			t.Errorf("%s differs with --stock-factor 1", f)
		}
		if f == "stock.csv" {
			continue
		}
		z, err := os.ReadFile(filepath.Join(half, f))
		must(t, err)
		if string(x) != string(z) {
			t.Errorf("%s differs with --stock-factor 0.5", f)
		}
	}
	db := openDB(t)
	var n, bad, total, halfTotal int64
	must(t, db.QueryRow(context.Background(), fmt.Sprintf(`SELECT count(*), count(*) FILTER (WHERE b.quantity <> ceil(a.quantity * 0.5)
	    AND NOT (a.quantity = 0 AND b.quantity = 0)), sum(a.quantity), sum(b.quantity)
		FROM read_csv(%s) a JOIN read_csv(%s) b USING (snack_id, lot_id, best_before)`,
		duck.Quote(filepath.Join(a, "stock.csv")), duck.Quote(filepath.Join(half, "stock.csv")))).Scan(&n, &bad, &total, &halfTotal))
	if n == 0 || bad > n/20 || halfTotal > total*6/10 || halfTotal < total*4/10 {
		t.Errorf("%d lots, %d not about halved; units %d -> %d", n, bad, total, halfTotal)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func openDB(t testing.TB) *duck.DB {
	t.Helper()
	db, err := duck.OpenMemory(context.Background(), duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The small extract, generated once for the rule and shape tests.
var (
	smallOnce sync.Once
	smallDir  string
	smallSum  Summary
	smallErr  error
)

func smallExtract(t *testing.T) (string, Summary) {
	t.Helper()
	if testing.Short() {
		t.Skip("generates the small extract")
	}
	smallOnce.Do(func() {
		smallDir, smallErr = os.MkdirTemp("", "synth-small-")
		if smallErr != nil {
			return
		}
		smallSum, smallErr = Generate(context.Background(), Options{Scale: mustScale("small"), Seed: 42, OutDir: filepath.Join(smallDir, "x")})
	})
	if smallErr != nil {
		t.Fatal(smallErr)
	}
	return filepath.Join(smallDir, "x"), smallSum
}

func TestMain(m *testing.M) {
	code := m.Run()
	if smallDir != "" {
		os.RemoveAll(smallDir)
	}
	os.Exit(code)
}

// viewsOver makes one view per table over the extract in dir.
func viewsOver(t testing.TB, db *duck.DB, dir, format string) {
	t.Helper()
	for _, tb := range Tables {
		path := filepath.Join(dir, tb+"."+format)
		if fi, err := os.Stat(filepath.Join(dir, tb)); err == nil && fi.IsDir() {
			path = filepath.Join(dir, tb, "*."+format)
		}
		var src string
		switch format {
		case FormatParquet:
			src = "read_parquet(" + duck.Quote(path) + ")"
		case FormatCSV:
			src = "read_csv(" + duck.Quote(path) + ", header = true)"
		case FormatJSONL:
			src = "read_json(" + duck.Quote(path) + ", format = 'newline_delimited')"
		default:
			t.Fatalf("no DuckDB reader for %s", format)
		}
		if _, err := db.Exec(context.Background(), fmt.Sprintf("CREATE OR REPLACE VIEW %s AS SELECT * FROM %s", tb, src)); err != nil {
			t.Fatal(err)
		}
	}
}

func count(t testing.TB, db *duck.DB, query string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func float(t testing.TB, db *duck.DB, query string) float64 {
	t.Helper()
	var x float64
	if err := db.QueryRow(context.Background(), query).Scan(&x); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return x
}

// specTypes is SPEC section 2, column by column.
var specTypes = map[string]string{
	"snacks":     "snack_id BIGINT, name VARCHAR, category VARCHAR, launched_on DATE, active BOOLEAN",
	"snack_tags": "snack_id BIGINT, tag VARCHAR",
	"users":      "user_id BIGINT, status VARCHAR, box_size INTEGER, cadence_days INTEGER, next_ship_on DATE",
	"skips":      "user_id BIGINT, ship_on DATE",
	"user_ng":    "user_id BIGINT, tag VARCHAR",
	"user_prefs": "user_id BIGINT, category VARCHAR, weight INTEGER",
	"deliveries": "user_id BIGINT, snack_id BIGINT, shipped_on DATE",
	"ratings":    "user_id BIGINT, snack_id BIGINT, rating INTEGER, rated_at TIMESTAMP",
	"requests":   "user_id BIGINT, snack_id BIGINT, requested_at TIMESTAMP",
	"stock":      "snack_id BIGINT, lot_id VARCHAR, quantity INTEGER, best_before DATE",
}

func describe(t testing.TB, db *duck.DB, table string) string {
	t.Helper()
	rows, err := db.Query(context.Background(), "SELECT column_name, column_type FROM (DESCRIBE "+table+")")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var n, ty string
		must(t, rows.Scan(&n, &ty))
		cols = append(cols, n+" "+ty)
	}
	return strings.Join(cols, ", ")
}

func TestParquetTypesAreSpecTypes(t *testing.T) {
	dir, _ := smallExtract(t)
	db := openDB(t)
	viewsOver(t, db, dir, FormatParquet)
	for _, tb := range Tables {
		if got := describe(t, db, tb); got != specTypes[tb] {
			t.Errorf("%s: columns %q, want %q", tb, got, specTypes[tb])
		}
	}
}

// Text formats carry the types in their spelling: DuckDB's sniffer must
// read back exactly the SPEC types, and the text must be SPEC's (dates
// YYYY-MM-DD, timestamps 'YYYY-MM-DD HH:MM:SS', booleans true/false).
func TestTextFormatsReadBackAsSpecTypes(t *testing.T) {
	for _, format := range []string{FormatCSV, FormatJSONL} {
		t.Run(format, func(t *testing.T) {
			dir, _ := generate(t, Options{Scale: tiny, Seed: 3, Format: format, Split: 2})
			db := openDB(t)
			viewsOver(t, db, dir, format)
			for _, tb := range Tables {
				// Text has no width: a sniffer reads whole numbers as
				// BIGINT, and the loader narrows them to the SPEC type.
				want := strings.ReplaceAll(specTypes[tb], "INTEGER", "BIGINT")
				if got := describe(t, db, tb); got != want {
					t.Errorf("%s: columns %q, want %q", tb, got, want)
				}
			}
		})
	}
	dir, _ := generate(t, Options{Scale: tiny, Seed: 3, Format: FormatCSV})
	head := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		must(t, err)
		lines := strings.SplitN(string(b), "\n", 3)
		return lines[0] + "\n" + lines[1]
	}
	checks := map[string]string{
		"ratings.csv": `^user_id,snack_id,rating,rated_at\n\d+,\d+,[1-5],\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`,
		"snacks.csv":  `^snack_id,name,category,launched_on,active\n\d+,[^,]+,[a-z ]+,\d{4}-\d\d-\d\d,(true|false)$`,
		"stock.csv":   `^snack_id,lot_id,quantity,best_before\n\d+,L\d{6}-\d,\d+,\d{4}-\d\d-\d\d$`,
	}
	for name, re := range checks {
		if got := head(name); !matches(re, got) {
			t.Errorf("%s starts %q, want it to match %s", name, got, re)
		}
	}
}

func TestArrowFilesCarrySpecSchemas(t *testing.T) {
	dir, sum := generate(t, Options{Scale: tiny, Seed: 3, Format: FormatArrow, Split: 2})
	for _, tb := range Tables {
		paths, _ := filepath.Glob(filepath.Join(dir, tb+".arrow"))
		parts, _ := filepath.Glob(filepath.Join(dir, tb, "*.arrow"))
		paths = append(paths, parts...)
		var rows int64
		for _, p := range paths {
			schema, n := readArrowFile(t, p)
			if !schema.Equal(Schemas[tb]) {
				t.Errorf("%s: schema %s, want %s", p, schema, Schemas[tb])
			}
			rows += n
		}
		ts, _ := sum.Table(tb)
		if rows != ts.Rows || rows == 0 && tb != TableSkips {
			t.Errorf("%s: %d rows in the files, summary says %d", tb, rows, ts.Rows)
		}
	}
}

// TestSpecRules checks every rule of SPEC section 2 on the small extract.
func TestSpecRules(t *testing.T) {
	dir, _ := smallExtract(t)
	db := openDB(t)
	viewsOver(t, db, dir, FormatParquet)
	violations := map[string]string{
		"snack_id unique":                "SELECT count(*) - count(DISTINCT snack_id) FROM snacks",
		"snack name, category non-empty": "SELECT count(*) FROM snacks WHERE coalesce(trim(name), '') = '' OR coalesce(trim(category), '') = ''",
		"snack_tags unique":              "SELECT count(*) FROM (SELECT snack_id, tag FROM snack_tags GROUP BY ALL HAVING count(*) > 1)",
		"snack_tags snack exists":        "SELECT count(*) FROM snack_tags WHERE snack_id NOT IN (SELECT snack_id FROM snacks)",
		"user_id unique":                 "SELECT count(*) - count(DISTINCT user_id) FROM users",
		"status values":                  "SELECT count(*) FROM users WHERE status NOT IN ('active', 'paused', 'cancelled') OR status IS NULL",
		"box_size 1..20":                 "SELECT count(*) FROM users WHERE box_size NOT BETWEEN 1 AND 20 OR box_size IS NULL",
		"cadence_days 1..90":             "SELECT count(*) FROM users WHERE cadence_days NOT BETWEEN 1 AND 90 OR cadence_days IS NULL",
		"skips unique":                   "SELECT count(*) FROM (SELECT user_id, ship_on FROM skips GROUP BY ALL HAVING count(*) > 1)",
		"skips user exists":              "SELECT count(*) FROM skips WHERE user_id NOT IN (SELECT user_id FROM users)",
		"user_ng unique":                 "SELECT count(*) FROM (SELECT user_id, tag FROM user_ng GROUP BY ALL HAVING count(*) > 1)",
		"user_ng user exists":            "SELECT count(*) FROM user_ng WHERE user_id NOT IN (SELECT user_id FROM users)",
		"user_prefs unique":              "SELECT count(*) FROM (SELECT user_id, category FROM user_prefs GROUP BY ALL HAVING count(*) > 1)",
		"user_prefs weight -2..2":        "SELECT count(*) FROM user_prefs WHERE weight NOT BETWEEN -2 AND 2 OR weight IS NULL",
		"deliveries ids exist": `SELECT count(*) FROM deliveries WHERE user_id NOT IN (SELECT user_id FROM users)
			OR snack_id NOT IN (SELECT snack_id FROM snacks)`,
		"ratings 1..5":        "SELECT count(*) FROM ratings WHERE rating NOT BETWEEN 1 AND 5 OR rating IS NULL",
		"ratings ids exist":   "SELECT count(*) FROM ratings WHERE user_id NOT IN (SELECT user_id FROM users) OR snack_id NOT IN (SELECT snack_id FROM snacks)",
		"requests ids exist":  "SELECT count(*) FROM requests WHERE user_id NOT IN (SELECT user_id FROM users) OR snack_id NOT IN (SELECT snack_id FROM snacks)",
		"stock unique":        "SELECT count(*) FROM (SELECT snack_id, lot_id FROM stock GROUP BY ALL HAVING count(*) > 1)",
		"stock quantity >= 0": "SELECT count(*) FROM stock WHERE quantity < 0 OR quantity IS NULL",
		"stock snack exists":  "SELECT count(*) FROM stock WHERE snack_id NOT IN (SELECT snack_id FROM snacks)",
		"no NULL anywhere": `SELECT (SELECT count(*) FROM snacks WHERE launched_on IS NULL OR active IS NULL)
			+ (SELECT count(*) FROM users WHERE next_ship_on IS NULL)
			+ (SELECT count(*) FROM deliveries WHERE shipped_on IS NULL)
			+ (SELECT count(*) FROM ratings WHERE rated_at IS NULL)
			+ (SELECT count(*) FROM requests WHERE requested_at IS NULL)
			+ (SELECT count(*) FROM stock WHERE best_before IS NULL OR lot_id = '')`,
	}
	names := make([]string, 0, len(violations))
	for n := range violations {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if got := count(t, db, violations[n]); got != 0 {
			t.Errorf("rule %q: %d violations", n, got)
		}
	}
}

// TestHistoryIsConsistent checks what a nightly extract taken before as-of
// implies: no event on or after as-of, no snack before its launch or twice
// in a box, ratings after their delivery.
func TestHistoryIsConsistent(t *testing.T) {
	dir, _ := smallExtract(t)
	db := openDB(t)
	viewsOver(t, db, dir, FormatParquet)
	asOf := "DATE '2026-03-02'"
	violations := map[string]string{
		"delivery on or after as-of":                               "SELECT count(*) FROM deliveries WHERE shipped_on >= " + asOf,
		"rating on or after as-of":                                 "SELECT count(*) FROM ratings WHERE rated_at >= " + asOf,
		"request on or after as-of":                                "SELECT count(*) FROM requests WHERE requested_at >= " + asOf,
		"snack twice in one box":                                   "SELECT count(*) FROM (SELECT user_id, snack_id, shipped_on FROM deliveries GROUP BY ALL HAVING count(*) > 1)",
		"box larger than box_size":                                 "SELECT count(*) FROM (SELECT user_id, shipped_on, count(*) n FROM deliveries GROUP BY ALL) JOIN users USING (user_id) WHERE n > box_size",
		"delivery before launch":                                   "SELECT count(*) FROM deliveries JOIN snacks USING (snack_id) WHERE shipped_on < launched_on",
		"delivery of an NG tag":                                    "SELECT count(*) FROM deliveries d JOIN snack_tags s USING (snack_id) JOIN user_ng n ON n.user_id = d.user_id AND n.tag = s.tag",
		"delivery off the user's cadence":                          "SELECT count(*) FROM deliveries JOIN users USING (user_id) WHERE (next_ship_on - shipped_on) % cadence_days <> 0",
		"repeat within 180 days":                                   "SELECT count(*) FROM deliveries a JOIN deliveries b USING (user_id, snack_id) WHERE a.shipped_on < b.shipped_on AND b.shipped_on - a.shipped_on < 180",
		"upcoming skip before as-of of an active user off cadence": "SELECT count(*) FROM skips JOIN users USING (user_id) WHERE (ship_on - next_ship_on) % cadence_days <> 0 AND status = 'active'",
	}
	names := make([]string, 0, len(violations))
	for n := range violations {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if got := count(t, db, violations[n]); got != 0 {
			t.Errorf("%s: %d rows", n, got)
		}
	}
}

// within fails unless lo <= x <= hi.
func within(t *testing.T, what string, x, lo, hi float64) {
	t.Helper()
	if x < lo || x > hi {
		t.Errorf("%s = %.4g, want it in [%.4g, %.4g]", what, x, lo, hi)
	}
}

// TestShape checks the targets of SPEC section 6 and the brief's shape on
// the small extract.
func TestShape(t *testing.T) {
	dir, sum := smallExtract(t)
	sc := mustScale("small")
	db := openDB(t)
	viewsOver(t, db, dir, FormatParquet)
	rows := func(tb string) float64 { s, _ := sum.Table(tb); return float64(s.Rows) }
	within(t, "users", rows(TableUsers), float64(sc.Users), float64(sc.Users))
	within(t, "snacks", rows(TableSnacks), float64(sc.Snacks), float64(sc.Snacks))
	within(t, "deliveries", rows(TableDeliveries), 0.9*float64(sc.Deliveries), 1.1*float64(sc.Deliveries))
	within(t, "ratings", rows(TableRatings), 0.9*float64(sc.Ratings), 1.1*float64(sc.Ratings))
	within(t, "stock lots", rows(TableStock), 0.85*float64(sc.StockLots), 1.15*float64(sc.StockLots))
	if n := count(t, db, "SELECT count(*) FROM users"); float64(n) != rows(TableUsers) {
		t.Errorf("summary says %v users, the file holds %d", rows(TableUsers), n)
	}

	within(t, "active share", float(t, db, "SELECT avg((status = 'active')::INT) FROM users"), 0.83, 0.87)
	within(t, "cadences other than 14 and 28", float(t, db, "SELECT count(*) FROM users WHERE cadence_days NOT IN (14, 28)"), 0, 0)
	within(t, "cadence 14 share", float(t, db, "SELECT avg((cadence_days = 14)::INT) FROM users"), 0.5, 0.7)
	within(t, "box sizes outside 6..10", float(t, db, "SELECT count(*) FROM users WHERE box_size NOT BETWEEN 6 AND 10"), 0, 0)
	within(t, "box size 8 share", float(t, db, "SELECT avg((box_size = 8)::INT) FROM users"), 0.35, 0.45)
	within(t, "largest share of another box size", float(t, db,
		"SELECT max(s) FROM (SELECT box_size, count(*) / (SELECT count(*) FROM users) s FROM users GROUP BY 1) WHERE box_size <> 8"), 0.05, 0.3)
	within(t, "active next_ship_on in [as-of, as-of + cadence)", float(t, db,
		"SELECT avg((next_ship_on >= DATE '2026-03-02' AND next_ship_on < DATE '2026-03-02' + cadence_days)::INT) FROM users WHERE status = 'active'"), 0.95, 0.99)
	within(t, "active next_ship_on before as-of", float(t, db,
		"SELECT avg((next_ship_on < DATE '2026-03-02')::INT) FROM users WHERE status = 'active'"), 0.01, 0.05)

	within(t, "categories", float(t, db, "SELECT count(DISTINCT category) FROM snacks"), float64(sc.Categories), float64(sc.Categories))
	within(t, "active snack share", float(t, db, "SELECT avg(active::INT) FROM snacks"), 0.85, 0.95)
	within(t, "snacks launched in the last 30 days", float(t, db,
		"SELECT count(*) FROM snacks WHERE launched_on <= DATE '2026-03-02' AND launched_on > DATE '2026-03-02' - 30"), 3, 20)
	within(t, "snacks not launched yet", float(t, db, "SELECT count(*) FROM snacks WHERE launched_on > DATE '2026-03-02'"), 2, 10)
	within(t, "oldest launch, years before as-of", float(t, db, "SELECT (DATE '2026-03-02' - min(launched_on)) / 365 FROM snacks"), 2.5, 3.1)
	within(t, "duplicate snack names", float(t, db, "SELECT count(*) - count(DISTINCT name) FROM snacks"), 0, 0)
	within(t, "tags", float(t, db, "SELECT count(DISTINCT tag) FROM (SELECT tag FROM snack_tags UNION SELECT tag FROM user_ng)"), 28, 32)
	within(t, "max tags per snack", float(t, db, "SELECT max(n) FROM (SELECT count(*) n FROM snack_tags GROUP BY snack_id)"), 3, 4)
	within(t, "max NG tags per user", float(t, db, "SELECT max(n) FROM (SELECT count(*) n FROM user_ng GROUP BY user_id)"), 3, 3)
	within(t, "users without NG tags", float(t, db,
		"SELECT 1 - count(DISTINCT user_id) / (SELECT count(*) FROM users) FROM user_ng"), 0.45, 0.65)

	// Popularity is skewed: the top 10% of snacks take a large share.
	within(t, "delivery share of the top 10% snacks", float(t, db, `SELECT sum(n) FILTER (WHERE rk <= 30) / sum(n)
		FROM (SELECT count(*) n, row_number() OVER (ORDER BY count(*) DESC) rk FROM deliveries GROUP BY snack_id)`), 0.25, 0.6)
	within(t, "deliveries in the last 180 days", float(t, db,
		"SELECT avg((shipped_on > DATE '2026-03-02' - 180)::INT) FROM deliveries"), 0.5, 0.9)
	within(t, "users with a delivery in the last 180 days", float(t, db,
		"SELECT count(DISTINCT user_id) / 10000 FROM deliveries WHERE shipped_on > DATE '2026-03-02' - 180"), 0.7, 0.95)

	// Ratings: informative taste, some never-again, some repeated.
	within(t, "ratings <= 2", float(t, db, "SELECT avg((rating <= 2)::INT) FROM ratings"), 0.08, 0.25)
	within(t, "ratings not preceded by a delivery of the snack", float(t, db, `SELECT avg((NOT EXISTS (SELECT 1 FROM deliveries d
		WHERE d.user_id = r.user_id AND d.snack_id = r.snack_id AND d.shipped_on < r.rated_at::DATE))::INT) FROM ratings r`), 0.005, 0.1)
	within(t, "pairs rated more than once", float(t, db,
		"SELECT avg((n > 1)::INT) FROM (SELECT count(*) n FROM ratings GROUP BY user_id, snack_id)"), 0.01, 0.04)
	within(t, "pairs with two ratings at one instant and different values", float(t, db,
		"SELECT count(*) FROM (SELECT user_id, snack_id, rated_at FROM ratings GROUP BY ALL HAVING count(DISTINCT rating) > 1)"), 5, 1000)
	liked := float(t, db, `SELECT avg(rating) FROM ratings JOIN snacks USING (snack_id)
		JOIN user_prefs p ON p.user_id = ratings.user_id AND p.category = snacks.category WHERE weight > 0`)
	disliked := float(t, db, `SELECT avg(rating) FROM ratings JOIN snacks USING (snack_id)
		JOIN user_prefs p ON p.user_id = ratings.user_id AND p.category = snacks.category WHERE weight < 0`)
	within(t, "mean rating in liked minus disliked categories", liked-disliked, 0.8, 3)

	// Requests, skips.
	within(t, "users with requests", float(t, db, "SELECT count(DISTINCT user_id) / 10000 FROM requests"), 0.02, 0.05)
	within(t, "requests per requesting user", float(t, db, "SELECT max(n) FROM (SELECT count(*) n FROM requests GROUP BY user_id)"), 3, 3)
	within(t, "oldest request, days before as-of", float(t, db, "SELECT DATE '2026-03-02' - min(requested_at)::DATE FROM requests"), 20, 60)
	within(t, "repeated requests", float(t, db, "SELECT count(*) FROM (SELECT user_id, snack_id FROM requests GROUP BY ALL HAVING count(*) > 1)"), 5, 200)
	within(t, "requests closed by a later delivery", float(t, db, `SELECT count(*) FROM requests q WHERE EXISTS
		(SELECT 1 FROM deliveries d WHERE d.user_id = q.user_id AND d.snack_id = q.snack_id AND d.shipped_on >= q.requested_at::DATE)`), 20, 300)
	within(t, "requests for snacks with the user's NG tag", float(t, db, `SELECT count(*) FROM requests q
		JOIN snack_tags s USING (snack_id) JOIN user_ng n ON n.user_id = q.user_id AND n.tag = s.tag`), 10, 300)
	within(t, "users skipping an upcoming date", float(t, db,
		"SELECT count(DISTINCT user_id) / 10000 FROM skips WHERE ship_on >= DATE '2026-03-02'"), 0.02, 0.05)

	// Stock.
	within(t, "lots per snack", float(t, db, "SELECT max(n) FROM (SELECT count(*) n FROM stock GROUP BY snack_id)"), 6, 6)
	within(t, "empty lots", float(t, db, "SELECT count(*) FROM stock WHERE quantity = 0"), 10, 200)
	within(t, "lots unusable on as-of (min_shelf_days 21)", float(t, db,
		"SELECT avg((best_before < DATE '2026-03-02' + 21)::INT) FROM stock"), 0.04, 0.15)
	within(t, "lots turning unusable within 28 days", float(t, db,
		"SELECT avg((best_before >= DATE '2026-03-02' + 21 AND best_before < DATE '2026-03-02' + 21 + 28)::INT) FROM stock"), 0.15, 0.35)
	// Stock usable on as-of against four weeks of box lines: more in total
	// (the tail is overstocked) while popular snacks run short, which
	// preassign shows (engine_test.go).
	units := float(t, db, "SELECT sum(box_size * (28 // cadence_days)) FROM users WHERE status = 'active'")
	usable := float(t, db, "SELECT sum(quantity) FROM stock WHERE best_before >= DATE '2026-03-02' + 21")
	within(t, "usable stock / four weeks of box lines", usable/units, 1.1, 2.5)
}

func TestRefusesNonEmptyOutDirUnlessForced(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x")
	must(t, os.MkdirAll(filepath.Join(out, "snacks"), 0o755))
	must(t, os.WriteFile(filepath.Join(out, "README"), []byte("keep me"), 0o644))
	must(t, os.WriteFile(filepath.Join(out, "snacks", "old.csv"), []byte("x"), 0o644))
	must(t, os.WriteFile(filepath.Join(out, "users.csv"), []byte("x"), 0o644))
	_, err := Generate(context.Background(), Options{Scale: tiny, Seed: 1, OutDir: out})
	if !errors.Is(err, ErrOutNotEmpty) {
		t.Fatalf("got %v, want ErrOutNotEmpty", err)
	}
	if _, err := os.Stat(filepath.Join(out, "users.parquet")); err == nil {
		t.Fatal("refused run wrote users.parquet")
	}
	_, err = Generate(context.Background(), Options{Scale: tiny, Seed: 1, OutDir: out, Force: true})
	must(t, err)
	entries, err := os.ReadDir(out)
	must(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"README"}
	for _, tb := range Tables {
		want = append(want, tb+".parquet")
	}
	sort.Strings(want)
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("after --force the folder holds %v, want %v", names, want)
	}
	assertNoLeftovers(t, filepath.Dir(out))
}

func assertNoLeftovers(t *testing.T, parent string) {
	t.Helper()
	entries, err := os.ReadDir(parent)
	must(t, err)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("working folder %s left behind", e.Name())
		}
	}
}

func TestOutDirIsAFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x")
	must(t, os.WriteFile(out, nil, 0o644))
	if _, err := Generate(context.Background(), Options{Scale: tiny, OutDir: out, Force: true}); err == nil || !strings.Contains(err.Error(), "is a file") {
		t.Fatalf("got %v, want an error naming the file", err)
	}
}

func TestCancelledRunLeavesNothing(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "x")
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	_, err := Generate(ctx, Options{Scale: mustScale("small"), Seed: 1, OutDir: out, Format: FormatCSV,
		Progress: func(done, total int) {
			once.Do(cancel)
		}})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want a cancellation error", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cancelled run created %s (%v)", out, err)
	}
	assertNoLeftovers(t, parent)
}

func TestValidate(t *testing.T) {
	cases := []struct {
		opt  Options
		want string
	}{
		{Options{Scale: tiny, OutDir: "x", Format: "xlsx"}, "unknown format"},
		{Options{OutDir: "x"}, "not usable"},
		{Options{Scale: tiny, OutDir: "x", Split: -1}, "split"},
		{Options{Scale: tiny, OutDir: "x", Split: MaxSplit + 1}, "split"},
		{Options{Scale: tiny}, "no output folder"},
		{Options{Scale: tiny, OutDir: "x", AsOf: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)}, "as-of"},
	}
	for _, c := range cases {
		err := c.opt.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want an error containing %q", c.opt, err, c.want)
		}
	}
	if _, err := LookupScale("huge"); err == nil || !strings.Contains(err.Error(), "small, medium, large") {
		t.Errorf("LookupScale(huge) = %v, want the scale names", err)
	}
	o := Options{Scale: tiny, OutDir: "x", AsOf: time.Date(2026, 5, 4, 15, 30, 0, 0, time.FixedZone("X", 3600))}
	must(t, o.Validate())
	if o.Format != FormatParquet || o.AsOf != time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC) || o.Threads < 1 {
		t.Errorf("defaults: %+v", o)
	}
}

func matches(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// readArrowFile returns the schema and row count of an Arrow IPC file.
func readArrowFile(t testing.TB, path string) (*arrow.Schema, int64) {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		t.Fatalf("%s is not an Arrow IPC file: %v", path, err)
	}
	defer r.Close()
	var n int64
	for i := range r.NumRecords() {
		rec, err := r.RecordBatch(i)
		must(t, err)
		n += rec.NumRows()
	}
	return r.Schema(), n
}

// TestSmallParquetIsReproducible repeats the small extract at another
// thread count: its large tables span several Parquet row groups, which the
// tiny determinism test does not reach.
func TestSmallParquetIsReproducible(t *testing.T) {
	dir, _ := smallExtract(t)
	again, _ := generate(t, Options{Scale: mustScale("small"), Seed: 42, Threads: 1})
	fa, fb := readTree(t, dir), readTree(t, again)
	if len(fa) != len(fb) {
		t.Fatalf("%d files, then %d", len(fa), len(fb))
	}
	for name, x := range fa {
		if !bytes.Equal(x, fb[name]) {
			t.Errorf("%s differs between two runs of the small extract (seed 42)", name)
		}
	}
	db := openDB(t)
	if n := count(t, db, "SELECT count(*) FROM parquet_metadata("+duck.Quote(filepath.Join(dir, "deliveries.parquet"))+") WHERE column_id = 0"); n < 2 {
		t.Errorf("deliveries.parquet has %d row groups; the test wants several", n)
	}
}
