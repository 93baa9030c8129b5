package duck

import (
	"context"
	"database/sql/driver"

	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// WithArrowView exposes rr as the view name while fn runs, and gives fn the
// driver connection to run statements on (the pinned connection is held, so
// fn must not call back into d). Use it when the statements depend on the
// view's columns, e.g. DESCRIBE the view, then copy it into a table with
// per-column expressions. The view can be read once; it is dropped and the
// reader released after fn returns, never before DuckDB has read it.
func (d *DB) WithArrowView(ctx context.Context, rr array.RecordReader, name string, fn func(ex driver.ExecerContext, q driver.QueryerContext) error) error {
	return d.conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		ex := dc.(driver.ExecerContext)
		q := dc.(driver.QueryerContext)
		return d.inScratch(ctx, ex, func() error {
			release, err := ar.RegisterView(rr, name)
			if err != nil {
				return err
			}
			defer release()
			if err := fn(ex, q); err != nil {
				_, _ = ex.ExecContext(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS "+Ident(name), nil)
				return Clean(err)
			}
			_, err = ex.ExecContext(ctx, "DROP VIEW IF EXISTS "+Ident(name), nil)
			return Clean(err)
		})
	})
}
