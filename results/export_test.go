package results

import (
	"context"
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/assign-dev/assign/duck"
)

// CopyCSVWithDuckDB writes t as CSV with DuckDB's COPY, the reference the
// Go writer is compared with.
func CopyCSVWithDuckDB(ctx context.Context, db *duck.DB, t *Table, file string) error {
	return copyWithDuckDB(ctx, db, t, file, "(FORMAT csv, HEADER true, DELIMITER ',')")
}

// WriteCSVInGo writes t as CSV with the Go writer (no fallback), on
// GOMAXPROCS cores.
func WriteCSVInGo(ctx context.Context, t *Table, file string) error {
	return writeCSV(ctx, t, file, runtime.GOMAXPROCS(0), nil)
}

// CSVSupported is csvSupported.
func CSVSupported(t *Table) bool { return csvSupported(t) }

// NewTable makes a table of the given batches (retained by the table).
func NewTable(name string, schema *arrow.Schema, sqlTypes []string, recs []arrow.RecordBatch) *Table {
	t := &Table{Name: name, Schema: schema, SQLType: sqlTypes}
	for _, r := range recs {
		r.Retain()
		t.Rows += r.NumRows()
	}
	t.reader = func(int) array.RecordReader {
		rr, err := array.NewRecordReader(schema, recs)
		if err != nil {
			panic(err)
		}
		return rr
	}
	return t
}

// SetBatchRows sets the rows per batch of the large tables until the
// returned function restores it.
func SetBatchRows(n int) (restore func()) {
	old := batchRows
	batchRows = n
	return func() { batchRows = old }
}
