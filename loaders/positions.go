package loaders

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/assign-dev/assign/duck"
)

// rawRow is what a violation shows of its source row: where it is and its
// original fields. Computed only on the error path, for the few rows at
// fault, because DuckDB's readers give neither physical lines nor the
// original text.
type rawRow struct {
	line   int64    // physical line (text sources); 0 when unknown
	fields []string // per file column (stagedFile.cols)
	nulls  []bool
	raw    string // the whole row as a JSON object
	key    string // a feed's primary key, e.g. "primary key id=17"
}

// resolveRows returns the raw rows of the given ordinals (0-based rows of
// the file, sorted ascending, no repeats).
func resolveRows(ctx context.Context, db *duck.DB, sf *stagedFile, ords []int64) (map[int64]rawRow, error) {
	if len(ords) == 0 {
		return map[int64]rawRow{}, nil
	}
	if sf.Feed != nil {
		return resolveFeed(ctx, db, sf, ords)
	}
	switch sf.Format {
	case CSV:
		return resolveCSV(ctx, db, sf, ords)
	case JSONL:
		return resolveJSONL(ctx, db, sf, ords)
	case Parquet:
		return resolveParquet(ctx, db, sf, ords)
	case Arrow:
		return resolveArrow(sf, ords)
	}
	return nil, fmt.Errorf("unknown format %s", sf.Format)
}

// resolveCSV returns the rows of a CSV file as DuckDB read them (the values
// that were validated), each with its physical line from Go's CSV reader,
// whose FieldPos counts lines even after quoted newlines. The two readers
// split some odd files differently (DuckDB reads a quoted field after one
// space, or a file whose lines end in a bare CR); a line is given only when
// Go finds as many records as DuckDB and that record holds the same values,
// else the violation says "row N", never a wrong line.
func resolveCSV(ctx context.Context, db *duck.DB, sf *stagedFile, ords []int64) (map[int64]rawRow, error) {
	out, err := csvRowsFromDuckDB(ctx, db, sf, ords)
	if err != nil {
		return nil, err
	}
	lines, total, err := csvLinesFromGo(sf, ords, len(sf.cols))
	if err != nil || total != sf.rows {
		return out, nil
	}
	for k, rr := range out {
		g, ok := lines[k]
		if ok && slices.Equal(g.fields, rr.fields) {
			rr.line = g.line
			out[k] = rr
		}
	}
	return out, nil
}

// csvRowsFromDuckDB reads the given rows again with the reader that staged
// them, numbering rows in scan order as staging did (insertion order).
func csvRowsFromDuckDB(ctx context.Context, db *duck.DB, sf *stagedFile, ords []int64) (map[int64]rawRow, error) {
	want := sf.tmp + "_want"
	if err := wantTable(ctx, db, want, ords); err != nil {
		return nil, err
	}
	defer db.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+want)
	n := len(sf.cols)
	var sel []string
	for i := 0; i < n; i++ {
		sel = append(sel, fmt.Sprintf("c%d", i))
	}
	q := fmt.Sprintf("SELECT * FROM (SELECT row_number() OVER () - 1 AS __o, %s FROM %s) WHERE __o IN (SELECT r FROM %s) ORDER BY 1",
		strings.Join(sel, ", "), csvScan(sf.Path, n, sf.longest()), want)
	out := make(map[int64]rawRow, len(ords))
	err := db.QueryArrow(ctx, q, func(rec arrow.RecordBatch) error {
		rn := rec.Column(0).(*array.Int64)
		for i := 0; i < int(rec.NumRows()); i++ {
			rr := rawRow{fields: make([]string, n), nulls: make([]bool, n)}
			for c := 0; c < n; c++ {
				col := rec.Column(c + 1)
				if !col.IsNull(i) {
					rr.fields[c] = strings.Clone(col.ValueStr(i)) // the batch memory is reused
				}
			}
			rr.raw = rowJSON(sf.cols, rr.fields, nil)
			out[rn.Value(i)] = rr
		}
		return nil
	})
	return out, err
}

// goRecord is one record as Go's CSV reader splits it.
type goRecord struct {
	line   int64
	fields []string
}

// csvLinesFromGo reads the whole file with Go's CSV reader and returns the
// wanted records (those with ncols fields) and the number of records after
// the header.
func csvLinesFromGo(sf *stagedFile, ords []int64, ncols int) (map[int64]goRecord, int64, error) {
	fh, err := os.Open(sf.Path)
	if err != nil {
		return nil, 0, err
	}
	defer fh.Close()
	br := bufio.NewReaderSize(fh, 1<<20)
	skipBOM(br)
	cr := csvReader(br)
	if _, err := cr.Read(); err != nil { // header
		return nil, 0, err
	}
	out := make(map[int64]goRecord, len(ords))
	next := 0
	var k int64
	for ; ; k++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		if next < len(ords) && k == ords[next] {
			next++
			if len(rec) == ncols {
				line, _ := cr.FieldPos(0)
				out[k] = goRecord{line: int64(line), fields: slices.Clone(rec)}
			}
		}
	}
	return out, k, nil
}

// blankLine reports a line that DuckDB's JSON-lines reader skips: one
// holding only JSON white space (as jsonlCounter counts).
func blankLine(b []byte) bool { return len(bytes.Trim(b, " \t\r\n")) == 0 }

// readLines calls fn with each physical line (without its line ending) and
// its number, until fn returns false.
func readLines(path string, fn func(n int64, line []byte) bool) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	br := bufio.NewReaderSize(fh, 1<<20)
	var buf []byte
	for n := int64(1); ; n++ {
		buf = buf[:0]
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			buf = append(buf, chunk...)
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if len(buf) == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		line := bytes.TrimRight(buf, "\r\n")
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte(utf8BOM))
		}
		if !fn(n, line) || errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// resolveJSONL returns the rows of a JSON-lines file as DuckDB read them
// (each column through the expression staging used), each with its line:
// the k-th non-blank line, given only when the file has as many non-blank
// lines as DuckDB read objects and that line holds the object's text.
// DuckDB's JSON reader is more lenient than Go's (trailing commas, NaN), so
// the values are never taken from a Go parse.
func resolveJSONL(ctx context.Context, db *duck.DB, sf *stagedFile, ords []int64) (map[int64]rawRow, error) {
	want := sf.tmp + "_want"
	if err := wantTable(ctx, db, want, ords); err != nil {
		return nil, err
	}
	defer db.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+want)
	n := len(sf.cols)
	sel := []string{"CAST(src.json AS VARCHAR)"}
	for _, c := range sf.cols {
		sel = append(sel, "CAST("+c.Expr+" AS VARCHAR)")
	}
	q := fmt.Sprintf("SELECT * FROM (SELECT row_number() OVER () - 1 AS __o, %s FROM %s AS src) WHERE __o IN (SELECT r FROM %s) ORDER BY 1",
		strings.Join(sel, ", "), jsonlScan(sf.Path, sf.longest()), want)
	out := make(map[int64]rawRow, len(ords))
	texts := make(map[int64]string, len(ords))
	err := db.QueryArrow(ctx, q, func(rec arrow.RecordBatch) error {
		rn := rec.Column(0).(*array.Int64)
		for i := 0; i < int(rec.NumRows()); i++ {
			k := rn.Value(i)
			rr := rawRow{fields: make([]string, n), nulls: make([]bool, n)}
			if col := rec.Column(1); !col.IsNull(i) {
				texts[k] = strings.Clone(col.ValueStr(i))
				rr.raw = texts[k]
			}
			for c := 0; c < n; c++ {
				col := rec.Column(c + 2)
				if col.IsNull(i) {
					rr.nulls[c] = true
				} else {
					rr.fields[c] = strings.Clone(col.ValueStr(i)) // the batch memory is reused
				}
			}
			out[k] = rr
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	lines, total, err := jsonlLines(sf.Path, ords)
	if err != nil || total != sf.rows {
		return out, nil
	}
	for k, rr := range out {
		if l, ok := lines[k]; ok && string(bytes.TrimSpace(l.text)) == texts[k] {
			rr.line = l.line
			out[k] = rr
		}
	}
	return out, nil
}

// jsonlLine is a non-blank line of a JSON-lines file.
type jsonlLine struct {
	line int64
	text []byte
}

// jsonlLines returns the wanted non-blank lines (by ordinal among them)
// and how many non-blank lines the file has.
func jsonlLines(path string, ords []int64) (map[int64]jsonlLine, int64, error) {
	out := make(map[int64]jsonlLine, len(ords))
	next := 0
	var k int64
	err := readLines(path, func(n int64, line []byte) bool {
		if blankLine(line) {
			return true
		}
		if next < len(ords) && k == ords[next] {
			out[k] = jsonlLine{line: n, text: bytes.Clone(line)}
			next++
		}
		k++
		return true
	})
	return out, k, err
}

// wantTable copies the ordinals into a temporary table through Arrow, so
// any number of them can be joined against.
func wantTable(ctx context.Context, db *duck.DB, name string, ords []int64) error {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(ords, nil)
	arr := b.NewArray()
	defer arr.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "r", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{arr}, int64(len(ords)))
	defer rec.Release()
	rr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	if err != nil {
		return err
	}
	defer rr.Release()
	return db.CreateTableFromArrow(ctx, name, rr, "")
}

func resolveParquet(ctx context.Context, db *duck.DB, sf *stagedFile, ords []int64) (map[int64]rawRow, error) {
	want := sf.tmp + "_want"
	if err := wantTable(ctx, db, want, ords); err != nil {
		return nil, err
	}
	defer db.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+want)
	var sel []string
	for _, c := range sf.cols {
		sel = append(sel, fmt.Sprintf("CAST(p.%s AS VARCHAR)", duck.Ident(c.Name)))
	}
	q := fmt.Sprintf("SELECT p.file_row_number, %s FROM read_parquet(%s, file_row_number=true) p WHERE p.file_row_number IN (SELECT r FROM %s) ORDER BY 1",
		strings.Join(sel, ", "), duck.Quote(sf.Path), want)
	out := make(map[int64]rawRow, len(ords))
	err := db.QueryArrow(ctx, q, func(rec arrow.RecordBatch) error {
		rn := rec.Column(0).(*array.Int64)
		for i := 0; i < int(rec.NumRows()); i++ {
			rr := rawRow{fields: make([]string, len(sf.cols)), nulls: make([]bool, len(sf.cols))}
			for c := range sf.cols {
				col := rec.Column(c + 1)
				if col.IsNull(i) {
					rr.nulls[c] = true
				} else {
					rr.fields[c] = strings.Clone(col.ValueStr(i)) // the batch memory is reused
				}
			}
			rr.raw = rowJSON(sf.cols, rr.fields, rr.nulls)
			out[rn.Value(i)] = rr
		}
		return nil
	})
	return out, err
}

func resolveArrow(sf *stagedFile, ords []int64) (map[int64]rawRow, error) {
	rr, closeFn, err := openArrowFile(sf.Path)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	// Columns by the names DuckDB saw, which are the schema's field names.
	idx := make([]int, len(sf.cols))
	for c, fc := range sf.cols {
		idx[c] = -1
		for j, f := range rr.Schema().Fields() {
			if f.Name == fc.Name {
				idx[c] = j
				break
			}
		}
	}
	out := make(map[int64]rawRow, len(ords))
	next := 0
	var base int64
	for next < len(ords) && rr.Next() {
		rec := rr.RecordBatch()
		n := rec.NumRows()
		for next < len(ords) && ords[next] < base+n {
			i := int(ords[next] - base)
			row := rawRow{fields: make([]string, len(sf.cols)), nulls: make([]bool, len(sf.cols))}
			for c := range sf.cols {
				if idx[c] < 0 {
					row.nulls[c] = true
					continue
				}
				col := rec.Column(idx[c])
				if col.IsNull(i) {
					row.nulls[c] = true
				} else {
					row.fields[c] = strings.Clone(col.ValueStr(i)) // the batch is released on Next
				}
			}
			row.raw = rowJSON(sf.cols, row.fields, row.nulls)
			out[ords[next]] = row
			next++
		}
		base += n
	}
	return out, rr.Err()
}

// rowJSON renders a row as a JSON object with the file's column names in
// file order and every value as a string (null when missing).
func rowJSON(cols []fileCol, fields []string, nulls []bool) string {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(c.Name)
		b.Write(k)
		b.WriteByte(':')
		if i >= len(fields) || (nulls != nil && nulls[i]) {
			b.WriteString("null")
			continue
		}
		v, _ := json.Marshal(fields[i])
		b.Write(v)
	}
	b.WriteByte('}')
	return b.String()
}

var duckLineRE = regexp.MustCompile(`(?i)\bline:? (\d+)`)

// csvProblem explains why DuckDB could not read a CSV file, with the exact
// physical line found by re-reading it with Go's CSV reader.
func csvProblem(t Table, sf *stagedFile, ncols int, duckErr error) error {
	dmsg := duck.Clean(duckErr).Error()
	fe := &FileError{Table: t.Name, File: sf.Rel}
	if line, msg := scanCSV(sf.Path, ncols); line > 0 {
		fe.Line, fe.Msg = line, msg
		if strings.Contains(strings.ToLower(dmsg), "unterminated quote") {
			fe.Msg = "a quoted field is never closed (unterminated quote); fix the quoting"
		}
		return fe
	}
	if m := duckLineRE.FindStringSubmatch(dmsg); m != nil {
		fe.Line, _ = strconv.ParseInt(m[1], 10, 64)
	}
	low := strings.ToLower(dmsg)
	switch {
	case strings.Contains(low, "unterminated quote"):
		fe.Msg = "a quoted field is never closed (unterminated quote); fix the quoting"
	case strings.Contains(low, "unicode"), strings.Contains(low, "utf-8"), strings.Contains(low, "utf8"):
		fe.Msg = "holds bytes that are not UTF-8; save the file as UTF-8"
	default:
		fe.Msg = "is not a readable CSV file: " + firstLine(duckErr)
	}
	return fe
}

// scanCSV finds the first record that breaks the file's shape: a count of
// fields other than the header's, bytes that are not UTF-8, or a quoting
// error. It returns line 0 when it finds none.
func scanCSV(path string, ncols int) (int64, string) {
	fh, err := os.Open(path)
	if err != nil {
		return 0, ""
	}
	defer fh.Close()
	br := bufio.NewReaderSize(fh, 1<<20)
	skipBOM(br)
	cr := csvReader(br)
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return 0, ""
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return int64(pe.StartLine), "is not valid CSV: " + pe.Err.Error()
			}
			return 0, ""
		}
		line, _ := cr.FieldPos(0)
		for _, f := range rec {
			if !utf8.ValidString(f) {
				return int64(line), "holds bytes that are not UTF-8; save the file as UTF-8"
			}
		}
		if !first && len(rec) != ncols {
			return int64(line), fmt.Sprintf("has %d fields where the header has %d (a stray comma or quote, or another delimiter?)", len(rec), ncols)
		}
	}
}

// jsonlProblem finds the first line of a JSON-lines file that is not one
// JSON object, or explains DuckDB's error.
func jsonlProblem(t Table, sf *stagedFile, duckErr error) error {
	fe := &FileError{Table: t.Name, File: sf.Rel}
	_ = readLines(sf.Path, func(n int64, line []byte) bool {
		if blankLine(line) {
			return true
		}
		switch {
		case !utf8.Valid(line):
			fe.Line, fe.Msg = n, "holds bytes that are not UTF-8; save the file as UTF-8"
		case !json.Valid(line):
			var v any
			err := json.Unmarshal(line, &v)
			fe.Line, fe.Msg = n, fmt.Sprintf("is not valid JSON (%v); each line must be one JSON object", err)
		case bytes.TrimSpace(line)[0] != '{':
			fe.Line, fe.Msg = n, "is not a JSON object; each line must be one JSON object"
		}
		return fe.Line == 0
	})
	if fe.Line > 0 {
		return fe
	}
	if duckErr == nil {
		fe.Msg = "is not valid JSON lines; each line must be one JSON object"
		return fe
	}
	fe.Msg = "is not readable JSON lines: " + firstLine(duckErr)
	return fe
}
