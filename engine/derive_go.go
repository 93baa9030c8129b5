package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	queries "github.com/assign-dev/assign/sql"
)

// arrowExecer is a DB that exposes Go-built record batches to SQL as a view
// while statements run (duck.DB).
type arrowExecer interface {
	ExecWithArrow(ctx context.Context, name string, rr array.RecordReader, stmts ...string) error
}

// errDeriveSQL says the snapshot does not fit deriveInGo; DeriveTables then
// runs the SQL, which defines the tables.
var errDeriveSQL = errors.New("derived tables through SQL")

// deriveInGo computes the derived tables exactly as derived_*.sql do, the
// same rows in the same order, from one scan of ratings grouped by user in
// Go, and writes them through Arrow. DuckDB's hash aggregate over ~one
// group per rating is most of a load's CPU otherwise (medium: 7.9 M groups,
// ~9 s of CPU for the three tables in SQL, about 2.5 s here).
//
// It needs a database opened in memory with the snapshot in use (the
// loader's), the snapshot's spec types (BIGINT ids, INTEGER ratings of 0..7,
// TIMESTAMP rated_at within 4-digit years), every rating's user and snack
// in users and snacks, and no NULL category; otherwise it returns an error
// wrapping errDeriveSQL before writing anything.
func deriveInGo(ctx context.Context, db DB, ax arrowExecer) error {
	// A database opened on a file moves Arrow views to its memory catalog
	// and back by name (duck.DB.inScratch); only the loader's in-memory
	// database, the snapshot attached and in use, keeps its default.
	if p, ok := db.(interface{ Path() string }); ok && p.Path() != "" {
		return fmt.Errorf("%w: database opened on a file", errDeriveSQL)
	}
	var userIDs, snackIDs []int64
	var snackCat []string
	if err := db.QueryArrow(ctx, queries.Get("sidecar_users"), func(rec arrow.RecordBatch) (err error) {
		userIDs, err = appendInt64(userIDs, rec.ColumnName(0), rec.Column(0))
		return err
	}); err != nil {
		return fmt.Errorf("%w: users: %v", errDeriveSQL, err)
	}
	if err := db.QueryArrow(ctx, queries.Get("derive_snacks"), func(rec arrow.RecordBatch) error {
		if err := checkNoNulls(rec.ColumnName(1), rec.Column(1)); err != nil {
			return err
		}
		ids, ok := rec.Column(0).(*array.Int64)
		if !ok {
			return fmt.Errorf("snack_id of type %s", rec.Column(0).DataType())
		}
		var err error
		snackIDs = append(snackIDs, ids.Int64Values()...)
		snackCat, err = appendString(snackCat, rec.ColumnName(1), rec.Column(1))
		return err
	}); err != nil {
		return fmt.Errorf("%w: snacks: %v", errDeriveSQL, err)
	}
	if len(userIDs) > 1<<31-1 || len(snackIDs) > 1<<31-1 {
		return fmt.Errorf("%w: too many users or snacks", errDeriveSQL)
	}
	users, err := newIDIndex(userIDs)
	if err != nil {
		return fmt.Errorf("%w: users: %v", errDeriveSQL, err)
	}
	snacks, err := newIDIndex(snackIDs)
	if err != nil {
		return fmt.Errorf("%w: snacks: %v", errDeriveSQL, err)
	}
	// Categories in byte order (ORDER BY category), and each snack's.
	cats := slices.Compact(slices.Sorted(slices.Values(snackCat)))
	catOf := make([]int32, len(snackIDs))
	for i, c := range snackCat {
		k, _ := slices.BinarySearch(cats, c)
		catOf[i] = int32(k)
	}

	// One row per rating: key = epoch_us(rated_at) * 8 + (7 - rating), the
	// arg_max key of derived_latest_ratings (latest first, then the lower
	// rating), which also holds the rating in its low 3 bits.
	type rated struct {
		key  int64
		sidx int32
	}
	var nRatings []int64
	if err := db.QueryArrow(ctx, queries.Get("derive_count"), func(rec arrow.RecordBatch) (err error) {
		nRatings, err = appendInt64(nRatings, rec.ColumnName(0), rec.Column(0))
		return err
	}); err != nil || len(nRatings) != 1 {
		return fmt.Errorf("%w: count ratings: %v", errDeriveSQL, err)
	}
	g := newByUser[rated](len(userIDs), nRatings[0])
	var ui, si []int32
	var vs []rated
	const tsLimit = 1 << 59 // beyond any 4-digit year, and key stays in int64
	err = streamQuery(ctx, db, queries.Get("derive_ratings"), func(rec arrow.RecordBatch) error {
		cols, err := int64Cols(rec, 2, 4)
		if err != nil {
			return err
		}
		rs, ok1 := rec.Column(2).(*array.Int32)
		ts, ok2 := rec.Column(3).(*array.Timestamp)
		if !ok1 || !ok2 || ts.DataType().(*arrow.TimestampType).Unit != arrow.Microsecond {
			return fmt.Errorf("%w: ratings of types %s, %s", errDeriveSQL, rec.Column(2).DataType(), rec.Column(3).DataType())
		}
		ui, si = users.lookup(cols[0], ui), snacks.lookup(cols[1], si)
		vs = slices.Grow(vs[:0], len(ui))[:len(ui)]
		tv := ts.TimestampValues()
		for i, r := range rs.Int32Values() {
			t := int64(tv[i])
			if ui[i] < 0 || si[i] < 0 || r < 0 || r > 7 || t <= -tsLimit || t >= tsLimit {
				return fmt.Errorf("%w: rating (%d, %d, %d, %d) outside the fast path", errDeriveSQL, cols[0][i], cols[1][i], r, t)
			}
			vs[i] = rated{t*8 + int64(7-r), si[i]}
		}
		g.add(ui, vs)
		return nil
	})
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, errDeriveSQL) {
			return err
		}
		return fmt.Errorf("%w: ratings: %v", errDeriveSQL, err)
	}
	// Each user's ratings by snack, the latest (largest key) first.
	start, rows, err := g.group(func() func([]rated) {
		return func(run []rated) {
			slices.SortFunc(run, func(a, b rated) int {
				if c := cmp.Compare(a.sidx, b.sidx); c != 0 {
					return c
				}
				return cmp.Compare(b.key, a.key)
			})
		}
	})
	if err != nil {
		return fmt.Errorf("%w: %v", errDeriveSQL, err)
	}
	// Keep each pair's first row, in place: latest ratings in (user_id,
	// snack_id) order, and their CSR offsets.
	latestStart := make([]int64, len(userIDs)+1)
	k := 0
	for u := range len(userIDs) {
		run := rows[start[u]:start[u+1]]
		for i, r := range run {
			if i == 0 || r.sidx != run[i-1].sidx {
				rows[k] = r
				k++
			}
		}
		latestStart[u+1] = int64(k)
	}
	rows = rows[:k]
	rating := func(r rated) int32 { return 7 - int32(r.key&7) }

	// latest_ratings.
	mem := memory.DefaultAllocator
	const batch = 1 << 16
	latestSchema := arrow.NewSchema([]arrow.Field{
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "snack_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "rating", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	u := 0
	at := 0
	latest := &batchReader{schema: latestSchema, next: func() arrow.RecordBatch {
		if at == len(rows) {
			return nil
		}
		b := array.NewRecordBuilder(mem, latestSchema)
		defer b.Release()
		ub, sb, rb := b.Field(0).(*array.Int64Builder), b.Field(1).(*array.Int64Builder), b.Field(2).(*array.Int32Builder)
		end := min(at+batch, len(rows))
		ub.Reserve(end - at)
		sb.Reserve(end - at)
		rb.Reserve(end - at)
		for ; at < end; at++ {
			for latestStart[u+1] <= int64(at) {
				u++
			}
			ub.UnsafeAppend(userIDs[u])
			sb.UnsafeAppend(snackIDs[rows[at].sidx])
			rb.UnsafeAppend(rating(rows[at]))
		}
		return b.NewRecordBatch()
	}}
	if err := ax.ExecWithArrow(ctx, "eng_derive_latest", latest,
		fmt.Sprintf("CREATE OR REPLACE TABLE %s AS SELECT user_id::BIGINT AS user_id, snack_id::BIGINT AS snack_id, rating::INTEGER AS rating FROM eng_derive_latest", LatestRatingsTable)); err != nil {
		return fmt.Errorf("derive %s: %w", LatestRatingsTable, err)
	}

	// user_category_ratings: per user, the categories in cidx order.
	ucrSchema := arrow.NewSchema([]arrow.Field{
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "category", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}},
		{Name: "n", Type: arrow.PrimitiveTypes.Int32},
		{Name: "total", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	// The names go in dictionary-encoded: cheaper than 2.4 M strings.
	cb := array.NewStringBuilder(mem)
	cb.AppendValues(cats, nil)
	catDict := cb.NewArray()
	cb.Release()
	defer catDict.Release()
	catN := make([]int32, len(cats))
	catSum := make([]int64, len(cats))
	var touched []int32
	u = 0
	ucr := &batchReader{schema: ucrSchema, next: func() arrow.RecordBatch {
		if u == len(userIDs) {
			return nil
		}
		ub, cb := array.NewInt64Builder(mem), array.NewInt32Builder(mem)
		nb, tb := array.NewInt32Builder(mem), array.NewInt64Builder(mem)
		defer func() { ub.Release(); cb.Release(); nb.Release(); tb.Release() }()
		for ; u < len(userIDs) && ub.Len() < batch; u++ {
			touched = touched[:0]
			for _, r := range rows[latestStart[u]:latestStart[u+1]] {
				c := catOf[r.sidx]
				if catN[c] == 0 {
					touched = append(touched, c)
				}
				catN[c]++
				catSum[c] += int64(rating(r))
			}
			slices.Sort(touched)
			for _, c := range touched {
				ub.Append(userIDs[u])
				cb.Append(c)
				nb.Append(catN[c])
				tb.Append(catSum[c])
				catN[c], catSum[c] = 0, 0
			}
		}
		idx := cb.NewArray()
		defer idx.Release()
		cols := []arrow.Array{ub.NewArray(), array.NewDictionaryArray(ucrSchema.Field(1).Type, idx, catDict), nb.NewArray(), tb.NewArray()}
		defer func() {
			for _, c := range cols {
				c.Release()
			}
		}()
		return array.NewRecordBatch(ucrSchema, cols, int64(cols[0].Len()))
	}}
	if err := ax.ExecWithArrow(ctx, "eng_derive_ucr", ucr,
		fmt.Sprintf("CREATE OR REPLACE TABLE %s AS SELECT user_id::BIGINT AS user_id, category::VARCHAR AS category, n::INTEGER AS n, total::BIGINT AS total FROM eng_derive_ucr", UserCategoryRatingsTable)); err != nil {
		return fmt.Errorf("derive %s: %w", UserCategoryRatingsTable, err)
	}

	// snack_ratings: the snacks with a latest rating, in snack_id order.
	sn := make([]int64, len(snackIDs))
	st := make([]int64, len(snackIDs))
	for _, r := range rows {
		sn[r.sidx]++
		st[r.sidx] += int64(rating(r))
	}
	srSchema := arrow.NewSchema([]arrow.Field{
		{Name: "snack_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
		{Name: "total", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	done := false
	sr := &batchReader{schema: srSchema, next: func() arrow.RecordBatch {
		if done {
			return nil
		}
		done = true
		b := array.NewRecordBuilder(mem, srSchema)
		defer b.Release()
		for s, n := range sn {
			if n > 0 {
				b.Field(0).(*array.Int64Builder).Append(snackIDs[s])
				b.Field(1).(*array.Int64Builder).Append(n)
				b.Field(2).(*array.Int64Builder).Append(st[s])
			}
		}
		return b.NewRecordBatch()
	}}
	if err := ax.ExecWithArrow(ctx, "eng_derive_sr", sr,
		fmt.Sprintf("CREATE OR REPLACE TABLE %s AS SELECT snack_id::BIGINT AS snack_id, n::BIGINT AS n, total::BIGINT AS total FROM eng_derive_sr", SnackRatingsTable)); err != nil {
		return fmt.Errorf("derive %s: %w", SnackRatingsTable, err)
	}
	return nil
}

// batchReader is an array.RecordReader over batches made on demand by next
// (nil when there are no more), so a table is never built whole in Arrow.
type batchReader struct {
	refs   int64
	schema *arrow.Schema
	next   func() arrow.RecordBatch
	cur    arrow.RecordBatch
}

func (r *batchReader) Retain()               { r.refs++ }
func (r *batchReader) Release()              { r.refs--; r.releaseCur() }
func (r *batchReader) Schema() *arrow.Schema { return r.schema }
func (r *batchReader) Err() error            { return nil }

func (r *batchReader) releaseCur() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (r *batchReader) Next() bool {
	r.releaseCur()
	r.cur = r.next()
	return r.cur != nil
}

// RecordBatch is the current batch.
func (r *batchReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is the current batch (the older name of RecordBatch).
func (r *batchReader) Record() arrow.RecordBatch { return r.cur }
