package loaders

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/zeebo/xxh3"
)

// MaxRecordBytes bounds one record of a text source: a CSV record (one line,
// or several when a quoted field holds line breaks) or a JSON line. A longer
// one is refused with its file and line. DuckDB's readers need a limit set
// in advance, and past their buffer they drop such a record without a word
// (a 34 MB CSV line at the end of a file was lost, the load said "0
// rejected"), so assign measures every record itself before DuckDB reads.
const MaxRecordBytes = 16 << 20

// DuckDB's defaults: read_csv's max_line_size and read_json's
// maximum_object_size. A file with a longer record is read with the option
// raised to fit it.
const (
	duckCSVMaxLine   = 2_000_000
	duckJSONMaxBytes = 16 << 20
)

// textShape is what one pass of Go over a text source (CSV, JSON lines)
// finds, before DuckDB reads it. Its record count is the independent count a
// staged file is held to: a row DuckDB would drop is a refused load, never a
// silent loss.
type textShape struct {
	// records counts data records: CSV records after the header (a quoted
	// line break stays inside its record, blank lines are skipped, as
	// DuckDB's strict reader does), or JSON lines that are not blank.
	records int64
	// longest is the byte length of the longest record, header included,
	// without its line end, and longestLine the line where it starts.
	longest     int64
	longestLine int64
	// nulLine is the first line holding a NUL byte (0 when none).
	nulLine int64
	// openQuote is the line of a CSV quote still open at the end of the
	// file, and openInHeader reports that it opened in the header (which
	// DuckDB skips without parsing, so only assign would notice).
	openQuote    int64
	openInHeader bool
	// strayLine is the first line where text other than spaces follows the
	// closing quote of a CSV field. DuckDB refuses that in a row, and in the
	// header it silently read no row at all.
	strayLine int64
	// blankFirst reports a CSV file whose first line is empty: DuckDB would
	// take that empty line for the header and the header for a row.
	blankFirst bool
	// headerBreak reports a CSV header holding a line break inside quotes:
	// in a file of CRLF lines, DuckDB then read no row at all, without an
	// error.
	headerBreak bool
	// encoding names a UTF-16 or UTF-32 file ("UTF-16LE"), and how it was
	// told ("a byte order mark", "every other byte is 0").
	encoding, encodingSign string
}

// fileSurvey is what the survey learned of one source file.
type fileSurvey struct {
	sum   [16]byte // XXH3-128 of the file's bytes
	size  int64
	shape *textShape // CSV and JSON lines only
}

// survey reads every file of the extract once, on up to threads goroutines:
// it computes the extract's content checksum (see checksumOf) and, for text
// files, the shape DuckDB's reading is checked against.
func survey(ctx context.Context, ex *Extract, threads int) (map[string]*fileSurvey, error) {
	var files []SourceFile
	for _, t := range Tables {
		if src := ex.Sources[t.Name]; src != nil {
			for _, f := range src.Files {
				if f.Feed == nil { // a database table is not a file to read
					files = append(files, f)
				}
			}
		}
	}
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	out := make(map[string]*fileSurvey, len(files))
	var mu sync.Mutex
	var firstErr error
	work := make(chan SourceFile)
	var wg sync.WaitGroup
	for range min(threads, max(len(files), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for f := range work {
				fs, err := surveyFile(ctx, f, buf)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				out[f.Path] = fs
				mu.Unlock()
			}
		}()
	}
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		work <- f
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, firstErr
}

// surveyFile reads one file with buf as its read buffer.
func surveyFile(ctx context.Context, f SourceFile, buf []byte) (*fileSurvey, error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, &FileError{File: f.Rel, Msg: fmt.Sprintf("cannot be read: %v", unwrapPath(err))}
	}
	defer fh.Close()
	h := xxh3.New()
	var csvc *csvCounter
	var jsonc *jsonlCounter
	fs := &fileSurvey{}
	switch f.Format {
	case CSV:
		csvc = newCSVCounter()
	case JSONL:
		jsonc = newJSONLCounter()
	}
	first := true
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := fh.Read(buf)
		chunk := buf[:n]
		if n > 0 {
			_, _ = h.Write(chunk)
			fs.size += int64(n)
			if first && (csvc != nil || jsonc != nil) {
				first = false
				enc, sign := sniffEncoding(chunk)
				if enc != "" {
					// Counting records of UTF-16 text means nothing; the
					// file is refused for its encoding.
					fs.shape = &textShape{encoding: enc, encodingSign: sign}
					csvc, jsonc = nil, nil
				}
			}
			if csvc != nil {
				csvc.feed(chunk)
			}
			if jsonc != nil {
				jsonc.feed(chunk)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &FileError{File: f.Rel, Msg: fmt.Sprintf("cannot be read: %v", unwrapPath(err))}
		}
	}
	fs.sum = h.Sum128().Bytes()
	switch {
	case csvc != nil:
		fs.shape = csvc.finish()
	case jsonc != nil:
		fs.shape = jsonc.finish()
	}
	return fs, nil
}

// checksumOf is the content checksum of an extract: XXH3-128 over, per table
// in SPEC order, the table, its source's name and, per file, its path in the
// extract, size and XXH3-128 of its bytes. Two extracts with the same files
// holding the same bytes have the same checksum, wherever they lie; a
// renamed, added or changed file changes it. It is not a cryptographic hash:
// it tells an unchanged extract from a changed one, not a forged one. An
// extract read from a database has none (""): its rows are read once, by
// the load.
func checksumOf(ex *Extract, files map[string]*fileSurvey) string {
	h := xxh3.New()
	for _, t := range Tables {
		src := ex.Sources[t.Name]
		if src == nil {
			continue
		}
		for _, f := range src.Files {
			if f.Feed != nil {
				return ""
			}
		}
		fmt.Fprintf(h, "table %s source %q\n", t.Name, src.Name)
		for _, f := range src.Files {
			fs := files[f.Path]
			if fs == nil {
				continue
			}
			fmt.Fprintf(h, "file %q %d %x\n", f.Rel, fs.size, fs.sum)
		}
	}
	sum := h.Sum128().Bytes()
	return "xxh3-128:" + hex.EncodeToString(sum[:])
}

// sniffEncoding recognises UTF-16 and UTF-32 text from a file's first bytes:
// by its byte order mark, or, without one, by the NUL byte that every
// other byte of mostly-ASCII UTF-16 is. It returns "" for anything else.
func sniffEncoding(b []byte) (enc, sign string) {
	const bom = "a byte order mark"
	switch {
	case len(b) >= 4 && b[0] == 0xFF && b[1] == 0xFE && b[2] == 0 && b[3] == 0:
		return "UTF-32LE", bom
	case len(b) >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0xFE && b[3] == 0xFF:
		return "UTF-32BE", bom
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE:
		return "UTF-16LE", bom
	case len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF:
		return "UTF-16BE", bom
	}
	b = b[:min(len(b), 4096)]
	pairs := len(b) / 2
	if pairs < 2 {
		return "", ""
	}
	var even, odd int
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] == 0 {
			even++
		}
		if b[i+1] == 0 {
			odd++
		}
	}
	const zeros = "every other byte is 0"
	switch {
	case odd*10 >= pairs*7 && even*10 < pairs:
		return "UTF-16LE", zeros
	case even*10 >= pairs*7 && odd*10 < pairs:
		return "UTF-16BE", zeros
	}
	return "", ""
}

// Byte classes of the CSV counter: the first four only move the state
// machine; line ends and NUL take the slow path.
const (
	bOther = iota
	bComma
	bQuote
	bSpace
	bLF
	bCR
	bNUL
)

var csvClass = func() (c [256]uint8) {
	c[','], c['"'], c[' '], c['\n'], c['\r'], c[0] = bComma, bQuote, bSpace, bLF, bCR, bNUL
	return c
}()

// csvPlainSkip and csvQuotedSkip mark the bytes that leave an unquoted
// (a quoted) field as it is.
var csvPlainSkip, csvQuotedSkip = func() (plain, quoted [256]bool) {
	for b := range plain {
		cl := csvClass[b]
		plain[b] = cl == bOther || cl == bQuote || cl == bSpace
		quoted[b] = cl == bOther || cl == bComma || cl == bSpace
	}
	return plain, quoted
}()

// States of the CSV counter, after DuckDB's strict reader with delimiter
// ',', quote and escape '"': a quote opens a quoted field only at the start
// of a field or after one space; inside quotes, "" is a quote and line
// breaks are data; outside them, LF, CR and CRLF end a record, and a record
// without a byte (a blank line) is skipped. FuzzCSVRecords holds the count
// to DuckDB's on every file DuckDB reads.
const (
	csvField  = iota // at the start of a field
	csvSpace         // after one space at the start of a field
	csvPlain         // inside an unquoted field
	csvQuoted        // inside a quoted field
	csvQuote         // after a quote inside a quoted field: an escape, or the closing quote
	csvClosed        // after the closing quote and one or more spaces
	csvStates
)

// Transition marks of the CSV counter.
const (
	markOpen  = 1 // a quote opens a quoted field
	markStray = 2 // text follows a closing quote
)

// csvNext and csvMark are the state machine over the first four byte
// classes, as a table: one lookup per byte is what keeps the survey's pass
// cheap beside DuckDB's.
var csvNext, csvMark = func() (next, mark [csvStates][4]uint8) {
	set := func(st, cl, to, m uint8) { next[st][cl], mark[st][cl] = to, m }
	for _, st := range []uint8{csvField, csvSpace} {
		set(st, bOther, csvPlain, 0)
		set(st, bComma, csvField, 0)
		set(st, bQuote, csvQuoted, markOpen)
		set(st, bSpace, csvPlain, 0)
	}
	set(csvField, bSpace, csvSpace, 0)
	for cl := uint8(0); cl < 4; cl++ {
		set(csvPlain, cl, csvPlain, 0)
		set(csvQuoted, cl, csvQuoted, 0)
	}
	set(csvPlain, bComma, csvField, 0)
	set(csvQuoted, bQuote, csvQuote, 0)
	for _, st := range []uint8{csvQuote, csvClosed} {
		set(st, bOther, csvPlain, markStray)
		set(st, bComma, csvField, 0)
		set(st, bQuote, csvPlain, markStray)
		set(st, bSpace, csvClosed, 0)
	}
	set(csvQuote, bQuote, csvQuoted, 0) // "" inside quotes
	return next, mark
}()

// csvCounter counts the records of a CSV file fed in chunks.
type csvCounter struct {
	shape     textShape
	state     uint8
	off       int64 // file offset of the next byte (after a byte order mark)
	line      int64 // line of the next byte
	lastCR    bool
	inRecord  bool
	recStart  int64
	recLine   int64
	quoteLine int64
	records   int64 // the header included
	bomCheck  []byte
}

func newCSVCounter() *csvCounter { return &csvCounter{line: 1, bomCheck: []byte{}} }

func (c *csvCounter) feed(chunk []byte) {
	if c.bomCheck != nil {
		// Skip a UTF-8 byte order mark, as both readers do; it may straddle
		// chunks only in theory, but a 3-byte first read is possible.
		need := 3 - len(c.bomCheck)
		take := min(need, len(chunk))
		c.bomCheck = append(c.bomCheck, chunk[:take]...)
		if len(c.bomCheck) < 3 && len(chunk) == take {
			return
		}
		held := c.bomCheck
		c.bomCheck = nil
		rest := chunk[take:]
		if string(held) != utf8BOM {
			c.scan(held)
		}
		c.scan(rest)
		return
	}
	c.scan(chunk)
}

func (c *csvCounter) scan(chunk []byte) {
	state, line, lastCR, inRecord := c.state, c.line, c.lastCR, c.inRecord
	base := c.off
	n := len(chunk)
	for i := 0; i < n; i++ {
		// Most bytes are text inside a field, which changes nothing: skip
		// them in a tight loop (no CR can be pending inside an unquoted
		// field: it would have ended the record).
		switch state {
		case csvPlain:
			for i < n && csvPlainSkip[chunk[i]] {
				i++
			}
		case csvQuoted:
			if i < n && csvQuotedSkip[chunk[i]] {
				lastCR = false
				for i < n && csvQuotedSkip[chunk[i]] {
					i++
				}
			}
		}
		if i == n {
			break
		}
		cl := csvClass[chunk[i]]
		if cl >= bLF {
			if cl == bNUL {
				if c.shape.nulLine == 0 {
					c.shape.nulLine = line
				}
				cl = bOther
			} else {
				newline := cl == bCR || !lastCR
				lastCR = cl == bCR
				if state != csvQuoted {
					if inRecord {
						c.endRecord(base+int64(i), c.recStart, c.recLine, line)
						inRecord = false
					} else if c.records == 0 && line == 1 {
						c.shape.blankFirst = true
					}
					state = csvField
				}
				if newline {
					line++
				}
				continue
			}
		}
		lastCR = false
		if !inRecord {
			inRecord, c.recStart, c.recLine = true, base+int64(i), line
		}
		if m := csvMark[state][cl]; m != 0 {
			if m == markOpen {
				c.quoteLine = line
			} else if c.shape.strayLine == 0 {
				c.shape.strayLine = line
			}
		}
		state = csvNext[state][cl]
	}
	c.state, c.line, c.lastCR, c.inRecord = state, line, lastCR, inRecord
	c.off = base + int64(len(chunk))
}

func (c *csvCounter) endRecord(end, start, line, endLine int64) {
	if c.records == 0 && endLine != line {
		c.shape.headerBreak = true
	}
	c.records++
	if n := end - start; n > c.shape.longest {
		c.shape.longest, c.shape.longestLine = n, line
	}
}

func (c *csvCounter) finish() *textShape {
	if c.bomCheck != nil { // a file of fewer than 3 bytes
		held := c.bomCheck
		c.bomCheck = nil
		if string(held) != utf8BOM {
			c.scan(held)
		}
	}
	if c.state == csvQuoted {
		c.shape.openQuote, c.shape.openInHeader = c.quoteLine, c.records == 0
	}
	if c.inRecord {
		c.endRecord(c.off, c.recStart, c.recLine, c.line)
	}
	c.shape.records = max(c.records-1, 0)
	return &c.shape
}

// jsonlCounter counts the non-blank lines of a JSON-lines file fed in
// chunks; a line is blank when it holds only JSON white space (space, tab,
// CR), which DuckDB's reader skips.
type jsonlCounter struct {
	shape     textShape
	off       int64
	line      int64
	lineStart int64
	nonBlank  bool
}

func newJSONLCounter() *jsonlCounter { return &jsonlCounter{line: 1} }

func (j *jsonlCounter) feed(chunk []byte) {
	base := j.off
	for i, b := range chunk {
		switch b {
		case '\n':
			j.endLine(base + int64(i))
			j.line++
			j.lineStart = base + int64(i) + 1
		case ' ', '\t', '\r':
		case 0:
			if j.shape.nulLine == 0 {
				j.shape.nulLine = j.line
			}
			j.nonBlank = true
		default:
			j.nonBlank = true
		}
	}
	j.off = base + int64(len(chunk))
}

func (j *jsonlCounter) endLine(end int64) {
	if !j.nonBlank {
		return
	}
	j.nonBlank = false
	j.shape.records++
	if n := end - j.lineStart; n > j.shape.longest {
		j.shape.longest, j.shape.longestLine = n, j.line
	}
}

func (j *jsonlCounter) finish() *textShape {
	j.endLine(j.off)
	return &j.shape
}

// shapeProblem is the first thing in a text file's shape that DuckDB would
// misread or refuse obscurely, as a FileError; nil when there is none.
func shapeProblem(t Table, f SourceFile, s *textShape) error {
	if s == nil {
		return nil
	}
	fe := &FileError{Table: t.Name, File: f.Rel}
	kind := "CSV"
	if f.Format == JSONL {
		kind = "JSON lines"
	}
	switch {
	case s.encoding != "":
		fe.Msg = fmt.Sprintf("is %s text (%s), not UTF-8; save it as UTF-8 %s (e.g. iconv -f %s -t UTF-8)", s.encoding, s.encodingSign, kind, s.encoding)
	case s.nulLine > 0:
		fe.Line = s.nulLine
		fe.Msg = fmt.Sprintf("holds a NUL byte (0x00), which UTF-8 text never holds: the file is binary or in another encoding; export the table again as UTF-8 %s", kind)
	case s.blankFirst:
		fe.Line = 1
		fe.Msg = "is empty, and the header row must be the first line; remove the blank lines before the header"
	case s.openQuote > 0:
		fe.Line = s.openQuote
		fe.Msg = "a quoted field is never closed (unterminated quote); fix the quoting"
	case s.headerBreak:
		fe.Line = 1
		fe.Msg = "the header row holds a line break inside a quoted column name; remove it, so that the header is the first line alone"
	case s.strayLine > 0:
		fe.Line = s.strayLine
		fe.Msg = "a quoted field is followed by other text before the next comma; quote the whole value, doubling any quote inside it"
	case s.longest > MaxRecordBytes:
		fe.Line = s.longestLine
		what := "the line"
		if f.Format == CSV {
			what = "the record starting on this line"
		}
		fe.Msg = fmt.Sprintf("%s is %s long, over the limit of %s per record; shorten its values or fix its quoting",
			what, sizeText(s.longest), sizeText(MaxRecordBytes))
	default:
		return nil
	}
	return fe
}

// sizeText is a byte count for messages: "34.0 MB" (10^6 bytes, as file
// managers show sizes), or "16 MiB" for a whole number of MiB.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1_000_000:
		return fmt.Sprintf("%.1f MB (%d bytes)", float64(n)/1e6, n)
	}
	return fmt.Sprintf("%d bytes", n)
}
