package reliability

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/assign-dev/assign/duck"
)

var update = flag.Bool("update", false, "rewrite the generated binary files of testdata/bad from the generator")

// corpusDir is the bad-input corpus, one extract folder per defect.
const corpusDir = "../testdata/bad"

// binaryFixtures generates the Parquet and Arrow files of the corpus, keyed
// by their path under corpusDir. They are generated rather than hand-made so
// that what each holds (and how it is broken) is written down here; they are
// committed so that `assign load testdata/bad/<case>` works by hand, and
// TestBinaryFixtures keeps the committed bytes equal to this generator's.
// Every corruption is at a fixed offset: the output is deterministic.
func binaryFixtures(t *testing.T) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := t.TempDir()
	parquet := func(query string) []byte {
		t.Helper()
		p := filepath.Join(dir, "x.parquet")
		// One row group, no compression: the corruptions below land on
		// known structures.
		if _, err := db.Exec(ctx, "COPY ("+query+") TO "+duck.Quote(p)+" (FORMAT parquet, COMPRESSION uncompressed)"); err != nil {
			t.Fatalf("write parquet: %v", err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	const snacks = `SELECT * FROM (VALUES
		(1::BIGINT, 'Sea Salt Chips', 'chips', DATE '2025-01-10', true),
		(2::BIGINT, 'Dark Choc Bar', 'chocolate', DATE '2025-03-01', true),
		(3::BIGINT, 'Cheese Puffs', 'chips', DATE '2026-02-20', true)) t(snack_id, name, category, launched_on, active)`
	out := map[string][]byte{}
	validSnacks := parquet(snacks)
	out["parquet_valid/snacks.parquet"] = validSnacks
	out["parquet_wrong_column_type/snacks.parquet"] = parquet(`SELECT snack_id::DOUBLE + 0.5 AS snack_id, name, category, launched_on, active FROM (` + snacks + `)`)
	out["null_key_parquet/stock.parquet"] = parquet(`SELECT * FROM (VALUES
		(1::BIGINT, 'L001', 120, DATE '2026-06-30'),
		(2::BIGINT, 'L003', 80, DATE '2026-05-31'),
		(NULL::BIGINT, 'L004', 40, DATE '2026-07-15')) t(snack_id, lot_id, quantity, best_before)`)
	// A DATE of infinity, which text cannot spell (it was accepted from
	// Parquet while CSV refused it).
	out["parquet_date_infinity/snacks.parquet"] = parquet(`SELECT snack_id, name, category,
		CASE WHEN snack_id = 2 THEN DATE 'infinity' ELSE launched_on END AS launched_on, active FROM (` + snacks + `)`)
	// Cut in half: no footer, no closing magic.
	out["parquet_truncated/snacks.parquet"] = validSnacks[:len(validSnacks)/2]
	// The footer's length (the 4 bytes before the closing "PAR1") made
	// larger than the file: the metadata cannot be located.
	corrupt := bytes.Clone(validSnacks)
	copy(corrupt[len(corrupt)-8:], []byte{0xff, 0xff, 0xff, 0x0f})
	out["parquet_corrupt/snacks.parquet"] = corrupt

	validUsers := arrowFile(t, false)
	out["arrow_valid/users.arrow"] = validUsers
	out["arrow_wrong_column_type/users.arrow"] = arrowFile(t, true)
	// Cut before the footer: neither a file nor a whole stream.
	out["arrow_truncated/users.arrow"] = validUsers[:len(validUsers)*2/3]
	// The record batch body overwritten: the first column's offsets and
	// values turn to garbage while every length still looks plausible.
	garbled := bytes.Clone(validUsers)
	for i := len(garbled) / 3; i < len(garbled)/2; i++ {
		garbled[i] = 0xff
	}
	out["arrow_corrupt/users.arrow"] = garbled
	// Metadata intact, data not: the status offsets of the first batch
	// ("active", "paused": 0, 6, 12) become 0, 2147483647, 12, so the
	// first value would run far past the string bytes (arrow-go checks only
	// the last offset; DuckDB would read wherever the first points).
	badOffsets := bytes.Clone(validUsers)
	at := bytes.Index(badOffsets, []byte{0, 0, 0, 0, 6, 0, 0, 0, 12, 0, 0, 0})
	if at < 0 {
		t.Fatal("status offsets not found in the Arrow file")
	}
	copy(badOffsets[at+4:], []byte{0xff, 0xff, 0xff, 0x7f})
	out["arrow_bad_offsets/users.arrow"] = badOffsets
	return out
}

// arrowFile writes the users table as an Arrow IPC file in two batches;
// with floatBoxSize, box_size is a float64 column (a wrong type).
func arrowFile(t *testing.T, floatBoxSize bool) []byte {
	t.Helper()
	mem := memory.NewGoAllocator()
	boxType := arrow.DataType(arrow.PrimitiveTypes.Int32)
	if floatBoxSize {
		boxType = arrow.PrimitiveTypes.Float64
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "status", Type: arrow.BinaryTypes.String},
		{Name: "box_size", Type: boxType},
		{Name: "cadence_days", Type: arrow.PrimitiveTypes.Int32},
		{Name: "next_ship_on", Type: arrow.FixedWidthTypes.Date32},
	}, nil)
	day := func(s string) arrow.Date32 {
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return arrow.Date32FromTime(d)
	}
	type user struct {
		id       int64
		status   string
		box, cad int32
		nextShip string
	}
	batches := [][]user{
		{{10, "active", 2, 14, "2026-03-02"}, {11, "paused", 2, 28, "2026-03-09"}},
		{{12, "active", 3, 14, "2026-03-04"}},
	}
	var buf bytes.Buffer
	w, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	for _, rows := range batches {
		b := array.NewRecordBuilder(mem, schema)
		for _, u := range rows {
			b.Field(0).(*array.Int64Builder).Append(u.id)
			b.Field(1).(*array.StringBuilder).Append(u.status)
			if floatBoxSize {
				b.Field(2).(*array.Float64Builder).Append(float64(u.box) + 0.5)
			} else {
				b.Field(2).(*array.Int32Builder).Append(u.box)
			}
			b.Field(3).(*array.Int32Builder).Append(u.cad)
			b.Field(4).(*array.Date32Builder).Append(day(u.nextShip))
		}
		rec := b.NewRecordBatch()
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		b.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBinaryFixtures keeps the committed binary files of the corpus equal to
// what binaryFixtures generates; -update rewrites them.
func TestBinaryFixtures(t *testing.T) {
	files := binaryFixtures(t)
	again := binaryFixtures(t)
	var names []string
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		data := files[name]
		if !bytes.Equal(data, again[name]) {
			t.Errorf("%s: the generator is not deterministic", name)
		}
		path := filepath.Join(corpusDir, name)
		if *update {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (run go test -tags duckdb_arrow ./reliability -run TestBinaryFixtures -update)", name, err)
			continue
		}
		if !bytes.Equal(got, data) {
			t.Errorf("%s differs from the generator's output (run with -update to rewrite it)", name)
		}
	}
}
