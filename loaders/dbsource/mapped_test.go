package dbsource_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/assign-dev/assign/internal/dbtest"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/loaders/dbsource"
)

// shopSchema is the extract under a shop's own names: other table and
// column names, a view-free SELECT for requests, surrogate keys, an extra
// column. common DDL for both servers, {bool} and {ts} per server.
func shopSchema(boolType, tsType, serial string) []dbtest.Table {
	r := strings.NewReplacer("{bool}", boolType, "{ts}", tsType, "{serial}", serial)
	t := func(name, as, ddl, load string) dbtest.Table {
		return dbtest.Table{Name: name, As: as, DDL: r.Replace(ddl), Load: load}
	}
	return []dbtest.Table{
		t("snacks", "catalog_items", "CREATE TABLE {t} (item_no BIGINT PRIMARY KEY, title VARCHAR(200) NOT NULL, kind VARCHAR(40), released DATE, is_active {bool}, shelf VARCHAR(10) DEFAULT 'A1')", "item_no, title, kind, released, is_active"),
		t("snack_tags", "item_tags", "CREATE TABLE {t} (item_no BIGINT, label VARCHAR(60), PRIMARY KEY (item_no, label))", "item_no, label"),
		t("users", "members", "CREATE TABLE {t} (member_id BIGINT PRIMARY KEY, state VARCHAR(12), box_size SMALLINT, every_days INT, next_box DATE)", "member_id, state, box_size, every_days, next_box"),
		t("skips", "member_skips", "CREATE TABLE {t} (member_id BIGINT, skip_day DATE, PRIMARY KEY (member_id, skip_day))", "member_id, skip_day"),
		t("user_ng", "member_allergies", "CREATE TABLE {t} (member_id BIGINT, allergen VARCHAR(60), PRIMARY KEY (member_id, allergen))", "member_id, allergen"),
		t("user_prefs", "member_tastes", "CREATE TABLE {t} (member_id BIGINT, kind VARCHAR(40), score SMALLINT, PRIMARY KEY (member_id, kind))", "member_id, kind, score"),
		t("deliveries", "shipments", "CREATE TABLE {t} (shipment_id {serial} PRIMARY KEY, member_id BIGINT, item_no BIGINT, shipped DATE)", "member_id, item_no, shipped"),
		t("ratings", "reviews", "CREATE TABLE {t} (review_id {serial} PRIMARY KEY, member_id BIGINT, item_no BIGINT, stars SMALLINT, created {ts})", "member_id, item_no, stars, created"),
		t("requests", "wishes", "CREATE TABLE {t} (wish_id {serial} PRIMARY KEY, member_id BIGINT, item_no BIGINT, wished {ts}, kind VARCHAR(10) DEFAULT 'request')", "member_id, item_no, wished"),
		t("stock", "lots", "CREATE TABLE {t} (item_no BIGINT, lot VARCHAR(20), units INT, use_by DATE, PRIMARY KEY (item_no, lot))", "item_no, lot, units, use_by"),
	}
}

const shopMap = `# SPEC tables -> this shop's tables
[snacks]
table = "catalog_items"
keep = ["shelf"]
columns = { snack_id = "item_no", name = "title", category = "kind", launched_on = "released", active = "is_active" }

[snack_tags]
table = "item_tags"
columns = { snack_id = "item_no", tag = "label" }

[users]
table = "members"
columns = { user_id = "member_id", status = "state", cadence_days = "every_days", next_ship_on = "next_box" }

[skips]
table = "member_skips"
columns = { user_id = "member_id", ship_on = "skip_day" }

[user_ng]
table = "member_allergies"
columns = { user_id = "member_id", tag = "allergen" }

[user_prefs]
table = "member_tastes"
columns = { user_id = "member_id", category = "kind", weight = "score" }

[deliveries]
table = "shipments"
columns = { user_id = "member_id", snack_id = "item_no", shipped_on = "shipped" }

[ratings]
table = "reviews"
columns = { user_id = "member_id", snack_id = "item_no", rating = "stars", rated_at = "created" }

[requests]
query = "SELECT wish_id, member_id AS user_id, item_no AS snack_id, wished AS requested_at FROM wishes WHERE kind = 'request'"
key = ["wish_id"]

[stock]
table = "lots"
columns = { snack_id = "item_no", lot_id = "lot", quantity = "units", best_before = "use_by" }
`

// baseExtract is the loader's hand-written extract: not made by the
// generator, with the text forms a real export has (yes/no booleans,
// T-separated and fractional timestamps, quoted names).
const baseExtract = "../testdata/extracts/base"

func TestMappedShop(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"postgres", "mysql"} {
		for _, ex := range []string{"tiny", "base"} {
			t.Run(kind+"/"+ex, func(t *testing.T) { mappedShop(t, kind, ex) })
		}
	}
}

func mappedShop(t *testing.T, kind, ex string) {
	{
		{
			t.Parallel()
			ctx := context.Background()
			dir := baseExtract
			if ex == "tiny" {
				dir = tinyExtract(t)
			}
			var s *dbtest.Server
			db := dbName(t)
			var url string
			if kind == "postgres" {
				s = dbtest.Postgres(t)
				if err := s.CreatePostgresDB(ctx, db); err != nil {
					t.Fatal(err)
				}
				if err := s.ImportPostgres(ctx, db, dir, shopSchema("boolean", "timestamp", "bigserial")); err != nil {
					t.Fatal(err)
				}
				pgReader(t, s, db)
				url = pgURL(s, db)
			} else {
				s = dbtest.MariaDB(t)
				if err := s.CreateMariaDB(ctx, db); err != nil {
					t.Fatal(err)
				}
				schema := shopSchema("BOOLEAN", "DATETIME(6)", "BIGINT AUTO_INCREMENT")
				schema[0].Load, schema[0].LoadSet = "item_no, title, kind, released, @a", "is_active = lower(@a) IN ('true', 't', '1', 'yes', 'y')"
				if err := s.ImportMariaDB(ctx, db, dir, schema); err != nil {
					t.Fatal(err)
				}
				myReader(t, s, db)
				url = myURL(s, db)
			}
			m := writeMap(t, shopMap)
			tune := func(c *dbsource.Config) { c.Map = m }
			got, err := loadURL(t, url, tune, nil)
			if err != nil {
				t.Fatal(err)
			}
			sameTables(t, loadDir(t, dir).path(), got.path())
			if rows := queryStrings(t, got.path(), "SELECT DISTINCT shelf FROM snacks"); strings.Join(rows, ",") != "A1" {
				t.Errorf("kept column shelf: %v", rows)
			}
			// A defect in a mapped table is reported under the source's
			// names, with its primary key.
			if err := s.Exec(ctx, db, "UPDATE reviews SET stars = 9 WHERE review_id = 2", "UPDATE wishes SET item_no = 999999 WHERE wish_id = 1"); err != nil {
				t.Fatal(err)
			}
			_, err = loadURL(t, url, tune, nil)
			var verr *loaders.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err %v", err)
			}
			var lines []string
			for _, v := range verr.Shown {
				lines = append(lines, v.String())
			}
			want := `source table reviews, primary key review_id=2, column rating (source column stars): value "9" breaks rule rating 1..5` + "\n" +
				`the query of requests in --map, key wish_id=1, column snack_id: value "999999" breaks rule snack_id in snacks`
			if strings.Join(lines, "\n") != want {
				t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(lines, "\n"), want)
			}
		}
	}
}
