package loaders_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/assign-dev/assign/internal/extractfixtures"
	"github.com/assign-dev/assign/loaders"
)

// outcome renders a load's result as in the txtar cases: violations and
// error, or nothing on success.
func outcome(err error) string {
	var verr *loaders.ValidationError
	var b strings.Builder
	if errors.As(err, &verr) {
		for _, v := range verr.Shown {
			b.WriteString(v.String() + "\n")
		}
		if verr.More() > 0 {
			fmt.Fprintf(&b, "... and %d more\n", verr.More())
		}
	}
	if err != nil {
		fmt.Fprintf(&b, "error: %s\n", err)
	}
	return b.String()
}

// TestTypedParquet covers native Parquet types: any integer width (range
// checked), timestamps at midnight for DATE, any timestamp unit and zoned
// timestamps (taken in UTC) for TIMESTAMP, text following the text rules,
// and incompatible column types.
func TestTypedParquet(t *testing.T) {
	ctx := context.Background()
	db := memDB(t)
	cases := []struct {
		name  string
		table string
		sql   string
		want  string   // outcome; empty for success
		check []string // for success: query on the snapshot, then expected rows
	}{
		{
			name:  "integer widths and timestamp at midnight for a date",
			table: "users",
			sql: `SELECT * FROM (VALUES
				(CAST(10 AS TINYINT), 'active', CAST(8 AS BIGINT), CAST(14 AS UTINYINT), TIMESTAMP '2026-03-02 00:00:00'),
				(CAST(11 AS TINYINT), 'paused', CAST(6 AS BIGINT), CAST(28 AS UTINYINT), TIMESTAMP '2026-03-09 00:00:00'),
				(CAST(12 AS TINYINT), 'active', CAST(10 AS BIGINT), CAST(14 AS UTINYINT), TIMESTAMP '2026-03-04 00:00:00'),
				(CAST(13 AS TINYINT), 'cancelled', CAST(8 AS BIGINT), CAST(28 AS UTINYINT), TIMESTAMP '2026-02-01 00:00:00'))
				t(user_id, status, box_size, cadence_days, next_ship_on)`,
			check: []string{"SELECT user_id, box_size, next_ship_on FROM users ORDER BY user_id",
				"10|8|2026-03-02 00:00:00", "11|6|2026-03-09 00:00:00", "12|10|2026-03-04 00:00:00", "13|8|2026-02-01 00:00:00"},
		},
		{
			name:  "out of range integers and a timestamp past midnight",
			table: "users",
			sql: `SELECT * FROM (VALUES
				(CAST(10 AS UBIGINT), 'active', CAST(8 AS BIGINT), 14, TIMESTAMP '2026-03-02 00:00:00'),
				(CAST(11 AS UBIGINT), 'paused', CAST(3000000000 AS BIGINT), 28, TIMESTAMP '2026-03-09 00:00:00'),
				(CAST(18446744073709551615 AS UBIGINT), 'active', CAST(10 AS BIGINT), 14, TIMESTAMP '2026-03-04 00:00:00'),
				(CAST(13 AS UBIGINT), 'cancelled', CAST(8 AS BIGINT), 28, TIMESTAMP '2026-02-01 10:30:00'),
				(CAST(14 AS UBIGINT), NULL, CAST(8 AS BIGINT), 28, TIMESTAMP '2026-02-01 00:00:00'),
				(CAST(12 AS UBIGINT), 'active', CAST(10 AS BIGINT), 14, TIMESTAMP '2026-03-04 00:00:00'))
				t(user_id, status, box_size, cadence_days, next_ship_on)`,
			want: `users.parquet row 2, column box_size: value "3000000000" breaks rule box_size INTEGER (an integer in range)
users.parquet row 3, column user_id: value "18446744073709551615" breaks rule user_id BIGINT (an integer in range)
users.parquet row 4, column next_ship_on: value "2026-02-01 10:30:00" breaks rule next_ship_on DATE (a finite timestamp at midnight, years 0000 to 9999)
users.parquet row 5, column status: value null breaks rule status required
error: the extract has 4 invalid values in 4 rows; fix them, or load with --reject-file FILE to set them aside and load the rest
`,
		},
		{
			// One rule for every format: text cannot spell these, so a typed
			// column may not hold them either (infinity was accepted).
			name:  "infinite and far dates and timestamps",
			table: "users",
			sql: `SELECT * FROM (VALUES
				(10, 'active', 8, 14, DATE 'infinity'),
				(11, 'paused', 6, 28, DATE '-infinity'),
				(12, 'active', 10, 14, DATE '2026-03-04'),
				(13, 'cancelled', 8, 28, DATE '10000-01-01'))
				t(user_id, status, box_size, cadence_days, next_ship_on)`,
			want: `users.parquet row 1, column next_ship_on: value "infinity" breaks rule next_ship_on DATE (a finite date, years 0000 to 9999)
users.parquet row 2, column next_ship_on: value "-infinity" breaks rule next_ship_on DATE (a finite date, years 0000 to 9999)
users.parquet row 4, column next_ship_on: value "10000-01-01" breaks rule next_ship_on DATE (a finite date, years 0000 to 9999)
skips.csv line 2, column user_id: value "10" breaks rule user_id in users (its users row was rejected)
user_ng.csv line 2, column user_id: value "10" breaks rule user_id in users (its users row was rejected)
deliveries.csv line 2, column user_id: value "10" breaks rule user_id in users (its users row was rejected)
deliveries.csv line 3, column user_id: value "10" breaks rule user_id in users (its users row was rejected)
ratings.csv line 2, column user_id: value "10" breaks rule user_id in users (its users row was rejected)
ratings.csv line 3, column user_id: value "10" breaks rule user_id in users (its users row was rejected)
error: the extract has 3 invalid values in 3 rows, and 6 more rows refer to those rows; fix them, or load with --reject-file FILE to set them aside (with the rows referring to them) and load the rest
`,
		},
		{
			name:  "infinite timestamp",
			table: "requests",
			sql:   `SELECT * FROM (VALUES (12, 3, TIMESTAMP 'infinity')) t(user_id, snack_id, requested_at)`,
			want: `requests.parquet row 1, column requested_at: value "infinity" breaks rule requested_at TIMESTAMP (a finite timestamp, years 0000 to 9999)
error: the extract has 1 invalid value in 1 row; fix them, or load with --reject-file FILE to set them aside and load the rest
`,
		},
		{
			name:  "timestamp units and time zones",
			table: "ratings",
			sql: `SELECT * FROM (VALUES
				(10, 1, 5, CAST(TIMESTAMPTZ '2026-01-10 10:00:00+02' AS TIMESTAMPTZ)),
				(10, 2, 2, CAST(TIMESTAMPTZ '2026-01-11 00:30:00-05' AS TIMESTAMPTZ)),
				(12, 4, 4, CAST(TIMESTAMPTZ '2026-02-20 00:00:00+00' AS TIMESTAMPTZ)),
				(12, 5, 3, CAST(TIMESTAMPTZ '2026-02-21 07:15:30.25+00' AS TIMESTAMPTZ)))
				t(user_id, snack_id, rating, rated_at)`,
			check: []string{"SELECT user_id, snack_id, rated_at FROM ratings ORDER BY user_id, snack_id",
				"10|1|2026-01-10 08:00:00", "10|2|2026-01-11 05:30:00", "12|4|2026-02-20 00:00:00", "12|5|2026-02-21 07:15:30.25"},
		},
		{
			name:  "nanosecond timestamps and a date for a timestamp",
			table: "requests",
			sql: `SELECT * FROM (VALUES (12, 3, CAST(TIMESTAMP '2026-02-25 12:00:00' AS TIMESTAMP_NS)), (12, 4, CAST(TIMESTAMP '2026-02-26 13:00:01' AS TIMESTAMP_MS)))
				t(user_id, snack_id, requested_at)`,
			check: []string{"SELECT snack_id, requested_at FROM requests ORDER BY snack_id", "3|2026-02-25 12:00:00", "4|2026-02-26 13:00:01"},
		},
		{
			name:  "text that follows the text rules, and some that does not",
			table: "deliveries",
			sql:   `SELECT * FROM (VALUES ('10', '1', '2026-01-05'), ('10', '2', '2026-01-05'), ('12', '4.0', '2026-02-16'), ('12', '5', '2026-2-16')) t(user_id, snack_id, shipped_on)`,
			want: `deliveries.parquet row 3, column snack_id: value "4.0" breaks rule snack_id BIGINT (an integer)
deliveries.parquet row 4, column shipped_on: value "2026-2-16" breaks rule shipped_on DATE (YYYY-MM-DD)
error: the extract has 2 invalid values in 2 rows; fix them, or load with --reject-file FILE to set them aside and load the rest
`,
		},
		{
			name:  "double for an id",
			table: "snacks",
			sql:   `SELECT * FROM (VALUES (1.0, 'A', 'chips', DATE '2025-01-10', true)) t(snack_id, name, category, launched_on, active)`,
			want:  "error: snacks.parquet: column snack_id of table snacks has type DECIMAL(2,1); expected BIGINT (any integer type, or text holding integers)\n",
		},
		{
			name:  "float for an id",
			table: "stock",
			sql:   `SELECT * FROM (VALUES (CAST(1 AS DOUBLE), 'L1', 5, DATE '2026-06-30')) t(snack_id, lot_id, quantity, best_before)`,
			want:  "error: stock.parquet: column snack_id of table stock has type DOUBLE; expected BIGINT (any integer type, or text holding integers)\n",
		},
		{
			name:  "text of non-numbers for an id",
			table: "snacks",
			sql:   `SELECT * FROM (VALUES ('one', 'A', 'chips', DATE '2025-01-10', true), ('two', 'B', 'chips', DATE '2025-01-10', true)) t(snack_id, name, category, launched_on, active)`,
			want:  "error: snacks.parquet: column snack_id of table snacks has type VARCHAR holding no valid value; expected BIGINT (any integer type, or text holding integers)\n",
		},
		{
			name:  "integer for a boolean",
			table: "snacks",
			sql:   `SELECT * FROM (VALUES (1, 'A', 'chips', DATE '2025-01-10', 1)) t(snack_id, name, category, launched_on, active)`,
			want:  "error: snacks.parquet: column active of table snacks has type INTEGER; expected BOOLEAN (a boolean, or text true/false, t/f, 1/0, yes/no, y/n)\n",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "extract")
			copyDir(t, baseExtract, dir)
			os.Remove(filepath.Join(dir, c.table+".csv"))
			if err := extractfixtures.WriteQuery(ctx, db, c.sql, filepath.Join(dir, c.table+".parquet"), "parquet"); err != nil {
				t.Fatal(err)
			}
			res, err := load(t, newHome(t), dir, nil)
			if got := outcome(err); c.want != "" || got != "" {
				if got != c.want {
					t.Fatalf("got\n%swant\n%s", got, c.want)
				}
				return
			}
			rows := queryStrings(t, openSnap(t, res.Path), c.check[0])
			if fmt.Sprint(rows) != fmt.Sprint(c.check[1:]) {
				t.Errorf("rows %v, want %v", rows, c.check[1:])
			}
		})
	}
}

// writeArrowFile writes one record batch to an Arrow IPC file.
func writeArrowFile(t *testing.T, path string, fields []arrow.Field, build func(b *array.RecordBuilder)) {
	t.Helper()
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	build(b)
	rec := b.NewRecordBatch()
	defer rec.Release()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ipc.NewFileWriter(fh, ipc.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fh.Close()
}

// TestTypedArrow covers Arrow IPC files built with arrow-go: narrow and
// unsigned integers, date64, zoned timestamps of several units, dictionary
// and large strings, and an incompatible float column.
func TestTypedArrow(t *testing.T) {
	t.Run("native types", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "extract")
		copyDir(t, baseExtract, dir)
		os.Remove(filepath.Join(dir, "users.csv"))
		os.Remove(filepath.Join(dir, "ratings.csv"))
		day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
		writeArrowFile(t, filepath.Join(dir, "users.arrow"), []arrow.Field{
			{Name: "User_Id", Type: arrow.PrimitiveTypes.Int16},
			{Name: "status", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}},
			{Name: "box_size", Type: arrow.PrimitiveTypes.Uint8},
			{Name: "cadence_days", Type: arrow.PrimitiveTypes.Int64},
			{Name: "next_ship_on", Type: arrow.FixedWidthTypes.Date64},
			{Name: "note", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		}, func(b *array.RecordBuilder) {
			for i, u := range []struct {
				id     int16
				status string
				box    uint8
				cad    int64
				next   string
			}{{10, "active", 8, 14, "2026-03-02"}, {11, "paused", 6, 28, "2026-03-09"}, {12, "active", 10, 14, "2026-03-04"}, {13, "cancelled", 8, 28, "2026-02-01"}} {
				b.Field(0).(*array.Int16Builder).Append(u.id)
				_ = b.Field(1).(*array.BinaryDictionaryBuilder).AppendString(u.status)
				b.Field(2).(*array.Uint8Builder).Append(u.box)
				b.Field(3).(*array.Int64Builder).Append(u.cad)
				b.Field(4).(*array.Date64Builder).Append(arrow.Date64FromTime(day(u.next)))
				if i%2 == 0 {
					b.Field(5).(*array.LargeStringBuilder).Append(fmt.Sprintf("note %d", u.id))
				} else {
					b.Field(5).AppendNull()
				}
			}
		})
		writeArrowFile(t, filepath.Join(dir, "ratings.arrow"), []arrow.Field{
			{Name: "user_id", Type: arrow.PrimitiveTypes.Uint32},
			{Name: "snack_id", Type: arrow.PrimitiveTypes.Int8},
			{Name: "rating", Type: arrow.PrimitiveTypes.Int8},
			{Name: "rated_at", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "Europe/Paris"}},
		}, func(b *array.RecordBuilder) {
			ts := func(s string) arrow.Timestamp {
				v, _ := time.Parse(time.RFC3339Nano, s)
				return arrow.Timestamp(v.UnixMilli())
			}
			b.Field(0).(*array.Uint32Builder).AppendValues([]uint32{10, 12}, nil)
			b.Field(1).(*array.Int8Builder).AppendValues([]int8{1, 4}, nil)
			b.Field(2).(*array.Int8Builder).AppendValues([]int8{5, 4}, nil)
			b.Field(3).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{ts("2026-01-10T10:00:00+01:00"), ts("2026-02-20T00:00:00.125Z")}, nil)
		})
		res, err := load(t, newHome(t), dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		db := openSnap(t, res.Path)
		got := queryStrings(t, db, "SELECT user_id, status, box_size, cadence_days, next_ship_on, note FROM users ORDER BY user_id")
		want := []string{"10|active|8|14|2026-03-02 00:00:00|note 10", "11|paused|6|28|2026-03-09 00:00:00|NULL",
			"12|active|10|14|2026-03-04 00:00:00|note 12", "13|cancelled|8|28|2026-02-01 00:00:00|NULL"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("users %v, want %v", got, want)
		}
		got = queryStrings(t, db, "SELECT user_id, snack_id, rating, rated_at FROM ratings ORDER BY user_id")
		want = []string{"10|1|5|2026-01-10 09:00:00", "12|4|4|2026-02-20 00:00:00.125"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ratings %v, want %v", got, want)
		}
	})
	t.Run("violations name rows", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "extract")
		copyDir(t, baseExtract, dir)
		os.Remove(filepath.Join(dir, "stock.csv"))
		writeArrowFile(t, filepath.Join(dir, "stock.arrow"), []arrow.Field{
			{Name: "snack_id", Type: arrow.PrimitiveTypes.Uint64},
			{Name: "lot_id", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "quantity", Type: arrow.PrimitiveTypes.Int64},
			{Name: "best_before", Type: arrow.BinaryTypes.String},
		}, func(b *array.RecordBuilder) {
			b.Field(0).(*array.Uint64Builder).AppendValues([]uint64{1, 1, 2, 18446744073709551615, 4}, nil)
			b.Field(1).(*array.StringBuilder).AppendValues([]string{"L1", "L1", "", "L4", "L5"}, []bool{true, true, false, true, true})
			b.Field(2).(*array.Int64Builder).AppendValues([]int64{5, 6, 7, 8, -1}, nil)
			b.Field(3).(*array.StringBuilder).AppendValues([]string{"2026-06-30", "2026-06-30", "2026-06-30", "2026-06-30", "2026-06-31"}, nil)
		})
		_, err := load(t, newHome(t), dir, nil)
		want := `stock.arrow row 2, columns (snack_id, lot_id): value "1, L1" breaks rule (snack_id, lot_id) unique (same as row 1)
stock.arrow row 3, column lot_id: value null breaks rule lot_id required
stock.arrow row 4, column snack_id: value "18446744073709551615" breaks rule snack_id BIGINT (an integer in range)
stock.arrow row 5, column quantity: value "-1" breaks rule quantity >= 0
stock.arrow row 5, column best_before: value "2026-06-31" breaks rule best_before DATE (YYYY-MM-DD)
error: the extract has 5 invalid values in 4 rows; fix them, or load with --reject-file FILE to set them aside and load the rest
`
		if got := outcome(err); got != want {
			t.Errorf("got\n%swant\n%s", got, want)
		}
	})
	t.Run("infinite date", func(t *testing.T) {
		// DuckDB reads the largest date32 as infinity (arrow-go, which shows
		// the value, as a date in year 5881580).
		dir := filepath.Join(t.TempDir(), "extract")
		copyDir(t, baseExtract, dir)
		os.Remove(filepath.Join(dir, "stock.csv"))
		writeArrowFile(t, filepath.Join(dir, "stock.arrow"), []arrow.Field{
			{Name: "snack_id", Type: arrow.PrimitiveTypes.Int64},
			{Name: "lot_id", Type: arrow.BinaryTypes.String},
			{Name: "quantity", Type: arrow.PrimitiveTypes.Int64},
			{Name: "best_before", Type: arrow.FixedWidthTypes.Date32},
		}, func(b *array.RecordBuilder) {
			b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
			b.Field(1).(*array.StringBuilder).AppendValues([]string{"L1", "L2"}, nil)
			b.Field(2).(*array.Int64Builder).AppendValues([]int64{5, 6}, nil)
			b.Field(3).(*array.Date32Builder).AppendValues([]arrow.Date32{arrow.Date32(math.MaxInt32), arrow.Date32FromTime(time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC))}, nil)
		})
		_, err := load(t, newHome(t), dir, nil)
		want := `stock.arrow row 1, column best_before: value "5881580-07-11" breaks rule best_before DATE (a finite date, years 0000 to 9999)
error: the extract has 1 invalid value in 1 row; fix them, or load with --reject-file FILE to set them aside and load the rest
`
		if got := outcome(err); got != want {
			t.Errorf("got\n%swant\n%s", got, want)
		}
	})
	t.Run("float id", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "extract")
		copyDir(t, baseExtract, dir)
		os.Remove(filepath.Join(dir, "snack_tags.csv"))
		writeArrowFile(t, filepath.Join(dir, "snack_tags.arrow"), []arrow.Field{
			{Name: "snack_id", Type: arrow.PrimitiveTypes.Float64},
			{Name: "tag", Type: arrow.BinaryTypes.String},
		}, func(b *array.RecordBuilder) {
			b.Field(0).(*array.Float64Builder).Append(1)
			b.Field(1).(*array.StringBuilder).Append("salt")
		})
		_, err := load(t, newHome(t), dir, nil)
		want := "error: snack_tags.arrow: column snack_id of table snack_tags has type DOUBLE; expected BIGINT (any integer type, or text holding integers)\n"
		if got := outcome(err); got != want {
			t.Errorf("got\n%swant\n%s", got, want)
		}
	})
}

// TestCorruptFiles checks that damaged Parquet and Arrow files, and CSV
// with bytes that are not UTF-8, fail with one clear error naming the file.
func TestCorruptFiles(t *testing.T) {
	ctx := context.Background()
	db := memDB(t)
	src := filepath.Join(t.TempDir(), "typed")
	for _, f := range []string{"parquet", "arrow"} {
		if err := extractfixtures.Convert(ctx, db, baseExtract, src, f, true); err != nil {
			t.Fatal(err)
		}
	}
	valid := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name, file string
		data       []byte
		want       string // prefix of the error
	}{
		{"garbage parquet", "users.parquet", []byte("this is not parquet at all, just text"), "users.parquet: is not a readable Parquet file: "},
		{"truncated parquet", "users.parquet", valid("users.parquet")[:len(valid("users.parquet"))/2], "users.parquet: is not a readable Parquet file: "},
		{"garbage arrow", "users.arrow", []byte("this is not arrow at all, just some text"), "users.arrow: is not a readable Arrow IPC file: "},
		{"truncated arrow", "users.arrow", valid("users.arrow")[:len(valid("users.arrow"))-40], "users.arrow: is not a readable Arrow IPC file: "},
		{"not utf-8", "users.csv", []byte("user_id,status,box_size,cadence_days,next_ship_on\n10,active,8,14,2026-03-02\n11,p\xe4used,6,28,2026-03-09\n"),
			"users.csv line 3: holds bytes that are not UTF-8; save the file as UTF-8"},
		{"not utf-8 jsonl", "users.jsonl", []byte("{\"user_id\": 10, \"status\": \"act\xffive\"}\n"), "users.jsonl line 1: holds bytes that are not UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "extract")
			copyDir(t, baseExtract, dir)
			os.Remove(filepath.Join(dir, "users.csv"))
			writeFile(t, filepath.Join(dir, c.file), c.data)
			_, err := load(t, newHome(t), dir, nil)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line starting %q", err, c.want)
			}
		})
	}
}
