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
// (9 s at large). But a snapshot stores deliveries in roughly the order its
// extract listed them, usually by user, so the rows arrive as a few long
// runs in which uidx never decreases. Each run is kept as it came, in one
// shared pair of arrays, with CSR offsets over the users it covers; a user's
// deliveries are the union over runs. Tables in no useful order (more than
// maxDeliveryRuns runs) are grouped by a counting sort into one run instead.

// Delivery returns the snack (sidx) and day of delivery row j.
func (in *Inputs) Delivery(j int32) (sidx int32, day Day) {
	sidx = int32(in.DelSnack[j])
	if in.DelSnackHi != nil {
		sidx |= int32(in.DelSnackHi[j]) << 16
	}
	return sidx, in.DelBase + Day(in.DelDay[j])
}

// DeliveryRun is one stretch of Inputs.DelSnack/DelDay in which rows are
// grouped by uidx: the rows of user u (Lo <= u < Lo+len(Start)-1) are
// [Start[u-Lo], Start[u-Lo+1]).
type DeliveryRun struct {
	Lo    int32
	Start []int32
}

// rows returns the range of user u's rows in the run (empty if none).
func (r *DeliveryRun) rows(u int32) (lo, hi int32) {
	i := u - r.Lo
	if i < 0 || int(i) >= len(r.Start)-1 {
		return 0, 0
	}
	return r.Start[i], r.Start[i+1]
}

// maxDeliveryRuns bounds the runs kept; beyond it the rows are regrouped.
const maxDeliveryRuns = 64

// deliveryRuns builds Inputs.DelRuns, DelSnack, DelSnackHi and DelDay from
// a stream. Days are kept as offsets from base; a snack index of 65,536 or
// more starts the high halves (wide).
type deliveryRuns struct {
	nU    int
	runs  []DeliveryRun
	cur   *DeliveryRun
	prev  int32
	snack []uint16
	hi    []uint16 // nil until wide
	wide  bool
	day   []uint16
	base  Day
	// keys holds the uidx of every row once the runs are too many; rows
	// before that point have theirs in the runs.
	keys      []int32
	unordered bool
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
	if !b.unordered && (b.cur == nil || k < b.prev) {
		b.closeRun()
		if len(b.runs) == maxDeliveryRuns {
			b.unordered = true
		} else {
			b.cur = &DeliveryRun{Lo: k}
		}
	}
	if b.unordered {
		b.keys = append(b.keys, k)
	} else {
		for int32(len(b.cur.Start)) <= k-b.cur.Lo {
			b.cur.Start = append(b.cur.Start, int32(len(b.snack)))
		}
		b.prev = k
	}
	return b.push(s, d)
}

// addBatch adds rows; it is add with the common case (the next row of the
// same run) kept short.
func (b *deliveryRuns) addBatch(keys, snacks []int32, days []arrow.Date32) error {
	for i, k := range keys {
		if !b.unordered && b.cur != nil && k >= b.prev && k-b.cur.Lo < int32(len(b.cur.Start)) {
			if err := b.push(snacks[i], Day(days[i])); err != nil {
				return err
			}
			continue
		}
		if err := b.add(k, snacks[i], Day(days[i])); err != nil {
			return err
		}
	}
	return nil
}

func (b *deliveryRuns) closeRun() {
	if b.cur != nil {
		b.cur.Start = append(b.cur.Start, int32(len(b.snack)))
		b.runs = append(b.runs, *b.cur)
		b.cur = nil
	}
}

// finish stores the runs in in; unordered rows are regrouped into one run.
func (b *deliveryRuns) finish(in *Inputs) {
	b.closeRun()
	in.DelBase = b.base
	if !b.unordered {
		in.DelRuns, in.DelSnack, in.DelSnackHi, in.DelDay = b.runs, b.snack, b.hi, b.day
		return
	}
	keys := make([]int32, 0, len(b.snack))
	for _, r := range b.runs {
		for i := 0; i+1 < len(r.Start); i++ {
			for j := r.Start[i]; j < r.Start[i+1]; j++ {
				keys = append(keys, r.Lo+int32(i))
			}
		}
	}
	keys = append(keys, b.keys...)
	b.keys = nil
	start := make([]int32, b.nU+1)
	for _, k := range keys {
		start[k+1]++
	}
	for u := 0; u < b.nU; u++ {
		start[u+1] += start[u]
	}
	next := make([]int32, b.nU)
	copy(next, start)
	snack, day := make([]uint16, len(keys)), make([]uint16, len(keys))
	var hi []uint16
	if b.wide {
		hi = make([]uint16, len(keys))
	}
	for j, k := range keys {
		p := next[k]
		snack[p], day[p] = b.snack[j], b.day[j]
		if hi != nil {
			hi[p] = b.hi[j]
		}
		next[k]++
	}
	in.DelRuns = []DeliveryRun{{Lo: 0, Start: start}}
	in.DelSnack, in.DelSnackHi, in.DelDay = snack, hi, day
}

// loadDeliveries reads inputs_deliveries into in's delivery runs. The row
// count of the date filter alone (cheap: no join) sizes the arrays once.
// Days are stored from base, the day before the first that can block.
func loadDeliveries(ctx context.Context, db DB, in *Inputs, base Day, params map[string]string) error {
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
	b := &deliveryRuns{nU: in.NumUsers(), snack: make([]uint16, 0, hint), day: make([]uint16, 0, hint), base: base}
	err := db.QueryArrow(ctx, queries.Render("inputs_deliveries", params), func(rec arrow.RecordBatch) error {
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
