package loaders

// Fuzz tests of the extract readers. Each checks a property the loader's
// messages rely on, not only that nothing panics:
//
//   - FuzzCSVRecords: Go's CSV reader (which computes the line and value a
//     violation shows) splits a file into exactly the records DuckDB's strict
//     reader (which loads them) reads, field for field, on increasing lines;
//     a file DuckDB refuses is explained by a FileError.
//   - FuzzJSONLines: the k-th non-blank line is DuckDB's k-th object.
//   - FuzzTextValue: the SQL text rules accept exactly what SPEC section 4
//     allows, computed independently in Go.
//   - FuzzArrowFile: a mutated Arrow IPC file is staged or refused with a
//     FileError; it never crashes the process (DuckDB reads the batches'
//     buffers directly, so a bad offset would be a segmentation fault).
//
// Run one with: go test -tags duckdb_arrow ./loaders -run XXX -fuzz FuzzCSVRecords -fuzztime 30s

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/assign-dev/assign/duck"
)

var (
	fuzzOnce sync.Once
	fuzzDB   *duck.DB
	fuzzErr  error
)

// fuzzConn is one in-memory database per process, shared by the inputs: a
// fresh DuckDB per input would spend the fuzzing time opening databases.
func fuzzConn(t testing.TB) *duck.DB {
	fuzzOnce.Do(func() {
		fuzzDB, fuzzErr = duck.OpenMemory(context.Background(), duck.Options{Threads: 1})
	})
	if fuzzErr != nil {
		t.Fatal(fuzzErr)
	}
	return fuzzDB
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkFileError requires err to be a FileError naming rel with a message.
func checkFileError(t *testing.T, err error, rel string) *FileError {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("want a FileError, got %T: %v", err, err)
	}
	if fe.File != rel || strings.TrimSpace(fe.Msg) == "" {
		t.Fatalf("FileError without file or message: %+v", fe)
	}
	return fe
}

func FuzzCSVRecords(f *testing.F) {
	for _, s := range []string{
		"a,b,c\n1,2,3\n",
		"a,b\n\"x\ny\",2\n3,\"\"\n",
		"\ufeffa,b\r\n1,2\r\n3,4",
		"a,b\n1,\"2\"\"x\"\n\n4,5\n",
		"a,b,c\n1,2\n",
		"a,b\n\"open,1\n",
		"a\n\"x\"y\n",
		"a,b\n\xff,1\n",
		"a,b\n1,2\r3,4\n",
		"a,b\n1,2 \n \"q\",3\n",
		"a,b\n1, \"x\ny\"\n2,  \"z\n",
		"\n\na,b\n1,2\n",
		"a,b\r\n1,\"x\r\n\"\r\n\r\n3,4",
		"a,b\n1,\"x\" \n3,\"\"\"\"\n",
	} {
		f.Add([]byte(s))
	}
	tbl := Tables[0]
	f.Fuzz(func(t *testing.T, data []byte) {
		db := fuzzConn(t)
		path := writeTemp(t, "f.csv", data)
		header, err := readCSVHeader(path)
		if err != nil || len(header) == 0 || len(header) > 32 {
			return // stageCSV refuses the header with a FileError of its own
		}
		n := len(header)
		sf := &stagedFile{SourceFile: SourceFile{Path: path, Rel: "f.csv", Format: CSV, Size: int64(len(data))}}
		for i, h := range header {
			sf.cols = append(sf.cols, fileCol{Name: h, Type: "VARCHAR", Expr: fmt.Sprintf("src.c%d", i)})
		}
		cols := make([]string, n)
		for i := range cols {
			cols[i] = fmt.Sprintf("c%d", i)
		}
		rows, qerr := db.Query(context.Background(), "SELECT "+strings.Join(cols, ", ")+" FROM "+csvScan(path, n, 0))
		var duckRows [][]*string
		if qerr == nil {
			for rows.Next() {
				vals := make([]*string, n)
				ptrs := make([]any, n)
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if qerr = rows.Scan(ptrs...); qerr != nil {
					break
				}
				duckRows = append(duckRows, vals)
			}
			if qerr == nil {
				qerr = rows.Err()
			}
			rows.Close()
		}
		if qerr != nil {
			fe := checkFileError(t, csvProblem(tbl, sf, n, qerr), "f.csv")
			if fe.Line < 0 || fe.Line > physicalLines(data) {
				t.Fatalf("error on line %d of a file of %d lines: %v", fe.Line, physicalLines(data), fe)
			}
			return
		}
		// DuckDB read the file: the survey's count, which every staged CSV
		// file is held to, is DuckDB's, and it saw no quote left open.
		shape := counterShape(data, CSV)
		goRecs := goRecords(t, path, n)
		bothRead := goAgrees(goRecs, duckRows)
		// A header with bad quoting is refused whatever the rows: DuckDB
		// skips the header without reading it, so nothing proves it wrong.
		badHeader := shape.openInHeader || shape.strayLine > 0 && shape.strayLine <= headerLines(data)
		switch {
		case (shape.openQuote > 0 || shape.strayLine > 0) && bothRead && !badHeader:
			// A file the survey refuses for its quoting must be one that
			// DuckDB misreads: DuckDB read some such files without an error
			// but without their rows (a quote left open, or text after a
			// closing quote, in or near the header). Go's reader reading
			// every record as DuckDB did says this one is fine.
			t.Fatalf("both readers read the file alike, yet the survey finds a quote open since line %d or text after a closing quote on line %d", shape.openQuote, shape.strayLine)
		case shape.openQuote > 0 || shape.strayLine > 0 || shape.nulLine > 0 || shape.blankFirst || shape.headerBreak || shape.encoding != "":
			// Refused before DuckDB reads.
		case n > 1 && shape.records != int64(len(duckRows)) && (bothRead || shape.records != int64(len(goRecs))):
			// A file the survey accepts is counted as DuckDB counts it, or
			// else DuckDB is the one reader of the three that differs (it
			// read no row of some files with a quoted line break in the
			// header, without an error), and the load stops on the count.
			// (DuckDB reads a blank line as a row of a one-column file; no
			// table has one column, so such a file never reaches DuckDB.)
			t.Fatalf("DuckDB read %d rows, Go's reader %d, the survey counts %d records", len(duckRows), len(goRecs), shape.records)
		}
		// Every row resolves to DuckDB's values, on increasing lines when a
		// line is given, and on a line whenever Go splits the file into the
		// same records.
		sf.rows = int64(len(duckRows))
		sf.tmp = "fz_csv"
		ords := make([]int64, len(duckRows))
		for i := range ords {
			ords[i] = int64(i)
		}
		got, err := resolveCSV(context.Background(), db, sf, ords)
		if err != nil {
			t.Fatalf("cannot re-read a file DuckDB read: %v", err)
		}
		agree := len(goRecs) == len(duckRows)
		lines := physicalLines(data)
		prev := int64(1)
		for i, dr := range duckRows {
			rr, ok := got[int64(i)]
			if !ok {
				t.Fatalf("row %d (of %d) not resolved", i, len(duckRows))
			}
			if len(rr.fields) != n {
				t.Fatalf("row %d: %d fields, want %d", i, len(rr.fields), n)
			}
			for c := range n {
				want := ""
				if dr[c] != nil {
					want = *dr[c]
				}
				if rr.fields[c] != want {
					t.Fatalf("row %d column %d: resolved %q, DuckDB read %q", i, c, rr.fields[c], want)
				}
				if agree && (goRecs[i] == nil || goRecs[i][c] != want) {
					agree = false
				}
			}
			if rr.line == 0 {
				continue
			}
			if rr.line <= prev || rr.line > lines {
				t.Fatalf("row %d on line %d after line %d (file of %d lines)", i, rr.line, prev, lines)
			}
			prev = rr.line
		}
		if agree {
			for i := range duckRows {
				if got[int64(i)].line == 0 {
					t.Fatalf("Go and DuckDB read the same records, yet row %d has no line", i)
				}
			}
		}
	})
}

// headerLines is the last line of a CSV file's header record, as the
// survey splits records.
func headerLines(data []byte) int64 {
	c := newCSVCounter()
	for i := range data {
		c.feed(data[i : i+1])
		if c.records > 0 {
			return c.line - 1
		}
	}
	return c.line
}

// goAgrees reports whether Go's CSV reader found exactly DuckDB's records.
func goAgrees(goRecs [][]string, duckRows [][]*string) bool {
	if len(goRecs) != len(duckRows) {
		return false
	}
	for i, dr := range duckRows {
		if goRecs[i] == nil {
			return false
		}
		for c, v := range dr {
			want := ""
			if v != nil {
				want = *v
			}
			if goRecs[i][c] != want {
				return false
			}
		}
	}
	return true
}

// counterShape is the survey's reading of data as a file of format f, fed
// in chunks of varying size so that chunk boundaries are exercised too.
func counterShape(data []byte, f Format) *textShape {
	if enc, sign := sniffEncoding(data); enc != "" {
		return &textShape{encoding: enc, encodingSign: sign}
	}
	var feed func([]byte)
	var finish func() *textShape
	switch f {
	case CSV:
		c := newCSVCounter()
		feed, finish = c.feed, c.finish
	default:
		j := newJSONLCounter()
		feed, finish = j.feed, j.finish
	}
	for step := 1; len(data) > 0; step = step%7 + 1 {
		k := min(step, len(data))
		feed(data[:k])
		data = data[k:]
	}
	return finish()
}

// physicalLines bounds the lines of a file, counting a bare CR as a line end
// as both readers do.
func physicalLines(data []byte) int64 {
	return int64(bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 1)
}

// goRecords returns the records after the header as Go's CSV reader splits
// them (nil for a record without n fields).
func goRecords(t *testing.T, path string, n int) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cr := csvReader(bytes.NewReader(bytes.TrimPrefix(data, []byte(utf8BOM))))
	cr.ReuseRecord = false
	var out [][]string
	for first := true; ; first = false {
		rec, err := cr.Read()
		if err != nil {
			return out
		}
		if first {
			continue
		}
		if len(rec) != n {
			rec = nil
		}
		out = append(out, rec)
	}
}

func FuzzJSONLines(f *testing.F) {
	for _, s := range []string{
		`{"user_id": 1, "tag": "a"}` + "\n" + `{"user_id": 2, "tag": null}` + "\n",
		"\n\n" + `{"user_id": "3", "TAG": "b", "x": [1, {"b": "c"}]}` + "\r\n   \n" + `{"user_id": 4, "tag": "y\nz"}`,
		`{"user_id": 1, "tag": "a",}` + "\n" + `{"user_id": NaN, "tag": "b"}` + "\n",
		`{"user_id": 1, "tag": "a"}{"b": 2}` + "\n",
		`[1, 2]` + "\n",
		`{"user_id": 1e400, "tag": "\u00e9", "a\"b": 1, "$.x": 2, "Tag": "c"}` + "\n",
		"\ufeff" + `{"user_id": 5, "tag": "t"}` + "\n",
		`{"user_id": 1` + "\n" + `, "tag": "a"}` + "\n",
	} {
		f.Add([]byte(s))
	}
	userNG, _ := TableByName("user_ng")
	var n int
	f.Fuzz(func(t *testing.T, data []byte) {
		db := fuzzConn(t)
		ctx := context.Background()
		path := writeTemp(t, "user_ng.jsonl", data)
		n++
		tmp := fmt.Sprintf("fz_json_%d", n)
		src := SourceFile{Path: path, Rel: "user_ng.jsonl", Format: JSONL, Size: int64(len(data))}
		shape := counterShape(data, JSONL)
		if err := shapeProblem(userNG, src, shape); err != nil {
			checkFileError(t, err, "user_ng.jsonl")
			return
		}
		sf, err := stageFile(ctx, db, userNG, src, shape, 0, tmp)
		defer db.Exec(ctx, "DROP TABLE IF EXISTS "+tmp)
		if err != nil {
			// The survey's count of lines is DuckDB's whenever DuckDB reads
			// the file.
			if fe := checkFileError(t, err, "user_ng.jsonl"); fe.lostRows {
				t.Fatalf("the survey and DuckDB disagree: %v", err)
			}
			return
		}
		// DuckDB's own reading of the objects, to hold the lines to.
		rows, err := db.Query(ctx, fmt.Sprintf("SELECT CAST(json AS VARCHAR) FROM read_json_objects(%s, format='newline_delimited')", duck.Quote(path)))
		if err != nil {
			t.Fatalf("staged, yet DuckDB cannot read it again: %v", err)
		}
		var objs []string
		for rows.Next() {
			var js string
			if err := rows.Scan(&js); err != nil {
				t.Fatal(err)
			}
			objs = append(objs, js)
		}
		rows.Close()
		if int64(len(objs)) != sf.rows {
			t.Fatalf("staged %d rows, DuckDB reads %d objects", sf.rows, len(objs))
		}
		if len(objs) == 0 {
			return
		}
		ords := make([]int64, len(objs))
		for i := range ords {
			ords[i] = int64(i)
		}
		got, err := resolveRows(ctx, db, sf, ords)
		if err != nil {
			t.Fatalf("cannot re-read a file DuckDB read: %v", err)
		}
		var lines []jsonlLine
		byNumber := map[int64]string{}
		_ = readLines(path, func(n int64, line []byte) bool {
			if !blankLine(line) {
				lines = append(lines, jsonlLine{line: n, text: bytes.Clone(line)})
				byNumber[n] = string(bytes.TrimSpace(line))
			}
			return true
		})
		agree := len(lines) == len(objs)
		prev := int64(0)
		for i, js := range objs {
			rr, ok := got[int64(i)]
			if !ok {
				t.Fatalf("row %d (of %d) not resolved", i, len(objs))
			}
			if len(rr.fields) != len(sf.cols) || rr.raw != js {
				t.Fatalf("row %d: %d fields for %d columns, raw %q for DuckDB's %q", i, len(rr.fields), len(sf.cols), rr.raw, js)
			}
			if agree && string(bytes.TrimSpace(lines[i].text)) != js {
				agree = false
			}
			if rr.line == 0 {
				continue
			}
			if rr.line <= prev || byNumber[rr.line] != js {
				t.Fatalf("row %d placed on line %d (after %d), which does not hold %q", i, rr.line, prev, js)
			}
			prev = rr.line
		}
		if agree {
			for i := range objs {
				if got[int64(i)].line == 0 {
					t.Fatalf("every line holds its object, yet row %d has no line", i)
				}
			}
		}
	})
}

// The SPEC section 4 text rules, written independently of the SQL.
var (
	refInt       = regexp.MustCompile(`^-?[0-9]+$`)
	refDate      = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})$`)
	refTimestamp = regexp.MustCompile(`^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?)?$`)
)

// refText returns the value SPEC reads from text s for a column of type
// typ, canonically printed, or ok=false when s is not of the type.
func refText(typ Type, s string) (string, bool) {
	switch typ {
	case Bigint, Integer:
		if !refInt.MatchString(s) {
			return "", false
		}
		bits := 64
		if typ == Integer {
			bits = 32
		}
		v, err := strconv.ParseInt(s, 10, bits)
		if err != nil {
			return "", false
		}
		return strconv.FormatInt(v, 10), true
	case Date:
		d, ok := refDay(s)
		if !ok {
			return "", false
		}
		return d.Format("2006-01-02"), true
	case Timestamp:
		m := refTimestamp.FindStringSubmatch(s)
		if m == nil {
			return "", false
		}
		d, ok := refDay(m[1])
		if !ok {
			return "", false
		}
		var h, mi, sec, us int
		if m[2] != "" {
			h, _ = strconv.Atoi(m[2])
			mi, _ = strconv.Atoi(m[3])
			if h > 23 || mi > 59 {
				return "", false
			}
		}
		if m[4] != "" {
			sec, _ = strconv.Atoi(m[4])
			if sec > 59 {
				return "", false
			}
		}
		if m[5] != "" {
			us, _ = strconv.Atoi((m[5] + "00000")[:6])
		}
		ts := d.Add(time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(sec)*time.Second + time.Duration(us)*time.Microsecond)
		return ts.Format("2006-01-02 15:04:05.000000"), true
	case Boolean:
		switch strings.ToLower(s) {
		case "true", "t", "1", "yes", "y":
			return "true", true
		case "false", "f", "0", "no", "n":
			return "false", true
		}
		return "", false
	}
	return s, true
}

// refDay parses YYYY-MM-DD as a proleptic Gregorian calendar date (year
// 0000 is 1 BC, as in ISO 8601 and DuckDB).
func refDay(s string) (time.Time, bool) {
	if !refDate.MatchString(s) {
		return time.Time{}, false
	}
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, false
	}
	return d, true
}

func FuzzTextValue(f *testing.F) {
	for _, s := range []string{"12", "-0", "007", "1e3", " 1", "99999999999999999999", "2147483648",
		"2026-02-28", "2026-02-29", "2026-02-30", "0000-01-01", "2026-3-2", "2026-03-02 24:00", "2026-03-02T23:59:59.123456",
		"2026-03-02 10:00:60", "2026-03-02 10:00:00.1234567", "YES", "n", "tRuE", "", "2026-03-02 10:00 ", "+5"} {
		f.Add(s)
	}
	types := []Type{Bigint, Integer, Date, Timestamp, Boolean}
	var sel []string
	for i, typ := range types {
		c := Column{Name: "x", Type: typ}
		cv := convertText(c)
		pre := strings.ReplaceAll(cv.Pre, "{s}", "s")
		post := strings.NewReplacer("{p}", "("+pre+")", "{s}", "s").Replace(cv.Post)
		// Dates and timestamps printed as Go prints them (DuckDB's own
		// form writes year 0000 as "0001-01-01 (BC)").
		out := fmt.Sprintf("CAST(%s AS VARCHAR)", post)
		switch typ {
		case Date:
			out = fmt.Sprintf("strftime(%s, '%%Y-%%m-%%d')", post)
		case Timestamp:
			out = fmt.Sprintf("strftime(%s, '%%Y-%%m-%%d %%H:%%M:%%S.%%f')", post)
		}
		sel = append(sel, fmt.Sprintf("%s AS v%d", out, i))
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM (SELECT CAST(? AS VARCHAR) AS s)"
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
			return // the CSV and JSON readers refuse such files before any value is checked
		}
		db := fuzzConn(t)
		vals := make([]*string, len(types))
		ptrs := make([]any, len(types))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := db.QueryRow(context.Background(), q, s).Scan(ptrs...); err != nil {
			t.Fatalf("the text rules fail on %q: %v", s, err)
		}
		for i, typ := range types {
			want, ok := refText(typ, s)
			switch {
			case ok && vals[i] == nil:
				t.Errorf("%s: %q is valid (%s) but the loader refuses it", typ.SQL(), s, want)
			case !ok && vals[i] != nil:
				t.Errorf("%s: %q is not valid but the loader reads it as %s", typ.SQL(), s, *vals[i])
			case ok && *vals[i] != want:
				t.Errorf("%s: %q reads as %s, want %s", typ.SQL(), s, *vals[i], want)
			}
		}
	})
}

// arrowSeeds are valid Arrow IPC files of the users table in the shapes a
// producer may send: file and stream format, native and text columns,
// nulls, dictionaries and nested extra columns.
func arrowSeeds(t testing.TB) [][]byte {
	mem := memory.NewGoAllocator()
	var out [][]byte
	for _, variant := range []int{0, 1, 2} {
		fields := []arrow.Field{
			{Name: "user_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "status", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}},
			{Name: "box_size", Type: arrow.PrimitiveTypes.Int32},
			{Name: "cadence_days", Type: arrow.BinaryTypes.String},
			{Name: "next_ship_on", Type: arrow.FixedWidthTypes.Date32},
			{Name: "notes", Type: arrow.ListOf(arrow.BinaryTypes.LargeString)},
			{Name: "flags", Type: arrow.StructOf(arrow.Field{Name: "vip", Type: arrow.FixedWidthTypes.Boolean, Nullable: true})},
		}
		schema := arrow.NewSchema(fields, nil)
		var buf bytes.Buffer
		var write func(arrow.RecordBatch) error
		var closeW func() error
		if variant == 2 {
			w := ipc.NewWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
			write, closeW = w.Write, w.Close
		} else {
			w, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
			if err != nil {
				t.Fatal(err)
			}
			write, closeW = w.Write, w.Close
		}
		for batch := 0; batch < 1+variant; batch++ {
			b := array.NewRecordBuilder(mem, schema)
			for i := 0; i < 3; i++ {
				id := int64(10 + 3*batch + i)
				if i == 1 && variant == 1 {
					b.Field(0).AppendNull()
				} else {
					b.Field(0).(*array.Int64Builder).Append(id)
				}
				if err := b.Field(1).(*array.BinaryDictionaryBuilder).AppendString([]string{"active", "paused", "x"}[i]); err != nil {
					t.Fatal(err)
				}
				b.Field(2).(*array.Int32Builder).Append(int32(2 + i))
				b.Field(3).(*array.StringBuilder).Append([]string{"14", "28", "x"}[i])
				b.Field(4).(*array.Date32Builder).Append(arrow.Date32(20514 + i))
				lb := b.Field(5).(*array.ListBuilder)
				lb.Append(true)
				for j := 0; j < i; j++ {
					lb.ValueBuilder().(*array.LargeStringBuilder).Append(strings.Repeat("n", j+1))
				}
				sb := b.Field(6).(*array.StructBuilder)
				sb.Append(true)
				sb.FieldBuilder(0).(*array.BooleanBuilder).Append(i%2 == 0)
			}
			rec := b.NewRecordBatch()
			if err := write(rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
			b.Release()
		}
		if err := closeW(); err != nil {
			t.Fatal(err)
		}
		out = append(out, buf.Bytes())
	}
	return out
}

func FuzzArrowFile(f *testing.F) {
	for _, s := range arrowSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte("ARROW1\x00\x00"))
	users, _ := TableByName("users")
	var n int
	f.Fuzz(func(t *testing.T, data []byte) {
		db := fuzzConn(t)
		path := writeTemp(t, "users.arrow", data)
		n++
		sf := SourceFile{Path: path, Rel: "users.arrow", Format: Arrow, Size: int64(len(data))}
		tmp := fmt.Sprintf("fz_arrow_%d", n)
		// A file of a few kilobytes that takes seconds hides an allocation
		// or a scan sized by a corrupt length.
		t0 := time.Now()
		defer func() {
			if d := time.Since(t0); d > 5*time.Second {
				t.Errorf("a %d-byte file took %s", len(data), d)
			}
		}()
		staged, err := stageFile(context.Background(), db, users, sf, nil, 0, tmp)
		defer db.Exec(context.Background(), "DROP TABLE IF EXISTS "+tmp)
		if err != nil {
			checkFileError(t, err, "users.arrow")
			return
		}
		// A staged file's rows are what violations are located in.
		ords := make([]int64, staged.rows)
		for i := range ords {
			ords[i] = int64(i)
		}
		got, err := resolveArrow(staged, ords)
		if err != nil {
			return // a batch the reader refuses the second time is reported as a re-read error
		}
		if len(got) != len(ords) {
			t.Fatalf("staged %d rows, the re-read finds %d", len(ords), len(got))
		}
	})
}
