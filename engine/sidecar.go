package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/assign-dev/assign/atomicfs"
	queries "github.com/assign-dev/assign/sql"
)

// The engine sidecar holds the largest per-user inputs of a snapshot in
// the form the engine reads them, so that a planning job copies them out of
// a file instead of moving millions of rows out of DuckDB. A load writes it
// beside the snapshot (store.SidecarPath) from the snapshot's own tables;
// DuckDB stays the one source of truth. It depends on the snapshot alone,
// never on the dates or the policy:
//
//   - every delivery of every user, as (day, sidx) sorted per user, so any
//     repeat window and any horizon is an exact range of each user's rows;
//   - every latest rating of 0..5, as (rating, sidx) sorted per user, so the
//     ratings <= any never_again_rating (0..5) are a prefix;
//   - the per user and category rating counts and sums (affinity).
//
// Users are numbered by user_id over the snapshot's users table (ui);
// snacks and categories by sidx and cidx, which are fixed per snapshot (the
// same numbering as inputs_prepare.sql; the header fingerprints both lists
// and a reader compares them with the job's).
//
// Layout, little-endian: a header block (sidecarHeader, then its CRC32C)
// of sidecarBlock bytes; then the sections, each starting on a block
// boundary; then per section one CRC32C (Castagnoli) per block of
// sidecarBlock bytes, and the header holds the CRC32C of those tables. A
// reader reads only the blocks it needs (a shard, explain's one user) and
// checks each block it reads. The header names the snapshot's load id
// (assign_meta.load_id): a sidecar whose id differs from the snapshot's is
// stale and is not read.

// SidecarVersion is the format version a reader accepts.
const SidecarVersion = 1

const (
	sidecarMagic = "ASSIGNSC"
	sidecarBlock = 64 << 10
)

// Sections of the sidecar; each holds fixed-width little-endian values.
const (
	secUsers  = iota // int64 user_id per ui, ascending
	secDelOff        // uint32 per ui and one more: CSR over secDel
	secDel           // uint32 (day - DelBase) << 16 | sidx, ascending per user
	secAffOff        // uint32 CSR over secAff
	secAff           // 16 bytes: int32 cidx, int32 n, int64 total; cidx ascending per user
	secBadOff        // uint32 CSR over secBad
	secBad           // uint32 rating << 16 | sidx, ascending per user
	numSections
)

var sectionWidth = [numSections]int64{8, 4, 4, 4, 16, 4, 4}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type sidecarSection struct {
	Off    uint64 // file offset of the first byte
	Len    uint64 // bytes
	CRCOff uint64 // file offset of the section's block CRCs (uint32 each)
}

type sidecarHeader struct {
	Magic     [8]byte
	Version   uint32
	BlockSize uint32
	LoadID    [64]byte // NUL-padded
	NSnacks   uint32
	NCats     uint32
	Catalogue uint64 // catalogueFingerprint
	DelBase   int32  // day of delivery offset 0
	NUsers    uint32
	CRCTables uint32 // CRC32C of every section's block CRCs, in section order
	Pad       uint32
	Sec       [numSections]sidecarSection
}

// catalogueFingerprint hashes the snack ids in sidx order and the category
// names in cidx order.
func catalogueFingerprint(snacks []int64, cats []string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, id := range snacks {
		binary.LittleEndian.PutUint64(b[:], uint64(id))
		h.Write(b[:])
	}
	for _, c := range cats {
		binary.LittleEndian.PutUint64(b[:], uint64(len(c)))
		h.Write(b[:])
		h.Write([]byte(c))
	}
	return h.Sum64()
}

// ErrNoSidecar says why a snapshot gets no sidecar (its content does not fit
// the format); planning jobs then read the inputs through SQL.
var ErrNoSidecar = errors.New("snapshot does not fit the engine sidecar")

// WriteSidecar writes the engine sidecar of the snapshot reachable
// unqualified in db (with its derived rating tables) to path, atomically:
// nothing appears at path unless the whole file was written and flushed.
// loadID is the snapshot's assign_meta.load_id. A snapshot the format
// cannot hold (more than 65,536 snacks, deliveries more than 65,535 days
// apart, negative ratings, more than 2^32 rows) gets none: the error wraps
// ErrNoSidecar.
func WriteSidecar(ctx context.Context, db DB, path, loadID string) (err error) {
	if len(loadID) == 0 || len(loadID) > 64 {
		return fmt.Errorf("%w: load id %q", ErrNoSidecar, loadID)
	}
	if _, err := db.Exec(ctx, queries.Get("sidecar_prepare")); err != nil {
		return fmt.Errorf("sidecar: prepare: %w", err)
	}
	defer func() {
		_, _ = db.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS sc_cats; DROP TABLE IF EXISTS sc_snacks; DROP TABLE IF EXISTS sc_users")
	}()
	var h sidecarHeader
	copy(h.Magic[:], sidecarMagic)
	h.Version, h.BlockSize = SidecarVersion, sidecarBlock
	copy(h.LoadID[:], loadID)

	var snackIDs []int64
	var cats []string
	if err := db.QueryArrow(ctx, queries.Get("sidecar_catalogue"), func(rec arrow.RecordBatch) (err error) {
		snackIDs, err = appendInt64(snackIDs, rec.ColumnName(0), rec.Column(0))
		return err
	}); err != nil {
		return fmt.Errorf("sidecar: catalogue: %w", err)
	}
	if err := db.QueryArrow(ctx, queries.Get("sidecar_categories"), func(rec arrow.RecordBatch) (err error) {
		cats, err = appendString(cats, rec.ColumnName(0), rec.Column(0))
		return err
	}); err != nil {
		return fmt.Errorf("sidecar: categories: %w", err)
	}
	if len(snackIDs) > 1<<16 {
		return fmt.Errorf("%w: %d snacks (at most 65,536)", ErrNoSidecar, len(snackIDs))
	}
	h.NSnacks, h.NCats = uint32(len(snackIDs)), uint32(len(cats))
	h.Catalogue = catalogueFingerprint(snackIDs, cats)

	var span []int64
	if err := db.QueryArrow(ctx, queries.Render("sidecar_span", map[string]string{"latest": LatestRatingsTable}), func(rec arrow.RecordBatch) error {
		for i := 0; i < int(rec.NumCols()); i++ {
			v, err := appendInt64(nil, rec.ColumnName(i), rec.Column(i))
			if err != nil {
				return err
			}
			span = append(span, v...)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("sidecar: span: %w", err)
	}
	if len(span) != 4 {
		return fmt.Errorf("sidecar: span: %d values", len(span))
	}
	if span[2]-span[1] > math.MaxUint16 {
		return fmt.Errorf("%w: deliveries span %d days (at most 65,535)", ErrNoSidecar, span[2]-span[1])
	}
	if span[3] > 0 {
		return fmt.Errorf("%w: %d negative ratings", ErrNoSidecar, span[3])
	}
	if span[0] > math.MaxUint32 || span[1] < math.MinInt32 || span[1] > math.MaxInt32 {
		return fmt.Errorf("%w: %d deliveries", ErrNoSidecar, span[0])
	}
	h.DelBase = int32(span[1])

	f, err := atomicfs.Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	w := &sidecarWriter{f: f, h: &h}
	if err := w.pad(sidecarBlock); err != nil { // the header's block, written last
		return err
	}

	var users []int64
	if err := db.QueryArrow(ctx, queries.Get("sidecar_users"), func(rec arrow.RecordBatch) (err error) {
		users, err = appendInt64(users, rec.ColumnName(0), rec.Column(0))
		return err
	}); err != nil {
		return fmt.Errorf("sidecar: users: %w", err)
	}
	if len(users) > math.MaxInt32 {
		return fmt.Errorf("%w: %d users", ErrNoSidecar, len(users))
	}
	h.NUsers = uint32(len(users))
	w.begin(secUsers)
	for _, u := range users {
		w.u64(uint64(u))
	}
	if err := w.end(); err != nil {
		return err
	}
	n := len(users)
	users = nil

	base := Day(h.DelBase).String()
	if err := w.packedSection(ctx, db, queries.Get("sidecar_deliveries_count"), queries.Render("sidecar_deliveries", map[string]string{"base": base}), n, secDel, secDelOff); err != nil {
		return fmt.Errorf("sidecar: deliveries: %w", err)
	}
	latest := map[string]string{"latest": LatestRatingsTable}
	if err := w.packedSection(ctx, db, queries.Render("sidecar_bad_ratings_count", latest), queries.Render("sidecar_bad_ratings", latest), n, secBad, secBadOff); err != nil {
		return fmt.Errorf("sidecar: ratings: %w", err)
	}
	if err := w.affinitySection(ctx, db, n); err != nil {
		return fmt.Errorf("sidecar: affinity: %w", err)
	}
	if err := w.crcTables(); err != nil {
		return err
	}
	var hb bytes.Buffer
	if err := binary.Write(&hb, binary.LittleEndian, &h); err != nil {
		return err
	}
	crc := crc32.Checksum(hb.Bytes(), castagnoli)
	_ = binary.Write(&hb, binary.LittleEndian, crc)
	if _, err := f.WriteAt(hb.Bytes(), 0); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// streamQuery runs a query through db's streaming interface when it has one
// (the rows are not materialised inside DuckDB first).
func streamQuery(ctx context.Context, db DB, q string, fn func(rec arrow.RecordBatch) error) error {
	if s, ok := db.(streamer); ok {
		_, err := s.Stream(ctx, q, func(*arrow.Schema) error { return nil }, fn)
		return err
	}
	return db.QueryArrow(ctx, q, fn)
}

// sidecarWriter writes sections block by block, keeping each block's CRC.
type sidecarWriter struct {
	f     *atomicfs.File
	h     *sidecarHeader
	off   int64 // bytes written
	sec   int
	start int64
	block []byte
	crcs  [numSections][]uint32
}

func (w *sidecarWriter) pad(to int64) error {
	if to > w.off {
		if _, err := w.f.Write(make([]byte, to-w.off)); err != nil {
			return fmt.Errorf("write %s: %w", w.f.Path(), err)
		}
		w.off = to
	}
	return nil
}

func (w *sidecarWriter) begin(sec int) {
	w.sec, w.start = sec, w.off
	w.block = make([]byte, 0, sidecarBlock)
}

func (w *sidecarWriter) flush() error {
	if len(w.block) == 0 {
		return nil
	}
	w.crcs[w.sec] = append(w.crcs[w.sec], crc32.Checksum(w.block, castagnoli))
	if _, err := w.f.Write(w.block); err != nil {
		return fmt.Errorf("write %s: %w", w.f.Path(), err)
	}
	w.off += int64(len(w.block))
	w.block = w.block[:0]
	return nil
}

// put appends p (never longer than a block) to the current section.
func (w *sidecarWriter) put(p []byte) error {
	for len(p) > 0 {
		k := copy(w.block[len(w.block):cap(w.block)], p)
		w.block = w.block[:len(w.block)+k]
		p = p[k:]
		if len(w.block) == cap(w.block) {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *sidecarWriter) u32(v uint32) {
	if cap(w.block)-len(w.block) >= 4 {
		w.block = binary.LittleEndian.AppendUint32(w.block, v)
		if len(w.block) == cap(w.block) {
			_ = w.flush() // an error shows again at end()
		}
		return
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	_ = w.put(b[:])
}

func (w *sidecarWriter) u64(v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	_ = w.put(b[:])
}

// end flushes the section and records it; the next starts on a block
// boundary.
func (w *sidecarWriter) end() error {
	if err := w.flush(); err != nil {
		return err
	}
	w.h.Sec[w.sec].Off, w.h.Sec[w.sec].Len = uint64(w.start), uint64(w.off-w.start)
	// A failed write in u32/u64 left the file short: the lengths check it.
	if st, err := w.f.Stat(); err != nil || st.Size() != w.off {
		return fmt.Errorf("write %s: short write", w.f.Path())
	}
	return w.pad((w.off + sidecarBlock - 1) / sidecarBlock * sidecarBlock)
}

// offsets writes the CSR section sec.
func (w *sidecarWriter) offsets(sec int, start []uint32) error {
	w.begin(sec)
	for _, v := range start {
		w.u32(v)
	}
	return w.end()
}

// packedSection writes section sec (uint32 each) and its offsets offSec
// from rowsQ, rows (ui INTEGER, packed BIGINT) in any order, grouped by ui
// in Go: countQ, rows (ui INTEGER, n BIGINT), counts them per user first,
// so the rows are placed once (a sort inside DuckDB costs several times
// the joins). Each user's rows are then sorted, so a snapshot's sidecar
// does not depend on the order DuckDB's threads returned them in.
func (w *sidecarWriter) packedSection(ctx context.Context, db DB, countQ, rowsQ string, nUsers, sec, offSec int) error {
	start, err := userCounts(ctx, db, countQ, nUsers)
	if err != nil {
		return err
	}
	rows := make([]uint32, start[nUsers])
	next := slices.Clone(start[:nUsers])
	err = streamQuery(ctx, db, rowsQ, func(rec arrow.RecordBatch) error {
		if rec.NumCols() != 2 {
			return fmt.Errorf("%d columns, want 2", rec.NumCols())
		}
		for i := 0; i < 2; i++ {
			if err := checkNoNulls(rec.ColumnName(i), rec.Column(i)); err != nil {
				return err
			}
		}
		us, ok1 := rec.Column(0).(*array.Int32)
		ps, ok2 := rec.Column(1).(*array.Int64)
		if !ok1 || !ok2 {
			return fmt.Errorf("unexpected column types %s, %s", rec.Column(0).DataType(), rec.Column(1).DataType())
		}
		pv := ps.Int64Values()
		for i, u := range us.Int32Values() {
			p := pv[i]
			if u < 0 || int(u) >= nUsers || p < 0 || p > math.MaxUint32 {
				return fmt.Errorf("%w: row (%d, %d) out of range", ErrNoSidecar, u, p)
			}
			if next[u] == start[u+1] {
				return fmt.Errorf("user index %d has more rows than counted", u)
			}
			rows[next[u]] = uint32(p)
			next[u]++
		}
		return nil
	})
	if err != nil {
		return err
	}
	for u := range nUsers {
		if next[u] != start[u+1] {
			return fmt.Errorf("user index %d has fewer rows than counted", u)
		}
	}
	// Sort each user's rows, the users split over the cores.
	var wg sync.WaitGroup
	parts := runtime.GOMAXPROCS(0)
	for p := range parts {
		wg.Go(func() {
			for u := nUsers * p / parts; u < nUsers*(p+1)/parts; u++ {
				slices.Sort(rows[start[u]:start[u+1]])
			}
		})
	}
	wg.Wait()
	w.begin(sec)
	for _, v := range rows {
		w.u32(v)
	}
	if err := w.end(); err != nil {
		return err
	}
	return w.offsets(offSec, start)
}

// userCounts runs q, rows (ui, n), and returns the CSR offsets of the
// counts over nUsers users.
func userCounts(ctx context.Context, db DB, q string, nUsers int) ([]uint32, error) {
	counts := make([]uint32, nUsers+1)
	err := db.QueryArrow(ctx, q, func(rec arrow.RecordBatch) error {
		us, err := appendInt32(nil, rec.ColumnName(0), rec.Column(0))
		if err != nil {
			return err
		}
		ns, err := appendInt64(nil, rec.ColumnName(1), rec.Column(1))
		if err != nil {
			return err
		}
		for i, u := range us {
			if u < 0 || int(u) >= nUsers || ns[i] < 0 || ns[i] > math.MaxUint32 {
				return fmt.Errorf("%w: count (%d, %d) out of range", ErrNoSidecar, u, ns[i])
			}
			counts[u+1] = uint32(ns[i])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var at uint64
	for u := 1; u <= nUsers; u++ {
		at += uint64(counts[u])
		if at > math.MaxUint32 {
			return nil, fmt.Errorf("%w: more than 2^32 rows", ErrNoSidecar)
		}
		counts[u] = uint32(at)
	}
	return counts, nil
}

// affinitySection writes secAff and secAffOff from sidecar_affinity, grouped
// by user in Go as packedSection does, each user's rows sorted by cidx.
func (w *sidecarWriter) affinitySection(ctx context.Context, db DB, nUsers int) error {
	params := map[string]string{"user_category_ratings": UserCategoryRatingsTable}
	start, err := userCounts(ctx, db, queries.Render("sidecar_affinity_count", params), nUsers)
	if err != nil {
		return err
	}
	type aff struct {
		cidx, n int32
		total   int64
	}
	rows := make([]aff, start[nUsers])
	next := slices.Clone(start[:nUsers])
	err = streamQuery(ctx, db, queries.Render("sidecar_affinity", params), func(b arrow.RecordBatch) error {
		if b.NumCols() != 4 {
			return fmt.Errorf("%d columns, want 4", b.NumCols())
		}
		us, err := appendInt32(nil, b.ColumnName(0), b.Column(0))
		if err != nil {
			return err
		}
		cs, err := appendInt32(nil, b.ColumnName(1), b.Column(1))
		if err != nil {
			return err
		}
		ns, err := appendInt32(nil, b.ColumnName(2), b.Column(2))
		if err != nil {
			return err
		}
		ts, err := appendInt64(nil, b.ColumnName(3), b.Column(3))
		if err != nil {
			return err
		}
		for i, u := range us {
			if u < 0 || int(u) >= nUsers {
				return fmt.Errorf("user index %d out of range", u)
			}
			if next[u] == start[u+1] {
				return fmt.Errorf("user index %d has more rows than counted", u)
			}
			rows[next[u]] = aff{cs[i], ns[i], ts[i]}
			next[u]++
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.begin(secAff)
	var rec [16]byte
	for u := range nUsers {
		if next[u] != start[u+1] {
			return fmt.Errorf("user index %d has fewer rows than counted", u)
		}
		run := rows[start[u]:start[u+1]]
		slices.SortFunc(run, func(a, b aff) int { return int(a.cidx - b.cidx) })
		for _, r := range run {
			binary.LittleEndian.PutUint32(rec[0:], uint32(r.cidx))
			binary.LittleEndian.PutUint32(rec[4:], uint32(r.n))
			binary.LittleEndian.PutUint64(rec[8:], uint64(r.total))
			if err := w.put(rec[:]); err != nil {
				return err
			}
		}
	}
	if err := w.end(); err != nil {
		return err
	}
	return w.offsets(secAffOff, start)
}

// crcTables writes every section's block CRCs and their own CRC.
func (w *sidecarWriter) crcTables() error {
	all := crc32.New(castagnoli)
	for s := 0; s < numSections; s++ {
		w.h.Sec[s].CRCOff = uint64(w.off)
		b := make([]byte, 0, 4*len(w.crcs[s]))
		for _, c := range w.crcs[s] {
			b = binary.LittleEndian.AppendUint32(b, c)
		}
		all.Write(b)
		if _, err := w.f.Write(b); err != nil {
			return fmt.Errorf("write %s: %w", w.f.Path(), err)
		}
		w.off += int64(len(b))
	}
	w.h.CRCTables = all.Sum32()
	return nil
}

// sidecarFile is an opened sidecar whose header and CRC tables are checked.
type sidecarFile struct {
	f    *os.File
	h    sidecarHeader
	crcs [numSections][]uint32
}

// errCorrupt marks a sidecar whose bytes do not check out.
var errCorrupt = errors.New("corrupt")

func openSidecar(path string) (*sidecarFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	sc := &sidecarFile{f: f}
	if err := sc.readHeader(); err != nil {
		f.Close()
		return nil, err
	}
	return sc, nil
}

func (sc *sidecarFile) Close() error { return sc.f.Close() }

func (sc *sidecarFile) readHeader() error {
	size := binary.Size(sc.h)
	buf := make([]byte, size+4)
	if _, err := sc.f.ReadAt(buf, 0); err != nil {
		return fmt.Errorf("%w: header: %v", errCorrupt, err)
	}
	if string(buf[:8]) != sidecarMagic {
		return fmt.Errorf("%w: not an engine sidecar", errCorrupt)
	}
	if crc32.Checksum(buf[:size], castagnoli) != binary.LittleEndian.Uint32(buf[size:]) {
		return fmt.Errorf("%w: header checksum", errCorrupt)
	}
	if err := binary.Read(bytes.NewReader(buf[:size]), binary.LittleEndian, &sc.h); err != nil {
		return fmt.Errorf("%w: header: %v", errCorrupt, err)
	}
	if sc.h.Version != SidecarVersion {
		return fmt.Errorf("format version %d, this build reads %d", sc.h.Version, SidecarVersion)
	}
	if sc.h.BlockSize != sidecarBlock {
		return fmt.Errorf("%w: block size %d", errCorrupt, sc.h.BlockSize)
	}
	st, err := sc.f.Stat()
	if err != nil {
		return err
	}
	all := crc32.New(castagnoli)
	for s := 0; s < numSections; s++ {
		sec := sc.h.Sec[s]
		nb := (sec.Len + sidecarBlock - 1) / sidecarBlock
		if sec.Off+sec.Len > uint64(st.Size()) || sec.CRCOff+4*nb > uint64(st.Size()) || sec.Len%uint64(sectionWidth[s]) != 0 {
			return fmt.Errorf("%w: section %d outside the file", errCorrupt, s)
		}
		b := make([]byte, 4*nb)
		if _, err := sc.f.ReadAt(b, int64(sec.CRCOff)); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: %v", errCorrupt, err)
		}
		all.Write(b)
		sc.crcs[s] = make([]uint32, nb)
		for i := range sc.crcs[s] {
			sc.crcs[s][i] = binary.LittleEndian.Uint32(b[4*i:])
		}
	}
	if all.Sum32() != sc.h.CRCTables {
		return fmt.Errorf("%w: block checksums", errCorrupt)
	}
	n := uint64(sc.h.NUsers)
	if sc.h.Sec[secUsers].Len != 8*n || sc.h.Sec[secDelOff].Len != 4*(n+1) || sc.h.Sec[secAffOff].Len != 4*(n+1) || sc.h.Sec[secBadOff].Len != 4*(n+1) {
		return fmt.Errorf("%w: section lengths", errCorrupt)
	}
	return nil
}

// loadID is the load id the header names.
func (sc *sidecarFile) loadID() string {
	return string(bytes.TrimRight(sc.h.LoadID[:], "\x00"))
}

// count is the number of values in section s.
func (sc *sidecarFile) count(s int) int64 { return int64(sc.h.Sec[s].Len) / sectionWidth[s] }

// cursor reads a section through a buffer of whole blocks, each checked
// against its CRC when read. Reads are fastest in ascending order; ahead
// is how many bytes to read beyond what is asked (0 for scattered reads).
type cursor struct {
	sc     *sidecarFile
	s      int
	ahead  int64
	buf    []byte
	lo, hi int64 // section bytes in buf
}

func (sc *sidecarFile) cursor(s int, ahead int64) *cursor {
	return &cursor{sc: sc, s: s, ahead: ahead}
}

// get returns section bytes [lo, hi), valid until the next call.
func (c *cursor) get(lo, hi int64) ([]byte, error) {
	if lo >= c.lo && hi <= c.hi {
		return c.buf[lo-c.lo : hi-c.lo], nil
	}
	secLen := int64(c.sc.h.Sec[c.s].Len)
	if lo < 0 || hi > secLen || lo > hi {
		return nil, fmt.Errorf("%w: read %d..%d of section %d (%d bytes)", errCorrupt, lo, hi, c.s, secLen)
	}
	blo := lo / sidecarBlock * sidecarBlock
	bhi := min((max(hi, blo+c.ahead)+sidecarBlock-1)/sidecarBlock*sidecarBlock, secLen)
	keep := int64(0)
	var nbuf []byte
	if blo >= c.lo && blo < c.hi {
		// Keep the blocks already read from blo on.
		keep = c.hi - blo
		if int64(cap(c.buf)) >= bhi-blo {
			copy(c.buf[:keep], c.buf[blo-c.lo:c.hi-c.lo])
			nbuf = c.buf[:bhi-blo]
		} else {
			nbuf = make([]byte, bhi-blo)
			copy(nbuf, c.buf[blo-c.lo:c.hi-c.lo])
		}
	} else if int64(cap(c.buf)) >= bhi-blo {
		nbuf = c.buf[:bhi-blo]
	} else {
		nbuf = make([]byte, bhi-blo)
	}
	from := blo + keep
	off := int64(c.sc.h.Sec[c.s].Off)
	if _, err := c.sc.f.ReadAt(nbuf[keep:], off+from); err != nil {
		return nil, fmt.Errorf("%w: read section %d: %v", errCorrupt, c.s, err)
	}
	for b := from; b < bhi; b += sidecarBlock {
		e := min(b+sidecarBlock, bhi)
		if crc32.Checksum(nbuf[b-blo:e-blo], castagnoli) != c.sc.crcs[c.s][b/sidecarBlock] {
			return nil, fmt.Errorf("%w: block %d of section %d fails its checksum", errCorrupt, b/sidecarBlock, c.s)
		}
	}
	c.buf, c.lo, c.hi = nbuf, blo, bhi
	return c.buf[lo-c.lo : hi-c.lo], nil
}

func (c *cursor) u32(i int64) (uint32, error) {
	b, err := c.get(4*i, 4*i+4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (c *cursor) u64(i int64) (uint64, error) {
	b, err := c.get(8*i, 8*i+8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}
