package engine

import (
	"context"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	queries "github.com/assign-dev/assign/sql"
)

// Deliveries are the largest engine input: about 100 million rows at the
// large scale, transferred once as (uidx, sidx, shipped_on). Grouping them
// by user the usual way (collect, count, scatter) holds every row two or
// three times; counting them per user first costs a second pass of the join
// (9 s at large). But the rows of one user arrive together: a snapshot
// stores deliveries in roughly the order its extract listed them, usually
// by user, and even a streamed result, whose batches come from several
// threads in any order, keeps each user's rows within a batch together. So
// the rows are kept as they came, in one shared set of arrays, cut into
// segments of consecutive rows of one user; a user's deliveries are its
// segments (CSR: DelSegStart over users, DelSegFrom/DelSegTo the rows),
// about one per user however the rows were ordered.

// Delivery returns the snack (sidx) and day of delivery row j.
func (in *Inputs) Delivery(j int32) (sidx int32, day Day) {
	sidx = int32(in.DelSnack[j])
	if in.DelSnackHi != nil {
		sidx |= int32(in.DelSnackHi[j]) << 16
	}
	return sidx, in.DelBase + Day(in.DelDay[j])
}

// NumDeliveries is the number of delivery rows the users' segments hold.
// The arrays may be longer: rows outside every segment are never read
// (the sidecar's reader leaves the rows outside the window unwritten).
func (in *Inputs) NumDeliveries() int64 {
	if in.DelSegStart == nil {
		return int64(len(in.DelDay))
	}
	n := int64(0)
	for g := range in.DelSegFrom {
		n += int64(in.DelSegTo[g] - in.DelSegFrom[g])
	}
	return n
}

// delSegs is DelSegStart[u], 0 when no deliveries were read (inputs made
// by hand in tests).
func (in *Inputs) delSegs(u int32) int32 {
	if in.DelSegStart == nil {
		return 0
	}
	return in.DelSegStart[u]
}

// deliveryRows calls fn with every range [from, to) of user u's delivery
// rows.
func (in *Inputs) deliveryRows(u int32, fn func(from, to int32)) {
	for g := in.delSegs(u); g < in.delSegs(u+1); g++ {
		fn(in.DelSegFrom[g], in.DelSegTo[g])
	}
}

// deliveryRuns builds Inputs' delivery rows and segments from a stream.
// Days are kept as offsets from base; a snack index of 65,536 or more
// starts the high halves (wide).
type deliveryRuns struct {
	nU     int
	segU   []int32 // per segment: its user
	segAt  []int32 // per segment: its first row
	prev   int32
	snack  []uint16
	hi     []uint16 // nil until wide
	wide   bool
	day    []uint16
	base   Day
	opened bool
}

// push appends the snack and day of one row.
func (b *deliveryRuns) push(s int32, d Day) error {
	off := d - b.base
	if off < 0 || off > math.MaxUint16 {
		return fmt.Errorf("delivery day %s outside %s..%s", d, b.base, b.base+math.MaxUint16)
	}
	if s < 0 {
		return fmt.Errorf("snack index %d", s)
	}
	if s > math.MaxUint16 && !b.wide {
		b.wide = true
		b.hi = make([]uint16, len(b.snack), cap(b.snack))
	}
	b.snack = append(b.snack, uint16(s))
	if b.wide {
		b.hi = append(b.hi, uint16(s>>16))
	}
	b.day = append(b.day, uint16(off))
	return nil
}

func (b *deliveryRuns) add(k, s int32, d Day) error {
	if k < 0 || int(k) >= b.nU {
		return fmt.Errorf("index %d outside 0..%d", k, b.nU-1)
	}
	if !b.opened || k != b.prev {
		b.segU = append(b.segU, k)
		b.segAt = append(b.segAt, int32(len(b.snack)))
		b.prev, b.opened = k, true
	}
	return b.push(s, d)
}

// addBatch adds rows.
func (b *deliveryRuns) addBatch(keys, snacks []int32, days []arrow.Date32) error {
	for i, k := range keys {
		if err := b.add(k, snacks[i], Day(days[i])); err != nil {
			return err
		}
	}
	return nil
}

// finish stores the rows and their segments, grouped by user, in in.
func (b *deliveryRuns) finish(in *Inputs) {
	in.DelBase = b.base
	in.DelSnack, in.DelSnackHi, in.DelDay = b.snack, b.hi, b.day
	n := len(b.segU)
	start := make([]int32, b.nU+1)
	for _, k := range b.segU {
		start[k+1]++
	}
	for u := 0; u < b.nU; u++ {
		start[u+1] += start[u]
	}
	next := make([]int32, b.nU)
	copy(next, start)
	from, to := make([]int32, n), make([]int32, n)
	for g, k := range b.segU {
		end := int32(len(b.snack))
		if g+1 < n {
			end = b.segAt[g+1]
		}
		p := next[k]
		from[p], to[p] = b.segAt[g], end
		next[k]++
	}
	b.segU, b.segAt = nil, nil
	in.DelSegStart, in.DelSegFrom, in.DelSegTo = start, from, to
}

// streamDeliveryRows is the row count above which the deliveries are
// streamed out of DuckDB rather than read from a materialised result. A
// materialised result is a whole second copy of the rows inside DuckDB (12
// bytes a row: at 3 million users, 100 million rows, 1.3 GB, held while the
// engine's own 4 bytes a row fill), but it is computed on every core; a
// streamed one is computed as the batches are consumed, about twice the
// wall time (medium: 10 million rows in 3.2 s instead of 1.7 s). Below
// this size the copy costs less than the time, except in a shard (see
// loadDeliveries' stream).
var streamDeliveryRows int64 = 16 << 20

// streamer is a DB that can also stream a query (*duck.DB.Stream).
type streamer interface {
	Stream(ctx context.Context, query string, schema func(*arrow.Schema) error, fn func(rec arrow.RecordBatch) error) (int64, error)
}

// loadDeliveries reads inputs_deliveries into in's delivery rows. The row
// count of the date filter alone (cheap: no join) sizes the arrays once.
// Days are stored from base, the day before the first that can block.
// stream asks for a streamed result whatever the count: a shard runs to
// use little memory, and its materialised rows (an eighth of large's, 150
// MB) were the largest thing it held, outside DuckDB's memory limit.
func loadDeliveries(ctx context.Context, db DB, in *Inputs, base Day, params map[string]string, stream bool) error {
	var hint int64
	if err := db.QueryArrow(ctx, queries.Render("inputs_deliveries_bound", params), func(rec arrow.RecordBatch) error {
		v, err := appendInt64(nil, "n", rec.Column(0))
		if len(v) > 0 {
			hint = v[0]
		}
		return err
	}); err != nil {
		return fmt.Errorf("engine input inputs_deliveries_bound: %w", err)
	}
	b := &deliveryRuns{nU: in.NumUsers(), snack: make([]uint16, 0, hint), day: make([]uint16, 0, hint), base: base,
		segU: make([]int32, 0, in.NumUsers()), segAt: make([]int32, 0, in.NumUsers())}
	query := db.QueryArrow
	if s, ok := db.(streamer); ok && (stream || hint > streamDeliveryRows) {
		query = func(ctx context.Context, q string, fn func(rec arrow.RecordBatch) error, _ ...any) error {
			_, err := s.Stream(ctx, q, func(*arrow.Schema) error { return nil }, fn)
			return err
		}
	}
	err := query(ctx, queries.Render("inputs_deliveries", params), func(rec arrow.RecordBatch) error {
		if rec.NumCols() != 3 {
			return fmt.Errorf("%d columns, want 3", rec.NumCols())
		}
		for i := 0; i < 3; i++ {
			if err := checkNoNulls(rec.ColumnName(i), rec.Column(i)); err != nil {
				return err
			}
		}
		// The columns are read in place (the query casts them to these
		// types): 100 million rows at the large scale.
		keys, ok1 := rec.Column(0).(*array.Int32)
		snacks, ok2 := rec.Column(1).(*array.Int32)
		days, ok3 := rec.Column(2).(*array.Date32)
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("unexpected column types %s, %s, %s", rec.Column(0).DataType(), rec.Column(1).DataType(), rec.Column(2).DataType())
		}
		return b.addBatch(keys.Int32Values(), snacks.Int32Values(), days.Date32Values())
	})
	if err != nil {
		return fmt.Errorf("engine input inputs_deliveries: %w", err)
	}
	b.finish(in)
	return nil
}
