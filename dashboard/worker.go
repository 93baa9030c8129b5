package dashboard

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/assign-dev/assign/analytics"
	"github.com/assign-dev/assign/store"
)

// workerRequest is what the server sends a console worker on its standard
// input: one query to run.
type workerRequest struct {
	Home string `json:"home"`
	SQL  string `json:"sql"`
	// Format is empty for the console's page (the JSON of consoleAnswer),
	// else a download format of assign query (the whole result).
	Format      string        `json:"format,omitempty"`
	MaxRows     int           `json:"max_rows"`
	MemoryLimit int64         `json:"memory_limit"`
	Timeout     time.Duration `json:"timeout"`
	Threads     int           `json:"threads"`
}

// consoleAnswer is the console page's answer.
type consoleAnswer struct {
	Results  []sqlResult `json:"results"`
	Warnings []string    `json:"warnings,omitempty"`
	Seconds  float64     `json:"seconds"`
	MaxRows  int         `json:"max_rows"`
	Error    string      `json:"error,omitempty"`
}

// WorkerFlag is the hidden flag of assign serve that makes the process a
// console worker (RunWorker) instead of a server.
const WorkerFlag = "sql-worker"

// RunWorker runs one console query, read as JSON from in, the way `assign
// query` runs it: the process's memory capped at the limit plus
// analytics.ProcessHeadroom, query's locked-down session with that memory
// limit (damaged runs skipped with a warning), the read-only guard, the
// time limit, results streamed. The console's answer (or, for a download,
// the whole result in its format) goes to out. A failure is the error
// returned: one line for the server to show.
func RunWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	var req workerRequest
	if err := json.NewDecoder(io.LimitReader(in, 4<<20)).Decode(&req); err != nil {
		return fmt.Errorf("read the console request: %w", err)
	}
	if req.MemoryLimit <= 0 {
		req.MemoryLimit = analytics.DefaultMemoryLimit()
	}
	defer analytics.CapProcessMemory(req.MemoryLimit + analytics.ProcessHeadroom)()
	home, err := store.Open(req.Home)
	if err != nil {
		return err
	}
	var tmp string
	if req.Format == analytics.FormatParquet {
		// DuckDB's COPY writes Parquet into a file only this session may
		// write; it is then copied out, as query --out does.
		f, err := os.CreateTemp("", "assign-console-*.parquet")
		if err != nil {
			return err
		}
		tmp = f.Name()
		f.Close()
		os.Remove(tmp)
		defer os.Remove(tmp)
	}
	var writable []string
	if tmp != "" {
		writable = []string{tmp}
	}
	started := time.Now()
	sess, err := analytics.Open(ctx, home, analytics.Options{Threads: req.Threads, MemoryLimit: req.MemoryLimit, WritablePaths: writable})
	if err != nil {
		return err
	}
	defer sess.Close()
	stmts, err := sess.Check(req.SQL)
	if err != nil {
		return err
	}
	limited := func(err error) error {
		var le *analytics.LimitError
		if errors.As(err, &le) {
			return fmt.Errorf("%w: narrow the query (the console's limits are assign serve's --memory-limit and --timeout)", err)
		}
		return err
	}
	if req.Format != "" {
		if len(stmts) != 1 {
			return fmt.Errorf("a download holds one result, and the SQL has %d statements", len(stmts))
		}
		qctx, cancel := analytics.WithTimeout(ctx, req.Timeout)
		defer cancel()
		if tmp != "" {
			if _, err := sess.CopyParquet(qctx, stmts[0], tmp); err != nil {
				return limited(err)
			}
			f, err := os.Open(tmp)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(out, f)
			return err
		}
		w, err := analytics.NewWriter(req.Format, out, 1<<62)
		if err != nil {
			return err
		}
		if err := sess.Stream(qctx, stmts[0], w); err != nil {
			return limited(err)
		}
		_, err = w.Close()
		return err
	}
	ans := consoleAnswer{Results: []sqlResult{}, Warnings: sess.Warnings, MaxRows: req.MaxRows}
	for i, st := range stmts {
		res, err := consoleResult(ctx, sess, st, req)
		if err != nil {
			err = limited(err)
			if len(stmts) > 1 {
				err = fmt.Errorf("statement %d: %w", i+1, err)
			}
			return err
		}
		ans.Results = append(ans.Results, res)
	}
	ans.Seconds = time.Since(started).Seconds()
	return json.NewEncoder(out).Encode(ans)
}

// consoleResult runs one statement and keeps its first MaxRows rows as
// text in the CSV conventions.
func consoleResult(ctx context.Context, sess *analytics.Session, st analytics.Statement, req workerRequest) (sqlResult, error) {
	var buf bytes.Buffer
	w, err := analytics.NewWriter(analytics.FormatCSV, &buf, 0)
	if err != nil {
		return sqlResult{}, err
	}
	c := &capped{inner: w, max: int64(req.MaxRows)}
	qctx, cancel := analytics.WithTimeout(ctx, req.Timeout)
	defer cancel()
	if err := sess.Stream(qctx, st, c); err != nil {
		return sqlResult{}, err
	}
	total, err := c.Close()
	if err != nil {
		return sqlResult{}, err
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		return sqlResult{}, fmt.Errorf("read back the result: %w", err)
	}
	res := sqlResult{Numeric: c.numeric, Total: total, Truncated: total > c.shown, Rows: [][]string{}}
	if len(recs) > 0 {
		res.Columns, res.Rows = recs[0], recs[1:]
	}
	return res, nil
}

// workerGrace is how long past the time limit a worker may take to stop
// by itself (DuckDB checks for interruption between vectors; a huge list
// is built in one go) before the server kills it.
const workerGrace = 10 * time.Second

// consoleError is a console query that failed: the answer to the viewer's
// text, shown on the page, not a failed request.
type consoleError struct{ msg string }

func (e *consoleError) Error() string { return e.msg }

// runWorker runs req in a worker process, its output to out. The process
// is killed when ctx ends or workerGrace after the time limit.
func (s *Server) runWorker(ctx context.Context, req workerRequest, out io.Writer) error {
	if len(s.opt.Worker) == 0 {
		return errors.New("this server has no SQL console worker (Options.Worker)")
	}
	select {
	case s.console <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.console }()
	req.Home, req.MaxRows, req.MemoryLimit, req.Timeout, req.Threads = s.home.Dir, s.opt.MaxRows, s.opt.MemoryLimit, s.opt.QueryTimeout, s.opt.Threads
	in, err := json.Marshal(req)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, req.Timeout+workerGrace)
	defer cancel()
	cmd := exec.CommandContext(wctx, s.opt.Worker[0], s.opt.Worker[1:]...)
	cmd.Env = append(os.Environ(), s.opt.WorkerEnv...)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout = out
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{b: &stderr, max: 64 << 10}
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if wctx.Err() != nil {
		return &consoleError{fmt.Sprintf("the query ran longer than the time limit of %s and was stopped: narrow the query (the console's limits are assign serve's --memory-limit and --timeout)", req.Timeout)}
	}
	msg := strings.TrimSpace(stderr.String())
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ee.ExitCode() > 0 && strings.HasPrefix(msg, "assign: ") && !strings.Contains(msg, "\n") {
			return &consoleError{strings.TrimPrefix(msg, "assign: ")}
		}
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() || strings.Contains(msg, "out of memory") {
			// The kernel's OOM killer, or the Go runtime failing an
			// allocation under the process's memory cap.
			return &consoleError{fmt.Sprintf("the query needed more than the memory limit of %s and its process was stopped: narrow the query (the console's limits are assign serve's --memory-limit and --timeout)", analytics.FormatBytes(req.MemoryLimit))}
		}
	}
	s.opt.Logger.Info("console worker failed", "err", err, "stderr", msg)
	return fmt.Errorf("the query's process failed (%v): %s", err, lastLine(msg))
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// sqlQuery runs the console's SQL in a worker and answers every
// statement's columns and first MaxRows rows. A refusal, an error in the
// SQL or a limit reached is the answer to the viewer's text, not a failed
// request: it comes back as {"error": ...} with status 200.
func (s *Server) sqlQuery(ctx context.Context, r *http.Request) (any, error) {
	text, err := readSQL(r)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = s.runWorker(ctx, workerRequest{SQL: text}, &out)
	var ce *consoleError
	if errors.As(err, &ce) {
		return consoleAnswer{Results: []sqlResult{}, Error: ce.msg, MaxRows: s.opt.MaxRows}, nil
	}
	if err != nil {
		return nil, err
	}
	var ans consoleAnswer
	if err := json.Unmarshal(out.Bytes(), &ans); err != nil {
		return nil, fmt.Errorf("read the console worker's answer: %w", err)
	}
	return ans, nil
}

// exportFormats maps the console's download formats to file extensions.
var exportFormats = map[string]string{
	analytics.FormatCSV: ".csv", analytics.FormatJSON: ".json", analytics.FormatJSONL: ".jsonl",
	analytics.FormatMarkdown: ".md", analytics.FormatParquet: ".parquet",
}

// sqlExport streams the whole result of one statement as a download, in
// the formats of assign query, from a worker.
func (s *Server) sqlExport(w http.ResponseWriter, r *http.Request) {
	text, err := readSQL(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	format := r.FormValue("format")
	ext, ok := exportFormats[format]
	if !ok {
		writeError(w, http.StatusBadRequest, fmt.Errorf("format %q: must be csv, json, jsonl, markdown or parquet", format))
		return
	}
	lw := &lazyWriter{w: w, name: "query" + ext}
	err = s.runWorker(r.Context(), workerRequest{SQL: text, Format: format}, lw)
	if err != nil {
		if !lw.started {
			code := http.StatusInternalServerError
			var ce *consoleError
			if errors.As(err, &ce) {
				code = http.StatusBadRequest
			}
			writeError(w, code, err)
		}
		s.opt.Logger.Info("export failed", "err", err)
	}
}

// lazyWriter sets the download headers on the first write, so an error
// before any output can still be answered as an error.
type lazyWriter struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (l *lazyWriter) Write(b []byte) (int, error) {
	if !l.started {
		l.started = true
		l.w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", l.name))
		l.w.Header().Set("Content-Type", "application/octet-stream")
	}
	return l.w.Write(b)
}
