package loaders

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/assign-dev/assign/duck"
)

// Feed is a table source that is not a file: a table or query of a
// database (package loaders/dbsource), whose rows arrive as Arrow record
// batches and go through the same staging, rules and reject path as files.
// Positions are primary keys instead of lines: the reader carries the
// source's key in hidden columns (named KeyColumn(i)) that are staged beside
// the row but never copied into the snapshot.
type Feed interface {
	// Read starts reading the rows. Its columns are named as the columns
	// of the table they feed (extra columns under their own names), plus
	// the hidden key columns. The order of the rows must be the same on
	// every call over the same data (which duplicate of a key is kept
	// depends on it). When a value cannot be represented in the column's
	// Arrow type, the reader fails with an error wrapping ErrFeedRestart
	// after switching that column to text, and the table is read again.
	Read(ctx context.Context) (array.RecordReader, error)
	// Locate returns the source rows with the given hidden key values (one
	// slice per row, as staged) or, for a source without a key, the given
	// 0-based ordinals in read order. fields follow the reader's columns.
	Locate(ctx context.Context, rows []FeedRow) ([]FeedRaw, error)
}

// A Feed may also implement SourceColumn(column string) string, the
// source's name of a table column, which messages then show beside it.

// FeedRow identifies one staged row of a feed: its ordinal in read order
// and the values of its hidden key columns (empty without a key).
type FeedRow struct {
	Ord int64
	Key []any
}

// FeedRaw is a row of a feed as the source holds it, for messages and the
// reject file.
type FeedRaw struct {
	Ord int64
	// Key is how messages name the row, e.g. "primary key id=17"; empty
	// falls back to "row N" (the ordinal in read order).
	Key    string
	Fields []string // per reader column
	Nulls  []bool
	Raw    string // the whole row as a JSON object of source column names
	Found  bool
}

// ErrFeedRestart asks the loader to stage a feed again (see Feed.Read).
var ErrFeedRestart = errors.New("read the table again")

// keyColumnPrefix names the hidden key columns of a feed.
const keyColumnPrefix = "__assign_key_"

// KeyColumn is the name of the i-th hidden key column of a feed.
func KeyColumn(i int) string { return fmt.Sprintf("%s%d", keyColumnPrefix, i) }

func isKeyColumn(name string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(name)), keyColumnPrefix)
}

// maxFeedRestarts bounds the re-reads of one feed (each switches at least
// one more column to text, so it is the number of columns at most).
const maxFeedRestarts = 64

// stageFeed reads a feed into the staged table, like an Arrow file.
func stageFeed(ctx context.Context, db *duck.DB, t Table, sf *stagedFile) error {
	for attempt := 0; ; attempt++ {
		err := stageFeedOnce(ctx, db, t, sf)
		if errors.Is(err, ErrFeedRestart) && attempt < maxFeedRestarts && ctx.Err() == nil {
			sf.cols, sf.spec, sf.extras, sf.hidden = nil, nil, nil, nil
			continue
		}
		return err
	}
}

func stageFeedOnce(ctx context.Context, db *duck.DB, t Table, sf *stagedFile) error {
	rr, err := sf.Feed.Read(ctx)
	if err != nil {
		return err
	}
	defer rr.Release()
	view := sf.tmp + "_feed"
	var stageErr error
	err = db.WithArrowView(ctx, rr, view, func(ex driver.ExecerContext, q driver.QueryerContext) error {
		cols, err := describeDriver(ctx, q, view)
		if err != nil {
			return err
		}
		sf.cols = cols
		if err := matchColumns(t, sf); err != nil {
			stageErr = err
			return nil
		}
		sel, err := typedSelect(t, sf, view+" AS src")
		if err != nil {
			stageErr = err
			return nil
		}
		_, err = ex.ExecContext(ctx, fmt.Sprintf("CREATE TEMP TABLE %s AS %s", sf.tmp, sel), nil)
		return err
	})
	if stageErr != nil {
		return stageErr
	}
	// The reader's own error (connection lost, a restart) is the cause;
	// DuckDB only wraps it.
	if rerr := rr.Err(); rerr != nil {
		return rerr
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &FileError{Table: t.Name, File: sf.Rel, Msg: "cannot be staged: " + firstLine(err)}
	}
	return nil
}

// resolveFeed returns the source rows of the given ordinals, located by
// their hidden key columns.
func resolveFeed(ctx context.Context, db *duck.DB, sf *stagedFile, ords []int64) (map[int64]rawRow, error) {
	want := sf.tmp + "_want"
	if err := wantTable(ctx, db, want, ords); err != nil {
		return nil, err
	}
	defer db.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+want)
	sel := []string{"rowid"}
	for _, j := range sf.hidden {
		sel = append(sel, duck.Ident(sf.cols[j].Name))
	}
	rows, err := db.Query(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE rowid IN (SELECT r FROM %s) ORDER BY rowid", strings.Join(sel, ", "), sf.tmp, want))
	if err != nil {
		return nil, duck.Clean(err)
	}
	var req []FeedRow
	for rows.Next() {
		vals := make([]any, len(sel))
		ptrs := make([]any, len(sel))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return nil, duck.Clean(err)
		}
		ord, _ := vals[0].(int64)
		req = append(req, FeedRow{Ord: ord, Key: vals[1:]})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, duck.Clean(err)
	}
	raws, err := sf.Feed.Locate(ctx, req)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]rawRow, len(raws))
	for _, r := range raws {
		if !r.Found {
			continue
		}
		out[r.Ord] = rawRow{fields: r.Fields, nulls: r.Nulls, raw: r.Raw, key: r.Key}
	}
	return out, nil
}
