package results_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/results"
)

// readsBackSame writes tb as Parquet with the Go writer and fails unless
// DuckDB reads the file back with tb's columns and SQL types, in order,
// and the same values in the same order: the file read back and the table
// itself, each written as CSV by DuckDB, are byte for byte equal.
func readsBackSame(t *testing.T, db *duck.DB, tb *results.Table) []byte {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := results.Write(ctx, db, []*results.Table{tb}, dir, results.FormatParquet); err != nil {
		t.Fatalf("%s: %v", tb.Name, err)
	}
	file := filepath.Join(dir, tb.Name+".parquet")
	rows, err := db.Query(ctx, "DESCRIBE SELECT * FROM read_parquet("+duck.Quote(file)+")")
	if err != nil {
		t.Fatalf("%s: DuckDB cannot read the file: %v", tb.Name, err)
	}
	var got []string
	for rows.Next() {
		var name, typ string
		var null, key, def, extra any
		if err := rows.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
			t.Fatal(err)
		}
		got = append(got, name+" "+typ)
	}
	rows.Close()
	var want []string
	for i, f := range tb.Schema.Fields() {
		want = append(want, f.Name+" "+tb.SQLType[i])
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("%s: DuckDB reads the columns %s, want %s", tb.Name, strings.Join(got, ", "), strings.Join(want, ", "))
	}
	var n int64
	if err := db.QueryRow(ctx, "SELECT count(*) FROM read_parquet("+duck.Quote(file)+")").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != tb.Rows {
		t.Fatalf("%s: DuckDB reads %d rows, the table has %d", tb.Name, n, tb.Rows)
	}
	back, ref := filepath.Join(dir, "back.csv"), filepath.Join(dir, "ref.csv")
	if _, err := db.Exec(ctx, fmt.Sprintf("COPY (SELECT * FROM read_parquet(%s)) TO %s (FORMAT csv, HEADER true)", duck.Quote(file), duck.Quote(back))); err != nil {
		t.Fatal(err)
	}
	if err := results.CopyCSVWithDuckDB(ctx, db, tb, ref); err != nil {
		t.Fatal(err)
	}
	g, _ := os.ReadFile(back)
	w, _ := os.ReadFile(ref)
	if !bytes.Equal(g, w) {
		gl, wl := bytes.Split(g, []byte("\n")), bytes.Split(w, []byte("\n"))
		for i := range min(len(gl), len(wl)) {
			if !bytes.Equal(gl[i], wl[i]) {
				t.Fatalf("%s line %d: read back %q, the table holds %q", tb.Name, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: read back %d lines, the table holds %d", tb.Name, len(gl), len(wl))
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParquetReadsBackOnEdgeValues: edge values of every column type
// (integer extremes whose deltas wrap, NULLs, empty and odd strings,
// doubles of every magnitude), in batches of sizes around the delta
// encoding's blocks and miniblocks, read back from the Go writer's files
// as DuckDB wrote them.
func TestParquetReadsBackOnEdgeValues(t *testing.T) {
	ctx := context.Background()
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, per := range []int{1, 7, 31, 32, 33, 127, 128, 129, 130, 1000, 5000} {
		recs := edgeBatches(6000, per, specialFloats())
		tb := results.NewTable("edge", edgeSchema, edgeTypes, recs)
		for _, r := range recs {
			r.Release()
		}
		readsBackSame(t, db, tb)
	}
	// Columns of one value, all NULL, or no rows; an int32 column as
	// BIGINT.
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "d", Type: arrow.FixedWidthTypes.Date32},
		{Name: "n", Type: arrow.PrimitiveTypes.Int32},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "one", Type: arrow.BinaryTypes.String},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean},
	}, nil)
	for _, rows := range []int{0, 1, 9, 300} {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := range rows {
			b.Field(0).(*array.Date32Builder).Append(day(2026, 3, 2))
			b.Field(1).(*array.Int32Builder).Append(int32(i) * 1000)
			b.Field(2).AppendNull()
			b.Field(3).(*array.StringBuilder).Append("L1")
			b.Field(4).(*array.BooleanBuilder).Append(i%3 == 0)
		}
		rec := b.NewRecordBatch()
		b.Release()
		tb := results.NewTable("flat", schema, []string{"DATE", "BIGINT", "VARCHAR", "VARCHAR", "BOOLEAN"}, []arrow.RecordBatch{rec})
		rec.Release()
		readsBackSame(t, db, tb)
	}
}

// TestParquetReadsBackOnRunTables writes every output table of a real
// preassign and run and reads it back; the boxes in batches of several
// sizes written by 1 and 3 threads are the same file at each batch size.
func TestParquetReadsBackOnRunTables(t *testing.T) {
	ctx := context.Background()
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, mode := range []engine.Mode{engine.Preassign, engine.Assign} {
		res := smallPlan(t, mode)
		for _, tb := range results.Tables(res) {
			if tb.Rows == 0 && tb.Name != "short_boxes" {
				t.Errorf("%s %s: no rows to compare", mode, tb.Name)
			}
			readsBackSame(t, db, tb)
		}
		for _, tb := range results.AggregateTables(res) {
			readsBackSame(t, db, tb)
		}
		for _, rows := range []int{13, 997} {
			var first []byte
			for _, threads := range []int{1, 3} {
				func() {
					defer results.SetBatchRows(rows)()
					db, err := duck.OpenMemory(ctx, duck.Options{Threads: threads})
					if err != nil {
						t.Fatal(err)
					}
					defer db.Close()
					b := readsBackSame(t, db, results.Tables(res)[0])
					if first == nil {
						first = b
					} else if !bytes.Equal(b, first) {
						t.Errorf("%s boxes in batches of %d: the file written by %d threads differs from 1 thread's", mode, rows, threads)
					}
				}()
			}
		}
	}
}

// TestParquetRowGroupsSkipDates: the boxes' row groups hold one ship date
// each, with min and max statistics DuckDB reads.
func TestParquetRowGroupsSkipDates(t *testing.T) {
	ctx := context.Background()
	res := smallPlan(t, engine.Preassign)
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := t.TempDir()
	if _, err := results.Write(ctx, db, results.Tables(res)[:1], dir, results.FormatParquet); err != nil {
		t.Fatal(err)
	}
	var groups, mixed int
	err = db.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), count(*) FILTER (WHERE stats_min_value <> stats_max_value OR stats_min_value IS NULL)
		FROM parquet_metadata(%s) WHERE path_in_schema = 'ship_on'`, duck.Quote(filepath.Join(dir, "boxes.parquet")))).Scan(&groups, &mixed)
	if err != nil {
		t.Fatal(err)
	}
	if groups < len(res.Dates) || mixed != 0 {
		t.Errorf("%d row groups for %d dates, %d with several dates or no statistics", groups, len(res.Dates), mixed)
	}
}
