package loaders

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// arrowFileReader streams the record batches of an Arrow IPC file (or, as a
// courtesy, an IPC stream saved under .arrow) as an array.RecordReader.
// DuckDB pulls the batches through the C stream interface, so a panic of the
// decoder on a corrupt file must not escape: it is recovered and becomes
// Err().
type arrowFileReader struct {
	refs   atomic.Int64
	schema *arrow.Schema
	next   func() (arrow.RecordBatch, error) // nil batch at the end
	cur    arrow.RecordBatch
	err    error
}

// openArrowFile opens path for reading batch by batch; close releases it.
func openArrowFile(path string) (*arrowFileReader, func(), error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, unwrapPath(err)
	}
	fileFormat, err := verifyArrowIPC(fh)
	if err != nil {
		fh.Close()
		if errors.Is(err, errTruncatedArrow) || errors.Is(err, errNotArrow) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("corrupt metadata (%v)", err)
	}
	r := &arrowFileReader{}
	r.refs.Store(1)
	if fileFormat {
		var fr *ipc.FileReader
		err = safely(func() error {
			var e error
			fr, e = ipc.NewFileReader(fh)
			return e
		})
		if err != nil {
			// No fallback to the stream reader: it would take the magic
			// for a message length and allocate a gigabyte for it.
			fh.Close()
			return nil, nil, err
		}
		r.schema = fr.Schema()
		i := 0
		r.next = func() (arrow.RecordBatch, error) {
			if i >= fr.NumRecords() {
				return nil, nil
			}
			rec, err := fr.RecordBatchAt(i)
			i++
			return rec, err
		}
		return r, func() { r.release(); fr.Close(); fh.Close() }, nil
	}
	// The stream format (saved under .arrow as a courtesy), its messages
	// checked above.
	var sr *ipc.Reader
	if err := safely(func() error {
		var e error
		sr, e = ipc.NewReader(fh)
		return e
	}); err != nil {
		fh.Close()
		return nil, nil, err
	}
	r.schema = sr.Schema()
	r.next = func() (arrow.RecordBatch, error) {
		if !sr.Next() {
			if e := sr.Err(); e != nil && !errors.Is(e, io.EOF) {
				return nil, e
			}
			return nil, nil
		}
		rec := sr.RecordBatch()
		rec.Retain()
		return rec, nil
	}
	return r, func() { r.release(); sr.Release(); fh.Close() }, nil
}

// safely runs fn, turning a panic into an error.
func safely(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			// The decoder indexed outside its buffers: say what that means
			// for the file, keeping the detail for a bug report.
			err = fmt.Errorf("corrupt data (%s)", strings.TrimPrefix(fmt.Sprint(p), "runtime error: "))
		}
	}()
	return fn()
}

func (r *arrowFileReader) Retain() { r.refs.Add(1) }

func (r *arrowFileReader) Release() {
	if r.refs.Add(-1) == 0 {
		r.release()
	}
}

func (r *arrowFileReader) release() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (r *arrowFileReader) Schema() *arrow.Schema { return r.schema }

func (r *arrowFileReader) Next() bool {
	r.release()
	if r.err != nil {
		return false
	}
	var rec arrow.RecordBatch
	r.err = safely(func() error {
		var e error
		rec, e = r.next()
		if e == nil && rec != nil {
			// Check the batch before DuckDB dereferences its buffers.
			for i, col := range rec.Columns() {
				if col.Len() != int(rec.NumRows()) {
					return fmt.Errorf("column %d has %d values in a batch of %d rows", i, col.Len(), rec.NumRows())
				}
				if err := checkArray(col.Data()); err != nil {
					return fmt.Errorf("column %s: %w", rec.ColumnName(i), err)
				}
			}
		}
		return e
	})
	if r.err != nil || rec == nil {
		if rec != nil {
			rec.Release()
		}
		return false
	}
	r.cur = rec
	return true
}

func (r *arrowFileReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is the deprecated name of RecordBatch, required by the interface.
func (r *arrowFileReader) Record() arrow.RecordBatch { return r.cur }

func (r *arrowFileReader) Err() error { return r.err }

var _ array.RecordReader = (*arrowFileReader)(nil)
