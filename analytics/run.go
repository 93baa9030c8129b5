package analytics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/assign-dev/assign/duck"
)

// RunOptions say how Run writes a result.
type RunOptions struct {
	// Format is one of Formats except FormatParquet (see CopyParquet).
	Format string
	// MaxRows caps the rows the table format shows; 0 means all. The rest
	// of the result is counted, not kept.
	MaxRows int
	// Timeout ends the statement after this long; 0 means no limit.
	Timeout time.Duration
}

// Result describes one statement's result as Run wrote it.
type Result struct {
	// Rows is the number of rows of the result.
	Rows int64
	// Shown is the number of rows written; less than Rows when the table
	// format's MaxRows cut the result.
	Shown int64
}

// Truncated reports whether rows were left out of the output.
func (r Result) Truncated() bool { return r.Shown < r.Rows }

// LimitError says a statement was stopped by one of the session's limits.
type LimitError struct {
	// Limit is "memory", "temp" (disk to spill to) or "time".
	Limit string
	// Bytes is the memory or disk limit, Duration the time limit.
	Bytes    int64
	Duration time.Duration
	// Err is DuckDB's error, if it gave one.
	Err error
}

func (e *LimitError) Error() string {
	switch e.Limit {
	case "time":
		return fmt.Sprintf("the query ran longer than the time limit of %s and was stopped", e.Duration)
	case "temp":
		return fmt.Sprintf("the query needed more than the %s of temporary disk it may spill to and was stopped", FormatBytes(e.Bytes))
	}
	msg := fmt.Sprintf("the query needed more than the memory limit of %s and was stopped", FormatBytes(e.Bytes))
	if e.Err != nil {
		msg += " (" + firstLine(e.Err.Error()) + ")"
	}
	return msg
}

func (e *LimitError) Unwrap() error { return e.Err }

// Run runs a checked statement and streams its result to w in the given
// format: rows go from DuckDB's streaming result to w batch by batch, so
// memory does not grow with the result (the table format keeps at most
// MaxRows rows, to align them). The statement stops when ctx ends or after
// Timeout. Errors are one line; a statement stopped by a limit gives a
// *LimitError, one stopped by ctx gives ctx's error.
//
// A result cut short by an error leaves what was written in w: write to a
// temporary file and rename it on success when that matters.
func (s *Session) Run(ctx context.Context, st Statement, w io.Writer, opt RunOptions) (Result, error) {
	if opt.Format == FormatParquet {
		return Result{}, errors.New("parquet is written with CopyParquet")
	}
	maxRows := opt.MaxRows
	if maxRows <= 0 {
		maxRows = int(^uint(0) >> 1)
	}
	rw, err := NewWriter(opt.Format, w, maxRows)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := WithTimeout(ctx, opt.Timeout)
	defer cancel()
	rows, err := s.stream(ctx, st, rw)
	if err != nil {
		return Result{Rows: rows}, err
	}
	if t, ok := rw.(*tableWriter); ok {
		t.total = rows
	}
	n, err := rw.Close()
	if err != nil {
		return Result{Rows: rows}, fmt.Errorf("write the result: %w", err)
	}
	res := Result{Rows: n, Shown: n}
	if t, ok := rw.(*tableWriter); ok {
		res.Shown = int64(len(t.rows))
	}
	return res, nil
}

// Stream runs a checked statement and hands its schema and then each
// batch to w, as Run does, without closing w: for callers with a writer
// of their own (the web console's row cap). The statement stops when ctx
// ends; use WithTimeout for a time limit that errors say is one.
func (s *Session) Stream(ctx context.Context, st Statement, w ResultWriter) error {
	_, err := s.stream(ctx, st, w)
	return err
}

// stream runs st into w's Begin and Write (formatting on a goroutine of its
// own, overlapping DuckDB's work) and returns the result's row count.
func (s *Session) stream(ctx context.Context, st Statement, w ResultWriter) (int64, error) {
	ov := newOverlap(w)
	rows, err := s.db.Stream(ctx, st.SQL, w.Begin, ov.write)
	if werr := ov.finish(); werr != nil {
		return rows, fmt.Errorf("write the result: %w", werr)
	}
	if err != nil {
		return rows, s.runError(ctx, err)
	}
	return rows, nil
}

// Query checks text and runs each of its statements in order, writing the
// results to w (a blank line between two results). The machine formats
// (csv, json, jsonl) take exactly one statement. Nothing runs unless every
// statement passes Check.
func (s *Session) Query(ctx context.Context, text string, w io.Writer, opt RunOptions) ([]Result, error) {
	stmts, err := s.Check(text)
	if err != nil {
		return nil, err
	}
	if len(stmts) > 1 && opt.Format != FormatTable && opt.Format != FormatMarkdown {
		return nil, fmt.Errorf("--format %s writes one result, and the SQL holds %d statements: run them one at a time", opt.Format, len(stmts))
	}
	var out []Result
	for i, st := range stmts {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return out, err
			}
		}
		r, err := s.Run(ctx, st, w, opt)
		if err != nil {
			if len(stmts) > 1 {
				err = fmt.Errorf("statement %d: %w", i+1, err)
			}
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// CopyParquet writes the result of a checked query to path with DuckDB's
// COPY, which streams and compresses in parallel. path must be one of the
// session's WritablePaths. It returns the rows written.
// A time limit is ctx's: see WithTimeout.
func (s *Session) CopyParquet(ctx context.Context, st Statement, path string) (int64, error) {
	if st.Explain {
		return 0, errors.New("EXPLAIN returns a plan, not a table: use --format table or csv")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, err
	}
	// The query goes on lines of its own: a trailing -- comment ends at
	// the newline instead of swallowing the closing parenthesis.
	res, err := s.db.Exec(ctx, fmt.Sprintf("COPY (\n%s\n) TO %s (FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false)", st.SQL, duck.Quote(abs)))
	if err != nil {
		return 0, s.runError(ctx, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// WithTimeout returns ctx ending after d (d <= 0: no limit), marked so
// that a statement it stops fails with a *LimitError naming the limit.
func WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d > 0 {
		return context.WithTimeoutCause(ctx, d, &timeLimit{d})
	}
	return context.WithCancel(ctx)
}

// timeLimit is the cause of a context WithTimeout ended.
type timeLimit struct{ d time.Duration }

func (t *timeLimit) Error() string { return fmt.Sprintf("time limit of %s", t.d) }

// runError turns a failed statement's error into one line: a limit, the
// end of ctx, or DuckDB's message (with a hint about missing run views).
func (s *Session) runError(ctx context.Context, err error) error {
	var tl *timeLimit
	if ctx.Err() != nil && errors.As(context.Cause(ctx), &tl) {
		return &LimitError{Limit: "time", Duration: tl.d}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("the query was interrupted: %w", context.Cause(ctx))
	}
	msg := duck.Clean(err).Error()
	if duck.IsOutOfMemory(err) {
		if strings.Contains(msg, "max_temp_directory_size") {
			return &LimitError{Limit: "temp", Bytes: s.TempLimit, Err: errors.New(firstLine(msg))}
		}
		return &LimitError{Limit: "memory", Bytes: s.MemoryLimit, Err: errors.New(firstLine(msg))}
	}
	return s.explainError(err)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// FormatBytes writes a byte count for people (1.5 GiB).
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
