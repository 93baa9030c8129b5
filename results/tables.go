// Package results turns an engine Result into the output tables of SPEC
// section 5 (boxes, demand, snack_summary, short_boxes, and the run-mode pick
// list) and writes them as Parquet or CSV, streaming Arrow record batches
// so no table is materialised twice.
package results

import (
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/assign-dev/assign/engine"
)

// batchRows is the number of rows per Arrow batch handed to DuckDB.
var batchRows = 1 << 16 // a variable for the tests only

// Table is one output table: its name, Arrow schema, SQL column types (the
// contract of SPEC section 5) and a streaming reader of its rows in the
// SPEC's sort order, built on up to the given number of cores.
type Table struct {
	Name    string
	Schema  *arrow.Schema
	SQLType []string
	Rows    int64
	reader  func(workers int) array.RecordReader
	// batch, when set, builds batch i of batches (possibly empty) in any
	// order and on any goroutine: the reader's batches, which the Go
	// writers build and encode together (inOrder).
	batch   func(i int) arrow.RecordBatch
	batches int
}

var (
	boxesSchema = arrow.NewSchema([]arrow.Field{
		{Name: "ship_on", Type: arrow.FixedWidthTypes.Date32},
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "position", Type: arrow.PrimitiveTypes.Int32},
		{Name: "snack_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "lot_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64},
		{Name: "requested", Type: arrow.FixedWidthTypes.Boolean},
	}, nil)
	demandSchema = arrow.NewSchema([]arrow.Field{
		{Name: "ship_on", Type: arrow.FixedWidthTypes.Date32},
		{Name: "snack_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "demand", Type: arrow.PrimitiveTypes.Int32},
		{Name: "covered", Type: arrow.PrimitiveTypes.Int32},
		{Name: "shortage", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	summarySchema = arrow.NewSchema([]arrow.Field{
		{Name: "snack_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "demand", Type: arrow.PrimitiveTypes.Int64},
		{Name: "stock_usable", Type: arrow.PrimitiveTypes.Int64},
		{Name: "covered", Type: arrow.PrimitiveTypes.Int64},
		{Name: "shortage", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	shortSchema = arrow.NewSchema([]arrow.Field{
		{Name: "ship_on", Type: arrow.FixedWidthTypes.Date32},
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "box_size", Type: arrow.PrimitiveTypes.Int32},
		{Name: "filled", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	picksSchema = arrow.NewSchema([]arrow.Field{
		{Name: "ship_on", Type: arrow.FixedWidthTypes.Date32},
		{Name: "snack_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "lot_id", Type: arrow.BinaryTypes.String},
		{Name: "best_before", Type: arrow.FixedWidthTypes.Date32},
		{Name: "units", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
)

// Tables returns the output tables of res. Picks (units per ship date and
// lot for the warehouse) exist in run mode only, where boxes take lots.
func Tables(res *engine.Result) []*Table {
	ts := []*Table{boxes(res), demand(res), summary(res), shortBoxes(res)}
	if res.Mode == engine.Assign {
		ts = append(ts, picks(res))
	}
	return ts
}

// emit builds batches with fill, which appends rows to the builder and
// reports whether rows remain; each call of fill makes one batch.
//
// The reader is a plain struct, not array.ReaderFromIter: DuckDB pulls
// batches through a cgo callback on a locked thread, where the coroutines
// behind iter.Pull cannot switch (the runtime aborts).
func emit(schema *arrow.Schema, fill func(b *array.RecordBuilder) (more bool)) func(int) array.RecordReader {
	return func(int) array.RecordReader {
		return &fillReader{schema: schema, fill: fill, more: true, refs: 1}
	}
}

// oneBatch is emit for the small tables built in one go: fill appends every
// row once (emit still splits nothing; DuckDB reads one batch).
func oneBatch(schema *arrow.Schema, fill func(b *array.RecordBuilder)) func(int) array.RecordReader {
	return func(int) array.RecordReader {
		return emit(schema, func(b *array.RecordBuilder) bool {
			fill(b)
			return false
		})(1)
	}
}

type fillReader struct {
	schema *arrow.Schema
	fill   func(b *array.RecordBuilder) bool
	more   bool
	cur    arrow.RecordBatch
	refs   int64
}

func (r *fillReader) Retain()                        { atomic.AddInt64(&r.refs, 1) }
func (r *fillReader) Schema() *arrow.Schema          { return r.schema }
func (r *fillReader) RecordBatch() arrow.RecordBatch { return r.cur }
func (r *fillReader) Record() arrow.RecordBatch      { return r.cur }
func (r *fillReader) Err() error                     { return nil }

func (r *fillReader) Release() {
	if atomic.AddInt64(&r.refs, -1) == 0 && r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (r *fillReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for r.more {
		b := array.NewRecordBuilder(memory.DefaultAllocator, r.schema)
		r.more = r.fill(b)
		rec := b.NewRecordBatch()
		b.Release()
		if rec.NumRows() > 0 {
			r.cur = rec
			return true
		}
		rec.Release()
	}
	return false
}

func boxes(res *engine.Result) *Table {
	in := res.Inputs
	t := &Table{Name: "boxes", Schema: boxesSchema,
		SQLType: []string{"DATE", "BIGINT", "INTEGER", "BIGINT", "VARCHAR", "DOUBLE", "BOOLEAN"}}
	for _, date := range res.Dates {
		for _, f := range date.Filled {
			t.Rows += int64(f)
		}
	}
	// Batches start at a ship date's first line, and at a user's first
	// line once the batch before holds batchRows lines or more: a batch
	// (a Parquet row group) holds one ship date. With their starts known,
	// the batches are built on every core ahead of the reader (the
	// Parquet or CSV writer), which receives them in order.
	type cursor struct{ di, ui int }
	var starts []cursor
	if t.Rows > 0 {
		starts = append(starts, cursor{})
		n := 0
		for di := range res.Dates {
			date := &res.Dates[di]
			for ui := range date.Users {
				if n >= batchRows || (ui == 0 && n > 0) {
					starts = append(starts, cursor{di, ui})
					n = 0
				}
				n += int(date.Filled[ui])
			}
		}
	}
	t.batches = len(starts)
	t.batch = func(i int) arrow.RecordBatch {
		end := cursor{len(res.Dates), 0}
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		// each calls fn with every box of the batch: its date, its
		// user's place in the date and its first line.
		each := func(fn func(date *engine.DateBoxes, ui int, off, f int32)) {
			for di, ui := starts[i].di, starts[i].ui; di < end.di || (di == end.di && ui < end.ui); di, ui = di+1, 0 {
				date := &res.Dates[di]
				for ; ui < len(date.Users) && (di < end.di || ui < end.ui); ui++ {
					fn(date, ui, date.Slot[ui], date.Filled[ui])
				}
				if di == end.di {
					break
				}
			}
		}
		n, lotBytes := 0, 0
		each(func(date *engine.DateBoxes, _ int, off, f int32) {
			n += int(f)
			for _, l := range date.Lot[off : off+f] {
				if l >= 0 {
					lotBytes += len(in.LotID[l])
				}
			}
		})
		c := newColumns(n)
		shipOn, user, pos, snack := c.int32s(), c.int64s(), c.int32s(), c.int64s()
		lotValid, lotOff, lotData := c.bitmap(), c.offsets(), c.bytes(lotBytes)
		score, req := c.float64s(), c.bitmap()
		k, at, nulls := 0, int32(0), 0
		each(func(date *engine.DateBoxes, ui int, off, f int32) {
			uid := in.UserID[date.Users[ui]]
			for j := range f {
				line := off + j
				shipOn[k] = int32(date.Day)
				user[k] = uid
				pos[k] = j + 1
				snack[k] = in.SnackID[date.Snack[line]]
				lotOff[k] = at
				if l := date.Lot[line]; l >= 0 {
					at += int32(copy(lotData[at:], in.LotID[l]))
					lotValid[k>>3] |= 1 << (k & 7)
				} else {
					nulls++
				}
				if date.Requested[line] {
					req[k>>3] |= 1 << (k & 7)
				}
				k++
			}
			copy(score[k-int(f):k], date.Score[off:off+f])
		})
		lotOff[n] = at
		return c.record(boxesSchema, nulls)
	}
	t.reader = parallelRecords(boxesSchema, t.batches, t.batch)
	return t
}

func demand(res *engine.Result) *Table {
	in := res.Inputs
	t := &Table{Name: "demand", Schema: demandSchema, SQLType: []string{"DATE", "BIGINT", "INTEGER", "INTEGER", "INTEGER"}}
	for _, dem := range res.Demand {
		for _, n := range dem {
			if n > 0 {
				t.Rows++
			}
		}
	}
	t.reader = oneBatch(demandSchema, func(b *array.RecordBuilder) {
		for di, dem := range res.Demand {
			for s, n := range dem {
				if n == 0 {
					continue
				}
				cov := res.Covered[di][s]
				b.Field(0).(*array.Date32Builder).Append(arrow.Date32(res.Dates[di].Day))
				b.Field(1).(*array.Int64Builder).Append(in.SnackID[s])
				b.Field(2).(*array.Int32Builder).Append(n)
				b.Field(3).(*array.Int32Builder).Append(cov)
				b.Field(4).(*array.Int32Builder).Append(n - cov)
			}
		}
	})
	return t
}

// SnackTotals are one snack's sums over the horizon.
type SnackTotals struct {
	Demand, StockUsable, Covered, Shortage int64
}

// Totals returns the snack_summary figures of every snack, by sidx.
func Totals(res *engine.Result) []SnackTotals {
	out := make([]SnackTotals, res.Inputs.NumSnacks())
	for s := range out {
		out[s].StockUsable = res.StockUsable[s]
	}
	for di, dem := range res.Demand {
		for s, n := range dem {
			out[s].Demand += int64(n)
			out[s].Covered += int64(res.Covered[di][s])
		}
	}
	for s := range out {
		out[s].Shortage = out[s].Demand - out[s].Covered
	}
	return out
}

func summary(res *engine.Result) *Table {
	in := res.Inputs
	t := &Table{Name: "snack_summary", Schema: summarySchema, SQLType: []string{"BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT"},
		Rows: int64(in.NumSnacks())}
	t.reader = oneBatch(summarySchema, func(b *array.RecordBuilder) {
		for s, tot := range Totals(res) {
			b.Field(0).(*array.Int64Builder).Append(in.SnackID[s])
			b.Field(1).(*array.Int64Builder).Append(tot.Demand)
			b.Field(2).(*array.Int64Builder).Append(tot.StockUsable)
			b.Field(3).(*array.Int64Builder).Append(tot.Covered)
			b.Field(4).(*array.Int64Builder).Append(tot.Shortage)
		}
	})
	return t
}

func shortBoxes(res *engine.Result) *Table {
	in := res.Inputs
	t := &Table{Name: "short_boxes", Schema: shortSchema, SQLType: []string{"DATE", "BIGINT", "INTEGER", "INTEGER"}}
	for _, date := range res.Dates {
		for i, u := range date.Users {
			if IsShort(date.Filled[i], in.BoxSize[u]) {
				t.Rows++
			}
		}
	}
	t.reader = oneBatch(shortSchema, func(b *array.RecordBuilder) {
		for _, date := range res.Dates {
			for i, u := range date.Users {
				if IsShort(date.Filled[i], in.BoxSize[u]) {
					b.Field(0).(*array.Date32Builder).Append(arrow.Date32(date.Day))
					b.Field(1).(*array.Int64Builder).Append(in.UserID[u])
					b.Field(2).(*array.Int32Builder).Append(in.BoxSize[u])
					b.Field(3).(*array.Int32Builder).Append(date.Filled[i])
				}
			}
		}
	})
	return t
}

// picks is the warehouse pick list: per ship date and lot, the units to pull,
// sorted by (ship_on, snack_id, best_before, lot_id).
func picks(res *engine.Result) *Table {
	in := res.Inputs
	t := &Table{Name: "picks", Schema: picksSchema, SQLType: []string{"DATE", "BIGINT", "VARCHAR", "DATE", "INTEGER"}}
	for _, taken := range res.LotTaken {
		for _, n := range taken {
			if n > 0 {
				t.Rows++
			}
		}
	}
	t.reader = oneBatch(picksSchema, func(b *array.RecordBuilder) {
		for di, taken := range res.LotTaken {
			for l, n := range taken { // lots are in (snack, best_before, lot_id) order
				if n == 0 {
					continue
				}
				b.Field(0).(*array.Date32Builder).Append(arrow.Date32(res.Dates[di].Day))
				b.Field(1).(*array.Int64Builder).Append(in.SnackID[in.LotSnack[l]])
				b.Field(2).(*array.StringBuilder).Append(in.LotID[l])
				b.Field(3).(*array.Date32Builder).Append(arrow.Date32(in.LotBefore[l]))
				b.Field(4).(*array.Int32Builder).Append(n)
			}
		}
	})
	return t
}

// parallelRecords returns readers of n batches, batch i made by build.
// The batches are built ahead of the reader by as many goroutines as
// workers (at most twice that many wait, built, for the reader) and read
// in order, so what is read does not depend on the number of workers.
// Empty batches are passed over.
func parallelRecords(schema *arrow.Schema, n int, build func(i int) arrow.RecordBatch) func(int) array.RecordReader {
	return func(workers int) array.RecordReader {
		return &aheadReader{schema: schema, n: n, build: build, refs: 1, workers: max(1, workers)}
	}
}

type aheadReader struct {
	schema *arrow.Schema
	n      int
	build  func(i int) arrow.RecordBatch
	refs   int64
	// workers is how many goroutines build batches.
	workers int

	started bool
	queue   chan chan arrow.RecordBatch
	stop    chan struct{}
	cur     arrow.RecordBatch
}

func (r *aheadReader) Retain()                        { atomic.AddInt64(&r.refs, 1) }
func (r *aheadReader) Schema() *arrow.Schema          { return r.schema }
func (r *aheadReader) RecordBatch() arrow.RecordBatch { return r.cur }
func (r *aheadReader) Record() arrow.RecordBatch      { return r.cur }
func (r *aheadReader) Err() error                     { return nil }

func (r *aheadReader) start() {
	r.started = true
	workers := r.workers
	r.queue = make(chan chan arrow.RecordBatch, 2*workers)
	r.stop = make(chan struct{})
	sem := make(chan struct{}, workers)
	go func() {
		defer close(r.queue)
		for i := range r.n {
			done := make(chan arrow.RecordBatch, 1)
			select {
			case r.queue <- done:
			case <-r.stop:
				return
			}
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				done <- r.build(i)
			}()
		}
	}()
}

func (r *aheadReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if !r.started {
		r.start()
	}
	for done := range r.queue {
		rec := <-done
		if rec.NumRows() > 0 {
			r.cur = rec
			return true
		}
		rec.Release()
	}
	return false
}

func (r *aheadReader) Release() {
	if atomic.AddInt64(&r.refs, -1) != 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.started {
		// A reader released before its end stops the builders; batches
		// built meanwhile are left to the garbage collector.
		select {
		case <-r.stop:
		default:
			close(r.stop)
		}
	}
}
