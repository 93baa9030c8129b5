package duck

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// TestErrorClasses checks that errors from both ways of running a query,
// database/sql and Stream, are classified by DuckDB's type through wrapping
// and Clean, and that the wording alone classifies nothing.
func TestErrorClasses(t *testing.T) {
	ctx := context.Background()
	db, err := OpenMemory(ctx, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	none := func(*arrow.Schema) error { return nil }
	each := func(arrow.RecordBatch) error { return nil }

	_, err = db.Exec(ctx, "SELECT * FROM no_such_table")
	if err = fmt.Errorf("query: %w", Clean(err)); !IsCatalog(err) || IsPermission(err) {
		t.Errorf("missing table through database/sql: %v", err)
	}
	if _, err = db.Stream(ctx, "SELECT * FROM no_such_table", none, each); !IsCatalog(err) {
		t.Errorf("missing table through Stream: %v", err)
	}
	if _, err := db.Exec(ctx, "SET enable_external_access = false"); err != nil {
		t.Fatal(err)
	}
	if _, err = db.Exec(ctx, "SELECT * FROM read_csv('/etc/passwd')"); !IsPermission(err) {
		t.Errorf("a file with external access off: %v", err)
	}
	if _, err = db.Stream(ctx, "SELECT * FROM read_csv('/etc/passwd')", none, each); !IsPermission(err) {
		t.Errorf("a file with external access off, through Stream: %v", err)
	}

	full := fmt.Errorf("write: %w", &duckdb.Error{Type: duckdb.ErrorTypeIO, Msg: `IO Error: Could not write file "/x/y": No space left on device`})
	if !IsDiskFull(full) || IsOutOfMemory(full) {
		t.Errorf("disk full: %v", full)
	}
	// A checkpoint that cannot write is FATAL, a commit TransactionContext.
	if checkpoint := (&duckdb.Error{Type: duckdb.ErrorTypeFatal, Msg: `FATAL Error: Failed to create checkpoint because of error: Could not write file "/x": No space left on device`}); !IsDiskFull(checkpoint) {
		t.Errorf("disk full at a checkpoint: %v", checkpoint)
	}
	for _, err := range []error{
		errors.New(`IO Error: Could not write file "/x/y": No space left on device`),
		&duckdb.Error{Type: duckdb.ErrorTypeIO, Msg: "IO Error: Cannot open file: No such file or directory"},
		nil,
	} {
		if IsDiskFull(err) || IsCatalog(err) || IsPermission(err) || IsOutOfMemory(err) {
			t.Errorf("%v classified", err)
		}
	}
}
