package loaders

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// verifyArrowIPC checks the metadata of an Arrow IPC file (file or stream
// format) before arrow-go decodes it. The decoder allocates by the lengths
// it reads (vectors of fields, message bodies) without checking them
// against the file, and a corrupt length makes Go abort with "out of
// memory", which no recover catches (found by FuzzArrowFile). Every length
// here is bounded by the bytes that hold it; the decoder's own checks (run
// under recover) see to the rest. It reports whether the file is in the
// file format (it starts with the magic ARROW1), else the stream format.
func verifyArrowIPC(f *os.File) (fileFormat bool, err error) {
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	size := st.Size()
	read := func(off, n int64) ([]byte, error) {
		if off < 0 || n < 0 || off+n > size {
			return nil, fmt.Errorf("a length points outside the file")
		}
		b := make([]byte, n)
		if _, err := f.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF) && off+n == size) {
			return nil, err
		}
		return b, nil
	}
	const magic = "ARROW1"
	head, _ := read(0, 6)
	tail, _ := read(size-6, 6)
	if string(head) == magic && string(tail) != magic {
		return true, errTruncatedArrow
	}
	if string(head) != magic {
		return false, verifyStream(read, 0, size)
	}
	lenBytes, err := read(size-10, 4)
	if err != nil {
		return true, err
	}
	footerLen := int64(int32(binary.LittleEndian.Uint32(lenBytes)))
	footerEnd := size - 10
	if footerLen <= 0 || footerLen > footerEnd-8 {
		return true, fmt.Errorf("footer length %d does not fit the file", footerLen)
	}
	footer, err := read(footerEnd-footerLen, footerLen)
	if err != nil {
		return true, err
	}
	root, err := fbRoot(footer)
	if err != nil {
		return true, fmt.Errorf("footer: %w", err)
	}
	if sch, ok, err := root.table(1); err != nil {
		return true, fmt.Errorf("footer: %w", err)
	} else if ok {
		if err := verifySchema(sch); err != nil {
			return true, fmt.Errorf("schema: %w", err)
		}
	}
	if err := verifyKeyValues(root, 4); err != nil {
		return true, fmt.Errorf("footer: %w", err)
	}
	dataEnd := footerEnd - footerLen
	for _, field := range []int{2, 3} { // dictionaries, record batches
		start, n, ok, err := root.vector(field, 24)
		if err != nil {
			return true, fmt.Errorf("footer: %w", err)
		}
		for i := 0; ok && i < n; i++ {
			blk := footer[start+24*i:]
			off := int64(binary.LittleEndian.Uint64(blk))
			meta := int64(int32(binary.LittleEndian.Uint32(blk[8:])))
			body := int64(binary.LittleEndian.Uint64(blk[16:]))
			if off < 8 || meta <= 0 || body < 0 || off > dataEnd || meta > dataEnd-off || body > dataEnd-off-meta {
				return true, fmt.Errorf("block %d points outside the file", i)
			}
			msg, err := read(off, meta)
			if err != nil {
				return true, err
			}
			if _, err := verifyFramedMessage(msg, body); err != nil {
				return true, fmt.Errorf("block %d: %w", i, err)
			}
		}
	}
	return true, nil
}

// verifyStream checks the messages of the stream format from pos.
func verifyStream(read func(off, n int64) ([]byte, error), pos, size int64) error {
	for pos < size {
		prefix, err := read(pos, min(8, size-pos))
		if err != nil {
			return err
		}
		if len(prefix) < 4 || binary.LittleEndian.Uint32(prefix) == 0 {
			return nil // end of stream
		}
		hdr := int64(4)
		msgLen := int64(int32(binary.LittleEndian.Uint32(prefix)))
		if binary.LittleEndian.Uint32(prefix) == 0xffffffff {
			if len(prefix) < 8 {
				return fmt.Errorf("message length cut off")
			}
			hdr = 8
			msgLen = int64(int32(binary.LittleEndian.Uint32(prefix[4:])))
			if msgLen == 0 {
				return nil
			}
		}
		if msgLen < 0 || msgLen > size-pos-hdr {
			if pos == 0 {
				return errNotArrow
			}
			return fmt.Errorf("message at byte %d: length %d does not fit the file", pos, msgLen)
		}
		meta, err := read(pos+hdr, msgLen)
		if err != nil {
			return err
		}
		body, err := verifyMessage(meta, size-pos-hdr-msgLen)
		if err != nil {
			return fmt.Errorf("message at byte %d: %w", pos, err)
		}
		pos += hdr + msgLen + body
	}
	return nil
}

// verifyFramedMessage checks a message with its continuation marker and
// length, as a file block holds it.
func verifyFramedMessage(b []byte, maxBody int64) (int64, error) {
	if len(b) < 4 {
		return 0, fmt.Errorf("message cut off")
	}
	hdr := 4
	n := int64(int32(binary.LittleEndian.Uint32(b)))
	if binary.LittleEndian.Uint32(b) == 0xffffffff {
		if len(b) < 8 {
			return 0, fmt.Errorf("message cut off")
		}
		hdr = 8
		n = int64(int32(binary.LittleEndian.Uint32(b[4:])))
	}
	if n <= 0 || n > int64(len(b)-hdr) {
		return 0, fmt.Errorf("message length %d does not fit its block", n)
	}
	return verifyMessage(b[hdr:hdr+int(n)], maxBody)
}

// verifyMessage checks a Message table and returns its body length.
func verifyMessage(b []byte, maxBody int64) (int64, error) {
	m, err := fbRoot(b)
	if err != nil {
		return 0, err
	}
	body := m.int64(3)
	if body < 0 || body > maxBody {
		return 0, fmt.Errorf("body length %d does not fit the file", body)
	}
	if err := verifyKeyValues(m, 4); err != nil {
		return 0, err
	}
	hdr, ok, err := m.table(2)
	if err != nil || !ok {
		return body, err
	}
	switch m.uint8(1) {
	case 1: // Schema
		return body, verifySchema(hdr)
	case 2: // DictionaryBatch
		rb, ok, err := hdr.table(1)
		if err != nil || !ok {
			return body, err
		}
		return body, verifyRecordBatch(rb)
	case 3: // RecordBatch
		return body, verifyRecordBatch(hdr)
	}
	return body, nil
}

func verifyRecordBatch(t fbTable) error {
	for _, v := range []struct{ field, size int }{{1, 16}, {2, 16}, {4, 8}} { // nodes, buffers, variadic counts
		if _, _, _, err := t.vector(v.field, v.size); err != nil {
			return err
		}
	}
	_, _, err := t.table(3) // compression
	return err
}

func verifySchema(t fbTable) error {
	if _, _, _, err := t.vector(3, 8); err != nil { // features
		return err
	}
	if err := verifyKeyValues(t, 2); err != nil {
		return err
	}
	return verifyFields(t, 1, 0)
}

// verifyFields checks the vector of Field tables in field i of t.
func verifyFields(t fbTable, i, depth int) error {
	if depth > 64 {
		return fmt.Errorf("fields nested deeper than 64 levels")
	}
	start, n, ok, err := t.vector(i, 4)
	if err != nil || !ok {
		return err
	}
	for k := 0; k < n; k++ {
		f, err := t.b.tableAt(start + 4*k)
		if err != nil {
			return err
		}
		if _, _, _, err := f.vector(0, 1); err != nil { // name
			return err
		}
		if typ, ok, err := f.table(3); err != nil {
			return err
		} else if ok {
			switch f.uint8(2) {
			case 10: // Timestamp: time zone
				_, _, _, err = typ.vector(1, 1)
			case 14: // Union: type ids
				_, _, _, err = typ.vector(1, 4)
			}
			if err != nil {
				return err
			}
		}
		if dict, ok, err := f.table(4); err != nil {
			return err
		} else if ok {
			if _, _, err := dict.table(1); err != nil { // index type
				return err
			}
		}
		if err := verifyFields(f, 5, depth+1); err != nil {
			return err
		}
		if err := verifyKeyValues(f, 6); err != nil {
			return err
		}
	}
	return nil
}

// verifyKeyValues checks a vector of KeyValue tables (custom metadata).
func verifyKeyValues(t fbTable, i int) error {
	start, n, ok, err := t.vector(i, 4)
	if err != nil || !ok {
		return err
	}
	for k := 0; k < n; k++ {
		kv, err := t.b.tableAt(start + 4*k)
		if err != nil {
			return err
		}
		for _, f := range []int{0, 1} {
			if _, _, _, err := kv.vector(f, 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// fbBuf is a flatbuffer; its accessors check every position they follow.
type fbBuf []byte

// fbTable is a table of a flatbuffer.
type fbTable struct {
	b          fbBuf
	pos, vt    int
	vtLen, obj int
}

var errFlatbuffer = errors.New("metadata points outside itself")

// errNotArrow is a file in neither format.
var errNotArrow = errors.New("not an Arrow IPC file: it starts neither with ARROW1 (the file format) nor with a stream message")

// errTruncatedArrow is a file that starts as the file format and lacks the
// end of it.
var errTruncatedArrow = errors.New("the file starts as an Arrow IPC file but has no footer: it was cut short; export it again")

func (b fbBuf) u32(p int) (uint32, error) {
	if p < 0 || p+4 > len(b) {
		return 0, errFlatbuffer
	}
	return binary.LittleEndian.Uint32(b[p:]), nil
}

func (b fbBuf) u16(p int) (int, error) {
	if p < 0 || p+2 > len(b) {
		return 0, errFlatbuffer
	}
	return int(binary.LittleEndian.Uint16(b[p:])), nil
}

func fbRoot(b []byte) (fbTable, error) {
	return fbBuf(b).tableAt(0)
}

// tableAt follows the offset stored at p to a table and checks its vtable.
func (b fbBuf) tableAt(p int) (fbTable, error) {
	off, err := b.u32(p)
	if err != nil {
		return fbTable{}, err
	}
	pos := p + int(off)
	so, err := b.u32(pos)
	if err != nil {
		return fbTable{}, err
	}
	vt := pos - int(int32(so))
	vtLen, err := b.u16(vt)
	if err != nil {
		return fbTable{}, err
	}
	obj, err := b.u16(vt + 2)
	if err != nil || vtLen < 4 || vt+vtLen > len(b) || pos+obj > len(b) {
		return fbTable{}, errFlatbuffer
	}
	return fbTable{b: b, pos: pos, vt: vt, vtLen: vtLen, obj: obj}, nil
}

// field returns the position of field i, or false when absent.
func (t fbTable) field(i int) (int, bool) {
	slot := 4 + 2*i
	if slot+2 > t.vtLen {
		return 0, false
	}
	o, _ := t.b.u16(t.vt + slot)
	if o == 0 {
		return 0, false
	}
	return t.pos + o, true
}

// table follows field i to a table.
func (t fbTable) table(i int) (fbTable, bool, error) {
	p, ok := t.field(i)
	if !ok {
		return fbTable{}, false, nil
	}
	sub, err := t.b.tableAt(p)
	return sub, err == nil, err
}

// vector follows field i to a vector (or string) of elements of elem
// bytes and checks that they all lie in the buffer.
func (t fbTable) vector(i, elem int) (start, n int, ok bool, err error) {
	p, ok := t.field(i)
	if !ok {
		return 0, 0, false, nil
	}
	off, err := t.b.u32(p)
	if err != nil {
		return 0, 0, false, err
	}
	v := p + int(off)
	cnt, err := t.b.u32(v)
	if err != nil {
		return 0, 0, false, err
	}
	if int64(cnt)*int64(elem) > int64(len(t.b)-v-4) {
		return 0, 0, false, fmt.Errorf("a vector of %d elements does not fit its %d bytes of metadata", cnt, len(t.b))
	}
	return v + 4, int(cnt), true, nil
}

func (t fbTable) uint8(i int) uint8 {
	p, ok := t.field(i)
	if !ok || p+1 > len(t.b) {
		return 0
	}
	return t.b[p]
}

func (t fbTable) int64(i int) int64 {
	p, ok := t.field(i)
	if !ok || p+8 > len(t.b) {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(t.b[p:]))
}
