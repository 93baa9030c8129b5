package results

import (
	"math/bits"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The boxes' batches (3.2 million lines at medium) are written straight
// into Arrow buffers rather than through array builders, whose per-value
// appends were most of the cost of building them, and the buffers come
// from a pool the batches give them back to once written: the output no
// longer touches a fresh hundred megabytes (a page fault and a clear for
// every page) while a few batches are in flight at a time.

// columns hands out the buffers of one batch's columns, in the order of
// the schema's fields, and assembles them into a record batch.
type columns struct {
	n    int
	bufs []*memory.Buffer
}

func newColumns(n int) *columns { return &columns{n: n} }

// take returns a buffer of size bytes from the pool (its contents
// undefined), kept for the record.
func (c *columns) take(size int) []byte {
	b := batchMem.Allocate(size)
	c.bufs = append(c.bufs, memory.NewBufferWithAllocator(b, batchMem))
	return b
}

func (c *columns) int32s() []int32     { return arrow.Int32Traits.CastFromBytes(c.take(4 * c.n)) }
func (c *columns) int64s() []int64     { return arrow.Int64Traits.CastFromBytes(c.take(8 * c.n)) }
func (c *columns) float64s() []float64 { return arrow.Float64Traits.CastFromBytes(c.take(8 * c.n)) }

// offsets returns the n+1 offsets of a text column.
func (c *columns) offsets() []int32 { return arrow.Int32Traits.CastFromBytes(c.take(4 * (c.n + 1))) }

// bytes returns a text column's data of size bytes.
func (c *columns) bytes(size int) []byte { return c.take(size) }

// bitmap returns a cleared bitmap of n bits (a validity bitmap, or a
// boolean column's values).
func (c *columns) bitmap() []byte {
	b := c.take((c.n + 7) / 8)
	clear(b)
	return b
}

// record assembles the buffers into a batch of schema: per field, a
// validity bitmap when the field is nullable, then the values (a text
// column: offsets, then data). nulls are the null counts of the nullable
// fields, in order.
func (c *columns) record(schema *arrow.Schema, nulls ...int) arrow.RecordBatch {
	cols := make([]arrow.Array, len(schema.Fields()))
	next := 0
	for i, f := range schema.Fields() {
		bufs := []*memory.Buffer{nil}
		nn := 0
		if f.Nullable {
			bufs[0] = c.bufs[next]
			next++
			nn, nulls = nulls[0], nulls[1:]
		}
		values := 1
		if f.Type.ID() == arrow.STRING {
			values = 2
		}
		bufs = append(bufs, c.bufs[next:next+values]...)
		next += values
		d := array.NewData(f.Type, c.n, bufs, nil, nn, 0)
		cols[i] = array.MakeFromData(d)
		d.Release()
	}
	for _, b := range c.bufs {
		b.Release() // the arrays hold them now
	}
	rec := array.NewRecordBatch(schema, cols, int64(c.n))
	for _, a := range cols {
		a.Release()
	}
	return rec
}

// batchMem is the pool of the batches' buffers: a sync.Pool per power of
// two, so a buffer is reused by any batch column of about its size.
var batchMem = &poolAllocator{}

type poolAllocator struct {
	pools [64]sync.Pool
}

// minClass is the smallest buffer the pool hands out (4 KiB).
const minClass = 12

func sizeClass(size int) int {
	if size <= 1<<minClass {
		return minClass
	}
	return bits.Len(uint(size - 1))
}

func (p *poolAllocator) Allocate(size int) []byte {
	c := sizeClass(size)
	if b, ok := p.pools[c].Get().(*[]byte); ok {
		return (*b)[:size]
	}
	return make([]byte, size, 1<<c)
}

func (p *poolAllocator) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		return b[:size]
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

func (p *poolAllocator) Free(b []byte) {
	c := bits.Len(uint(cap(b))) - 1
	if c < minClass || cap(b) != 1<<c {
		return // not the pool's
	}
	b = b[:cap(b)]
	p.pools[c].Put(&b)
}
