package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/store"
)

var runsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "run_id", Type: arrow.BinaryTypes.String},
	{Name: "mode", Type: arrow.BinaryTypes.String},
	{Name: "snapshot", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "created_at", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "date_from", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "date_to", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "days", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "users", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "boxes", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "short_boxes", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "demand_units", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "covered_units", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "shortage_units", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "seconds", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "dir", Type: arrow.BinaryTypes.String},
	{Name: "scenario", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "problem", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// createRunsTable builds memory.main.runs, one row per complete run folder
// with the figures of its manifest, through an Arrow batch; scenario is true
// for what-if runs (assign whatif), which no latest* alias ever names. A
// damaged run says why in problem; one whose manifest cannot be read keeps
// its id, mode and folder, NULL elsewhere.
func (s *Session) createRunsTable(ctx context.Context, runs []store.RunInfo, states []runState) error {
	b := array.NewRecordBuilder(memory.DefaultAllocator, runsSchema)
	defer b.Release()
	str := func(i int, v string) {
		if v == "" {
			b.Field(i).AppendNull()
		} else {
			b.Field(i).(*array.StringBuilder).Append(v)
		}
	}
	for i, r := range runs {
		var m *plan.Manifest
		if states[i].ref != nil {
			m = states[i].ref.Manifest
		} else {
			m, _ = readManifest(r.Dir)
		}
		b.Field(0).(*array.StringBuilder).Append(r.ID)
		b.Field(1).(*array.StringBuilder).Append(r.Mode)
		if m == nil {
			for f := 2; f < 14; f++ {
				b.Field(f).AppendNull()
			}
		} else {
			str(2, m.Snapshot)
			created := ""
			if t, err := time.Parse(time.RFC3339, m.CreatedAt); err == nil {
				created = t.UTC().Format("2006-01-02 15:04:05")
			}
			str(3, created)
			str(4, m.Dates.From)
			str(5, m.Dates.To)
			b.Field(6).(*array.Int32Builder).Append(int32(m.Dates.Days))
			for f, v := range []int64{int64(m.Counts.Users), int64(m.Counts.Boxes), int64(m.Counts.ShortBoxes), m.Counts.Demand, m.Counts.Covered, m.Counts.Shortage} {
				b.Field(7 + f).(*array.Int64Builder).Append(v)
			}
			if t, ok := m.Timings["total"]; ok {
				b.Field(13).(*array.Float64Builder).Append(t)
			} else {
				b.Field(13).AppendNull()
			}
		}
		b.Field(14).(*array.StringBuilder).Append(r.Dir)
		b.Field(15).(*array.BooleanBuilder).Append(r.Scenario)
		str(16, states[i].problem)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rr, err := array.NewRecordReader(runsSchema, []arrow.RecordBatch{rec})
	if err != nil {
		return err
	}
	defer rr.Release()
	err = s.db.CreateTableFromArrow(ctx, "memory.main.runs", rr, `SELECT run_id, mode, snapshot, created_at::TIMESTAMP AS created_at,
  date_from::DATE AS date_from, date_to::DATE AS date_to, days, users, boxes, short_boxes, demand_units, covered_units,
  shortage_units, seconds, dir, scenario, problem FROM {{input}} ORDER BY run_id`)
	if err != nil {
		return fmt.Errorf("list runs as a table: %w", err)
	}
	return nil
}
