package duck

import (
	"context"
	"database/sql/driver"

	"github.com/apache/arrow-go/v18/arrow"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// QueryArrowSchema is QueryArrow that first hands the result's schema to
// schema, even when the result has no rows (and so no batch): a CSV header
// or a table heading needs the columns of an empty result too.
func (d *DB) QueryArrowSchema(ctx context.Context, query string, schema func(*arrow.Schema) error, fn func(rec arrow.RecordBatch) error, args ...any) error {
	return d.conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		rr, err := ar.QueryContext(ctx, query, args...)
		if err != nil {
			return Clean(err)
		}
		defer rr.Release()
		if err := schema(rr.Schema()); err != nil {
			return err
		}
		for rr.Next() {
			if err := fn(rr.RecordBatch()); err != nil {
				return err
			}
		}
		return Clean(rr.Err())
	})
}
