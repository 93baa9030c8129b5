package analytics

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/assign-dev/assign/duck"
)

// overlapDepth is how many batches may wait between DuckDB and the writer.
const overlapDepth = 2

// overlap hands batches to the writer on a goroutine of its own, so that
// formatting one batch overlaps DuckDB producing the next (DuckDB computes
// a streaming result as it is fetched). At most overlapDepth batches wait
// in between, so memory stays flat.
type overlap struct {
	w    ResultWriter
	ch   chan arrow.RecordBatch
	done chan struct{}
	stop atomic.Bool // the writer wants no more batches, or failed

	mu  sync.Mutex
	err error
}

func newOverlap(w ResultWriter) *overlap {
	o := &overlap{w: w, ch: make(chan arrow.RecordBatch, overlapDepth), done: make(chan struct{})}
	go o.loop()
	return o
}

func (o *overlap) loop() {
	defer close(o.done)
	for rec := range o.ch {
		if o.stop.Load() {
			rec.Release()
			continue
		}
		err := o.w.Write(rec)
		rec.Release()
		if err != nil {
			if !errors.Is(err, duck.ErrCountRest) {
				o.mu.Lock()
				o.err = err
				o.mu.Unlock()
			}
			o.stop.Store(true)
		}
	}
}

// write is Stream's batch callback.
func (o *overlap) write(rec arrow.RecordBatch) error {
	if o.stop.Load() {
		if err := o.failed(); err != nil {
			return err
		}
		return duck.ErrCountRest
	}
	rec.Retain()
	o.ch <- rec
	return nil
}

// finish waits for the writer to take every batch and returns its error.
func (o *overlap) finish() error {
	close(o.ch)
	<-o.done
	return o.failed()
}

func (o *overlap) failed() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}
