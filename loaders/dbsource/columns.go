package dbsource

import (
	"bytes"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/assign-dev/assign/loaders"
)

// class is what a source column's type can hold, as far as reading it goes.
type class int

const (
	clInt      class = iota // signed integers of any width, unsigned ones that fit int64
	clUint                  // MySQL BIGINT UNSIGNED
	clDecimal               // DECIMAL / NUMERIC
	clFloat                 // FLOAT / REAL / DOUBLE
	clBool                  // PostgreSQL boolean
	clBit                   // MySQL BIT(n)
	clDate                  // DATE
	clDateTime              // DATETIME, timestamp without time zone: taken as written
	clZoned                 // MySQL TIMESTAMP, timestamptz: converted to --time-zone
	clText                  // CHAR, VARCHAR, TEXT, ENUM, SET, citext, name
	clBinary                // BLOB, BINARY, bytea: bytes, maybe not UTF-8
	clOther                 // anything else, read as the server's text form
)

// kind is the Arrow type a column is read into.
type kind int

const (
	kInt       kind = iota // int64
	kBool                  // boolean
	kDate                  // date32
	kTimestamp             // timestamp[us], no zone (wall clock)
	kText                  // utf8
)

func (k kind) arrowType() arrow.DataType {
	switch k {
	case kInt:
		return arrow.PrimitiveTypes.Int64
	case kBool:
		return arrow.FixedWidthTypes.Boolean
	case kDate:
		return arrow.FixedWidthTypes.Date32
	case kTimestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	}
	return arrow.BinaryTypes.String
}

// srcCol is a column of the source table or query.
type srcCol struct {
	Name   string // as the source spells it
	DBType string // as the database names the type, for messages
	Class  class
	PGType string // PostgreSQL base type name (int4, numeric, ...)
}

// outCol is one column of the batches a feed hands over.
type outCol struct {
	Name   string // Arrow field name: the SPEC column, the kept column, or a hidden key column
	Src    srcCol
	Kind   kind
	Spec   bool // feeds a SPEC column
	Hidden bool // a hidden key column
}

// kindFor decides how a source column is read for a SPEC column of type
// want, or reports that its type cannot hold such values.
func kindFor(c srcCol, want loaders.Type) (kind, bool) {
	switch want {
	case loaders.Bigint, loaders.Integer:
		switch c.Class {
		case clInt, clUint, clDecimal:
			return kInt, true
		case clFloat, clText, clOther:
			return kText, true
		}
	case loaders.Date, loaders.Timestamp:
		switch c.Class {
		case clDate:
			return kDate, true
		case clDateTime, clZoned:
			return kTimestamp, true
		case clText, clOther:
			return kText, true
		}
	case loaders.Boolean:
		switch c.Class {
		case clBool, clInt, clUint, clBit:
			return kBool, true
		case clText, clOther, clDecimal:
			return kText, true
		}
	case loaders.Varchar:
		switch c.Class {
		case clBinary, clBit:
			return 0, false
		}
		return kText, true
	}
	return 0, false
}

// keptKind is how a kept (extra) column is read.
func keptKind(c srcCol) (kind, bool) {
	switch c.Class {
	case clInt:
		return kInt, true
	case clBool:
		return kBool, true
	case clDate:
		return kDate, true
	case clDateTime, clZoned:
		return kTimestamp, true
	case clBinary, clBit:
		return 0, false
	}
	return kText, true
}

// keyKind is how a hidden key column is read.
func keyKind(c srcCol) kind {
	if c.Class == clInt {
		return kInt
	}
	return kText
}

func typeWords(t loaders.Type) string {
	switch t {
	case loaders.Bigint, loaders.Integer:
		return "integer"
	case loaders.Date:
		return "date"
	case loaders.Timestamp:
		return "timestamp"
	case loaders.Boolean:
		return "boolean"
	}
	return "text"
}

// errRestart reports a value that does not fit its column's kind; the
// column is read as text on the next attempt.
type errRestart struct{ col int }

func (e *errRestart) Error() string { return "a value does not fit its column's type" }
func (e *errRestart) Unwrap() error { return loaders.ErrFeedRestart }

// batchRows is the size of every batch but a reader's last: fixed, so the
// merged order of several readers is the same on every load.
const batchRows = 64 * 1024

// sink accumulates the rows of one reader into Arrow batches.
type sink struct {
	schema *arrow.Schema
	cols   []outCol
	rb     *array.RecordBuilder
	i64    []*array.Int64Builder
	bools  []*array.BooleanBuilder
	dates  []*array.Date32Builder
	tss    []*array.TimestampBuilder
	strs   []*array.StringBuilder
	n      int
	emit   func(arrow.RecordBatch) error
	zone   *time.Location // nil: UTC
	label  string         // for a UTF-8 error
}

func schemaOf(cols []outCol) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Kind.arrowType(), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

func newSink(cols []outCol, zone *time.Location, label string, emit func(arrow.RecordBatch) error) *sink {
	s := &sink{schema: schemaOf(cols), cols: cols, emit: emit, zone: zone, label: label}
	s.rb = array.NewRecordBuilder(memory.DefaultAllocator, s.schema)
	n := len(cols)
	s.i64, s.bools, s.dates, s.tss, s.strs = make([]*array.Int64Builder, n), make([]*array.BooleanBuilder, n), make([]*array.Date32Builder, n), make([]*array.TimestampBuilder, n), make([]*array.StringBuilder, n)
	for i, c := range cols {
		switch b := s.rb.Field(i); c.Kind {
		case kInt:
			s.i64[i] = b.(*array.Int64Builder)
		case kBool:
			s.bools[i] = b.(*array.BooleanBuilder)
		case kDate:
			s.dates[i] = b.(*array.Date32Builder)
		case kTimestamp:
			s.tss[i] = b.(*array.TimestampBuilder)
		default:
			s.strs[i] = b.(*array.StringBuilder)
		}
	}
	s.reserve()
	return s
}

func (s *sink) reserve() { s.rb.Reserve(batchRows) }

func (s *sink) release() { s.rb.Release() }

func (s *sink) null(i int) { s.rb.Field(i).AppendNull() }

func (s *sink) int(i int, v int64) { s.i64[i].Append(v) }

func (s *sink) bool(i int, v bool) { s.bools[i].Append(v) }

func (s *sink) date(i int, days int32) { s.dates[i].Append(arrow.Date32(days)) }

// wall appends a zone-less timestamp in microseconds since 1970.
func (s *sink) wall(i int, us int64) { s.tss[i].Append(arrow.Timestamp(us)) }

// zoned appends an instant (microseconds since 1970 UTC) as the wall clock
// of the chosen time zone.
func (s *sink) zoned(i int, us int64) {
	if s.zone != nil {
		_, off := time.UnixMicro(us).In(s.zone).Zone()
		us += int64(off) * 1e6
	}
	s.tss[i].Append(arrow.Timestamp(us))
}

var errNotUTF8 = errors.New("not UTF-8")

func (s *sink) text(i int, b []byte) error {
	if !utf8.Valid(b) {
		return fmt.Errorf("%s: column %s holds bytes that are not UTF-8 (%w); read it as text in the database's character set or map a query that converts it", s.label, s.cols[i].Src.Name, errNotUTF8)
	}
	s.strs[i].BinaryBuilder.Append(b)
	return nil
}

func (s *sink) textString(i int, v string) { s.strs[i].Append(v) }

// row ends a row; a full batch is handed over.
func (s *sink) row() error {
	s.n++
	if s.n < batchRows {
		return nil
	}
	return s.flush()
}

func (s *sink) flush() error {
	if s.n == 0 {
		return nil
	}
	rec := s.rb.NewRecordBatch()
	s.n = 0
	s.reserve()
	return s.emit(rec)
}

// days from 1970-01-01 of a civil date (proleptic Gregorian), after
// Howard Hinnant's days_from_civil.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func daysIn(y, m int64) int64 {
	switch m {
	case 2:
		if (y%4 == 0 && y%100 != 0) || y%400 == 0 {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func digits(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// parseDate reads YYYY-MM-DD into days since 1970; false for anything else
// (MySQL's zero dates among them).
func parseDate(b []byte) (int64, bool) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(b[:4])
	m, ok2 := digits(b[5:7])
	d, ok3 := digits(b[8:10])
	if !ok1 || !ok2 || !ok3 || y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}

// parseDateTime reads YYYY-MM-DD HH:MM:SS[.ffffff] into microseconds since
// 1970 (as a wall clock); false for anything else.
func parseDateTime(b []byte) (int64, bool) {
	if len(b) < 19 || b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		if len(b) == 10 {
			d, ok := parseDate(b)
			return d * 86400e6, ok
		}
		return 0, false
	}
	days, ok := parseDate(b[:10])
	if !ok {
		return 0, false
	}
	h, ok1 := digits(b[11:13])
	mi, ok2 := digits(b[14:16])
	sec, ok3 := digits(b[17:19])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	var frac int64
	if len(b) > 19 {
		if b[19] != '.' || len(b) > 26 || len(b) == 20 {
			return 0, false
		}
		f, ok := digits(b[20:])
		if !ok {
			return 0, false
		}
		for k := len(b) - 20; k < 6; k++ {
			f *= 10
		}
		frac = f
	}
	return ((days*24+h)*60+mi)*60e6 + sec*1e6 + frac, true
}

// parseDecimalInt reads a decimal's text ("12", "-3.000") as an integer;
// false when it has a fraction or does not fit int64.
func parseDecimalInt(b []byte) (int64, bool) {
	if i := bytes.IndexByte(b, '.'); i >= 0 {
		for _, c := range b[i+1:] {
			if c != '0' {
				return 0, false
			}
		}
		b = b[:i]
	}
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}
