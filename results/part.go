package results

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/assign-dev/assign/atomicfs"
	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
)

// Tables of a shard's part folder (see package shard). A part holds what
// the merge cannot recompute cheaply: the boxes, the short boxes, the demand
// per (ship_on, snack_id) before any coverage (the merge covers the whole
// run's demand once, first-expiry-first-out) and, in run mode, the units the
// shard took from each lot (picks).
const PartDemandTable = "demand"

var partDemandSchema = arrow.NewSchema([]arrow.Field{
	{Name: "ship_on", Type: arrow.FixedWidthTypes.Date32},
	{Name: "snack_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "demand", Type: arrow.PrimitiveTypes.Int32},
}, nil)

// PartTables returns the tables a shard writes into its part folder.
func PartTables(res *engine.Result) []*Table {
	ts := []*Table{boxes(res), partDemand(res), shortBoxes(res)}
	if res.Mode == engine.Assign {
		ts = append(ts, picks(res))
	}
	return ts
}

func partDemand(res *engine.Result) *Table {
	in := res.Inputs
	t := &Table{Name: PartDemandTable, Schema: partDemandSchema, SQLType: []string{"DATE", "BIGINT", "INTEGER"}}
	for _, dem := range res.Demand {
		for _, n := range dem {
			if n > 0 {
				t.Rows++
			}
		}
	}
	t.reader = oneBatch(partDemandSchema, func(b *array.RecordBuilder) {
		for di, dem := range res.Demand {
			for s, n := range dem {
				if n > 0 {
					b.Field(0).(*array.Date32Builder).Append(arrow.Date32(res.Dates[di].Day))
					b.Field(1).(*array.Int64Builder).Append(in.SnackID[s])
					b.Field(2).(*array.Int32Builder).Append(n)
				}
			}
		}
	})
	return t
}

// AggregateTables returns the tables of res that do not list box lines:
// demand, snack_summary and, in run mode, picks. A merge builds them from
// the summed demand of its parts.
func AggregateTables(res *engine.Result) []*Table {
	ts := []*Table{demand(res), summary(res)}
	if res.Mode == engine.Assign {
		ts = append(ts, picks(res))
	}
	return ts
}

// CopyQuery writes the result of query (rows in the order it gives) into
// dir as <name>.parquet or <name>.csv, in the same form as Write, and
// returns the file written (Rows is left 0: the caller knows the count).
func CopyQuery(ctx context.Context, db *duck.DB, query, dir, name, format string) (Written, error) {
	opts, err := copyOptions(format)
	if err != nil {
		return Written{}, err
	}
	file := filepath.Join(dir, name+"."+format)
	tmp := atomicfs.TempPath(file)
	if _, err := db.Exec(ctx, fmt.Sprintf("COPY (%s) TO %s %s", query, duck.Quote(tmp), opts)); err != nil {
		os.Remove(tmp)
		return Written{}, fmt.Errorf("write %s: %w", file, duck.Clean(err))
	}
	if err := atomicfs.Publish(tmp, file); err != nil {
		os.Remove(tmp)
		return Written{}, err
	}
	return Written{Table: name, File: filepath.Base(file)}, nil
}

// copyOptions are the COPY options of an output format (as Write uses).
func copyOptions(format string) (string, error) {
	switch format {
	case FormatParquet:
		return "(FORMAT parquet, COMPRESSION zstd)", nil
	case FormatCSV:
		return "(FORMAT csv, HEADER true, DELIMITER ',')", nil
	}
	return "", fmt.Errorf("unknown output format %q: use parquet or csv", format)
}

// ParquetPath returns the path read_parquet reads for table of a run
// folder: dir/<table>.parquet, or the glob dir/<table>/*.parquet of a
// merged run's table folder (one file per shard); ok is false when the run
// has neither.
func ParquetPath(dir, table string) (path string, ok bool) {
	f := filepath.Join(dir, table+"."+FormatParquet)
	if fi, err := os.Stat(f); err == nil && !fi.IsDir() {
		return f, true
	}
	d := filepath.Join(dir, table)
	if fi, err := os.Stat(d); err == nil && fi.IsDir() {
		if m, _ := filepath.Glob(filepath.Join(d, "*."+FormatParquet)); len(m) > 0 {
			return filepath.Join(d, "*."+FormatParquet), true
		}
	}
	return "", false
}
