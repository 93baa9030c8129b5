// Package compare diffs two run folders holding the four SPEC section 5
// tables as CSV (boxes, demand, snack_summary, short_boxes), row by row by
// each table's key. It is how the fast engine is checked against the naive
// reference: any difference is either a bug in one of them or a reading of
// the SPEC the two settled differently, and the report names the row and
// column so a human can tell which.
package compare

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Kind classifies a Difference.
type Kind string

const (
	// Missing is a row of want with no row of the same key in got.
	Missing Kind = "missing"
	// Extra is a row of got with no row of the same key in want.
	Extra Kind = "extra"
	// Field is a column whose values differ for the same key.
	Field Kind = "field"
	// Header is a file whose columns are not the SPEC's, in the SPEC's order.
	Header Kind = "header"
	// Duplicate is a key that occurs twice in one file.
	Duplicate Kind = "duplicate"
	// Order is a file whose rows are not in the SPEC's sort order.
	Order Kind = "order"
)

// Side names which folder a file-level difference (header, duplicate, order)
// was found in.
type Side string

// The two sides of a comparison.
const (
	Want Side = "want"
	Got  Side = "got"
)

// Difference is one row-level (or file-level) mismatch between two runs.
type Difference struct {
	Table  string // boxes, demand, snack_summary or short_boxes
	Kind   Kind
	Side   Side   // for header, duplicate and order: the file at fault
	Key    string // "ship_on=2026-01-10 user_id=1 position=2"; empty for header
	Column string // for field differences
	Want   string // the want value (field), row (missing) or expectation
	Got    string // the got value (field), row (extra) or what was found
	Line   int    // 1-based line in the file concerned, header = line 1; 0 if none
}

// String is the one-line human form of d.
func (d Difference) String() string {
	at := d.Table
	if d.Key != "" {
		at += " [" + d.Key + "]"
	}
	switch d.Kind {
	case Missing:
		return fmt.Sprintf("%s: missing in got (want line %d: %s)", at, d.Line, d.Want)
	case Extra:
		return fmt.Sprintf("%s: extra in got (got line %d: %s)", at, d.Line, d.Got)
	case Field:
		return fmt.Sprintf("%s: %s differs: want %s, got %s", at, d.Column, show(d.Want), show(d.Got))
	case Header:
		return fmt.Sprintf("%s: %s header is %s, want %s", at, d.Side, d.Got, d.Want)
	case Duplicate:
		return fmt.Sprintf("%s: key occurs twice in %s (line %d)", at, d.Side, d.Line)
	case Order:
		return fmt.Sprintf("%s: %s line %d is out of order (rows must be sorted by %s)", at, d.Side, d.Line, d.Want)
	}
	return fmt.Sprintf("%s: %s", at, d.Kind)
}

func show(v string) string {
	if v == "" {
		return "(empty)"
	}
	return v
}

// table describes one output table of SPEC section 5.
type table struct {
	name    string
	columns []string
	key     []string
	doubles []string // DOUBLE columns, compared with a tolerance
	ints    []string // integer key columns, ordered numerically
}

// Tables are the four CSV tables in report order.
var tables = []table{
	{"boxes", []string{"ship_on", "user_id", "position", "snack_id", "lot_id", "score", "requested"},
		[]string{"ship_on", "user_id", "position"}, []string{"score"}, []string{"user_id", "position"}},
	{"demand", []string{"ship_on", "snack_id", "demand", "covered", "shortage"},
		[]string{"ship_on", "snack_id"}, nil, []string{"snack_id"}},
	{"snack_summary", []string{"snack_id", "demand", "stock_usable", "covered", "shortage"},
		[]string{"snack_id"}, nil, []string{"snack_id"}},
	{"short_boxes", []string{"ship_on", "user_id", "box_size", "filled"},
		[]string{"ship_on", "user_id"}, nil, []string{"user_id"}},
}

// csvFile is one table file read whole.
type csvFile struct {
	path   string
	header []string
	rows   [][]string // data rows; rows[i] is on line i+2
	col    map[string]int
}

func readCSV(dir, name string) (*csvFile, error) {
	path := filepath.Join(dir, name+".csv")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist; pass run folders holding the CSV tables (--format csv)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s is empty; a table file has at least its header row", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	cf := &csvFile{path: path, header: header, col: map[string]int{}}
	for i, c := range header {
		cf.col[c] = i
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		cf.rows = append(cf.rows, rec)
	}
	return cf, nil
}

// CompareDirs reads boxes.csv, demand.csv, snack_summary.csv and
// short_boxes.csv from the run folders want and got and returns every
// difference: headers that are not the SPEC's, files out of SPEC order, keys
// occurring twice, rows missing from or extra in got, and fields that differ
// for the same key. DOUBLE columns (boxes.score) match when within absolute
// tolerance tol; every other field must be byte-identical. The result is in
// a fixed order: table, then file-level findings, then want's row order,
// then got's extra rows. An error means a file could not be read at all.
func CompareDirs(want, got string, tol float64) ([]Difference, error) {
	var out []Difference
	for _, t := range tables {
		w, err := readCSV(want, t.name)
		if err != nil {
			return nil, err
		}
		g, err := readCSV(got, t.name)
		if err != nil {
			return nil, err
		}
		out = append(out, compareTable(t, w, g, tol)...)
	}
	return out, nil
}

func compareTable(t table, w, g *csvFile, tol float64) []Difference {
	var out []Difference
	usable := true
	for _, f := range []struct {
		side Side
		file *csvFile
	}{{Want, w}, {Got, g}} {
		if !slices.Equal(f.file.header, t.columns) {
			out = append(out, Difference{Table: t.name, Kind: Header, Side: f.side, Line: 1,
				Want: strings.Join(t.columns, ","), Got: strings.Join(f.file.header, ",")})
		}
		for _, k := range t.key {
			if _, ok := f.file.col[k]; !ok {
				usable = false
			}
		}
	}
	if !usable {
		// Without its key columns a file cannot be matched row by row; the
		// header difference above says why.
		return out
	}
	wIdx, wDiffs := index(t, w, Want)
	gIdx, gDiffs := index(t, g, Got)
	out = append(out, wDiffs...)
	out = append(out, gDiffs...)
	// Columns compared: the SPEC's, in order, where both files have them.
	var cols []string
	for _, c := range t.columns {
		_, inW := w.col[c]
		_, inG := g.col[c]
		if inW && inG && !slices.Contains(t.key, c) {
			cols = append(cols, c)
		}
	}
	for i, row := range w.rows {
		k := keyOf(t, w, row)
		j, ok := gIdx[k]
		if !ok {
			out = append(out, Difference{Table: t.name, Kind: Missing, Key: k, Line: i + 2, Want: strings.Join(row, ",")})
			continue
		}
		if wIdx[k] != i {
			continue // a duplicate in want, already reported
		}
		grow := g.rows[j]
		for _, c := range cols {
			a, b := field(w, row, c), field(g, grow, c)
			if !sameValue(a, b, slices.Contains(t.doubles, c), tol) {
				out = append(out, Difference{Table: t.name, Kind: Field, Key: k, Column: c, Want: a, Got: b, Line: j + 2})
			}
		}
	}
	for j, row := range g.rows {
		k := keyOf(t, g, row)
		if _, ok := wIdx[k]; !ok {
			out = append(out, Difference{Table: t.name, Kind: Extra, Key: k, Line: j + 2, Got: strings.Join(row, ",")})
		}
	}
	return out
}

// index maps each key to its first row and reports duplicates and the first
// row out of the SPEC sort order.
func index(t table, f *csvFile, side Side) (map[string]int, []Difference) {
	idx := map[string]int{}
	var diffs []Difference
	orderReported := false
	for i, row := range f.rows {
		k := keyOf(t, f, row)
		if _, dup := idx[k]; dup {
			diffs = append(diffs, Difference{Table: t.name, Kind: Duplicate, Side: side, Key: k, Line: i + 2})
		} else {
			idx[k] = i
		}
		if i > 0 && !orderReported && compareKeys(t, f, f.rows[i-1], row) > 0 {
			diffs = append(diffs, Difference{Table: t.name, Kind: Order, Side: side, Key: k, Line: i + 2,
				Want: "(" + strings.Join(t.key, ", ") + ")"})
			orderReported = true
		}
	}
	return idx, diffs
}

func field(f *csvFile, row []string, col string) string {
	i, ok := f.col[col]
	if !ok || i >= len(row) {
		return ""
	}
	return row[i]
}

func keyOf(t table, f *csvFile, row []string) string {
	parts := make([]string, len(t.key))
	for i, k := range t.key {
		parts[i] = k + "=" + field(f, row, k)
	}
	return strings.Join(parts, " ")
}

// compareKeys orders rows by the table key: integer columns numerically
// (falling back to text when a value is not an integer), dates as text,
// which for YYYY-MM-DD is date order.
func compareKeys(t table, f *csvFile, a, b []string) int {
	for _, k := range t.key {
		x, y := field(f, a, k), field(f, b, k)
		if slices.Contains(t.ints, k) {
			xi, err1 := strconv.ParseInt(x, 10, 64)
			yi, err2 := strconv.ParseInt(y, 10, 64)
			if err1 == nil && err2 == nil {
				if c := cmp.Compare(xi, yi); c != 0 {
					return c
				}
				continue
			}
		}
		if c := strings.Compare(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// sameValue compares two CSV fields; doubles within tol (NaN equals NaN,
// infinities equal themselves), everything else byte for byte.
func sameValue(a, b string, double bool, tol float64) bool {
	if a == b {
		return true
	}
	if !double {
		return false
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	switch {
	case math.IsNaN(x) || math.IsNaN(y):
		return math.IsNaN(x) && math.IsNaN(y)
	case math.IsInf(x, 0) || math.IsInf(y, 0):
		return x == y
	}
	return math.Abs(x-y) <= tol
}

// Report formats diffs for a human: a count per table and kind, then the
// first max differences one per line (all when max <= 0).
func Report(diffs []Difference, max int) string {
	if len(diffs) == 0 {
		return "no differences\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d difference(s):", len(diffs))
	type tk struct{ table, kind string }
	counts := map[tk]int{}
	var order []tk
	for _, d := range diffs {
		k := tk{d.Table, string(d.Kind)}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	for i, k := range order {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(&b, "%s %s %d %s", sep, k.table, counts[k], k.kind)
	}
	b.WriteString("\n")
	for i, d := range diffs {
		if max > 0 && i == max {
			fmt.Fprintf(&b, "... and %d more (raise --max to see them)\n", len(diffs)-max)
			break
		}
		b.WriteString(d.String())
		b.WriteString("\n")
	}
	return b.String()
}
