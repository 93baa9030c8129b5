package analytics

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"github.com/assign-dev/assign/internal/termsafe"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/assign-dev/assign/duck"
)

// Output formats of query results.
const (
	FormatTable    = "table"
	FormatCSV      = "csv"
	FormatJSON     = "json"
	FormatJSONL    = "jsonl"
	FormatParquet  = "parquet"
	FormatMarkdown = "markdown"
)

// Formats lists every output format.
var Formats = []string{FormatTable, FormatCSV, FormatJSON, FormatJSONL, FormatParquet, FormatMarkdown}

// ResultWriter receives one query result as Arrow record batches and
// writes it as it arrives; only the table format holds rows back (at most
// its row cap), since aligning columns needs them.
type ResultWriter interface {
	// Begin receives the result's columns before any batch.
	Begin(schema *arrow.Schema) error
	// Write takes one batch; the batch is not retained.
	Write(rec arrow.RecordBatch) error
	// Close finishes the output (closing brackets, the table itself) and
	// reports the total number of rows seen.
	Close() (rows int64, err error)
}

// NewWriter returns a writer of the given text format (not parquet, which
// DuckDB writes itself). maxRows caps the rows the table format prints.
func NewWriter(format string, w io.Writer, maxRows int) (ResultWriter, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	switch format {
	case FormatCSV:
		return &csvWriter{bw: bw, w: csv.NewWriter(bw)}, nil
	case FormatJSON:
		return &jsonWriter{bw: bw, array: true}, nil
	case FormatJSONL:
		return &jsonWriter{bw: bw}, nil
	case FormatMarkdown:
		return &markdownWriter{bw: bw}, nil
	case FormatTable:
		return &tableWriter{bw: bw, max: maxRows}, nil
	}
	return nil, fmt.Errorf("format %q has no streaming writer", format)
}

// cellText renders one value as text: dates YYYY-MM-DD, timestamps
// 'YYYY-MM-DD HH:MM:SS[.ffffff]', booleans true/false, floats in shortest
// round-trip form (the SPEC's CSV conventions); ok is false for NULL.
func cellText(col arrow.Array, i int) (string, bool) {
	if col.IsNull(i) {
		return "", false
	}
	switch a := col.(type) {
	case *array.String:
		return a.Value(i), true
	case *array.LargeString:
		return a.Value(i), true
	case *array.StringView:
		return a.Value(i), true
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64), true
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32), true
	case *array.Date32:
		return a.Value(i).FormattedString(), true
	case *array.Date64:
		return a.Value(i).FormattedString(), true
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		toTime, err := tt.GetToTimeFunc()
		if err != nil {
			return a.ValueStr(i), true
		}
		t := toTime(a.Value(i))
		layout := "2006-01-02 15:04:05.999999999"
		if tt.TimeZone != "" {
			layout += "Z07:00"
		}
		return t.Format(layout), true
	case *array.Time64:
		return a.Value(i).FormattedString(a.DataType().(*arrow.Time64Type).Unit), true
	case *array.Duration:
		return time.Duration(a.Value(i)).String(), true
	case *array.Dictionary:
		return cellText(a.Dictionary(), a.GetValueIndex(i))
	}
	return col.ValueStr(i), true
}

// jsonValue renders one value as JSON text.
func jsonValue(col arrow.Array, i int) ([]byte, error) {
	if col.IsNull(i) {
		return []byte("null"), nil
	}
	switch a := col.(type) {
	case *array.Int8, *array.Int16, *array.Int32, *array.Int64, *array.Uint8, *array.Uint16, *array.Uint32, *array.Uint64:
		return []byte(a.ValueStr(i)), nil
	case *array.Decimal128, *array.Decimal256:
		return []byte(a.ValueStr(i)), nil
	case *array.Boolean:
		return []byte(strconv.FormatBool(a.Value(i))), nil
	case *array.Float64:
		v := a.Value(i)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return json.Marshal(strconv.FormatFloat(v, 'g', -1, 64))
		}
		return []byte(strconv.FormatFloat(v, 'g', -1, 64)), nil
	case *array.Float32:
		v := float64(a.Value(i))
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return json.Marshal(strconv.FormatFloat(v, 'g', -1, 32))
		}
		return []byte(strconv.FormatFloat(v, 'g', -1, 32)), nil
	case *array.List, *array.LargeList, *array.FixedSizeList, *array.Struct, *array.Map:
		return json.Marshal(a.GetOneForMarshal(i))
	case *array.Dictionary:
		return jsonValue(a.Dictionary(), a.GetValueIndex(i))
	}
	s, _ := cellText(col, i)
	return json.Marshal(s)
}

type csvWriter struct {
	bw   *bufio.Writer
	w    *csv.Writer
	rows int64
	rec  []string
}

func (c *csvWriter) Begin(schema *arrow.Schema) error { return c.w.Write(fieldNames(schema)) }

func (c *csvWriter) Write(rec arrow.RecordBatch) error {
	n := int(rec.NumCols())
	if cap(c.rec) < n {
		c.rec = make([]string, n)
	}
	row := c.rec[:n]
	for i := 0; i < int(rec.NumRows()); i++ {
		for j := 0; j < n; j++ {
			row[j], _ = cellText(rec.Column(j), i)
		}
		if err := c.w.Write(row); err != nil {
			return err
		}
	}
	c.rows += rec.NumRows()
	return nil
}

func (c *csvWriter) Close() (int64, error) {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return c.rows, err
	}
	return c.rows, c.bw.Flush()
}

type jsonWriter struct {
	bw    *bufio.Writer
	array bool
	keys  [][]byte
	rows  int64
}

func (j *jsonWriter) Begin(schema *arrow.Schema) error {
	for _, f := range schema.Fields() {
		k, _ := json.Marshal(f.Name)
		j.keys = append(j.keys, k)
	}
	if j.array {
		j.bw.WriteString("[")
	}
	return nil
}

func (j *jsonWriter) Write(rec arrow.RecordBatch) error {
	for i := 0; i < int(rec.NumRows()); i++ {
		if j.array {
			if j.rows > 0 {
				j.bw.WriteByte(',')
			}
			j.bw.WriteByte('\n')
		}
		j.bw.WriteByte('{')
		for c := range j.keys {
			if c > 0 {
				j.bw.WriteByte(',')
			}
			j.bw.Write(j.keys[c])
			j.bw.WriteByte(':')
			v, err := jsonValue(rec.Column(c), i)
			if err != nil {
				return fmt.Errorf("column %s: %w", rec.Schema().Field(c).Name, err)
			}
			j.bw.Write(v)
		}
		j.bw.WriteByte('}')
		if !j.array {
			j.bw.WriteByte('\n')
		}
		j.rows++
	}
	return nil
}

func (j *jsonWriter) Close() (int64, error) {
	if j.array {
		if j.rows > 0 {
			j.bw.WriteByte('\n')
		}
		j.bw.WriteString("]\n")
	}
	return j.rows, j.bw.Flush()
}

type markdownWriter struct {
	bw   *bufio.Writer
	rows int64
}

var mdEscaper = strings.NewReplacer("|", `\|`, "\n", " ", "\r", "")

// mdCell writes v as a Markdown cell: pipes escaped, line breaks as
// spaces, other control characters escaped.
func mdCell(v string) string { return EscapeControl(mdEscaper.Replace(v)) }

func (m *markdownWriter) Begin(schema *arrow.Schema) error {
	m.bw.WriteString("|")
	for _, n := range fieldNames(schema) {
		m.bw.WriteString(" " + mdCell(n) + " |")
	}
	m.bw.WriteString("\n|")
	for _, f := range schema.Fields() {
		if isNumeric(f.Type) {
			m.bw.WriteString(" ---: |")
		} else {
			m.bw.WriteString(" --- |")
		}
	}
	m.bw.WriteString("\n")
	return nil
}

func (m *markdownWriter) Write(rec arrow.RecordBatch) error {
	for i := 0; i < int(rec.NumRows()); i++ {
		m.bw.WriteString("|")
		for c := 0; c < int(rec.NumCols()); c++ {
			v, ok := cellText(rec.Column(c), i)
			if !ok {
				v = "NULL"
			}
			m.bw.WriteString(" " + mdCell(v) + " |")
		}
		m.bw.WriteString("\n")
	}
	m.rows += rec.NumRows()
	return nil
}

func (m *markdownWriter) Close() (int64, error) { return m.rows, m.bw.Flush() }

// tableWriter keeps at most max rows and renders them aligned at Close.
type tableWriter struct {
	bw     *bufio.Writer
	max    int
	header []string
	right  []bool
	rows   []table.Row
	total  int64
}

func (t *tableWriter) Begin(schema *arrow.Schema) error {
	t.header = fieldNames(schema)
	for _, f := range schema.Fields() {
		t.right = append(t.right, isNumeric(f.Type))
	}
	return nil
}

func (t *tableWriter) Write(rec arrow.RecordBatch) error {
	for i := 0; i < int(rec.NumRows()) && len(t.rows) < t.max; i++ {
		r := make(table.Row, rec.NumCols())
		for c := range r {
			v, ok := cellText(rec.Column(c), i)
			if !ok {
				v = "NULL"
			}
			// Strings alias the batch's buffers, which the next batch
			// reuses: escaping copies, Clone copies the rest.
			if e := EscapeControl(v); e != v {
				r[c] = e
			} else {
				r[c] = strings.Clone(v)
			}
		}
		t.rows = append(t.rows, r)
	}
	t.total += rec.NumRows()
	if len(t.rows) >= t.max {
		return duck.ErrCountRest // the rest is only counted
	}
	return nil
}

func (t *tableWriter) Close() (int64, error) {
	if t.header == nil {
		return 0, t.bw.Flush()
	}
	tw := table.NewWriter()
	tw.SetOutputMirror(t.bw)
	tw.SetStyle(table.StyleLight)
	tw.Style().Options.DrawBorder = false
	tw.Style().Options.SeparateColumns = true
	tw.Style().Format.Header = text.FormatDefault
	hr := make(table.Row, len(t.header))
	var cfg []table.ColumnConfig
	for i, h := range t.header {
		hr[i] = EscapeControl(h)
		if t.right[i] {
			cfg = append(cfg, table.ColumnConfig{Number: i + 1, Align: text.AlignRight, AlignHeader: text.AlignRight})
		}
	}
	tw.AppendHeader(hr)
	tw.SetColumnConfigs(cfg)
	tw.AppendRows(t.rows)
	tw.Render()
	return t.total, t.bw.Flush()
}

// EscapeControl makes s safe to print on a terminal (see termsafe.Escape).
func EscapeControl(s string) string { return termsafe.Escape(s) }

func fieldNames(s *arrow.Schema) []string {
	out := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		out[i] = f.Name
	}
	return out
}

func isNumeric(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	}
	return false
}
