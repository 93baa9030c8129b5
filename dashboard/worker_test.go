package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func postSQL(t *testing.T, c *http.Client, base, sql string) consoleAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"sql": sql})
	res, err := c.Post(base+"/api/sql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var a consoleAnswer
	if res.StatusCode != 200 || json.Unmarshal(b, &a) != nil {
		t.Fatalf("%s: %d %s", sql, res.StatusCode, b)
	}
	return a
}

// The SQL console runs each query as assign query does, in a process of
// its own: a side-effect function is refused, a query past the memory
// limit (a list DuckDB's buffer manager does not count) and one past the
// time limit end with one line naming the limit, the server answers the
// next query, a damaged run is skipped with a warning, and nothing is
// written.
func TestConsoleIsHardenedLikeQuery(t *testing.T) {
	f := newFixture(t)
	_, ts := f.server(t, Options{Loopback: true, MemoryLimit: 512 << 20, QueryTimeout: 2 * time.Second})
	c := ts.Client()
	before, _ := os.ReadDir(f.home.RunsDir())

	for sql, want := range map[string]string{
		"SELECT * FROM enable_logging(storage = 'file', storage_path = '/tmp')":                  "refused enable_logging()",
		"SELECT len(range(0, 400000000)) AS n":                                                   "memory limit of 512.0 MiB",
		"SELECT len(range(0, 4000000000)) AS n":                                                  "memory limit of 512.0 MiB",
		"WITH RECURSIVE t(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM t) SELECT count(*) FROM t": "time limit of 2s",
		"COPY (SELECT 1) TO '" + filepath.Join(f.home.RunsDir(), "x.csv") + "'":                  "refused COPY",
	} {
		started := time.Now()
		a := postSQL(t, c, ts.URL, sql)
		if !strings.Contains(a.Error, want) || strings.Contains(a.Error, "\n") || len(a.Results) != 0 {
			t.Errorf("%s: error %q, want one line with %q", sql, a.Error, want)
		}
		if took := time.Since(started); took > 30*time.Second {
			t.Errorf("%s: took %s", sql, took)
		}
	}
	// A download past the limit is an error, not a file.
	res, err := c.PostForm(ts.URL+"/api/sql/export", url.Values{"format": {"csv"}, "sql": {"SELECT len(range(0, 400000000)) AS n"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "memory limit") || res.Header.Get("Content-Disposition") != "" {
		t.Errorf("export past the memory limit: %d %q %s", res.StatusCode, res.Header.Get("Content-Disposition"), b)
	}

	// A damaged run: its boxes are not Parquet. The console skips it with a
	// warning and answers from the rest.
	if err := os.WriteFile(filepath.Join(f.home.RunsDir(), f.run, "boxes.parquet"), []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := postSQL(t, c, ts.URL, "SELECT count(*) AS n FROM latest_preassign.boxes")
	if a.Error != "" || len(a.Results) != 1 || a.Results[0].Rows[0][0] == "0" {
		t.Fatalf("after a damaged run: %+v", a)
	}
	if w := strings.Join(a.Warnings, "\n"); !strings.Contains(w, f.run) {
		t.Errorf("warnings %q do not name the damaged run %s", w, f.run)
	}
	after, _ := os.ReadDir(f.home.RunsDir())
	if len(after) != len(before) {
		t.Errorf("the console wrote into the runs folder: %d entries, then %d", len(before), len(after))
	}
	if a := postSQL(t, c, ts.URL, fmt.Sprintf("SELECT name FROM snacks WHERE snack_id = %d", f.evilID)); a.Error != "" || a.Results[0].Rows[0][0] != evilName {
		t.Errorf("a query after the runaway ones: %+v", a)
	}
}
