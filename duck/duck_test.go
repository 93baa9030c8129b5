package duck

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func int64Reader(t *testing.T, vals ...int64) array.RecordReader {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues(vals, nil)
	rec := b.NewRecordBatch()
	rr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

func sum(t *testing.T, d *DB, q string) int64 {
	t.Helper()
	var total int64
	err := d.QueryArrow(context.Background(), q, func(rec arrow.RecordBatch) error {
		for _, v := range rec.Column(0).(*array.Int64).Int64Values() {
			total += v
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// TestArrowRoundTrip: Go batches into a table and back out as batches.
func TestArrowRoundTrip(t *testing.T) {
	ctx := context.Background()
	d, err := OpenMemory(ctx, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.CreateTableFromArrow(ctx, "t", int64Reader(t, 1, 2, 3), "SELECT v * 10 AS v FROM {{input}}"); err != nil {
		t.Fatal(err)
	}
	if got := sum(t, d, "SELECT v FROM t"); got != 60 {
		t.Fatalf("sum %d, want 60", got)
	}
	// Across many batches (DuckDB chunks are 2048 rows).
	if got := sum(t, d, "SELECT range::BIGINT FROM range(100000)"); got != 4999950000 {
		t.Fatalf("sum %d", got)
	}
}

// TestSnapshotIsReadOnly: a snapshot opens read-only, Arrow views still
// work (they live in the in-memory catalog), and writes are refused.
func TestSnapshotIsReadOnly(t *testing.T) {
	ctx := context.Background()
	path := baseSnapshot(t)

	d, err := OpenSnapshot(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := sum(t, d, "SELECT v FROM base"); got != 10 {
		t.Fatalf("sum %d", got)
	}
	out := filepath.Join(t.TempDir(), "o.csv")
	if err := d.ExecWithArrow(ctx, "inp", int64Reader(t, 4, 5), "COPY (SELECT v FROM inp JOIN base USING (v)) TO "+Quote(out)); err != nil {
		t.Fatal(err)
	}
	// Unqualified names still resolve to the snapshot after the view is gone.
	if got := sum(t, d, "SELECT v FROM base"); got != 10 {
		t.Fatalf("after the view: sum %d", got)
	}
	_, err = d.Exec(ctx, "CREATE TABLE x AS SELECT 1")
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("write to the snapshot: %v, want a read-only error", err)
	}
}

// baseSnapshot writes a database file holding table base (v = 0..4) and
// returns its path.
func baseSnapshot(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.duckdb")
	w, err := OpenFile(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Exec(context.Background(), "CREATE TABLE base AS SELECT range::BIGINT AS v FROM range(5)"); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestClean(t *testing.T) {
	if Clean(nil) != nil {
		t.Fatal("Clean(nil) != nil")
	}
	if Quote("it's") != "'it''s'" || Ident(`a"b`) != `"a""b"` {
		t.Fatal("quoting")
	}
}

// TestSide: a second connection reads the snapshot's tables unqualified
// while the first holds a query open, and closing it leaves the database
// open.
func TestSide(t *testing.T) {
	ctx := context.Background()
	path := baseSnapshot(t)

	d, err := OpenSnapshot(ctx, path, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(ctx, "CREATE TEMP TABLE mine AS SELECT 1 AS x"); err != nil {
		t.Fatal(err)
	}
	s, err := d.Side(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The first connection's query is open (inside its callback) while
	// the side connection runs its own.
	inner := int64(-1)
	if err := d.QueryArrow(ctx, "SELECT v FROM base", func(arrow.RecordBatch) error {
		inner = sum(t, s, "SELECT v + 1 AS v FROM base")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if inner != 15 {
		t.Fatalf("side sum %d, want 15", inner)
	}
	if _, err := s.Exec(ctx, "SELECT * FROM mine"); err == nil {
		t.Fatal("the side connection sees the first one's temp table")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := sum(t, d, "SELECT v FROM base"); got != 10 {
		t.Fatalf("after the side connection's close: sum %d", got)
	}
}
