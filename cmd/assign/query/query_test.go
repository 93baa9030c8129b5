package query_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/cmd/assign/query"
	"github.com/assign-dev/assign/cmd/assign/root"
	"github.com/assign-dev/assign/internal/testhome"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// homeDir holds a small snapshot and a 14-day preassign run.
var homeDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "query-test-")
	if err != nil {
		panic(err)
	}
	homeDir = filepath.Join(dir, "home")
	if err := setupHome(homeDir); err != nil {
		panic(err)
	}
	if err := buildBinary(dir); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func setupHome(dir string) error {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	h, _, err := testhome.OpenSmall(ctx, dir, at)
	if err != nil {
		return err
	}
	_, err = testhome.Preassign(ctx, h, 14, at)
	return err
}

type result struct {
	out, err string
	code     int
}

// run runs assign in-process with the given standard input.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ios, in, out, errOut := cmdutil.Test()
	in.WriteString(stdin)
	f := cmdutil.New(ios)
	f.HomeDir = func() string { return homeDir }
	f.Now = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	code := root.MainWith(f, append([]string{"query"}, args...))
	return result{out.String(), errOut.String(), code}
}

const goldenSQL = `SELECT snack_id, name, category, launched_on, active,
       snack_id / 7 AS ratio, CASE WHEN snack_id % 2 = 0 THEN NULL ELSE 'odd' END AS note,
       TIMESTAMP '2026-03-01 08:30:00' + INTERVAL (snack_id) MINUTE AS seen_at
FROM snacks ORDER BY snack_id LIMIT 5`

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestFormatsGolden(t *testing.T) {
	for _, format := range []string{"table", "csv", "json", "jsonl", "markdown"} {
		t.Run(format, func(t *testing.T) {
			r := run(t, "", "--format", format, goldenSQL)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.err)
			}
			golden(t, format+".txt", r.out)
			if format == "table" && !strings.Contains(r.err, "5 rows in ") {
				t.Errorf("table footer on stderr: %q", r.err)
			}
			if format == "csv" && r.err != "" {
				t.Errorf("csv wrote decoration to stderr: %q", r.err)
			}
		})
	}
	t.Run("parquet", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "r.parquet")
		r := run(t, "", "--out", out, goldenSQL)
		if r.code != 0 || !strings.Contains(r.err, "Wrote 5 rows to "+out) {
			t.Fatalf("exit %d: %s", r.code, r.err)
		}
		// Reading the file back must give the csv golden exactly; the read
		// needs a session allowed to read out's folder, so copy it into
		// the runs folder first.
		dst := filepath.Join(homeDir, "runs", "golden-check.parquet")
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(dst)
		back := run(t, "", "--format", "csv", "FROM read_parquet('"+dst+"')")
		if back.code != 0 {
			t.Fatalf("read back: %s", back.err)
		}
		golden(t, "csv.txt", back.out)
		if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
			t.Errorf("temporary files left beside --out: %v", entries)
		}
	})
}

func TestOutFileFormatFromExtension(t *testing.T) {
	dir := t.TempDir()
	for ext, first := range map[string]string{".csv": "snack_id,name", ".jsonl": `{"snack_id":1,`, ".json": "[\n{", ".md": "| snack_id | name |"} {
		p := filepath.Join(dir, "x"+ext)
		r := run(t, "", "--out", p, "SELECT snack_id, name FROM snacks ORDER BY snack_id LIMIT 2")
		if r.code != 0 {
			t.Fatalf("%s: exit %d: %s", ext, r.code, r.err)
		}
		b, _ := os.ReadFile(p)
		if !strings.HasPrefix(string(b), first) {
			t.Errorf("%s starts %q, want %q", ext, b, first)
		}
	}
}

func TestSQLSources(t *testing.T) {
	want := "n\n60\n"
	if r := run(t, "", "SELECT count(*) AS n FROM snacks"); r.out != want {
		t.Errorf("argument: %+v", r)
	}
	if r := run(t, "SELECT count(*) AS n FROM snacks;\n"); r.out != want {
		t.Errorf("standard input: %+v", r)
	}
	f := filepath.Join(t.TempDir(), "q.sql")
	os.WriteFile(f, []byte("-- count\nSELECT count(*) AS n FROM snacks"), 0o644)
	if r := run(t, "", "-f", f); r.out != want {
		t.Errorf("-f: %+v", r)
	}
	if r := run(t, "SELECT count(*) AS n FROM snacks", "-f", "-"); r.out != want {
		t.Errorf("-f -: %+v", r)
	}
}

func TestFlagErrors(t *testing.T) {
	cases := []struct {
		args []string
		msg  string
	}{
		{nil, "no SQL given"},
		{[]string{"--format", "xml", "SELECT 1"}, `--format "xml"`},
		{[]string{"--format", "parquet", "SELECT 1"}, "needs --out"},
		{[]string{"--out", "x.weird", "SELECT 1"}, "cannot tell the format"},
		{[]string{"--date", "2026-3-2", "SELECT 1"}, "--date"},
		{[]string{"-f", "/no/such.sql"}, "-f /no/such.sql"},
		{[]string{"-f", "x.sql", "SELECT 1"}, "not both"},
		{[]string{"--format", "csv", "SELECT 1; SELECT 2"}, "holds 2 statements"},
		{[]string{"--memory-limit", "12XB", "SELECT 1"}, `--memory-limit "12XB": unknown unit`},
		{[]string{"--memory-limit", "lots", "SELECT 1"}, "want a size such as 512MB"},
		{[]string{"--memory-limit", "100MB", "SELECT 1"}, "must be at least 256.0 MiB"},
		{[]string{"--timeout", "-1s", "SELECT 1"}, "--timeout -1s"},
		{[]string{"--timeout", "soon", "SELECT 1"}, "--timeout"},
	}
	for _, c := range cases {
		r := run(t, "", c.args...)
		if r.code != cmdutil.ExitUsage || !strings.Contains(r.err, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %q", c.args, r.code, r.err, c.msg)
		}
	}
}

func TestRefusalExitsWithOneLine(t *testing.T) {
	r := run(t, "", "DROP TABLE snacks")
	if r.code != 1 || strings.Count(strings.TrimSpace(r.err), "\n") != 0 || !strings.HasPrefix(r.err, "assign: refused DROP") {
		t.Errorf("exit %d, stderr %q", r.code, r.err)
	}
}

func TestTableCapsRows(t *testing.T) {
	r := run(t, "", "--format", "table", "--max-rows", "3", "SELECT * FROM range(10)")
	if r.code != 0 || strings.Count(r.out, "\n") != 5 || !strings.Contains(r.err, "Showing the first 3 of 10 rows") {
		t.Errorf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
}

// The analysts' question from the help and docs/ANALYSTS.md runs and
// answers per category.
func TestShortageExample(t *testing.T) {
	r := run(t, "", "--format", "csv", query.ShortageExample)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if lines[0] != "category,snack,demand,short_units" || len(lines) < 3 {
		t.Errorf("shortage example output:\n%s", r.out)
	}
	help := run(t, "", "--help")
	if !strings.Contains(help.out, `assign query "`+query.ShortageExample+`"`) {
		t.Error("the shortage example is not in --help")
	}
	doc, err := os.ReadFile("../../../docs/ANALYSTS.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), `assign query "`+query.ShortageExample+`"`) {
		t.Error("the shortage example is not in docs/ANALYSTS.md")
	}
}
