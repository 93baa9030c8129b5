package synth

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Table names, in the order of SPEC section 2.
const (
	TableSnacks     = "snacks"
	TableSnackTags  = "snack_tags"
	TableUsers      = "users"
	TableSkips      = "skips"
	TableUserNG     = "user_ng"
	TableUserPrefs  = "user_prefs"
	TableDeliveries = "deliveries"
	TableRatings    = "ratings"
	TableRequests   = "requests"
	TableStock      = "stock"
)

// Tables lists every table gen writes, in SPEC order.
var Tables = []string{TableSnacks, TableSnackTags, TableUsers, TableSkips, TableUserNG, TableUserPrefs, TableDeliveries, TableRatings, TableRequests, TableStock}

// SplitTables are the large tables --split writes as folders of part files.
var SplitTables = []string{TableDeliveries, TableRatings}

func field(name string, t arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: t}
}

var (
	tInt64 = arrow.PrimitiveTypes.Int64
	tInt32 = arrow.PrimitiveTypes.Int32
	tStr   = arrow.BinaryTypes.String
	tDate  = arrow.FixedWidthTypes.Date32
	tBool  = arrow.FixedWidthTypes.Boolean
	// TIMESTAMP without time zone, microseconds: DuckDB's own TIMESTAMP.
	tTS = &arrow.TimestampType{Unit: arrow.Microsecond}
)

// Schemas are the Arrow schemas of the generated tables: exactly the columns
// and types of SPEC section 2 (BIGINT int64, INTEGER int32, DATE date32,
// TIMESTAMP timestamp[us] without zone, BOOLEAN bool, VARCHAR utf8).
var Schemas = map[string]*arrow.Schema{
	TableSnacks: arrow.NewSchema([]arrow.Field{field("snack_id", tInt64), field("name", tStr), field("category", tStr),
		field("launched_on", tDate), field("active", tBool)}, nil),
	TableSnackTags: arrow.NewSchema([]arrow.Field{field("snack_id", tInt64), field("tag", tStr)}, nil),
	TableUsers: arrow.NewSchema([]arrow.Field{field("user_id", tInt64), field("status", tStr), field("box_size", tInt32),
		field("cadence_days", tInt32), field("next_ship_on", tDate)}, nil),
	TableSkips:     arrow.NewSchema([]arrow.Field{field("user_id", tInt64), field("ship_on", tDate)}, nil),
	TableUserNG:    arrow.NewSchema([]arrow.Field{field("user_id", tInt64), field("tag", tStr)}, nil),
	TableUserPrefs: arrow.NewSchema([]arrow.Field{field("user_id", tInt64), field("category", tStr), field("weight", tInt32)}, nil),
	TableDeliveries: arrow.NewSchema([]arrow.Field{field("user_id", tInt64), field("snack_id", tInt64),
		field("shipped_on", tDate)}, nil),
	TableRatings: arrow.NewSchema([]arrow.Field{field("user_id", tInt64), field("snack_id", tInt64), field("rating", tInt32),
		field("rated_at", tTS)}, nil),
	TableRequests: arrow.NewSchema([]arrow.Field{field("user_id", tInt64), field("snack_id", tInt64),
		field("requested_at", tTS)}, nil),
	TableStock: arrow.NewSchema([]arrow.Field{field("snack_id", tInt64), field("lot_id", tStr), field("quantity", tInt32),
		field("best_before", tDate)}, nil),
}

// statusNames are the users.status values, indexed by the generator's code.
var statusNames = []string{"active", "paused", "cancelled"}

const (
	statusActive = iota
	statusPaused
	statusCancelled
)

// chunk holds the rows of the per-user tables for one range of users, as
// plain column slices; the worker fills it and turns it into record batches.
type chunk struct {
	users struct {
		id             []int64
		status         []int8
		box, cad, next []int32
	}
	skips struct {
		uid []int64
		day []int32
	}
	ng struct {
		uid []int64
		tag []int32
	}
	prefs struct {
		uid         []int64
		cat, weight []int32
	}
	del struct {
		uid, sid []int64
		day      []int32
	}
	rat struct {
		uid, sid []int64
		rating   []int32
		at       []int64
	}
	req struct {
		uid, sid []int64
		at       []int64
	}
}

func (c *chunk) reset() {
	u := &c.users
	u.id, u.status, u.box, u.cad, u.next = u.id[:0], u.status[:0], u.box[:0], u.cad[:0], u.next[:0]
	c.skips.uid, c.skips.day = c.skips.uid[:0], c.skips.day[:0]
	c.ng.uid, c.ng.tag = c.ng.uid[:0], c.ng.tag[:0]
	c.prefs.uid, c.prefs.cat, c.prefs.weight = c.prefs.uid[:0], c.prefs.cat[:0], c.prefs.weight[:0]
	c.del.uid, c.del.sid, c.del.day = c.del.uid[:0], c.del.sid[:0], c.del.day[:0]
	c.rat.uid, c.rat.sid, c.rat.rating, c.rat.at = c.rat.uid[:0], c.rat.sid[:0], c.rat.rating[:0], c.rat.at[:0]
	c.req.uid, c.req.sid, c.req.at = c.req.uid[:0], c.req.sid[:0], c.req.at[:0]
}

// records turns the chunk into one record batch per per-user table.
func (c *chunk) records(mem memory.Allocator, cat *catalog) map[string]arrow.RecordBatch {
	out := make(map[string]arrow.RecordBatch, 7)
	b := newRecBuilder(mem, TableUsers)
	b.i64(0, c.users.id)
	sb := b.b.Field(1).(*array.StringBuilder)
	sb.Reserve(len(c.users.status))
	for _, s := range c.users.status {
		sb.Append(statusNames[s])
	}
	b.i32(2, c.users.box)
	b.i32(3, c.users.cad)
	b.date(4, c.users.next)
	out[TableUsers] = b.finish()

	b = newRecBuilder(mem, TableSkips)
	b.i64(0, c.skips.uid)
	b.date(1, c.skips.day)
	out[TableSkips] = b.finish()

	b = newRecBuilder(mem, TableUserNG)
	b.i64(0, c.ng.uid)
	b.strs(1, c.ng.tag, cat.tags)
	out[TableUserNG] = b.finish()

	b = newRecBuilder(mem, TableUserPrefs)
	b.i64(0, c.prefs.uid)
	b.strs(1, c.prefs.cat, cat.categories)
	b.i32(2, c.prefs.weight)
	out[TableUserPrefs] = b.finish()

	b = newRecBuilder(mem, TableDeliveries)
	b.i64(0, c.del.uid)
	b.i64(1, c.del.sid)
	b.date(2, c.del.day)
	out[TableDeliveries] = b.finish()

	b = newRecBuilder(mem, TableRatings)
	b.i64(0, c.rat.uid)
	b.i64(1, c.rat.sid)
	b.i32(2, c.rat.rating)
	b.ts(3, c.rat.at)
	out[TableRatings] = b.finish()

	b = newRecBuilder(mem, TableRequests)
	b.i64(0, c.req.uid)
	b.i64(1, c.req.sid)
	b.ts(2, c.req.at)
	out[TableRequests] = b.finish()
	return out
}

// recBuilder fills one table's record batch column by column from slices.
type recBuilder struct {
	b *array.RecordBuilder
}

func newRecBuilder(mem memory.Allocator, table string) recBuilder {
	return recBuilder{b: array.NewRecordBuilder(mem, Schemas[table])}
}

func (r recBuilder) i64(i int, v []int64) { r.b.Field(i).(*array.Int64Builder).AppendValues(v, nil) }
func (r recBuilder) i32(i int, v []int32) { r.b.Field(i).(*array.Int32Builder).AppendValues(v, nil) }

func (r recBuilder) date(i int, v []int32) {
	fb := r.b.Field(i).(*array.Date32Builder)
	fb.Reserve(len(v))
	for _, d := range v {
		fb.UnsafeAppend(arrow.Date32(d))
	}
}

func (r recBuilder) ts(i int, v []int64) {
	fb := r.b.Field(i).(*array.TimestampBuilder)
	fb.Reserve(len(v))
	for _, t := range v {
		fb.UnsafeAppend(arrow.Timestamp(t))
	}
}

// strs appends dict[v[j]] for every j: tags and categories are stored as
// small codes until the batch is built.
func (r recBuilder) strs(i int, v []int32, dict []string) {
	sb := r.b.Field(i).(*array.StringBuilder)
	sb.Reserve(len(v))
	for _, x := range v {
		sb.Append(dict[x])
	}
}

func (r recBuilder) finish() arrow.RecordBatch {
	rec := r.b.NewRecordBatch()
	r.b.Release()
	return rec
}

// catalogRecords builds the snacks and snack_tags batches.
func catalogRecords(mem memory.Allocator, c *catalog) (snacks, tags arrow.RecordBatch) {
	b := newRecBuilder(mem, TableSnacks)
	ids := b.b.Field(0).(*array.Int64Builder)
	names := b.b.Field(1).(*array.StringBuilder)
	cats := b.b.Field(2).(*array.StringBuilder)
	launched := b.b.Field(3).(*array.Date32Builder)
	active := b.b.Field(4).(*array.BooleanBuilder)
	tb := newRecBuilder(mem, TableSnackTags)
	tid := tb.b.Field(0).(*array.Int64Builder)
	ttag := tb.b.Field(1).(*array.StringBuilder)
	for i := range c.snacks {
		s := &c.snacks[i]
		ids.Append(s.id)
		names.Append(s.name)
		cats.Append(c.categories[s.cat])
		launched.Append(arrow.Date32(s.launched))
		active.Append(s.active)
		for _, t := range s.tags {
			tid.Append(s.id)
			ttag.Append(c.tags[t])
		}
	}
	return b.finish(), tb.finish()
}
