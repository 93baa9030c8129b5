package results

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/assign-dev/assign/atomicfs"
)

// The CSV form of an output table is written by Go, not by DuckDB's COPY:
// DuckDB spent about 3 s of CPU on the 3.2 million box lines of a medium
// preassign (benchmarks/RESULTS.md), most of it converting the Arrow
// batches and casting every value to text on one thread. Here the batches
// are formatted on every core and written in order, in exactly DuckDB's
// text (a test compares the two byte for byte on the output tables and on
// edge values): dates YYYY-MM-DD, booleans true/false, NULL as an empty
// field, an empty string as "", a text holding the delimiter, a quote or a
// line break quoted with quotes doubled, and DOUBLE in DuckDB's shortest
// round-trip form (Python's repr: 0.1, 1.0, 1e-05, 1e+16).
//
// A value this writer does not know how to spell as DuckDB does (a column
// type or SQL type outside the output tables', a date outside years
// 1..9999, a NaN or infinite score) is reported as errUnsupported and the
// table is written by DuckDB instead, so the output never differs.

// errUnsupported says a table holds a value this writer leaves to DuckDB.
var errUnsupported = errors.New("value left to DuckDB's CSV writer")

// csvColumn appends the text of row i of one column to dst.
type csvColumn func(dst []byte, i int) ([]byte, error)

// csvSupported reports whether every column of t has a type this writer
// formats as DuckDB does.
func csvSupported(t *Table) bool {
	for i, f := range t.Schema.Fields() {
		want := map[arrow.Type]string{
			arrow.DATE32: "DATE", arrow.INT64: "BIGINT", arrow.INT32: "INTEGER",
			arrow.STRING: "VARCHAR", arrow.FLOAT64: "DOUBLE", arrow.BOOL: "BOOLEAN",
		}[f.Type.ID()]
		sql := t.SQLType[i]
		if want == "" || (sql != want && !(f.Type.ID() == arrow.INT32 && sql == "BIGINT")) {
			return false
		}
	}
	return true
}

func csvColumns(rec arrow.RecordBatch) ([]csvColumn, error) {
	cols := make([]csvColumn, rec.NumCols())
	for c := range cols {
		a := rec.Column(c)
		nulls := func(fn csvColumn) csvColumn {
			if a.NullN() == 0 {
				return fn
			}
			return func(dst []byte, i int) ([]byte, error) {
				if a.IsNull(i) {
					return dst, nil
				}
				return fn(dst, i)
			}
		}
		switch a := a.(type) {
		case *array.Date32:
			// Dates repeat (a whole batch of boxes is often one ship
			// date): the last one's text is kept.
			last, text := arrow.Date32(math.MinInt32), []byte(nil)
			cols[c] = nulls(func(dst []byte, i int) ([]byte, error) {
				if d := a.Value(i); d != last {
					var err error
					if text, err = appendDate(text[:0], d); err != nil {
						return dst, err
					}
					last = d
				}
				return append(dst, text...), nil
			})
		case *array.Int64:
			cols[c] = nulls(func(dst []byte, i int) ([]byte, error) { return strconv.AppendInt(dst, a.Value(i), 10), nil })
		case *array.Int32:
			cols[c] = nulls(func(dst []byte, i int) ([]byte, error) { return strconv.AppendInt(dst, int64(a.Value(i)), 10), nil })
		case *array.String:
			cols[c] = nulls(func(dst []byte, i int) ([]byte, error) { return appendCSVText(dst, a.Value(i)), nil })
		case *array.Float64:
			cols[c] = nulls(func(dst []byte, i int) ([]byte, error) { return appendDouble(dst, a.Value(i)) })
		case *array.Boolean:
			cols[c] = nulls(func(dst []byte, i int) ([]byte, error) {
				if a.Value(i) {
					return append(dst, "true"...), nil
				}
				return append(dst, "false"...), nil
			})
		default:
			return nil, errUnsupported
		}
	}
	return cols, nil
}

// formatCSV returns the lines of rec.
func formatCSV(rec arrow.RecordBatch) ([]byte, error) {
	cols, err := csvColumns(rec)
	if err != nil {
		return nil, err
	}
	n := int(rec.NumRows())
	out := make([]byte, 0, n*(8*len(cols)+8))
	for i := range n {
		for c, col := range cols {
			if c > 0 {
				out = append(out, ',')
			}
			if out, err = col(out, i); err != nil {
				return nil, err
			}
		}
		out = append(out, '\n')
	}
	return out, nil
}

// appendCSVText appends s as DuckDB's CSV writer does with its defaults
// (delimiter ',', quote '"', escape '"', NULL as an empty field).
func appendCSVText(dst []byte, s string) []byte {
	quote := s == ""
	for i := 0; i < len(s) && !quote; i++ {
		switch s[i] {
		case ',', '"', '\n', '\r':
			quote = true
		}
	}
	if !quote {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

var epoch = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// appendDate appends a DATE as YYYY-MM-DD (years 1..9999).
func appendDate(dst []byte, d arrow.Date32) ([]byte, error) {
	y, m, day := epoch.AddDate(0, 0, int(d)).Date()
	if y < 1 || y > 9999 {
		return dst, errUnsupported
	}
	dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(m)/10), byte('0'+int(m)%10), '-', byte('0'+day/10), byte('0'+day%10))
	return dst, nil
}

// appendDouble appends f in DuckDB's text form of a DOUBLE: the shortest
// digits that read back as f, positional when the decimal exponent is in
// -4..15 (always with a fractional part: 1.0), else d.ddde±XX.
func appendDouble(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, errUnsupported
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	if e[0] == '-' {
		dst = append(dst, '-')
		e = e[1:]
	}
	// e is d[.ddd]e±XX.
	var digits [24]byte
	nd := 0
	k := 0
	for ; e[k] != 'e'; k++ {
		if e[k] != '.' {
			digits[nd] = e[k]
			nd++
		}
	}
	x, err := strconv.Atoi(string(e[k+1:]))
	if err != nil {
		return dst, errUnsupported
	}
	ds := digits[:nd]
	switch {
	case x >= 16 || x < -4:
		dst = append(dst, ds[0])
		if nd > 1 {
			dst = append(dst, '.')
			dst = append(dst, ds[1:]...)
		}
		dst = append(dst, 'e')
		if x < 0 {
			dst, x = append(dst, '-'), -x
		} else {
			dst = append(dst, '+')
		}
		if x < 10 {
			dst = append(dst, '0')
		}
		return strconv.AppendInt(dst, int64(x), 10), nil
	case x < 0:
		dst = append(dst, '0', '.')
		for range -x - 1 {
			dst = append(dst, '0')
		}
		return append(dst, ds...), nil
	default:
		if nd <= x+1 {
			dst = append(dst, ds...)
			for range x + 1 - nd {
				dst = append(dst, '0')
			}
			return append(dst, '.', '0'), nil
		}
		dst = append(dst, ds[:x+1]...)
		dst = append(dst, '.')
		return append(dst, ds[x+1:]...), nil
	}
}

// writeCSV writes t into file (through a temporary file published at the
// end) with the batches formatted on every core and written in order. The
// written file is handed to commit (nil: f.Commit), which publishes it.
func writeCSV(ctx context.Context, t *Table, file string, workers int, commit func(*atomicfs.File) error) error {
	f, err := atomicfs.Create(file)
	if err != nil {
		return err
	}
	handed := false
	defer func() {
		if !handed {
			f.Abort()
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	for i, fd := range t.Schema.Fields() {
		if i > 0 {
			w.WriteByte(',')
		}
		w.Write(appendCSVText(nil, fd.Name))
	}
	w.WriteByte('\n')

	err = inOrder(ctx, t, workers, formatCSV, func(out []byte) error {
		if _, err := w.Write(out); err != nil {
			return fmt.Errorf("write %s: %w", file, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	handed = true
	return commitFile(f, commit)
}

// inOrder encodes the batches of t's reader with encode on up to workers
// goroutines (the reader builds its batches on as many) and hands the
// results to consume in batch order, so what consume receives does not
// depend on the number of workers. At most twice as many batches as
// workers are in flight. The first error of encode or consume (or the
// context's) stops the work and is returned.
//
// A table whose batches can be built in any order (Table.batch) has each
// batch built and encoded by the same goroutine, one after the other: the
// batch is encoded while it is still in that core's cache, and no batch
// waits between two goroutines.
func inOrder[T any](ctx context.Context, t *Table, workers int, encode func(arrow.RecordBatch) (T, error), consume func(T) error) error {
	workers = max(1, workers)
	type result struct {
		v     T
		err   error
		empty bool
	}
	// Each batch gets a channel its result arrives on; the channels queue
	// in batch order. The queue bounds how many batches are in flight.
	queue := make(chan chan result, 2*workers)
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	var failed atomic.Bool
	start := func(get func() arrow.RecordBatch) {
		done := make(chan result, 1)
		queue <- done
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rec := get()
			defer rec.Release()
			if rec.NumRows() == 0 {
				done <- result{empty: true}
				return
			}
			v, err := encode(rec)
			done <- result{v: v, err: err}
		}()
	}
	var rr array.RecordReader
	if t.batch != nil {
		go func() {
			defer close(queue)
			for i := range t.batches {
				if ctx.Err() != nil || failed.Load() {
					return
				}
				start(func() arrow.RecordBatch { return t.batch(i) })
			}
		}()
	} else {
		rr = t.reader(workers)
		defer rr.Release()
		go func() {
			defer close(queue)
			for rr.Next() {
				if ctx.Err() != nil || failed.Load() {
					return
				}
				rec := rr.RecordBatch()
				rec.Retain()
				start(func() arrow.RecordBatch { return rec })
			}
		}()
	}
	var werr error
	for done := range queue {
		r := <-done
		if werr == nil && !r.empty {
			if werr = r.err; werr == nil {
				werr = consume(r.v)
			}
			if werr != nil {
				failed.Store(true)
			}
		}
	}
	wg.Wait()
	if werr != nil {
		return werr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if rr != nil {
		return rr.Err()
	}
	return nil
}
