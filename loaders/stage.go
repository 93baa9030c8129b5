package loaders

import (
	"bufio"
	"context"
	"database/sql/driver"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/assign-dev/assign/duck"
)

// Per-column result codes packed two bits per spec column into the
// __assign_bad column of a staged table (column i at bits 2i, 2i+1).
const (
	codeOK      = 0
	codeMissing = 1 // NULL, empty CSV field, absent JSON key
	codeType    = 2 // not of the column's type (text rules, range of the type)
	codeCheck   = 3 // of the right type but breaks the column's rule
)

// Internal column names of the staged tables; prefixed so they cannot meet a
// source column.
const (
	colBad  = "__assign_bad"
	colFile = "__assign_f"
	colRow  = "__assign_r"
)

// fileCol is one column of a source file.
type fileCol struct {
	Name string // as in the file (header, key, field name)
	Type string // DuckDB type; VARCHAR for text sources
	Expr string // SQL reading it from the scan aliased src
}

// stagedFile is a source file read into a temporary table of typed values
// (NULL where a value breaks the type rules) plus the per-row code mask.
// The table's rowid is the row's ordinal in the file (insertion order is
// preserved), which is what positions are computed from.
type stagedFile struct {
	SourceFile
	idx    int
	tmp    string
	cols   []fileCol
	spec   []int // per spec column, its index in cols
	extras []int // indices in cols of extra columns, in file order
	hidden []int // indices in cols of a feed's hidden key columns
	rows   int64
	// shape is Go's reading of a text file (nil for typed files): its
	// record count, which rows must equal, and its longest record, which
	// sets DuckDB's line limit for every read of the file.
	shape *textShape
}

// longest is the byte length of the file's longest record (0 when unknown).
func (s *stagedFile) longest() int64 {
	if s.shape == nil {
		return 0
	}
	return s.shape.longest
}

func (s *stagedFile) specCol(i int) fileCol { return s.cols[s.spec[i]] }

// matchColumns maps the file's columns to the table's: names match
// case-insensitively (ignoring surrounding spaces), order is free, extra
// columns are kept.
func matchColumns(t Table, sf *stagedFile) error {
	seen := map[string]int{}
	for i := range sf.cols {
		if strings.TrimSpace(sf.cols[i].Name) == "" {
			sf.cols[i].Name = fmt.Sprintf("column%d", i+1)
		}
		key := strings.ToLower(strings.TrimSpace(sf.cols[i].Name))
		if j, dup := seen[key]; dup {
			return &FileError{Table: t.Name, File: sf.Rel, Msg: fmt.Sprintf("has two columns named %s and %s (column names are matched case-insensitively); rename or drop one", echo(sf.cols[j].Name), echo(sf.cols[i].Name))}
		}
		if sf.Feed != nil && isKeyColumn(key) {
			sf.hidden = append(sf.hidden, i)
			continue
		}
		seen[key] = i
		switch key {
		case colBad, colFile, colRow:
			return &FileError{Table: t.Name, File: sf.Rel, Msg: fmt.Sprintf("has a column named %s, a name assign reserves; rename it", echo(sf.cols[i].Name))}
		}
	}
	sf.spec = make([]int, len(t.Columns))
	used := map[int]bool{}
	var missing []string
	for ci, c := range t.Columns {
		j, ok := seen[c.Name]
		if !ok {
			missing = append(missing, c.Name)
			continue
		}
		sf.spec[ci] = j
		used[j] = true
	}
	if len(missing) > 0 {
		var names []string
		for _, c := range sf.cols {
			names = append(names, c.Name)
		}
		msg := fmt.Sprintf("table %s needs %s %s, which the file lacks (its columns: %s; names are matched case-insensitively)",
			t.Name, plural(int64(len(missing)), "column", "columns"), strings.Join(missing, ", "), echoNames(names, 20))
		if sf.Format == CSV && len(sf.cols) == 1 && strings.ContainsAny(sf.cols[0].Name, ";\t|") {
			msg += "; the header looks delimited by something other than a comma, and CSV files must use commas"
		}
		return &FileError{Table: t.Name, File: sf.Rel, Msg: msg}
	}
	for i := range sf.cols {
		if !used[i] && !slices.Contains(sf.hidden, i) {
			sf.extras = append(sf.extras, i)
		}
	}
	return nil
}

// typedSelect is the statement creating the staged table from the scan in
// from (aliased src): typed spec columns under their spec names, extra
// columns under their own names, and the code mask. Incompatible typed
// columns are a FileError.
func typedSelect(t Table, sf *stagedFile, from string) (string, error) {
	// Three levels: read each raw value once and pre-convert it, finish
	// the conversion, then code the rules.
	var read, conv, outer, mask []string
	for i, c := range t.Columns {
		fc := sf.specCol(i)
		cv, ok := convert(c, fc.Type)
		if !ok {
			return "", &FileError{Table: t.Name, File: sf.Rel, Msg: fmt.Sprintf("column %s of table %s has type %s; expected %s", echoName(fc.Name), t.Name, fc.Type, wantedTypes(c))}
		}
		s, p, v, n := fmt.Sprintf("s%d", i), fmt.Sprintf("p%d", i), fmt.Sprintf("v%d", i), fmt.Sprintf("n%d", i)
		read = append(read, fmt.Sprintf("%s AS %s", fc.Expr, s), fmt.Sprintf("%s AS %s", strings.ReplaceAll(cv.Pre, "{s}", fc.Expr), p))
		post := strings.NewReplacer("{p}", p, "{s}", s).Replace(cv.Post)
		conv = append(conv, fmt.Sprintf("%s AS %s", post, v), fmt.Sprintf("%s IS NULL AS %s", s, n))
		outer = append(outer, fmt.Sprintf("%s AS %s", v, duck.Ident(c.Name)))
		code := fmt.Sprintf("WHEN %s THEN %d WHEN %s IS NULL THEN %d", n, codeMissing, v, codeType)
		for _, chk := range t.Checks {
			if chk.Column == c.Name {
				code += fmt.Sprintf(" WHEN NOT (%s) THEN %d", strings.ReplaceAll(chk.Pred, "{c}", v), codeCheck)
			}
		}
		mask = append(mask, fmt.Sprintf("(CASE %s ELSE 0 END) * %d", code, 1<<(2*i)))
	}
	for k, j := range sf.extras {
		e := fmt.Sprintf("e%d", k)
		read = append(read, fmt.Sprintf("%s AS %s", sf.cols[j].Expr, e))
		conv = append(conv, e)
		outer = append(outer, fmt.Sprintf("%s AS %s", e, duck.Ident(sf.cols[j].Name)))
	}
	for k, j := range sf.hidden {
		h := fmt.Sprintf("h%d", k)
		read = append(read, fmt.Sprintf("%s AS %s", sf.cols[j].Expr, h))
		conv = append(conv, h)
		outer = append(outer, fmt.Sprintf("%s AS %s", h, duck.Ident(sf.cols[j].Name)))
	}
	outer = append(outer, fmt.Sprintf("CAST(%s AS INTEGER) AS %s", strings.Join(mask, " + "), colBad))
	return fmt.Sprintf("SELECT %s FROM (SELECT %s FROM (SELECT %s FROM %s))",
		strings.Join(outer, ", "), strings.Join(conv, ", "), strings.Join(read, ", "), from), nil
}

// stageFile reads one source file into the temporary table tmp; shape is
// Go's reading of it (text files only).
func stageFile(ctx context.Context, db *duck.DB, t Table, f SourceFile, shape *textShape, idx int, tmp string) (*stagedFile, error) {
	sf := &stagedFile{SourceFile: f, idx: idx, tmp: tmp, shape: shape}
	var err error
	switch {
	case f.Feed != nil:
		err = stageFeed(ctx, db, t, sf)
	case f.Format == CSV:
		err = stageCSV(ctx, db, t, sf)
	case f.Format == JSONL:
		err = stageJSONL(ctx, db, t, sf)
	case f.Format == Parquet:
		err = stageParquet(ctx, db, t, sf)
	case f.Format == Arrow:
		err = stageArrow(ctx, db, t, sf)
	}
	if err != nil {
		return nil, err
	}
	if err := db.QueryRow(ctx, "SELECT count(*) FROM "+tmp).Scan(&sf.rows); err != nil {
		return nil, fmt.Errorf("count rows of %s: %w", f.Rel, duck.Clean(err))
	}
	if shape != nil && sf.rows != shape.records {
		// DuckDB misread the file. A record of the wrong shape is the
		// likely cause, and the better message.
		if f.Format == CSV {
			if line, msg := scanCSV(f.Path, len(sf.cols)); line > 0 {
				return nil, &FileError{Table: t.Name, File: f.Rel, Line: line, Msg: msg}
			}
		}
		return nil, lostRows(t, sf)
	}
	if f.Format.typed() {
		if err := checkTextColumns(ctx, db, t, sf); err != nil {
			return nil, err
		}
	}
	return sf, nil
}

// readErr turns a reader failure into an error naming the file, unless the
// load was cancelled.
func readErr(ctx context.Context, t Table, f SourceFile, err error, what string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &FileError{Table: t.Name, File: f.Rel, Msg: fmt.Sprintf("%s: %s", what, firstLine(err))}
}

// firstLine is the first line of a driver message without its category
// prefix ("Invalid Input Error: ").
func firstLine(err error) string {
	msg := duck.Clean(err).Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	for _, p := range []string{"Invalid Input Error: ", "IO Error: ", "Conversion Error: ", "Invalid Error: ", "Binder Error: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return sanitize(strings.TrimSpace(msg), maxMessage)
}

const utf8BOM = "\xef\xbb\xbf"

// skipBOM returns r positioned after a UTF-8 byte order mark, if any.
func skipBOM(r *bufio.Reader) {
	if b, err := r.Peek(3); err == nil && string(b) == utf8BOM {
		_, _ = r.Discard(3)
	}
}

// crReader turns a lone CR into LF. DuckDB detects a file's line ending and
// reads a file whose lines end in a bare CR (old Mac exports), which Go's
// CSV reader would take for one long line; CRLF is left to Go's reader.
type crReader struct{ r *bufio.Reader }

func (c crReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] != '\r' {
			continue
		}
		if i+1 < n {
			if p[i+1] != '\n' {
				p[i] = '\n'
			}
			continue
		}
		if next, perr := c.r.Peek(1); perr != nil || next[0] != '\n' {
			p[i] = '\n'
		}
	}
	return n, err
}

// csvReader is Go's CSV reader set to split records as DuckDB's strict
// reader does (a quote inside an unquoted field is literal, a bare CR ends
// a line). r should be past the byte order mark.
func csvReader(r io.Reader) *csv.Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	r = crReader{br}
	cr := csv.NewReader(r)
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

func readCSVHeader(path string) ([]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	br := bufio.NewReader(fh)
	skipBOM(br)
	rec, err := csvReader(br).Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("file has no header row")
	}
	if err != nil {
		return nil, err
	}
	return append([]string(nil), rec...), nil
}

// csvScan is DuckDB's strict reading of a CSV file with a header row and
// ncols columns, all as text named c0, c1, ...; the fuzz tests hold Go's CSV
// reader, which positions are computed with, to the same records. longest
// is the file's longest record in bytes: past DuckDB's default line limit
// the limit is raised to fit it (never past MaxRecordBytes, which the
// survey enforces first).
func csvScan(path string, ncols int, longest int64) string {
	decl := make([]string, ncols)
	for i := range decl {
		decl[i] = fmt.Sprintf("'c%d': 'VARCHAR'", i)
	}
	limit := ""
	if longest >= duckCSVMaxLine/2 {
		limit = fmt.Sprintf(", max_line_size=%d", raisedLimit(longest))
	}
	return fmt.Sprintf(`read_csv(%s, auto_detect=false, header=true, delim=',', quote='"', escape='"', strict_mode=true, null_padding=false%s, columns={%s})`,
		duck.Quote(path), limit, strings.Join(decl, ", "))
}

// jsonlScan is DuckDB's reading of a JSON-lines file as one JSON value per
// line (column json); longest is its longest line in bytes, as in csvScan.
func jsonlScan(path string, longest int64) string {
	limit := ""
	if longest >= duckJSONMaxBytes/2 {
		limit = fmt.Sprintf(", maximum_object_size=%d", raisedLimit(longest))
	}
	return fmt.Sprintf("read_json_objects(%s, format='newline_delimited'%s)", duck.Quote(path), limit)
}

// raisedLimit is a DuckDB record limit fitting a record of n bytes with room
// to spare: DuckDB's own accounting of a record's size (line ends, where a
// buffer boundary falls) must not be the difference.
func raisedLimit(n int64) int64 { return n + n/4 + 64<<10 }

// lostRows is the error for a text file DuckDB read a different number of
// rows from than Go counted: a row would be lost (or invented) silently, so
// the load stops and says where to look.
func lostRows(t Table, sf *stagedFile) error {
	what := "records after its header (a record ends at a line break outside quotes)"
	if sf.Format == JSONL {
		what = "lines that are not blank"
	}
	return &FileError{Table: t.Name, File: sf.Rel, Msg: fmt.Sprintf("DuckDB read %d %s from the file, but it holds %d %s; rather than lose a row the load stops: check the file's quoting and line ends, and report the file to assign's maintainers if they look right",
		sf.rows, plural(sf.rows, "row", "rows"), sf.shape.records, what), lostRows: true}
}

func stageCSV(ctx context.Context, db *duck.DB, t Table, sf *stagedFile) error {
	header, err := readCSVHeader(sf.Path)
	if err != nil {
		return &FileError{Table: t.Name, File: sf.Rel, Line: 1, Msg: fmt.Sprintf("cannot read the header row: %v", err)}
	}
	for i, h := range header {
		sf.cols = append(sf.cols, fileCol{Name: h, Type: "VARCHAR", Expr: fmt.Sprintf("src.c%d", i)})
	}
	if err := matchColumns(t, sf); err != nil {
		return err
	}
	sel, err := typedSelect(t, sf, csvScan(sf.Path, len(header), sf.longest())+" AS src")
	if err != nil {
		return err
	}
	if _, err := db.Exec(ctx, fmt.Sprintf("CREATE TEMP TABLE %s AS %s", sf.tmp, sel)); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return csvProblem(t, sf, len(header), err)
	}
	return nil
}

func stageJSONL(ctx context.Context, db *duck.DB, t Table, sf *stagedFile) error {
	raw := sf.tmp + "_json"
	defer db.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+raw)
	if _, err := db.Exec(ctx, fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT json FROM %s", raw, jsonlScan(sf.Path, sf.longest()))); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return jsonlProblem(t, sf, err)
	}
	// read_json_objects gives NULL for a line that is not JSON. An object
	// holding one key twice is ambiguous (DuckDB would keep one value without
	// a word), as one holding two spellings of a name is.
	var bad, dup int64
	q := fmt.Sprintf(`SELECT count(*) FILTER (WHERE json IS NULL OR json_type(json) <> 'OBJECT'),
		coalesce(min(rowid) FILTER (WHERE json_type(json) = 'OBJECT' AND len(json_keys(json)) <> len(list_distinct(json_keys(json)))), -1)
		FROM %s`, raw)
	if err := db.QueryRow(ctx, q).Scan(&bad, &dup); err != nil {
		return readErr(ctx, t, sf.SourceFile, err, "cannot read JSON lines")
	}
	if bad > 0 {
		return jsonlProblem(t, sf, nil)
	}
	if dup >= 0 {
		var keys []string
		rows, err := db.Query(ctx, fmt.Sprintf("SELECT unnest(json_keys(json)) FROM %s WHERE rowid = %d", raw, dup))
		if err != nil {
			return readErr(ctx, t, sf.SourceFile, err, "cannot read JSON keys")
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return readErr(ctx, t, sf.SourceFile, err, "cannot read JSON keys")
			}
			keys = append(keys, k)
		}
		rows.Close()
		twice := ""
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] && twice == "" {
				twice = k
			}
			seen[k] = true
		}
		return &FileError{Table: t.Name, File: sf.Rel, Line: jsonlLineOf(ctx, db, raw, sf.Path, dup),
			Msg: fmt.Sprintf("has an object with the key %s twice, which is ambiguous; keep one", echo(twice))}
	}
	// Keys in order of first appearance, so extra columns keep the file's order.
	rows, err := db.Query(ctx, fmt.Sprintf(`SELECT k FROM (SELECT k, min(rowid * 10000 + i) AS o FROM (
		SELECT rowid, unnest(json_keys(json)) AS k, generate_subscripts(json_keys(json), 1) AS i FROM %s) GROUP BY k) ORDER BY o, k`, raw))
	if err != nil {
		return readErr(ctx, t, sf.SourceFile, err, "cannot read JSON keys")
	}
	defer rows.Close()
	// Keys vary from line to line: spellings of one name that differ in
	// case are one column, and only a line holding two of them is ambiguous.
	var variants [][]string
	group := map[string]int{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return readErr(ctx, t, sf.SourceFile, err, "cannot read JSON keys")
		}
		low := strings.ToLower(strings.TrimSpace(k))
		if g, ok := group[low]; ok {
			variants[g] = append(variants[g], k)
			continue
		}
		group[low] = len(variants)
		variants = append(variants, []string{k})
	}
	if err := rows.Err(); err != nil {
		return readErr(ctx, t, sf.SourceFile, err, "cannot read JSON keys")
	}
	rows.Close()
	for _, ks := range variants {
		var exprs, present []string
		for _, k := range ks {
			expr, err := jsonKeyExpr(k)
			if err != nil {
				return &FileError{Table: t.Name, File: sf.Rel, Msg: err.Error()}
			}
			exprs = append(exprs, expr)
			present = append(present, fmt.Sprintf("CAST(json_exists(src.json, %s) AS INTEGER)", duck.Quote(jsonPath(k))))
		}
		expr := exprs[0]
		if len(ks) > 1 {
			var ord int64 = -1
			q := fmt.Sprintf("SELECT coalesce(min(rowid), -1) FROM %s src WHERE %s > 1", raw, strings.Join(present, " + "))
			if err := db.QueryRow(ctx, q).Scan(&ord); err != nil {
				return readErr(ctx, t, sf.SourceFile, err, "cannot read JSON keys")
			}
			if ord >= 0 {
				return &FileError{Table: t.Name, File: sf.Rel, Line: jsonlLineOf(ctx, db, raw, sf.Path, ord),
					Msg: fmt.Sprintf("has an object with both keys %s (keys are matched case-insensitively); keep one", strings.Join(quoteAll(ks), " and "))}
			}
			expr = "coalesce(" + strings.Join(exprs, ", ") + ")"
		}
		sf.cols = append(sf.cols, fileCol{Name: ks[0], Type: "VARCHAR", Expr: expr})
	}
	if len(sf.cols) == 0 {
		return &FileError{Table: t.Name, File: sf.Rel, Msg: fmt.Sprintf("holds no JSON object with keys; table %s needs %s", t.Name, columnNames(t))}
	}
	if err := matchColumns(t, sf); err != nil {
		return err
	}
	sel, err := typedSelect(t, sf, raw+" AS src")
	if err != nil {
		return err
	}
	if _, err := db.Exec(ctx, fmt.Sprintf("CREATE TEMP TABLE %s AS %s", sf.tmp, sel)); err != nil {
		return readErr(ctx, t, sf.SourceFile, err, "cannot read JSON values")
	}
	return nil
}

// jsonlLineOf is the line of the ord-th object of a JSON-lines file read
// into table raw, or 0 when Go does not count the objects as DuckDB does.
func jsonlLineOf(ctx context.Context, db *duck.DB, raw, path string, ord int64) int64 {
	var objects int64
	m, total, err := jsonlLines(path, []int64{ord})
	if err == nil && db.QueryRow(ctx, "SELECT count(*) FROM "+raw).Scan(&objects) == nil && total == objects {
		return m[ord].line
	}
	return 0
}

func jsonPath(k string) string { return `$."` + k + `"` }

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = echo(s)
	}
	return out
}

// jsonKeyExpr reads key k from src.json as text (JSON strings unquoted,
// other values as JSON text, null as NULL).
func jsonKeyExpr(k string) (string, error) {
	if !strings.Contains(k, `"`) {
		return fmt.Sprintf(`json_extract_string(src.json, %s)`, duck.Quote(jsonPath(k))), nil
	}
	if !strings.HasPrefix(k, "$") && !strings.HasPrefix(k, "/") {
		return fmt.Sprintf(`(src.json ->> %s)`, duck.Quote(k)), nil
	}
	return "", fmt.Errorf("has a key %s that assign cannot address (a leading $ or / with a double quote); rename it", echo(k))
}

func columnNames(t Table) string {
	var n []string
	for _, c := range t.Columns {
		n = append(n, c.Name)
	}
	return strings.Join(n, ", ")
}

// describe lists the columns of a relation with their DuckDB types.
func describe(ctx context.Context, db *duck.DB, relation string) ([]fileCol, error) {
	rows, err := db.Query(ctx, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "+relation+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fileCol
	for rows.Next() {
		var c fileCol
		if err := rows.Scan(&c.Name, &c.Type); err != nil {
			return nil, err
		}
		c.Expr = "src." + duck.Ident(c.Name)
		out = append(out, c)
	}
	return out, rows.Err()
}

func stageParquet(ctx context.Context, db *duck.DB, t Table, sf *stagedFile) error {
	scan := fmt.Sprintf("read_parquet(%s)", duck.Quote(sf.Path))
	cols, err := describe(ctx, db, scan)
	if err != nil {
		return readErr(ctx, t, sf.SourceFile, err, "is not a readable Parquet file")
	}
	sf.cols = cols
	if err := matchColumns(t, sf); err != nil {
		return err
	}
	sel, err := typedSelect(t, sf, scan+" AS src")
	if err != nil {
		return err
	}
	if _, err := db.Exec(ctx, fmt.Sprintf("CREATE TEMP TABLE %s AS %s", sf.tmp, sel)); err != nil {
		return readErr(ctx, t, sf.SourceFile, err, "is not a readable Parquet file")
	}
	return nil
}

// checkTextColumns fails a typed source whose text column holds no value of
// the spec column's type: that is a column of the wrong type (e.g. names in
// snack_id), not a few bad rows.
func checkTextColumns(ctx context.Context, db *duck.DB, t Table, sf *stagedFile) error {
	for i, c := range t.Columns {
		fc := sf.specCol(i)
		if c.Type == Varchar || familyOf(fc.Type) != famText {
			continue
		}
		var present, bad int64
		code := fmt.Sprintf("((%s >> %d) & 3)", colBad, 2*i)
		q := fmt.Sprintf("SELECT count(*) FILTER (WHERE %[1]s <> %[2]d), count(*) FILTER (WHERE %[1]s = %[3]d) FROM %[4]s", code, codeMissing, codeType, sf.tmp)
		if err := db.QueryRow(ctx, q).Scan(&present, &bad); err != nil {
			return readErr(ctx, t, sf.SourceFile, err, "cannot check column "+echoName(fc.Name))
		}
		if present > 0 && bad == present {
			return &FileError{Table: t.Name, File: sf.Rel, Msg: fmt.Sprintf("column %s of table %s has type %s holding no valid value; expected %s", echoName(fc.Name), t.Name, fc.Type, wantedTypes(c))}
		}
	}
	return nil
}

// stageArrow reads an Arrow IPC file in Go and hands its record batches to
// DuckDB, which has no reader for the format.
func stageArrow(ctx context.Context, db *duck.DB, t Table, sf *stagedFile) error {
	rr, closeFn, err := openArrowFile(sf.Path)
	if err != nil {
		return &FileError{Table: t.Name, File: sf.Rel, Msg: fmt.Sprintf("is not a readable Arrow IPC file: %v", err)}
	}
	defer closeFn()
	view := sf.tmp + "_arrow"
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
	// The reader's own error is the cause; DuckDB only wraps it in
	// "arrow_scan: get_next failed()".
	if rerr := rr.Err(); rerr != nil {
		err = rerr
	}
	if err != nil {
		return readErr(ctx, t, sf.SourceFile, err, "is not a readable Arrow IPC file")
	}
	return nil
}

func describeDriver(ctx context.Context, q driver.QueryerContext, relation string) ([]fileCol, error) {
	rows, err := q.QueryContext(ctx, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "+relation+")", nil)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fileCol
	dest := make([]driver.Value, 2)
	for {
		if err := rows.Next(dest); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
		name, _ := dest[0].(string)
		typ, _ := dest[1].(string)
		out = append(out, fileCol{Name: name, Type: typ, Expr: "src." + duck.Ident(name)})
	}
	return out, nil
}
