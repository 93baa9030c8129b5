package dbsource_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/internal/dbtest"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/loaders/dbsource"
)

// pgTypes is a schema with the types real PostgreSQL schemas use for
// these columns, and one value breaking each kind of rule.
var pgTypes = []string{
	"CREATE TYPE user_status AS ENUM ('active', 'paused', 'cancelled')",
	"CREATE TABLE snacks (snack_id int4 PRIMARY KEY, name varchar(100), category char(12), launched_on date, active boolean)",
	`INSERT INTO snacks VALUES (1, 'うまい棒 🍫 Corn', 'chips', '2026-01-01', true), (2, 'Pocky ポッキー', 'sweets', '2025-12-01', false),
		(3, '', 'chips', '2026-01-01', true), (4, 'Ümlaut "quoted"', 'sweets', '2025-01-01', NULL)`,
	"CREATE TABLE users (user_id numeric(12,0) PRIMARY KEY, status user_status, box_size int2, cadence_days numeric(5,2), next_ship_on date)",
	`INSERT INTO users VALUES (100, 'active', 8, 14.00, '2026-03-02'), (101, 'paused', 6, 28.5, '2026-03-09'),
		(102, 'active', 25, 14, 'infinity'), (103, 'cancelled', 10, 28, '2026-02-01')`,
	"CREATE TABLE stock (snack_id int8, lot_id int4, quantity int4, best_before timestamp, PRIMARY KEY (snack_id, lot_id))",
	"INSERT INTO stock VALUES (1, 7, 10, '2026-06-01 00:00'), (2, 8, -1, '2026-06-01 10:00'), (2, 9, 5, '2026-07-01')",
	"CREATE TABLE requests (user_id int8, snack_id int8, requested_at timestamptz)",
	"INSERT INTO requests VALUES (100, 1, '2026-02-28 23:30:00+00'), (100, 9, '2026-02-20 10:00+09'), (103, 2, '2026-02-27 12:00:00.123456+00')",
	"CREATE TABLE ratings (id serial PRIMARY KEY, user_id int8, snack_id int8, rating int2, rated_at timestamp)",
	"INSERT INTO ratings (user_id, snack_id, rating, rated_at) VALUES (100, 1, 5, '2026-01-10 10:00'), (100, 2, NULL, '2026-01-11 11:00'), (103, 1, 2, '2026-01-12')",
}

func TestPostgresTypesAndViolations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := dbtest.Postgres(t)
	db := dbName(t)
	if err := s.CreatePostgresDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(ctx, db, pgTypes...); err != nil {
		t.Fatal(err)
	}
	pgReader(t, s, db)
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	zone := func(c *dbsource.Config) { c.Zone = tokyo }
	_, err := loadURL(t, pgURL(s, db), zone, nil)
	want := []string{
		`source table snacks, primary key snack_id=3, column name: value "" breaks rule name non-empty`,
		`source table snacks, primary key snack_id=4, column active: value null breaks rule active required`,
		`source table users, primary key user_id=101, column cadence_days: value "28.50" breaks rule cadence_days INTEGER (an integer)`,
		`source table users, primary key user_id=102, column box_size: value "25" breaks rule box_size 1..20`,
		`source table users, primary key user_id=102, column next_ship_on: value "infinity" breaks rule next_ship_on DATE (YYYY-MM-DD)`,
		`source table ratings, primary key id=2, column rating: value null breaks rule rating required`,
		`source table requests, row at ctid (0,2), column snack_id: value "9" breaks rule snack_id in snacks`,
		`source table stock, primary key (snack_id, lot_id)=(2, 8), column quantity: value "-1" breaks rule quantity >= 0`,
		`source table stock, primary key (snack_id, lot_id)=(2, 8), column best_before: value "2026-06-01 10:00:00" breaks rule best_before DATE (a finite timestamp at midnight, years 0000 to 9999)`,
	}
	checkViolations(t, err, want)

	rej := filepath.Join(t.TempDir(), "rejects.csv")
	got, err := loadURL(t, pgURL(s, db), zone, func(o *loaders.Options) { o.RejectFile = rej })
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(rej)
	for _, w := range []string{
		`users,source table users,,,cadence_days,28.50,cadence_days INTEGER (an integer),"{""user_id"":""101"",""status"":""paused"",""box_size"":""6"",""cadence_days"":""28.50"",""next_ship_on"":""2026-03-09""}",primary key user_id=101`,
		`requests,source table requests,,,snack_id,9,snack_id in snacks,"{""user_id"":""100"",""snack_id"":""9"",""requested_at"":""2026-02-20 01:00:00+00""}","row at ctid (0,2)"`,
	} {
		if !strings.Contains(string(b), w+"\n") {
			t.Errorf("reject file lacks\n%s\n%s", w, b)
		}
	}
	rows := queryStrings(t, got.path(), `SELECT snack_id || '|' || name || '|' || category || '|' || coalesce(active::varchar, 'null') FROM snacks ORDER BY 1`)
	if strings.Join(rows, "\n") != "1|うまい棒 🍫 Corn|chips|true\n2|Pocky ポッキー|sweets|false" {
		t.Errorf("snacks:\n%s", strings.Join(rows, "\n"))
	}
	rows = queryStrings(t, got.path(), `SELECT user_id || '|' || snack_id || '|' || strftime(requested_at, '%Y-%m-%d %H:%M:%S.%f') FROM requests ORDER BY 1`)
	if strings.Join(rows, "\n") != "100|1|2026-03-01 08:30:00.000000\n103|2|2026-02-27 21:00:00.123456" {
		t.Errorf("requests (in Asia/Tokyo):\n%s", strings.Join(rows, "\n"))
	}
	rows = queryStrings(t, got.path(), `SELECT snack_id || '|' || lot_id || '|' || best_before FROM stock ORDER BY 1`)
	if strings.Join(rows, "\n") != "1|7|2026-06-01\n2|9|2026-07-01" {
		t.Errorf("stock:\n%s", strings.Join(rows, "\n"))
	}
}

func checkViolations(t *testing.T, err error, want []string) {
	t.Helper()
	var verr *loaders.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err %v, want a ValidationError", err)
	}
	var got []string
	for _, v := range verr.Shown {
		got = append(got, v.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func queryStrings(t *testing.T, path, q string) []string {
	t.Helper()
	ctx := context.Background()
	db, err := duck.OpenSnapshot(ctx, path, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// myTypes is the same for MariaDB: UNSIGNED and TINYINT(1), DECIMAL, ENUM,
// utf8mb4, DATETIME and TIMESTAMP, zero dates and a table without a key.
var myTypes = []string{
	`CREATE TABLE snacks (snack_id INT UNSIGNED PRIMARY KEY, name VARCHAR(100), category ENUM('chips', 'sweets'), launched_on DATE, active TINYINT(1)) CHARACTER SET utf8mb4`,
	`INSERT INTO snacks VALUES (1, 'うまい棒 🍫 Corn', 'chips', '2026-01-01', 1), (2, 'Pocky ポッキー', 'sweets', '2025-12-01', 0),
		(3, '', 'chips', '2026-01-01', 1), (4, 'Ümlaut "quoted"', 'sweets', '2025-01-01', 2)`,
	`CREATE TABLE users (user_id BIGINT UNSIGNED PRIMARY KEY, status VARCHAR(20), box_size TINYINT, cadence_days DECIMAL(5,2), next_ship_on DATE)`,
	`SET SESSION sql_mode = ''; INSERT INTO users VALUES (100, 'active', 8, 14.00, '2026-03-02'), (101, 'paused', 6, 28.5, '2026-03-09'),
		(102, 'activ', 8, 14, '0000-00-00'), (18446744073709551615, 'active', 8, 14, '2026-03-02'), (103, 'cancelled', 10, 28, '2026-02-01')`,
	`CREATE TABLE stock (snack_id BIGINT, lot_id VARCHAR(20), quantity INT, best_before DATETIME, PRIMARY KEY (snack_id, lot_id)) CHARACTER SET utf8mb4`,
	`INSERT INTO stock VALUES (1, 'L-7', 10, '2026-06-01 00:00'), (2, 'L-8', -1, '2026-06-01 10:00'), (2, 'L-9', 5, '2026-07-01')`,
	`CREATE TABLE requests (user_id BIGINT, snack_id BIGINT, requested_at TIMESTAMP NULL)`,
	`SET time_zone = '+00:00'; INSERT INTO requests VALUES (100, 1, '2026-02-28 23:30:00'), (100, 9, '2026-02-20 01:00'), (103, 2, '2026-02-27 12:00:00')`,
}

func TestMariaDBTypesAndViolations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := dbtest.MariaDB(t)
	db := dbName(t)
	if err := s.CreateMariaDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(ctx, db, myTypes...); err != nil {
		t.Fatal(err)
	}
	myReader(t, s, db)
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	zone := func(c *dbsource.Config) { c.Zone = tokyo }
	_, err := loadURL(t, myURL(s, db), zone, nil)
	want := []string{
		`source table snacks, primary key snack_id=3, column name: value "" breaks rule name non-empty`,
		`source table snacks, primary key snack_id=4, column active: value "2" breaks rule active BOOLEAN (true/false, t/f, 1/0, yes/no, y/n)`,
		`source table users, primary key user_id=101, column cadence_days: value "28.50" breaks rule cadence_days INTEGER (an integer)`,
		`source table users, primary key user_id=102, column status: value "activ" breaks rule status in active/paused/cancelled`,
		`source table users, primary key user_id=102, column next_ship_on: value "0000-00-00" breaks rule next_ship_on DATE (YYYY-MM-DD)`,
		`source table users, primary key user_id=18446744073709551615, column user_id: value "18446744073709551615" breaks rule user_id BIGINT (an integer)`,
		`source table requests, row 2 in read order (the table has no primary key), column snack_id: value "9" breaks rule snack_id in snacks`,
		`source table stock, primary key (snack_id, lot_id)=(2, L-8), column quantity: value "-1" breaks rule quantity >= 0`,
		`source table stock, primary key (snack_id, lot_id)=(2, L-8), column best_before: value "2026-06-01 10:00:00" breaks rule best_before DATE (a finite timestamp at midnight, years 0000 to 9999)`,
	}
	checkViolations(t, err, want)

	got, err := loadURL(t, myURL(s, db), zone, func(o *loaders.Options) { o.RejectFile = filepath.Join(t.TempDir(), "rejects.csv") })
	if err != nil {
		t.Fatal(err)
	}
	rows := queryStrings(t, got.path(), `SELECT snack_id || '|' || name || '|' || category || '|' || active FROM snacks ORDER BY 1`)
	if strings.Join(rows, "\n") != "1|うまい棒 🍫 Corn|chips|true\n2|Pocky ポッキー|sweets|false" {
		t.Errorf("snacks:\n%s", strings.Join(rows, "\n"))
	}
	rows = queryStrings(t, got.path(), `SELECT user_id || '|' || snack_id || '|' || requested_at FROM requests ORDER BY 1`)
	if strings.Join(rows, "\n") != "100|1|2026-03-01 08:30:00\n103|2|2026-02-27 21:00:00" {
		t.Errorf("requests (in Asia/Tokyo):\n%s", strings.Join(rows, "\n"))
	}
	rows = queryStrings(t, got.path(), `SELECT user_id || '|' || cadence_days FROM users ORDER BY 1`)
	if strings.Join(rows, "\n") != "100|14\n103|28" {
		t.Errorf("users:\n%s", strings.Join(rows, "\n"))
	}
}
