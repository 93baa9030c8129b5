package dashboard

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/assign-dev/assign/analytics"
)

// The SQL console runs exactly what `assign query` runs, the way it runs
// it: each query in a process of its own (the server's binary, see
// RunWorker) that opens query's locked-down session with --memory-limit
// and --timeout, caps its own memory as query does, checks the text with
// the read-only guard, and streams the result through the same writers. A
// runaway query (a list past the memory limit, a recursion without end)
// ends that process with one line; the server and its other viewers go on.

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
