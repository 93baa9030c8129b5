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
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/assign-dev/assign/analytics"
)

// The SQL console runs exactly what `assign query` runs: the session's
// Check (the read-only guard) on the text, then Stream through the same
// result writers, so what the console refuses, shows and downloads is what
// the command line would.

type sqlRequest struct {
	SQL string `json:"sql"`
}

type sqlResult struct {
	Columns   []string   `json:"columns"`
	Numeric   []bool     `json:"numeric"`
	Rows      [][]string `json:"rows"`
	Nulls     [][]bool   `json:"-"`
	Total     int64      `json:"total"`
	Truncated bool       `json:"truncated"`
}

// capped passes the first max rows of a result to the CSV writer and
// counts the rest.
type capped struct {
	inner   analytics.ResultWriter
	max     int64
	shown   int64
	total   int64
	numeric []bool
}

func (c *capped) Begin(s *arrow.Schema) error {
	for _, f := range s.Fields() {
		switch f.Type.ID() {
		case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
			arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.DECIMAL256:
			c.numeric = append(c.numeric, true)
		default:
			c.numeric = append(c.numeric, false)
		}
	}
	return c.inner.Begin(s)
}

func (c *capped) Write(rec arrow.RecordBatch) error {
	n := rec.NumRows()
	c.total += n
	if room := c.max - c.shown; room > 0 {
		k := min(room, n)
		part := rec.NewSlice(0, k)
		defer part.Release()
		c.shown += k
		return c.inner.Write(part)
	}
	return nil
}

func (c *capped) Close() (int64, error) {
	_, err := c.inner.Close()
	return c.total, err
}

func readSQL(r *http.Request) (string, error) {
	var req sqlRequest
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
			return "", badRequest("the request is not valid JSON: %v", err)
		}
	} else {
		if err := r.ParseForm(); err != nil {
			return "", badRequest("%v", err)
		}
		req.SQL = r.PostForm.Get("sql")
	}
	if strings.TrimSpace(req.SQL) == "" {
		return "", badRequest("no SQL given: write a query such as SELECT * FROM snacks LIMIT 5")
	}
	return req.SQL, nil
}

// sqlQuery runs the console's SQL and answers every statement's columns
// and its first MaxRows rows (as text in the CSV conventions). A refusal
// or an error in the SQL is the answer to the viewer's text, not a failed
// request: it comes back as {"error": ...} with status 200.
func (s *Server) sqlQuery(ctx context.Context, r *http.Request) (any, error) {
	text, err := readSQL(r)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opt.QueryTimeout)
	defer cancel()
	started := time.Now()
	results := []sqlResult{}
	err = s.withSession(ctx, func(p *pooled) error {
		stmts, err := p.sess.Check(text)
		if err != nil {
			return &httpError{code: http.StatusBadRequest, err: err}
		}
		for i, st := range stmts {
			var buf bytes.Buffer
			w, err := analytics.NewWriter(analytics.FormatCSV, &buf, 0)
			if err != nil {
				return err
			}
			c := &capped{inner: w, max: int64(s.opt.MaxRows)}
			if err := p.sess.Stream(ctx, st, c); err != nil {
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return &httpError{code: http.StatusBadRequest, err: fmt.Errorf("statement %d took longer than %s and was stopped", i+1, s.opt.QueryTimeout)}
				}
				return &httpError{code: http.StatusBadRequest, err: fmt.Errorf("statement %d: %w", i+1, err)}
			}
			total, err := c.Close()
			if err != nil {
				return err
			}
			recs, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				return fmt.Errorf("read back the result: %w", err)
			}
			res := sqlResult{Numeric: c.numeric, Total: total, Truncated: total > c.shown, Rows: [][]string{}}
			if len(recs) > 0 {
				res.Columns, res.Rows = recs[0], recs[1:]
			}
			results = append(results, res)
		}
		return nil
	})
	var he *httpError
	if errors.As(err, &he) && he.code == http.StatusBadRequest {
		return map[string]any{"error": he.Error(), "results": []sqlResult{}}, nil
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"results": results, "seconds": time.Since(started).Seconds(), "max_rows": s.opt.MaxRows}, nil
}

// exportFormats maps the console's download formats to file extensions.
var exportFormats = map[string]string{
	analytics.FormatCSV: ".csv", analytics.FormatJSON: ".json", analytics.FormatJSONL: ".jsonl",
	analytics.FormatMarkdown: ".md", analytics.FormatParquet: ".parquet",
}

// sqlExport streams the whole result of one statement as a download, in
// the formats of assign query (Parquet written by DuckDB's COPY into a
// temporary file the session alone may write, as query --out does).
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
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.QueryTimeout)
	defer cancel()
	if format == analytics.FormatParquet {
		s.exportParquet(ctx, w, text)
		return
	}
	err = s.withSession(ctx, func(p *pooled) error {
		stmts, err := p.sess.Check(text)
		if err != nil {
			return err
		}
		if len(stmts) != 1 {
			return fmt.Errorf("a download holds one result, and the SQL has %d statements", len(stmts))
		}
		// The first batch decides success: headers go out with it.
		out, err := analytics.NewWriter(format, &lazyWriter{w: w, name: "query" + ext}, 1<<62)
		if err != nil {
			return err
		}
		if err := p.sess.Stream(ctx, stmts[0], out); err != nil {
			return err
		}
		_, err = out.Close()
		return err
	})
	if err != nil {
		if w.Header().Get("Content-Disposition") == "" {
			writeError(w, http.StatusBadRequest, err)
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

func (s *Server) exportParquet(ctx context.Context, w http.ResponseWriter, text string) {
	f, err := os.CreateTemp(s.home.TmpDir(), ".serve-export-*.parquet")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	tmp := f.Name()
	f.Close()
	os.Remove(tmp)
	defer os.Remove(tmp)
	sess, err := analytics.Open(ctx, s.home, analytics.Options{Threads: s.opt.Threads, WritablePaths: []string{tmp}})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	defer sess.Close()
	stmts, err := sess.Check(text)
	if err == nil && len(stmts) != 1 {
		err = fmt.Errorf("a download holds one result, and the SQL has %d statements", len(stmts))
	}
	if err == nil {
		_, err = sess.CopyParquet(ctx, stmts[0], tmp)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	pf, err := os.Open(tmp)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	defer pf.Close()
	w.Header().Set("Content-Disposition", `attachment; filename="query.parquet"`)
	w.Header().Set("Content-Type", "application/octet-stream")
	io.Copy(w, pf)
}
