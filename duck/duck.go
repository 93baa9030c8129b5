// Package duck opens embedded DuckDB databases with the settings assign
// relies on and moves data between DuckDB and Go as Arrow record batches.
//
// Every database is opened in-process with extension auto-install disabled
// (nothing may reach the network) and an explicit thread count. Snapshots are
// attached read-only to an in-memory database, so scratch tables go to memory
// (spilling under the home's tmp folder) and any number of processes can read
// one snapshot while a load writes the next.
package duck

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Options configures a database handle.
type Options struct {
	// Threads is DuckDB's worker count; 0 means all cores.
	Threads int
	// MemoryLimit is DuckDB's memory_limit (e.g. "4GB"); empty keeps DuckDB's default.
	MemoryLimit string
	// TempDir is where DuckDB spills; empty disables spilling for in-memory work.
	TempDir string
}

// DB is one DuckDB database with a single pinned connection. Work on it is
// sequential; Arrow handles are per connection, so concurrent users open
// their own DB.
type DB struct {
	db      *sql.DB
	conn    *sql.Conn
	path    string
	threads int
}

// OpenFile opens (creating if needed) a read-write database file.
func OpenFile(ctx context.Context, path string, opt Options) (*DB, error) {
	return open(ctx, path, opt)
}

// OpenMemory opens an empty in-memory database.
func OpenMemory(ctx context.Context, opt Options) (*DB, error) {
	return open(ctx, "", opt)
}

// OpenSnapshot opens an in-memory database with the snapshot file attached
// read-only as catalog "snap" and made the default, so its tables are
// reachable unqualified.
func OpenSnapshot(ctx context.Context, path string, opt Options) (*DB, error) {
	d, err := OpenMemory(ctx, opt)
	if err != nil {
		return nil, err
	}
	if _, err := d.Exec(ctx, fmt.Sprintf("ATTACH %s AS snap (READ_ONLY); USE snap", Quote(path))); err != nil {
		d.Close()
		if readable(path) {
			if derr := Damaged(path, err); derr != err {
				return nil, derr
			}
		}
		return nil, fmt.Errorf("open snapshot %s: %w", path, Clean(err))
	}
	d.path = path
	return d, nil
}

func open(ctx context.Context, path string, opt Options) (*DB, error) {
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	connector, err := duckdb.NewConnector(path, func(execer driver.ExecerContext) error {
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", displayPath(path), Clean(err))
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", displayPath(path), Clean(err))
	}
	d := &DB{db: db, conn: conn, path: path, threads: threads}
	settings := []string{
		"SET autoinstall_known_extensions = false",
		fmt.Sprintf("SET threads = %d", threads),
	}
	if opt.MemoryLimit != "" {
		settings = append(settings, fmt.Sprintf("SET memory_limit = %s", Quote(opt.MemoryLimit)))
	}
	if opt.TempDir != "" {
		settings = append(settings, fmt.Sprintf("SET temp_directory = %s", Quote(opt.TempDir)))
	}
	for _, s := range settings {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			d.Close()
			return nil, fmt.Errorf("configure database: %s: %w", s, Clean(err))
		}
	}
	return d, nil
}

func displayPath(p string) string {
	if p == "" {
		return "(in memory)"
	}
	return p
}

// Threads is DuckDB's worker count (Options.Threads, or all cores): the
// cores the job that opened the database may use.
func (d *DB) Threads() int { return d.threads }

// Close closes the connection and the database.
func (d *DB) Close() error {
	var errs []error
	if d.conn != nil {
		errs = append(errs, d.conn.Close())
	}
	if d.db != nil {
		errs = append(errs, d.db.Close())
	}
	return errors.Join(errs...)
}

// Side opens a second connection to d's database, for queries that run
// beside the pinned connection's (DuckDB runs the two at once). It reads
// the snapshot's tables unqualified, as d does, but not d's temp tables or
// Arrow views. Close it before d; its Close leaves the database open.
func (d *DB) Side(ctx context.Context) (*DB, error) {
	d.db.SetMaxOpenConns(2)
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open a second connection: %w", Clean(err))
	}
	s := &DB{conn: conn, path: d.path, threads: d.threads}
	if d.path != "" {
		if _, err := conn.ExecContext(ctx, "USE snap"); err != nil {
			conn.Close()
			return nil, fmt.Errorf("open a second connection: %w", Clean(err))
		}
	}
	return s, nil
}

// Conn is the pinned connection, for database/sql style use.
func (d *DB) Conn() *sql.Conn { return d.conn }

// Exec runs statements that return no rows.
func (d *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.conn.ExecContext(ctx, query, args...)
}

// Query runs a query with database/sql; use it for small results only.
func (d *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.conn.QueryContext(ctx, query, args...)
}

// QueryRow runs a query returning at most one row.
func (d *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return d.conn.QueryRowContext(ctx, query, args...)
}

// QueryArrow runs query and calls fn with each record batch in order. The
// batch is only valid during the call; Retain it to keep it.
func (d *DB) QueryArrow(ctx context.Context, query string, fn func(rec arrow.RecordBatch) error, args ...any) error {
	return d.QueryArrowSchema(ctx, query, func(*arrow.Schema) error { return nil }, fn, args...)
}

// CreateTableFromArrow copies the batches of rr into a new table. selectSQL
// may read the input as {{input}}; empty copies it as is. The copy happens
// while the reader is registered (see WithArrowView).
func (d *DB) CreateTableFromArrow(ctx context.Context, table string, rr array.RecordReader, selectSQL string) error {
	view := "__arrow_in_" + strings.NewReplacer(".", "_", `"`, "_").Replace(table)
	if selectSQL == "" {
		selectSQL = "SELECT * FROM " + view
	} else {
		selectSQL = strings.ReplaceAll(selectSQL, "{{input}}", view)
	}
	return d.ExecWithArrow(ctx, view, rr, fmt.Sprintf("CREATE OR REPLACE TABLE %s AS %s", table, selectSQL))
}

// inScratch runs fn with the in-memory catalog as the default: Arrow views
// are created in the default catalog, and a snapshot attached read-only
// cannot hold them. The snapshot is made the default again afterwards.
func (d *DB) inScratch(ctx context.Context, ex driver.ExecerContext, fn func() error) error {
	if d.path == "" {
		return fn()
	}
	// Views go to memory; the snapshot's tables stay reachable unqualified.
	if _, err := ex.ExecContext(ctx, "USE memory", nil); err != nil {
		return Clean(err)
	}
	if _, err := ex.ExecContext(ctx, "SET search_path = 'memory.main,snap.main'", nil); err != nil {
		return Clean(err)
	}
	err := fn()
	if _, err2 := ex.ExecContext(ctx, "USE snap", nil); err == nil && err2 != nil {
		err = Clean(err2)
	}
	return err
}

// WithRaw runs fn on the driver connection, for Appender and Arrow use.
// fn must not call back into d (the connection is held).
func (d *DB) WithRaw(fn func(dc driver.Conn) error) error {
	return d.conn.Raw(func(c any) error { return fn(c.(driver.Conn)) })
}

// Quote quotes s as an SQL string literal.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Ident quotes s as an SQL identifier.
func Ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// Clean strips the driver's generic prefixes so the message reads as one
// sentence; nil stays nil.
func Clean(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, p := range []string{"database/sql/driver: ", "duckdb error: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	if msg == err.Error() {
		return err
	}
	return &cleanErr{msg: msg, err: err}
}

type cleanErr struct {
	msg string
	err error
}

func (e *cleanErr) Error() string { return e.msg }
func (e *cleanErr) Unwrap() error { return e.err }

// ExecWithArrow exposes rr as the view name for the duration of stmts (run
// in order on the same connection), e.g. a COPY of the view to a file. The
// view can be read once.
func (d *DB) ExecWithArrow(ctx context.Context, name string, rr array.RecordReader, stmts ...string) error {
	return d.WithArrowView(ctx, rr, name, func(ex driver.ExecerContext, _ driver.QueryerContext) error {
		for _, s := range stmts {
			if _, err := ex.ExecContext(ctx, s, nil); err != nil {
				return err
			}
		}
		return nil
	})
}
