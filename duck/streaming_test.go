package duck

import (
	"context"
	"database/sql/driver"
	"errors"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

func TestStreamOrderAndCount(t *testing.T) {
	ctx := context.Background()
	db, err := OpenMemory(ctx, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var cols []string
	var next int64
	var seen int64
	n, err := db.Stream(ctx, "SELECT i FROM range(300000) t(i) ORDER BY i DESC", func(s *arrow.Schema) error {
		for _, f := range s.Fields() {
			cols = append(cols, f.Name)
		}
		next = 299999
		return nil
	}, func(rec arrow.RecordBatch) error {
		c := rec.Column(0).(*array.Int64)
		for i := 0; i < c.Len(); i++ {
			if c.Value(i) != next {
				t.Fatalf("row %d: got %d, want %d", seen, c.Value(i), next)
			}
			next--
			seen++
		}
		if seen >= 10000 {
			return ErrCountRest
		}
		return nil
	})
	if err != nil || n != 300000 || len(cols) != 1 || cols[0] != "i" || seen >= 300000 {
		t.Fatalf("Stream = %d rows, %v; columns %v; %d rows seen as batches", n, err, cols, seen)
	}
	// An empty result still has its schema.
	var got *arrow.Schema
	n, err = db.Stream(ctx, "SELECT 1 AS a, 'x' AS b WHERE false", func(s *arrow.Schema) error { got = s; return nil }, func(arrow.RecordBatch) error { return nil })
	if err != nil || n != 0 || got == nil || got.NumFields() != 2 {
		t.Fatalf("empty result: %d, %v, %v", n, err, got)
	}
}

func TestStreamErrors(t *testing.T) {
	ctx := context.Background()
	db, err := OpenMemory(ctx, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	none := func(*arrow.Schema) error { return nil }
	each := func(arrow.RecordBatch) error { return nil }
	// A conversion error in the middle of the result.
	_, err = db.Stream(ctx, "SELECT CASE WHEN i < 100000 THEN i::VARCHAR ELSE 'x' END::INTEGER FROM range(200000) t(i)", none, each)
	var se *StreamError
	if !errors.As(err, &se) || se.Type != duckdb.ErrorTypeConversion {
		t.Errorf("conversion error: %#v", err)
	}
	// A context that ends interrupts a query that never would.
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = db.Stream(tctx, "WITH RECURSIVE t(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM t) SELECT count(*) FROM t", none, each)
	if !errors.As(err, &se) || !IsType(err, duckdb.ErrorTypeInterrupt) || time.Since(start) > 20*time.Second {
		t.Errorf("interrupt: %#v after %s", err, time.Since(start))
	}
	// The connection is usable afterwards.
	var one int
	if err := db.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Errorf("after an interrupt: %v", err)
	}
	// A memory limit ends a query that would pass it.
	if _, err := db.Exec(ctx, "SET memory_limit = '64MB'"); err != nil {
		t.Fatal(err)
	}
	_, err = db.Stream(ctx, "SELECT count(*) FROM (SELECT i, count(*) FROM range(20000000) t(i) GROUP BY i)", none, each)
	if !errors.As(err, &se) || !IsOutOfMemory(err) {
		t.Errorf("memory limit: %#v", err)
	}
}

// TestRawConnFindsTheDriverConnection pins the reflection in rawConn to the
// driver version in go.mod: an upgrade that moves or renames the driver's
// connection handle fails here, not in a user's query.
func TestRawConnFindsTheDriverConnection(t *testing.T) {
	ctx := context.Background()
	db, err := OpenMemory(ctx, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.WithRaw(func(dc driver.Conn) error {
		conn, err := rawConn(dc)
		if err != nil {
			return err
		}
		if conn.Ptr == nil {
			return errors.New("rawConn returned a nil connection handle")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("rawConn: %v", err)
	}
	if _, err := rawConn(nil); err == nil {
		t.Fatal("rawConn accepted a connection that is not DuckDB's")
	}
}
