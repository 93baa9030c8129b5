package results_test

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/results"
)

// sameAsDuckDB writes t with DuckDB's COPY and with the Go writer and
// fails unless the two files are byte for byte equal.
func sameAsDuckDB(t *testing.T, db *duck.DB, tb *results.Table) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	want, got := filepath.Join(dir, "duckdb.csv"), filepath.Join(dir, "go.csv")
	if err := results.CopyCSVWithDuckDB(ctx, db, tb, want); err != nil {
		t.Fatal(err)
	}
	if err := results.WriteCSVInGo(ctx, tb, got); err != nil {
		t.Fatalf("%s: %v", tb.Name, err)
	}
	w, _ := os.ReadFile(want)
	g, _ := os.ReadFile(got)
	if bytes.Equal(w, g) {
		return
	}
	wl, gl := bytes.Split(w, []byte("\n")), bytes.Split(g, []byte("\n"))
	for i := range min(len(wl), len(gl)) {
		if !bytes.Equal(wl[i], gl[i]) {
			t.Fatalf("%s line %d: Go wrote %q, DuckDB %q", tb.Name, i+1, gl[i], wl[i])
		}
	}
	t.Fatalf("%s: Go wrote %d lines, DuckDB %d", tb.Name, len(gl), len(wl))
}

var edgeSchema = arrow.NewSchema([]arrow.Field{
	{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

var edgeTypes = []string{"DATE", "BIGINT", "INTEGER", "VARCHAR", "DOUBLE", "BOOLEAN"}

func day(y int, m time.Month, d int) arrow.Date32 {
	return arrow.Date32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// edgeBatches are batches of rows cycling through edge values of every
// column type, with random doubles of every magnitude and random dates.
func edgeBatches(rows, per int, floats []float64) []arrow.RecordBatch {
	rnd := rand.New(rand.NewPCG(1, 2))
	dates := []arrow.Date32{day(1, 1, 1), day(999, 12, 31), day(1000, 1, 1), day(1969, 12, 31), day(1970, 1, 1),
		day(2000, 2, 29), day(2026, 3, 2), day(9999, 12, 31)}
	strs := []string{"", ",", "a,b", `"`, `a"b"`, "line\nbreak", "cr\rx", " lead", "trail ", "ünïcødé", "日本語",
		"tab\tx", "L001001-1", "NULL", "'q'", "\\", ";", "x\x01y"}
	i64s := []int64{math.MinInt64, math.MaxInt64, 0, -1, 100001}
	i32s := []int32{math.MinInt32, math.MaxInt32, 0, -7, 8}
	var recs []arrow.RecordBatch
	b := array.NewRecordBuilder(memory.DefaultAllocator, edgeSchema)
	defer b.Release()
	for r := range rows {
		null := r%11 == 10
		if null {
			for c := range edgeSchema.NumFields() {
				b.Field(c).AppendNull()
			}
		} else {
			d := dates[r%len(dates)]
			if r%3 == 0 {
				d = day(1, 1, 1) + arrow.Date32(rnd.IntN(int(day(9999, 12, 31)-day(1, 1, 1))))
			}
			b.Field(0).(*array.Date32Builder).Append(d)
			b.Field(1).(*array.Int64Builder).Append(i64s[r%len(i64s)] + int64(rnd.IntN(3)))
			b.Field(2).(*array.Int32Builder).Append(i32s[r%len(i32s)] - int32(rnd.IntN(2))*int32(r%2))
			b.Field(3).(*array.StringBuilder).Append(strs[r%len(strs)])
			var f float64
			switch {
			case r < len(floats):
				f = floats[r]
			case r%4 == 0:
				for f = math.NaN(); math.IsNaN(f) || math.IsInf(f, 0); {
					f = math.Float64frombits(rnd.Uint64())
				}
			case r%4 == 1:
				f = rnd.Float64()*5 - 2 // a score
			case r%4 == 2:
				f = math.Ldexp(rnd.Float64(), rnd.IntN(120)-60)
			default:
				f = math.Round(rnd.Float64()*1e6) / math.Pow(10, float64(rnd.IntN(12)))
			}
			b.Field(4).(*array.Float64Builder).Append(f)
			b.Field(5).(*array.BooleanBuilder).Append(r%2 == 0)
		}
		if (r+1)%per == 0 || r == rows-1 {
			recs = append(recs, b.NewRecordBatch())
		}
	}
	return recs
}

func specialFloats() []float64 {
	fs := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 0.2, 0.1 + 0.2, 1.0 / 3, 2.0 / 3, 0.5, 1.5, 10, 100, 123456789,
		5e-324, math.SmallestNonzeroFloat64 * 3, 2.2250738585072014e-308, math.MaxFloat64, -math.MaxFloat64,
		0.6666666666666666, 1e-07, 5.551115123125783e-17, 9007199254740993, 4503599627370496.5, 0.30000000000000004}
	for e := -25; e <= 25; e++ {
		p := math.Pow(10, float64(e))
		fs = append(fs, p, -p, 1.5*p, p*0.999999, math.Nextafter(p, 0), math.Nextafter(p, math.Inf(1)), 123.456*p)
	}
	return fs
}

func TestCSVMatchesDuckDBOnEdgeValues(t *testing.T) {
	ctx := context.Background()
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs := edgeBatches(40000, 3000, specialFloats())
	tb := results.NewTable("edge", edgeSchema, edgeTypes, recs)
	if !results.CSVSupported(tb) {
		t.Fatal("the edge table's types are the output tables' types, yet not supported")
	}
	for _, procs := range []int{1, 4} {
		old := runtime.GOMAXPROCS(procs)
		sameAsDuckDB(t, db, tb)
		runtime.GOMAXPROCS(old)
	}
}

// TestCSVLeavesOddValuesToDuckDB: a NaN or a date past the Go writer's
// range makes Write hand the table to DuckDB, so the file is DuckDB's.
func TestCSVLeavesOddValuesToDuckDB(t *testing.T) {
	ctx := context.Background()
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, odd := range map[string]func(b *array.RecordBuilder){
		"nan": func(b *array.RecordBuilder) {
			b.Field(0).(*array.Date32Builder).Append(day(2026, 3, 2))
			b.Field(1).(*array.Float64Builder).Append(math.NaN())
		},
		"year 10000": func(b *array.RecordBuilder) {
			b.Field(0).(*array.Date32Builder).Append(day(9999, 12, 31) + 1)
			b.Field(1).(*array.Float64Builder).Append(1)
		},
	} {
		schema := arrow.NewSchema([]arrow.Field{{Name: "d", Type: arrow.FixedWidthTypes.Date32}, {Name: "f", Type: arrow.PrimitiveTypes.Float64}}, nil)
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		b.Field(0).(*array.Date32Builder).Append(day(2026, 3, 1))
		b.Field(1).(*array.Float64Builder).Append(0.25)
		odd(b)
		tb := results.NewTable("odd", schema, []string{"DATE", "DOUBLE"}, []arrow.RecordBatch{b.NewRecordBatch()})
		b.Release()
		dir := t.TempDir()
		if err := results.WriteCSVInGo(ctx, tb, filepath.Join(dir, "go.csv")); err == nil {
			t.Errorf("%s: the Go writer wrote a value it cannot know DuckDB's text of", name)
		}
		if _, err := os.Stat(filepath.Join(dir, "go.csv")); err == nil {
			t.Errorf("%s: a failed write left its file", name)
		}
		if _, err := results.Write(ctx, db, []*results.Table{tb}, dir, results.FormatCSV); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := results.CopyCSVWithDuckDB(ctx, db, tb, filepath.Join(dir, "duckdb.csv")); err != nil {
			t.Fatal(err)
		}
		g, _ := os.ReadFile(filepath.Join(dir, "odd.csv"))
		w, _ := os.ReadFile(filepath.Join(dir, "duckdb.csv"))
		if !bytes.Equal(g, w) || len(g) == 0 {
			t.Errorf("%s: Write gave %q, DuckDB %q", name, g, w)
		}
	}
}

// TestCSVMatchesDuckDBOnRunTables compares the two writers on every output
// table of a real preassign and run (lot ids, short boxes, picks).
func TestCSVMatchesDuckDBOnRunTables(t *testing.T) {
	ctx := context.Background()
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, mode := range []engine.Mode{engine.Preassign, engine.Assign} {
		for _, tb := range results.Tables(smallPlan(t, mode)) {
			if !results.CSVSupported(tb) {
				t.Errorf("%s %s: not written by the Go writer", mode, tb.Name)
				continue
			}
			if tb.Rows == 0 && tb.Name != "short_boxes" {
				t.Errorf("%s %s: no rows to compare", mode, tb.Name)
			}
			sameAsDuckDB(t, db, tb)
		}
	}
}

// TestBoxesInManyBatches: the boxes of a run read as many small batches,
// built on several cores, are the same lines as in one batch, in order.
func TestBoxesInManyBatches(t *testing.T) {
	ctx := context.Background()
	res := smallPlan(t, engine.Assign)
	text := func(rows int, procs int) []byte {
		defer results.SetBatchRows(rows)()
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		tb := results.Tables(res)[0]
		file := filepath.Join(t.TempDir(), "boxes.csv")
		if err := results.WriteCSVInGo(ctx, tb, file); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if got := int64(bytes.Count(b, []byte("\n"))) - 1; got != tb.Rows {
			t.Fatalf("%d lines in batches of %d, table says %d", got, rows, tb.Rows)
		}
		return b
	}
	one := text(1<<20, 1)
	if len(one) < 1000 {
		t.Fatalf("boxes: %d bytes", len(one))
	}
	for _, rows := range []int{13, 997} {
		for _, procs := range []int{1, 3} {
			if got := text(rows, procs); !bytes.Equal(got, one) {
				t.Errorf("boxes in batches of %d rows on %d cores differ from one batch", rows, procs)
			}
		}
	}
}
