package results

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/klauspost/compress/s2"

	"github.com/assign-dev/assign/atomicfs"
)

// The Parquet form of an output table is written by Go, not by DuckDB's
// COPY: DuckDB spent about 1.2 s of CPU on the 3.2 million box lines of a
// medium preassign (benchmarks/RESULTS.md), converting the Arrow batches
// into its vectors and analysing every column for a dictionary, whatever
// the codec. The output tables need little of that: every batch of the
// table's reader becomes one row group, the row groups are encoded on
// every core and written in batch order (so the file is the same at any
// thread count), and each column gets the encoding its values suit, with
// no analysis:
//
//   - integers and dates: DELTA_BINARY_PACKED (ship_on is one value per
//     batch of boxes, user_id repeats box_size times, position counts
//     1..k: a few bits a value; snack_id about 12);
//   - text: a dictionary of the row group's values (lot ids repeat),
//     indexes bit-packed;
//   - doubles and booleans: PLAIN;
//
// every page compressed with snappy: zstd (DuckDB's choice) made the
// score column, the one that is high in entropy, about 20 % smaller for
// three times the CPU (0.31 s against 0.10 s at medium).
//
// One data page per column chunk, with statistics (min and max of the
// integers and dates, so a filter on ship_on skips row groups; the null
// count of every column). A column is REQUIRED unless its Arrow field is
// nullable. The Parquet types are those of the table's SQL types: DATE
// (INT32 annotated DATE), INTEGER (INT32), BIGINT (INT64, also from an
// Arrow int32 column), VARCHAR (BYTE_ARRAY annotated STRING), DOUBLE and
// BOOLEAN; DuckDB reads the files back as exactly those types
// (parquet_test.go).

// Parquet physical types, encodings, codecs and page types (parquet.thrift).
const (
	pqBoolean   = 0
	pqInt32     = 1
	pqInt64     = 2
	pqDouble    = 5
	pqByteArray = 6

	encPlain         = 0
	encRLE           = 3
	encDeltaBinary   = 5
	encRLEDictionary = 8

	codecSnappy = 1

	pageData       = 0
	pageDictionary = 2

	convertedUTF8 = 0
	convertedDate = 6
)

// pqColumn is how one column of a table is written.
type pqColumn struct {
	name     string
	physical int32
	// converted is the converted type (-1: none); logical the LogicalType
	// union's field (0: none): 1 STRING, 6 DATE.
	converted, logical int32
	optional           bool
}

// parquetColumns maps t's columns to Parquet, or fails for a column type
// the writer does not handle (none of the output tables has one; the
// tests write every table).
func parquetColumns(t *Table) ([]pqColumn, error) {
	cols := make([]pqColumn, len(t.Schema.Fields()))
	for i, f := range t.Schema.Fields() {
		c := pqColumn{name: f.Name, converted: -1, optional: f.Nullable}
		switch sql := t.SQLType[i]; {
		case f.Type.ID() == arrow.DATE32 && sql == "DATE":
			c.physical, c.converted, c.logical = pqInt32, convertedDate, 6
		case f.Type.ID() == arrow.INT32 && sql == "INTEGER":
			c.physical = pqInt32
		case (f.Type.ID() == arrow.INT32 || f.Type.ID() == arrow.INT64) && sql == "BIGINT":
			c.physical = pqInt64
		case f.Type.ID() == arrow.STRING && sql == "VARCHAR":
			c.physical, c.converted, c.logical = pqByteArray, convertedUTF8, 1
		case f.Type.ID() == arrow.FLOAT64 && sql == "DOUBLE":
			c.physical = pqDouble
		case f.Type.ID() == arrow.BOOL && sql == "BOOLEAN":
			c.physical = pqBoolean
		default:
			return nil, fmt.Errorf("write table %s: column %s of type %s as %s is not supported in Parquet", t.Name, f.Name, f.Type, sql)
		}
		cols[i] = c
	}
	return cols, nil
}

// pqChunk is one encoded column chunk of a row group: its pages, and the
// facts its metadata records (offsets relative to the row group's start).
type pqChunk struct {
	dictOff, dataOff int64 // dictOff < 0: no dictionary page
	size, rawSize    int64 // bytes in the file, and before compression
	values           int64
	encoding         int32
	nulls            int64
	min, max         []byte // nil: no min/max statistics
}

// pqRowGroup is one encoded row group.
type pqRowGroup struct {
	buf    []byte
	rows   int64
	chunks []pqChunk
}

// writeParquet writes t into file as Parquet, one row group per batch of
// its reader, the row groups encoded on up to workers cores and written
// in order. The written file is handed to commit (nil: f.Commit), which
// publishes it.
func writeParquet(ctx context.Context, t *Table, file string, workers int, commit func(*atomicfs.File) error) error {
	cols, err := parquetColumns(t)
	if err != nil {
		return err
	}
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
	w.WriteString("PAR1")
	off := int64(4)
	var groups []pqRowGroup
	err = inOrder(ctx, t, workers, func(rec arrow.RecordBatch) (pqRowGroup, error) {
		return encodeRowGroup(t, cols, rec)
	}, func(rg pqRowGroup) error {
		if _, err := w.Write(rg.buf); err != nil {
			return fmt.Errorf("write %s: %w", file, err)
		}
		for i := range rg.chunks {
			c := &rg.chunks[i]
			c.dataOff += off
			if c.dictOff >= 0 {
				c.dictOff += off
			}
		}
		off += int64(len(rg.buf))
		b := rg.buf[:0]
		groupBufs.Put(&b)
		rg.buf = nil
		groups = append(groups, rg)
		return nil
	})
	if err != nil {
		return err
	}
	meta := fileMetadata(cols, groups)
	w.Write(meta)
	w.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(meta))))
	w.WriteString("PAR1")
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	handed = true
	return commitFile(f, commit)
}

// encodeRowGroup encodes every column of rec.
func encodeRowGroup(t *Table, cols []pqColumn, rec arrow.RecordBatch) (pqRowGroup, error) {
	rg := pqRowGroup{rows: rec.NumRows(), chunks: make([]pqChunk, len(cols))}
	size := 8*int(rec.NumRows()) + 1024 // about what boxes need
	if b, ok := groupBufs.Get().(*[]byte); ok && cap(*b) >= size {
		rg.buf = *b
	} else {
		rg.buf = make([]byte, 0, size)
	}
	scratch := scratchPool.Get().(*pqScratch)
	defer scratchPool.Put(scratch)
	for i, c := range cols {
		a := rec.Column(i)
		if !c.optional && a.NullN() > 0 {
			return rg, fmt.Errorf("write table %s: column %s holds NULL", t.Name, c.name)
		}
		var err error
		rg.buf, rg.chunks[i], err = scratch.encodeColumn(rg.buf, c, a)
		if err != nil {
			return rg, fmt.Errorf("write table %s: column %s: %w", t.Name, c.name, err)
		}
	}
	return rg, nil
}

// groupBufs keeps the buffers of the row groups written for the next
// ones (a batch of boxes is about half a megabyte encoded).
var groupBufs sync.Pool

// scratchPool keeps the buffers of the row groups being encoded for the
// next ones.
var scratchPool = sync.Pool{New: func() any { return new(pqScratch) }}

// pqScratch holds the buffers one row group's columns are encoded in.
type pqScratch struct {
	ints   []int64
	values []byte
	page   []byte
	idx    []uint64
	packed []byte // a page compressed
}

// encodeColumn appends the pages of column c (array a) to dst, the row
// group so far; the chunk's page offsets are offsets in dst.
func (s *pqScratch) encodeColumn(dst []byte, c pqColumn, a arrow.Array) ([]byte, pqChunk, error) {
	n := a.Len()
	ch := pqChunk{dictOff: -1, values: int64(n), nulls: int64(a.NullN()), encoding: encPlain}
	// The page body: definition levels (an optional column), then values.
	page := s.page[:0]
	if c.optional {
		page = appendDefLevels(page, a)
	}
	vals := s.values[:0]
	switch a := a.(type) {
	case *array.Date32, *array.Int32, *array.Int64:
		ints := s.ints[:0]
		switch a := a.(type) {
		case *array.Date32:
			ints = appendValid(ints, a, a.Date32Values())
		case *array.Int32:
			ints = appendValid(ints, a, a.Int32Values())
		case *array.Int64:
			ints = appendValid(ints, a, a.Int64Values())
		}
		s.ints = ints
		vals = appendDeltaBinaryPacked(vals, ints, c.physical == pqInt32)
		ch.encoding = encDeltaBinary
		if len(ints) > 0 {
			lo, hi := ints[0], ints[0]
			for _, v := range ints[1:] {
				lo, hi = min(lo, v), max(hi, v)
			}
			if c.physical == pqInt32 {
				ch.min = binary.LittleEndian.AppendUint32(nil, uint32(lo))
				ch.max = binary.LittleEndian.AppendUint32(nil, uint32(hi))
			} else {
				ch.min = binary.LittleEndian.AppendUint64(nil, uint64(lo))
				ch.max = binary.LittleEndian.AppendUint64(nil, uint64(hi))
			}
		}
	case *array.Float64:
		if a.NullN() == 0 {
			vals = append(vals, arrow.Float64Traits.CastToBytes(a.Float64Values())...)
		} else {
			for i := range n {
				if a.IsValid(i) {
					vals = binary.LittleEndian.AppendUint64(vals, math.Float64bits(a.Value(i)))
				}
			}
		}
	case *array.Boolean:
		if a.NullN() == 0 && a.Data().Offset() == 0 && n > 0 {
			// Arrow's bitmap is Parquet's PLAIN: bits packed least
			// significant first (the last byte's unused bits cleared).
			bm := a.Data().Buffers()[1].Bytes()[:(n+7)/8]
			vals = append(vals, bm...)
			if n%8 != 0 {
				vals[len(vals)-1] &= byte(1)<<(n%8) - 1
			}
			break
		}
		var acc byte
		k := 0
		for i := range n {
			if !a.IsValid(i) {
				continue
			}
			if a.Value(i) {
				acc |= 1 << (k & 7)
			}
			if k++; k&7 == 0 {
				vals, acc = append(vals, acc), 0
			}
		}
		if k&7 != 0 {
			vals = append(vals, acc)
		}
	case *array.String:
		if a.NullN() == n {
			break // no values: PLAIN, empty
		}
		// A dictionary of the distinct values in order of appearance;
		// the page holds their indexes.
		index := make(map[string]uint64)
		var dict []byte
		idx := s.idx[:0]
		// A few thousand lots over a row group's lines: a small table
		// indexed by a hash of the value's last bytes answers most
		// lookups before the map does.
		var recent [256]struct {
			v string
			j uint64
		}
		for i := range n {
			if !a.IsValid(i) {
				continue
			}
			v := a.Value(i)
			h := uint32(len(v))
			for k := max(0, len(v)-8); k < len(v); k++ {
				h = h*16777619 ^ uint32(v[k])
			}
			r := &recent[uint8(h^h>>8^h>>16)]
			if r.v == v && len(v) > 0 {
				idx = append(idx, r.j)
				continue
			}
			j, ok := index[v]
			if !ok {
				j = uint64(len(index))
				index[v] = j
				dict = binary.LittleEndian.AppendUint32(dict, uint32(len(v)))
				dict = append(dict, v...)
			}
			r.v, r.j = v, j
			idx = append(idx, j)
		}
		s.idx = idx
		width := max(1, bits.Len64(uint64(len(index)-1)))
		vals = append(vals, byte(width))
		vals = appendBitPackedRun(vals, idx, width)
		ch.dictOff = int64(len(dst))
		var err error
		if dst, err = s.appendPage(dst, &ch, pageDictionary, dict, len(index), encPlain); err != nil {
			return dst, ch, err
		}
		ch.encoding = encRLEDictionary
	default:
		return dst, ch, fmt.Errorf("arrow type %s is not supported", a.DataType())
	}
	s.values = vals
	page = append(page, vals...)
	s.page = page
	ch.dataOff = int64(len(dst))
	dst, err := s.appendPage(dst, &ch, pageData, page, n, ch.encoding)
	return dst, ch, err
}

// appendValid appends the values of a (raw, its values buffer) that are not
// NULL to dst.
func appendValid[T int32 | int64 | arrow.Date32](dst []int64, a arrow.Array, raw []T) []int64 {
	if a.NullN() == 0 {
		for _, v := range raw {
			dst = append(dst, int64(v))
		}
		return dst
	}
	for i, v := range raw {
		if a.IsValid(i) {
			dst = append(dst, int64(v))
		}
	}
	return dst
}

// appendPage appends a page of the given type (header, then body
// compressed with snappy) to dst and adds its sizes to ch.
func (s *pqScratch) appendPage(dst []byte, ch *pqChunk, typ int32, body []byte, values int, encoding int32) ([]byte, error) {
	if len(body) > math.MaxInt32/2 {
		return dst, fmt.Errorf("a page of %d bytes is too large", len(body))
	}
	stored := s2.EncodeSnappy(s.packed[:cap(s.packed)], body)
	s.packed = stored
	var h thriftWriter
	h.i32(1, typ)
	h.i32(2, int32(len(body)))
	h.i32(3, int32(len(stored)))
	if typ == pageDictionary {
		h.beginStruct(7) // DictionaryPageHeader
		h.i32(1, int32(values))
		h.i32(2, encoding)
	} else {
		h.beginStruct(5) // DataPageHeader
		h.i32(1, int32(values))
		h.i32(2, encoding)
		h.i32(3, encRLE) // definition levels
		h.i32(4, encRLE) // repetition levels
	}
	h.endStruct()
	h.stop()
	dst = append(dst, h.buf...)
	dst = append(dst, stored...)
	ch.size += int64(len(h.buf) + len(stored))
	ch.rawSize += int64(len(h.buf) + len(body))
	return dst, nil
}

// appendDefLevels appends the definition levels of a (1 valid, 0 NULL) as
// a 4-byte length and RLE runs of bit width 1.
func appendDefLevels(dst []byte, a arrow.Array) []byte {
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	n := a.Len()
	for i := 0; i < n; {
		valid := a.IsValid(i)
		j := i + 1
		for j < n && a.IsValid(j) == valid {
			j++
		}
		dst = binary.AppendUvarint(dst, uint64(j-i)<<1)
		if valid {
			dst = append(dst, 1)
		} else {
			dst = append(dst, 0)
		}
		i = j
	}
	binary.LittleEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst
}

// appendBitPacked appends vals packed at width bits each, least
// significant bit first (Parquet's bit-packing); width*len(vals) must be
// a multiple of 8.
func appendBitPacked(dst []byte, vals []uint64, width int) []byte {
	if width == 0 {
		return dst
	}
	at := len(dst)
	size := (len(vals)*width + 7) / 8
	dst = slices.Grow(dst, size+8)[:at+size+8] // 8 bytes of slack for the last word
	var acc uint64
	n, o := 0, at // bits in acc, where the next word goes
	for _, v := range vals {
		acc |= v << n
		if n += width; n >= 64 {
			binary.LittleEndian.PutUint64(dst[o:], acc)
			o += 8
			n -= 64
			acc = v >> (width - n) // the bits that did not fit (none: 0)
		}
	}
	binary.LittleEndian.PutUint64(dst[o:], acc)
	return dst[:at+size]
}

// appendBitPackedRun appends vals as one bit-packed run of the RLE /
// bit-packing hybrid, padded with zeros to a multiple of 8 values.
func appendBitPackedRun(dst []byte, vals []uint64, width int) []byte {
	groups := (len(vals) + 7) / 8
	dst = binary.AppendUvarint(dst, uint64(groups)<<1|1)
	full := len(vals) &^ 7
	dst = appendBitPacked(dst, vals[:full], width)
	if full < len(vals) {
		var last [8]uint64
		copy(last[:], vals[full:])
		dst = appendBitPacked(dst, last[:], width)
	}
	return dst
}

// Blocks of DELTA_BINARY_PACKED: 128 values in 4 miniblocks of 32.
const (
	deltaBlock     = 128
	deltaMiniblock = 32
)

// appendDeltaBinaryPacked appends vals in the DELTA_BINARY_PACKED
// encoding; int32 says the column is INT32, whose deltas wrap at 32 bits.
func appendDeltaBinaryPacked(dst []byte, vals []int64, int32Col bool) []byte {
	dst = binary.AppendUvarint(dst, deltaBlock)
	dst = binary.AppendUvarint(dst, deltaBlock/deltaMiniblock)
	dst = binary.AppendUvarint(dst, uint64(len(vals)))
	if len(vals) == 0 {
		return binary.AppendVarint(dst, 0)
	}
	dst = binary.AppendVarint(dst, vals[0])
	var deltas [deltaBlock]int64
	var packed [deltaMiniblock]uint64
	for b := 1; b < len(vals); b += deltaBlock {
		m := min(deltaBlock, len(vals)-b)
		minDelta := int64(math.MaxInt64)
		for j := range m {
			d := vals[b+j] - vals[b+j-1] // wraps like uint64
			if int32Col {
				d = int64(int32(d))
			}
			deltas[j] = d
			minDelta = min(minDelta, d)
		}
		dst = binary.AppendVarint(dst, minDelta)
		widths := len(dst)
		dst = append(dst, 0, 0, 0, 0)
		for mb := 0; mb*deltaMiniblock < m; mb++ {
			lo, hi := mb*deltaMiniblock, min(m, (mb+1)*deltaMiniblock)
			var or uint64
			for j := lo; j < hi; j++ {
				p := uint64(deltas[j] - minDelta)
				if int32Col {
					p = uint64(uint32(p))
				}
				packed[j-lo] = p
				or |= p
			}
			clear(packed[hi-lo:])
			w := bits.Len64(or)
			dst[widths+mb] = byte(w)
			dst = appendBitPacked(dst, packed[:], w)
		}
	}
	return dst
}

// fileMetadata is the footer's FileMetaData of a file of the row groups.
func fileMetadata(cols []pqColumn, groups []pqRowGroup) []byte {
	var t thriftWriter
	t.i32(1, 1) // version
	t.beginList(2, thriftStruct, len(cols)+1)
	// The root, then one leaf per column.
	t.beginElem()
	t.binary(4, "schema")
	t.i32(5, int32(len(cols)))
	t.endStruct()
	for _, c := range cols {
		t.beginElem()
		t.i32(1, c.physical)
		rep := int32(0) // REQUIRED
		if c.optional {
			rep = 1 // OPTIONAL
		}
		t.i32(3, rep)
		t.binary(4, c.name)
		if c.converted >= 0 {
			t.i32(6, c.converted)
		}
		if c.logical > 0 {
			t.beginStruct(10)
			t.beginStruct(int16(c.logical)) // StringType or DateType: empty
			t.endStruct()
			t.endStruct()
		}
		t.endStruct()
	}
	var rows int64
	for _, g := range groups {
		rows += g.rows
	}
	t.i64(3, rows)
	t.beginList(4, thriftStruct, len(groups))
	for gi, g := range groups {
		t.beginElem()
		t.beginList(1, thriftStruct, len(g.chunks))
		var size, rawSize int64
		for i, ch := range g.chunks {
			first := ch.dataOff
			if ch.dictOff >= 0 {
				first = ch.dictOff
			}
			size += ch.size
			rawSize += ch.rawSize
			t.beginElem() // ColumnChunk
			t.i64(2, first)
			t.beginStruct(3) // ColumnMetaData
			t.i32(1, cols[i].physical)
			encs := []int32{ch.encoding, encRLE}
			if ch.dictOff >= 0 {
				encs = []int32{encPlain, encRLEDictionary, encRLE}
			}
			t.beginList(2, thriftI32, len(encs))
			for _, e := range encs {
				t.elemI32(e)
			}
			t.beginList(3, thriftBinary, 1)
			t.elemBinary(cols[i].name)
			t.i32(4, codecSnappy)
			t.i64(5, ch.values)
			t.i64(6, ch.rawSize)
			t.i64(7, ch.size)
			t.i64(9, ch.dataOff)
			if ch.dictOff >= 0 {
				t.i64(11, ch.dictOff)
			}
			t.beginStruct(12) // Statistics
			t.i64(3, ch.nulls)
			if ch.min != nil {
				t.binary(5, string(ch.max))
				t.binary(6, string(ch.min))
			}
			t.endStruct()
			t.endStruct()
			t.endStruct()
		}
		first := g.chunks[0].dataOff
		if g.chunks[0].dictOff >= 0 {
			first = g.chunks[0].dictOff
		}
		t.i64(2, rawSize)
		t.i64(3, g.rows)
		t.i64(5, first)
		t.i64(6, size)
		t.i16(7, int16(gi))
		t.endStruct()
	}
	t.binary(6, "assign")
	// Column orders: TYPE_ORDER for every column, so readers trust the
	// min and max statistics.
	t.beginList(7, thriftStruct, len(cols))
	for range cols {
		t.beginElem()
		t.beginStruct(1)
		t.endStruct()
		t.endStruct()
	}
	t.stop()
	return t.buf
}

// Thrift compact protocol types.
const (
	thriftI16    = 4
	thriftI32    = 5
	thriftI64    = 6
	thriftBinary = 8
	thriftStruct = 12
)

// thriftWriter writes Thrift's compact protocol: the fields of nested
// structs (ids in increasing order), ended by endStruct; the outermost
// struct by stop.
type thriftWriter struct {
	buf   []byte
	last  int16
	outer []int16
}

func (t *thriftWriter) field(id int16, typ byte) {
	if d := id - t.last; d > 0 && d <= 15 {
		t.buf = append(t.buf, byte(d)<<4|typ)
	} else {
		t.buf = append(t.buf, typ)
		t.buf = binary.AppendVarint(t.buf, int64(id))
	}
	t.last = id
}

func (t *thriftWriter) i16(id int16, v int16) {
	t.field(id, thriftI16)
	t.buf = binary.AppendVarint(t.buf, int64(v))
}

func (t *thriftWriter) i32(id int16, v int32) {
	t.field(id, thriftI32)
	t.buf = binary.AppendVarint(t.buf, int64(v))
}

func (t *thriftWriter) i64(id int16, v int64) {
	t.field(id, thriftI64)
	t.buf = binary.AppendVarint(t.buf, v)
}

func (t *thriftWriter) binary(id int16, v string) {
	t.field(id, thriftBinary)
	t.elemBinary(v)
}

func (t *thriftWriter) beginStruct(id int16) {
	t.field(id, thriftStruct)
	t.beginElem()
}

// beginElem starts a struct that is an element of a list.
func (t *thriftWriter) beginElem() {
	t.outer = append(t.outer, t.last)
	t.last = 0
}

func (t *thriftWriter) endStruct() {
	t.buf = append(t.buf, 0)
	t.last = t.outer[len(t.outer)-1]
	t.outer = t.outer[:len(t.outer)-1]
}

func (t *thriftWriter) stop() { t.buf = append(t.buf, 0) }

func (t *thriftWriter) beginList(id int16, elem byte, n int) {
	t.field(id, 9)
	if n < 15 {
		t.buf = append(t.buf, byte(n)<<4|elem)
	} else {
		t.buf = append(t.buf, 0xf0|elem)
		t.buf = binary.AppendUvarint(t.buf, uint64(n))
	}
}

func (t *thriftWriter) elemI32(v int32) { t.buf = binary.AppendVarint(t.buf, int64(v)) }

func (t *thriftWriter) elemBinary(v string) {
	t.buf = binary.AppendUvarint(t.buf, uint64(len(v)))
	t.buf = append(t.buf, v...)
}
