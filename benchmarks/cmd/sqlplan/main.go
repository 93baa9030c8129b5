// Command sqlplan profiles the SQL side of a planning job: it loads the
// engine's inputs from a snapshot exactly as `assign preassign` does, with
// DuckDB's JSON profiler on, and prints for every statement its time and
// its heaviest operators (the figures behind EXPLAIN ANALYZE), slowest
// statement first. The full profiles are kept with --keep DIR.
//
//	go run -tags duckdb_arrow ./benchmarks/cmd/sqlplan \
//	    --snapshot benchmarks/.cache/homes/medium-seed1/snapshots/bench.duckdb
package main

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/policy"
)

func main() {
	snapshot := flag.String("snapshot", "", "snapshot database file (a data home's snapshots/NAME.duckdb)")
	date := flag.String("date", "2026-03-02", "first ship date D0")
	days := flag.Int("days", 28, "horizon in days")
	threads := flag.Int("threads", 0, "DuckDB threads (0: all cores)")
	top := flag.Int("top", 3, "operators shown per statement")
	keep := flag.String("keep", "", "folder to keep every statement's JSON profile in")
	flag.Parse()
	log.SetFlags(0)
	if *snapshot == "" {
		log.Fatal("sqlplan: --snapshot is required")
	}
	t, err := time.Parse(time.DateOnly, *date)
	if err != nil {
		log.Fatalf("sqlplan: --date: %v", err)
	}
	d0 := engine.DayOf(t)
	dir := *keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "sqlplan-"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	db, err := duck.OpenSnapshot(ctx, *snapshot, duck.Options{Threads: *threads})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, "SET enable_profiling = 'json'"); err != nil {
		log.Fatal(err)
	}
	p := &profiler{db: db, dir: dir}
	t0 := time.Now()
	if _, err := engine.LoadInputs(ctx, p, engine.LoadOptions{D0: d0, Days: *days, Policy: policy.Default()}); err != nil {
		log.Fatal(err)
	}
	total := time.Since(t0)

	slices.SortStableFunc(p.stmts, func(a, b stmt) int { return cmp.Compare(b.wall, a.wall) })
	var sum time.Duration
	for _, s := range p.stmts {
		sum += s.wall
	}
	fmt.Printf("engine inputs of %s, D0 %s, %d days: %d statements, %.2fs in statements, %.2fs in all (with the Go side)\n\n",
		filepath.Base(*snapshot), *date, *days, len(p.stmts), sum.Seconds(), total.Seconds())
	for _, s := range p.stmts {
		fmt.Printf("%6.3fs  %s (%d rows out)\n", s.wall.Seconds(), s.name, s.rows)
		for i, o := range s.ops {
			if i == *top {
				break
			}
			fmt.Printf("          %6.3fs  %-22s %12d rows  %s\n", o.Time, o.Name, o.Rows, o.Extra)
		}
	}
}

// stmt is one profiled statement.
type stmt struct {
	name string
	wall time.Duration
	rows int64
	ops  []operator
}

// operator is one node of a DuckDB JSON profile, flattened.
type operator struct {
	Name  string
	Time  float64
	Rows  int64
	Extra string
}

// profiler is an engine.DB that profiles every statement into its own file.
type profiler struct {
	db    *duck.DB
	dir   string
	stmts []stmt
}

var (
	firstLine = regexp.MustCompile(`^--\s*(\w+)`)
	tempTable = regexp.MustCompile(`(?i)CREATE OR REPLACE TEMP TABLE (\w+)`)
)

// name is the statement's label: the SQL file's name (every file starts
// with a "-- name: ..." comment) or, for the statements of inputs_prepare,
// the temp table they create.
func name(q string) string {
	if m := tempTable.FindStringSubmatch(q); m != nil {
		return "inputs_prepare: " + m[1]
	}
	if m := firstLine.FindStringSubmatch(strings.TrimSpace(q)); m != nil {
		return m[1]
	}
	s := strings.Join(strings.Fields(q), " ")
	return s[:min(60, len(s))]
}

func (p *profiler) profile(q string, run func() (int64, error)) error {
	file := filepath.Join(p.dir, fmt.Sprintf("%02d.json", len(p.stmts)))
	if _, err := p.db.Exec(context.Background(), "SET profiling_output = "+duck.Quote(file)); err != nil {
		return err
	}
	t0 := time.Now()
	rows, err := run()
	wall := time.Since(t0)
	if err != nil {
		return err
	}
	ops, err := readProfile(file)
	if err != nil {
		return fmt.Errorf("profile of %s: %w", name(q), err)
	}
	p.stmts = append(p.stmts, stmt{name: name(q), wall: wall, rows: rows, ops: ops})
	return nil
}

// Exec runs a script one statement at a time, so each gets a profile.
func (p *profiler) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	var res sql.Result
	for _, s := range statements(q) {
		if err := p.profile(s, func() (int64, error) {
			r, err := p.db.Exec(ctx, s, args...)
			res = r
			return 0, err
		}); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (p *profiler) QueryArrow(ctx context.Context, q string, fn func(rec arrow.RecordBatch) error, args ...any) error {
	return p.profile(q, func() (int64, error) {
		var n int64
		err := p.db.QueryArrow(ctx, q, func(rec arrow.RecordBatch) error {
			n += rec.NumRows()
			return fn(rec)
		}, args...)
		return n, err
	})
}

// statements splits a script at lines that end in ';' outside comments.
func statements(script string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.SplitAfter(script, "\n") {
		cur.WriteString(line)
		t := strings.TrimSpace(line)
		if strings.HasSuffix(t, ";") && !strings.HasPrefix(t, "--") {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

// readProfile flattens a JSON profile into its operators, slowest first.
func readProfile(file string) ([]operator, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	type node struct {
		Name     string            `json:"operator_name"`
		Timing   float64           `json:"operator_timing"`
		Rows     int64             `json:"operator_cardinality"`
		Extra    map[string]any    `json:"extra_info"`
		Children []json.RawMessage `json:"children"`
	}
	var ops []operator
	var walk func(raw json.RawMessage) error
	walk = func(raw json.RawMessage) error {
		var n node
		if err := json.Unmarshal(raw, &n); err != nil {
			return err
		}
		if n.Name != "" {
			ops = append(ops, operator{Name: n.Name, Time: n.Timing, Rows: n.Rows, Extra: extra(n.Extra)})
		}
		for _, c := range n.Children {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(b); err != nil {
		return nil, err
	}
	slices.SortStableFunc(ops, func(a, b operator) int {
		switch {
		case a.Time > b.Time:
			return -1
		case a.Time < b.Time:
			return 1
		}
		return 0
	})
	return ops, nil
}

// extra is a short description of an operator: its table, join condition
// or groups.
func extra(m map[string]any) string {
	for _, k := range []string{"Table", "Conditions", "Groups", "Join Type", "Aggregates"} {
		if v, ok := m[k]; ok {
			s := strings.Join(strings.Fields(fmt.Sprint(v)), " ")
			if len(s) > 70 {
				s = s[:70] + "..."
			}
			return k + ": " + s
		}
	}
	return ""
}
