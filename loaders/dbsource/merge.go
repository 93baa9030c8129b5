package dbsource

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/assign-dev/assign/loaders"
)

// producer reads one part of a table, handing batches to emit in order.
type producer func(ctx context.Context, emit func(arrow.RecordBatch) error) error

// mergeReader runs producers concurrently and hands their batches to
// DuckDB round-robin (batch 0 of part 0, batch 0 of part 1, ..., batch 1 of
// part 0, ...). Every batch but a part's last has batchRows rows, so the
// merged order depends only on the data, never on timing: staged row
// ordinals, and so which duplicate is kept, are the same on every load.
type mergeReader struct {
	refs   atomic.Int64
	schema *arrow.Schema
	chans  []chan arrow.RecordBatch
	active []int
	pos    int
	cur    arrow.RecordBatch
	err    error

	cancel context.CancelFunc
	// discard makes producers read on without handing batches over: a
	// restart must not cancel a read in flight, which would drop the
	// connection and its snapshot.
	discard atomic.Bool
	wg      sync.WaitGroup
	mu      sync.Mutex
	first   error // the first producer error
	errs    []error
	closed  sync.Once
}

// prefetch is how many batches each producer may read ahead.
const prefetch = 3

func newMergeReader(ctx context.Context, schema *arrow.Schema, parts []producer) *mergeReader {
	ctx, cancel := context.WithCancel(ctx)
	r := &mergeReader{schema: schema, cancel: cancel, errs: make([]error, len(parts))}
	r.refs.Store(1)
	for i, p := range parts {
		ch := make(chan arrow.RecordBatch, prefetch)
		r.chans = append(r.chans, ch)
		r.active = append(r.active, i)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer close(ch)
			err := p(ctx, func(rec arrow.RecordBatch) error {
				if r.discard.Load() {
					rec.Release()
					return nil
				}
				select {
				case ch <- rec:
					return nil
				case <-ctx.Done():
					rec.Release()
					return ctx.Err()
				}
			})
			if err != nil {
				r.mu.Lock()
				r.errs[i] = err
				if r.first == nil && !(errors.Is(err, context.Canceled) && ctx.Err() != nil) {
					r.first = err
				}
				r.mu.Unlock()
				if errors.Is(err, loaders.ErrFeedRestart) {
					r.discard.Store(true) // the others finish their reads
				} else {
					cancel() // the others stop too
				}
			}
		}()
	}
	return r
}

func (r *mergeReader) Retain() { r.refs.Add(1) }

func (r *mergeReader) Release() {
	if r.refs.Add(-1) == 0 {
		r.stop()
	}
}

// stop cancels the producers, drops what they queued and waits for them.
func (r *mergeReader) stop() {
	r.closed.Do(func() {
		if r.cur != nil {
			r.cur.Release()
			r.cur = nil
		}
		r.mu.Lock()
		restart := errors.Is(r.first, loaders.ErrFeedRestart)
		r.mu.Unlock()
		if restart {
			r.discard.Store(true)
		} else {
			r.cancel()
		}
		for _, ch := range r.chans {
			for rec := range ch {
				rec.Release()
			}
		}
		r.wg.Wait()
		r.cancel()
	})
}

func (r *mergeReader) Schema() *arrow.Schema { return r.schema }

func (r *mergeReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for r.err == nil && len(r.active) > 0 {
		if r.pos >= len(r.active) {
			r.pos = 0
		}
		idx := r.active[r.pos]
		rec, ok := <-r.chans[idx]
		if ok {
			r.cur = rec
			r.pos++
			return true
		}
		r.mu.Lock()
		err := r.errs[idx]
		if r.first != nil {
			err = r.first
		}
		r.mu.Unlock()
		if err != nil {
			r.err = err
			return false
		}
		r.active = append(r.active[:r.pos], r.active[r.pos+1:]...)
	}
	return false
}

func (r *mergeReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is the deprecated name of RecordBatch, required by the interface.
func (r *mergeReader) Record() arrow.RecordBatch { return r.cur }

func (r *mergeReader) Err() error { return r.err }

var _ array.RecordReader = (*mergeReader)(nil)
