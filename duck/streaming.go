package duck

/*
// duckdb_pending_prepared_streaming is in DuckDB's C API (duckdb.h) but not
// in the Go bindings, which only create materialized results. The Go
// bindings link the static library, so declaring it is enough.
extern int duckdb_pending_prepared_streaming(void *prepared_statement, void **out_result);

static void *assign_pending_streaming(void *prepared, int *failed) {
	void *out = 0;
	*failed = duckdb_pending_prepared_streaming(prepared, &out) != 0;
	return out;
}
*/
import "C"

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/duckdb/duckdb-go/v2/arrowmapping"
	"github.com/duckdb/duckdb-go/v2/mapping"
)

// StreamError is an error DuckDB reported while running a streamed query.
// Classify it with ErrorType, IsOutOfMemory and the like.
type StreamError struct {
	// Type is DuckDB's error class.
	Type duckdb.ErrorType
	// Msg is DuckDB's message.
	Msg string
}

func (e *StreamError) Error() string { return e.Msg }

func streamError(msg string, typ duckdb.ErrorType) error {
	return &StreamError{Type: typ, Msg: msg}
}

// rawConn returns the DuckDB connection handle inside the driver's
// connection. The driver keeps it unexported; this reads it by reflection
// and refuses a driver whose layout differs, so an upgrade fails loudly in
// the tests instead of misbehaving.
func rawConn(dc driver.Conn) (mapping.Connection, error) {
	c, ok := dc.(*duckdb.Conn)
	if !ok {
		return mapping.Connection{}, fmt.Errorf("not a DuckDB connection: %T", dc)
	}
	f := reflect.ValueOf(c).Elem().FieldByName("conn")
	if !f.IsValid() || f.Type() != reflect.TypeOf(mapping.Connection{}) {
		return mapping.Connection{}, errors.New("this DuckDB driver version keeps its connection differently; streaming results need duck.rawConn updated")
	}
	conn := *(*mapping.Connection)(unsafe.Pointer(f.UnsafeAddr()))
	if conn.Ptr == nil {
		return mapping.Connection{}, errors.New("the DuckDB connection is closed")
	}
	return conn, nil
}

// Stream runs one statement as a streaming query: DuckDB produces the
// result chunk by chunk as fn consumes it (buffering at most about a
// megabyte ahead), so memory does not grow with the size of the result, and
// the first batch arrives before the last row is computed. schema gets the
// columns first, also for an empty result. Each batch is valid only during
// the call to fn.
//
// fn may return ErrCountRest when it needs no more batches: the rest of
// the result is then only counted, without converting it to Arrow. Stream
// returns the total number of rows.
//
// Ending ctx interrupts the query, also while DuckDB computes. Errors are
// *StreamError when DuckDB reported them.
func (d *DB) Stream(ctx context.Context, query string, schema func(*arrow.Schema) error, fn func(rec arrow.RecordBatch) error) (rows int64, err error) {
	err = d.conn.Raw(func(dc any) error {
		conn, err := rawConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		var ps mapping.PreparedStatement
		if mapping.Prepare(conn, query, &ps) == mapping.StateError {
			msg := mapping.PrepareError(ps)
			mapping.DestroyPrepare(&ps)
			return streamError(msg, messageType(msg))
		}
		defer mapping.DestroyPrepare(&ps)

		var failed C.int
		pending := mapping.PendingResult{Ptr: C.assign_pending_streaming(ps.Ptr, &failed)}
		if failed != 0 {
			msg := mapping.PendingError(pending)
			mapping.DestroyPending(&pending)
			return streamError(msg, messageType(msg))
		}
		defer mapping.DestroyPending(&pending)

		// Interrupt the connection when ctx ends, for as long as the query
		// runs (a streaming query computes during fetches too).
		done := make(chan struct{})
		watcher := make(chan struct{})
		go func() {
			defer close(watcher)
			select {
			case <-ctx.Done():
				mapping.Interrupt(conn)
			case <-done:
			}
		}()
		defer func() { close(done); <-watcher }()

		var res mapping.Result
		if mapping.ExecutePending(pending, &res) == mapping.StateError {
			msg, typ := mapping.ResultError(&res), duckdb.ErrorType(mapping.ResultErrorType(&res))
			mapping.DestroyResult(&res)
			return streamError(msg, typ)
		}
		defer mapping.DestroyResult(&res)

		opts := arrowmapping.ResultGetArrowOptions(&res)
		defer arrowmapping.DestroyArrowOptions(&opts)
		cols := mapping.ColumnCount(&res)
		names := make([]string, cols)
		types := make([]mapping.LogicalType, cols)
		for i := range cols {
			names[i] = mapping.ColumnName(&res, i)
			types[i] = mapping.ColumnLogicalType(&res, i)
		}
		sch, ed := arrowmapping.NewArrowSchema(opts, types, names)
		for i := range cols {
			mapping.DestroyLogicalType(&types[i])
		}
		if ed.Ptr != nil {
			msg := mapping.ErrorDataMessage(ed)
			mapping.DestroyErrorData(&ed)
			return fmt.Errorf("the result's columns have no Arrow form: %s", msg)
		}
		if err := schema(sch); err != nil {
			return err
		}
		counting := false
		for {
			chunk := mapping.FetchChunk(res)
			if chunk.Ptr == nil {
				if msg := mapping.ResultError(&res); msg != "" {
					return streamError(msg, duckdb.ErrorType(mapping.ResultErrorType(&res)))
				}
				return ctx.Err()
			}
			n := int64(mapping.DataChunkGetSize(chunk))
			if counting {
				rows += n
				mapping.DestroyDataChunk(&chunk)
				continue
			}
			rec, ed := arrowmapping.DataChunkToArrowArray(opts, sch, chunk)
			mapping.DestroyDataChunk(&chunk)
			if ed.Ptr != nil {
				msg := mapping.ErrorDataMessage(ed)
				mapping.DestroyErrorData(&ed)
				return fmt.Errorf("convert a result chunk to Arrow: %s", msg)
			}
			rows += n
			err := fn(rec)
			rec.Release()
			if errors.Is(err, ErrCountRest) {
				counting = true
				continue
			}
			if err != nil {
				return err
			}
		}
	})
	return rows, err
}

// ErrCountRest, returned by Stream's fn, stops the batches: the rest of the
// result is only counted.
var ErrCountRest = errors.New("count the remaining rows only")
