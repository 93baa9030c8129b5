package loaders

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// checkArray verifies that an array read from an Arrow IPC file is
// structurally sound before DuckDB sees it. DuckDB reads the batches'
// buffers directly through the C data interface, trusting every length,
// offset and index; the Go decoder does not check them all, so a corrupt
// file would otherwise crash the process with a segmentation fault (found
// by FuzzArrowFile). The checks are those of Arrow's "full validation" for
// the layouts assign can meet, in one pass over offsets and indices.
func checkArray(d arrow.ArrayData) error {
	n, off := d.Len(), d.Offset()
	if n < 0 || off < 0 {
		return fmt.Errorf("negative length or offset")
	}
	end := off + n
	bufs := d.Buffers()
	buf := func(i int) []byte {
		if i < len(bufs) && bufs[i] != nil {
			return bufs[i].Bytes()
		}
		return nil
	}
	// A null count that is unknown (negative) is counted from the bitmap
	// when the batch is handed over, so the bitmap must then be whole too.
	nulls := d.NullN()
	if nulls > n {
		return fmt.Errorf("%d nulls in %d values", nulls, n)
	} else if nulls != 0 && n > 0 && len(buf(0)) < (end+7)/8 {
		return fmt.Errorf("validity bitmap shorter than its %d values", n)
	}
	typ := d.DataType()
	switch typ.ID() {
	case arrow.NULL:
		return nil
	case arrow.BOOL:
		return needBytes(buf(1), (end+7)/8, n)
	case arrow.STRING, arrow.BINARY:
		_, err := checkOffsets(buf(1), off, n, 4, len(buf(2)))
		return err
	case arrow.LARGE_STRING, arrow.LARGE_BINARY:
		_, err := checkOffsets(buf(1), off, n, 8, len(buf(2)))
		return err
	case arrow.LIST, arrow.MAP:
		return checkListLike(d, buf(1), 4)
	case arrow.LARGE_LIST:
		return checkListLike(d, buf(1), 8)
	case arrow.FIXED_SIZE_LIST:
		size := typ.(*arrow.FixedSizeListType).Len()
		ch := d.Children()
		if len(ch) != 1 {
			return fmt.Errorf("list without its values")
		}
		if ch[0].Len() < end*int(size) {
			return fmt.Errorf("fixed-size list values shorter than %d lists of %d", n, size)
		}
		return checkArray(ch[0])
	case arrow.STRUCT:
		st := typ.(*arrow.StructType)
		ch := d.Children()
		if len(ch) != st.NumFields() {
			return fmt.Errorf("struct with %d of its %d fields", len(ch), st.NumFields())
		}
		for i, c := range ch {
			if c.Len() < end {
				return fmt.Errorf("struct field %s shorter than the struct", st.Field(i).Name)
			}
			if err := checkArray(c); err != nil {
				return fmt.Errorf("struct field %s: %w", st.Field(i).Name, err)
			}
		}
		return nil
	case arrow.DICTIONARY:
		dt := typ.(*arrow.DictionaryType)
		dict := d.Dictionary()
		if dict == nil {
			return fmt.Errorf("dictionary column without its dictionary")
		}
		if err := checkArray(dict); err != nil {
			return fmt.Errorf("dictionary: %w", err)
		}
		idx, ok := dt.IndexType.(arrow.FixedWidthDataType)
		if !ok {
			return fmt.Errorf("dictionary index type %s", dt.IndexType)
		}
		w := idx.Bytes()
		unsigned := arrow.IsUnsignedInteger(dt.IndexType.ID())
		b := buf(1)
		if err := needBytes(b, end*w, n); err != nil {
			return err
		}
		valid := buf(0)
		for i := off; i < end; i++ {
			if nulls != 0 && valid[i/8]&(1<<(i%8)) == 0 {
				continue
			}
			v := readInt(b[i*w:], w)
			if unsigned && v < 0 {
				v = int64(^uint64(0) >> 1) // a uint64 index above the int64 range
			} else if unsigned && w < 8 {
				v &= 1<<(8*w) - 1
			}
			if v < 0 || v >= int64(dict.Len()) {
				return fmt.Errorf("dictionary index %d outside a dictionary of %d values", v, dict.Len())
			}
		}
		return nil
	case arrow.STRING_VIEW, arrow.BINARY_VIEW:
		return checkViews(buf(1), bufs, off, n)
	case arrow.EXTENSION:
		// Laid out as its storage type.
		st := array.NewData(typ.(arrow.ExtensionType).StorageType(), n, bufs, d.Children(), d.NullN(), off)
		defer st.Release()
		if dict := d.Dictionary(); dict != nil {
			st.SetDictionary(dict)
		}
		return checkArray(st)
	}
	if fw, ok := typ.(arrow.FixedWidthDataType); ok && fw.BitWidth()%8 == 0 {
		return needBytes(buf(1), end*fw.Bytes(), n)
	}
	// Views, unions, run-end encoding, ...: not produced by the extract
	// writers assign knows, and unchecked here, so not handed to DuckDB.
	return fmt.Errorf("holds a column of type %s, which assign does not read from Arrow files", typ)
}

// checkViews checks the 16-byte views of a string or binary view column:
// a value longer than 12 bytes must lie within the data buffer it names.
func checkViews(views []byte, bufs []*memory.Buffer, off, n int) error {
	if err := needBytes(views, (off+n)*16, n); err != nil {
		return err
	}
	data := bufs[min(2, len(bufs)):]
	for i := off; i < off+n; i++ {
		v := views[i*16:]
		size := readInt(v, 4)
		if size < 0 {
			return fmt.Errorf("view of negative length %d", size)
		}
		if size <= 12 {
			continue
		}
		bi, start := readInt(v[8:], 4), readInt(v[12:], 4)
		if bi < 0 || bi >= int64(len(data)) || data[bi] == nil || start < 0 || start+size > int64(data[bi].Len()) {
			return fmt.Errorf("view of %d bytes at %d in buffer %d lies outside the data", size, start, bi)
		}
	}
	return nil
}

// needBytes checks a values buffer of n values.
func needBytes(b []byte, want, n int) error {
	if n > 0 && len(b) < want {
		return fmt.Errorf("values buffer of %d bytes for %d values needing %d", len(b), n, want)
	}
	return nil
}

// checkOffsets checks n+1 offsets of width w (4 or 8 bytes) starting at
// off: non-decreasing, from 0 or more, ending within limit. It returns the
// last offset.
func checkOffsets(b []byte, off, n, w, limit int) (int64, error) {
	if n == 0 {
		return 0, nil
	}
	if len(b) < (off+n+1)*w {
		return 0, fmt.Errorf("offsets buffer of %d bytes for %d values", len(b), n)
	}
	prev := readInt(b[off*w:], w)
	if prev < 0 {
		return 0, fmt.Errorf("negative offset %d", prev)
	}
	for i := off + 1; i <= off+n; i++ {
		v := readInt(b[i*w:], w)
		if v < prev {
			return 0, fmt.Errorf("offsets decrease from %d to %d", prev, v)
		}
		prev = v
	}
	if prev > int64(limit) {
		return 0, fmt.Errorf("offset %d beyond the %d bytes or values it indexes", prev, limit)
	}
	return prev, nil
}

// checkListLike checks a list's offsets against its values, then the values.
func checkListLike(d arrow.ArrayData, offsets []byte, w int) error {
	ch := d.Children()
	if len(ch) != 1 {
		return fmt.Errorf("list without its values")
	}
	if _, err := checkOffsets(offsets, d.Offset(), d.Len(), w, ch[0].Len()); err != nil {
		return err
	}
	return checkArray(ch[0])
}

// readInt reads a little-endian signed integer of w bytes (IPC data is
// little-endian once the reader has swapped it to native order on amd64 and
// arm64, the platforms assign is built for).
func readInt(b []byte, w int) int64 {
	switch w {
	case 1:
		return int64(int8(b[0]))
	case 2:
		return int64(int16(binary.LittleEndian.Uint16(b)))
	case 4:
		return int64(int32(binary.LittleEndian.Uint32(b)))
	}
	return int64(binary.LittleEndian.Uint64(b))
}
