package engine

import (
	"bytes"
	"cmp"
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
//   - the per user and category rating counts and sums (affinity);
//   - every NG tag (tidx) and category preference (cidx, weight) of every
//     user (version 2), so that a planning job reads every per-user input
//     but the requests from the file;
//   - every user's schedule (active, box size, cadence, next ship date) and
//     skipped dates (version 3), so that a planning job computes its ship
//     calendar from the file while DuckDB opens, and starts reading the
//     other inputs of the users that ship before the snapshot's first
//     query has run (SidecarPrefetch).
//
// Users are numbered by user_id over the snapshot's users table (ui);
// snacks, categories and tags by sidx, cidx and tidx, which are fixed per
// snapshot (the same numbering as inputs_prepare.sql; the header
// fingerprints the three lists and a reader compares them with the job's).
//
// Layout, little-endian: a header block (sidecarHeader, then its CRC32C)
// of sidecarBlock bytes; then the sections, each starting on a block
// boundary; then per section one CRC32C (Castagnoli) per block of
// sidecarBlock bytes, and the header holds the CRC32C of those tables. A
// reader reads only the blocks it needs (a shard, explain's one user) and
// checks each block it reads. The header names the snapshot's load id
// (assign_meta.load_id): a sidecar whose id differs from the snapshot's is
// stale and is not read.

// SidecarVersion is the format version a reader accepts. Version 2 added
// the NG tags and preferences (and the tags to the header's fingerprint),
// version 3 the users' schedules and skips; an older file is read as
// missing: the job plans through SQL and writes the file again.
const SidecarVersion = 3

const (
	sidecarMagic = "ASSIGNSC"
	sidecarBlock = 64 << 10
)

// Sections of the sidecar; each holds fixed-width little-endian values.
const (
	secUsers   = iota // int64 user_id per ui, ascending
	secDelOff         // uint32 per ui and one more: CSR over secDel
	secDel            // uint32 (day - DelBase) << 16 | sidx, ascending per user
	secAffOff         // uint32 CSR over secAff
	secAff            // 16 bytes: int32 cidx, int32 n, int64 total; cidx ascending per user
	secBadOff         // uint32 CSR over secBad
	secBad            // uint32 rating << 16 | sidx, ascending per user
	secNGOff          // uint32 CSR over secNG
	secNG             // uint32 tidx, ascending per user
	secPrefOff        // uint32 CSR over secPref
	secPref           // uint32 cidx << 8 | uint8(weight), ascending per user
	// The schedules (empty when the header's Calendar is 0):
	secSched   // 16 bytes per ui: uint32 1 when status = 'active' (else 0), int32 box_size, int32 cadence_days, int32 next_ship_on (days since 1970-01-01)
	secSkipOff // uint32 CSR over secSkip
	secSkip    // uint32 skipped ship date (days since 1970-01-01, int32) ^ 1<<31, ascending per user
	numSections
)

var sectionWidth = [numSections]int64{8, 4, 4, 4, 16, 4, 4, 4, 4, 4, 4, 16, 4, 4}

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
	NTags     uint32
	// Calendar is 1 when secSched and secSkip hold every user's schedule
	// and skips, 0 when the users table holds a user_id twice (a job then
	// computes its calendar through SQL, which reports it).
	Calendar uint32
	Sec      [numSections]sidecarSection
}

// catalogueFingerprint hashes the snack ids in sidx order, the category
// names in cidx order and the tag names in tidx order.
func catalogueFingerprint(snacks []int64, cats, tags []string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, id := range snacks {
		binary.LittleEndian.PutUint64(b[:], uint64(id))
		h.Write(b[:])
	}
	for _, list := range [][]string{cats, tags} {
		binary.LittleEndian.PutUint64(b[:], uint64(len(list)))
		h.Write(b[:])
		for _, c := range list {
			binary.LittleEndian.PutUint64(b[:], uint64(len(c)))
			h.Write(b[:])
			h.Write([]byte(c))
		}
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
//
// Each per-user section is one plain scan of its table: the users and
// snacks are numbered in Go (idIndex) and the rows grouped by user as they
// stream in (byUser), which costs a fraction of joining the rows to dense
// indexes and counting them per user inside DuckDB first.
func WriteSidecar(ctx context.Context, db DB, path, loadID string) (err error) {
	if len(loadID) == 0 || len(loadID) > 64 {
		return fmt.Errorf("%w: load id %q", ErrNoSidecar, loadID)
	}
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
	cats, err = queryStrings(ctx, db, "sidecar_categories")
	if err != nil {
		return fmt.Errorf("sidecar: categories: %w", err)
	}
	tags, err := queryStrings(ctx, db, "sidecar_tags")
	if err != nil {
		return fmt.Errorf("sidecar: tags: %w", err)
	}
	if len(snackIDs) > 1<<16 {
		return fmt.Errorf("%w: %d snacks (at most 65,536)", ErrNoSidecar, len(snackIDs))
	}
	snacks, err := newIDIndex(snackIDs)
	if err != nil {
		return fmt.Errorf("%w: snack ids: %v", ErrNoSidecar, err)
	}
	h.NSnacks, h.NCats, h.NTags = uint32(len(snackIDs)), uint32(len(cats)), uint32(len(tags))
	h.Catalogue = catalogueFingerprint(snackIDs, cats, tags)

	var span []int64
	if err := db.QueryArrow(ctx, queries.Render("sidecar_span", map[string]string{"latest": LatestRatingsTable, "user_category_ratings": UserCategoryRatingsTable}), func(rec arrow.RecordBatch) error {
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
	if len(span) != 6 {
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
	nBad, nAff := span[4], span[5]

	f, err := atomicfs.Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	w := &sidecarWriter{f: f, h: &h}
	if err := w.pad(sidecarBlock); err != nil { // the header's block, written last
		return err
	}

	sched, err := readSchedules(ctx, db)
	if err != nil {
		return fmt.Errorf("sidecar: users: %w", err)
	}
	userIDs := sched.ids
	if len(userIDs) > math.MaxInt32 {
		return fmt.Errorf("%w: %d users", ErrNoSidecar, len(userIDs))
	}
	users, err := newIDIndex(userIDs)
	if err != nil {
		return fmt.Errorf("sidecar: users: %w", err)
	}
	h.NUsers = uint32(len(userIDs))
	w.begin(secUsers)
	for _, u := range userIDs {
		w.u64(uint64(u))
	}
	if err := w.end(); err != nil {
		return err
	}
	n := len(userIDs)
	userIDs = nil
	if sched.unique {
		h.Calendar = 1
		w.begin(secSched)
		for i := range n {
			w.u32(uint32(sched.active[i]))
			w.u32(uint32(sched.box[i]))
			w.u32(uint32(sched.cadence[i]))
			w.u32(uint32(sched.next[i]))
		}
		if err := w.end(); err != nil {
			return err
		}
	}
	sched = nil

	// Deliveries: (day - DelBase) << 16 | sidx.
	dels := newByUser[uint32](n, span[0])
	var ui, si []int32
	var vs []uint32
	err = streamQuery(ctx, db, queries.Render("sidecar_deliveries", map[string]string{"base": Day(h.DelBase).String()}), func(rec arrow.RecordBatch) error {
		cols, err := int64Cols(rec, 2, 3)
		if err != nil {
			return err
		}
		days, err := column[*array.Int32](rec, 2)
		if err != nil {
			return err
		}
		ui, si = users.lookup(cols[0], ui), snacks.lookup(cols[1], si)
		vs = slices.Grow(vs[:0], len(ui))[:len(ui)]
		k := 0
		for i, d := range days.Int32Values() {
			if ui[i] < 0 || si[i] < 0 {
				continue // a row of no user or snack of the snapshot
			}
			if d < 0 || d > math.MaxUint16 {
				return fmt.Errorf("%w: delivery day offset %d out of range", ErrNoSidecar, d)
			}
			ui[k], vs[k] = ui[i], uint32(d)<<16|uint32(si[i])
			k++
		}
		dels.add(ui[:k], vs[:k])
		return nil
	})
	if err != nil {
		return fmt.Errorf("sidecar: deliveries: %w", err)
	}
	if err := w.packedSection(dels, secDel, secDelOff); err != nil {
		return fmt.Errorf("sidecar: deliveries: %w", err)
	}
	dels = nil

	// Never-again ratings: rating << 16 | sidx.
	bad := newByUser[uint32](n, nBad)
	err = streamQuery(ctx, db, queries.Render("sidecar_bad_ratings", map[string]string{"latest": LatestRatingsTable}), func(rec arrow.RecordBatch) error {
		cols, err := int64Cols(rec, 2, 3)
		if err != nil {
			return err
		}
		ratings, err := column[*array.Int32](rec, 2)
		if err != nil {
			return err
		}
		ui, si = users.lookup(cols[0], ui), snacks.lookup(cols[1], si)
		vs = slices.Grow(vs[:0], len(ui))[:len(ui)]
		k := 0
		for i, r := range ratings.Int32Values() {
			if ui[i] < 0 || si[i] < 0 {
				continue
			}
			if r < 0 || r > math.MaxUint16 {
				return fmt.Errorf("%w: rating %d out of range", ErrNoSidecar, r)
			}
			ui[k], vs[k] = ui[i], uint32(r)<<16|uint32(si[i])
			k++
		}
		bad.add(ui[:k], vs[:k])
		return nil
	})
	if err != nil {
		return fmt.Errorf("sidecar: ratings: %w", err)
	}
	if err := w.packedSection(bad, secBad, secBadOff); err != nil {
		return fmt.Errorf("sidecar: ratings: %w", err)
	}
	bad = nil

	if err := w.affinitySection(ctx, db, users, nAff); err != nil {
		return fmt.Errorf("sidecar: affinity: %w", err)
	}
	// NG tags: tidx.
	if err := w.userValues(ctx, db, users, "sidecar_ng", 2, secNG, secNGOff, func(v []int32) (uint32, error) {
		if v[0] < 0 || v[0] >= int32(len(tags)) {
			return 0, fmt.Errorf("tag index %d of %d", v[0], len(tags))
		}
		return uint32(v[0]), nil
	}); err != nil {
		return fmt.Errorf("sidecar: NG tags: %w", err)
	}
	// Preferences: cidx << 8 | uint8(weight).
	if err := w.userValues(ctx, db, users, "sidecar_prefs", 3, secPref, secPrefOff, func(v []int32) (uint32, error) {
		if v[0] < 0 || v[0] >= int32(len(cats)) || v[0] >= 1<<24 {
			return 0, fmt.Errorf("%w: category index %d of %d", ErrNoSidecar, v[0], len(cats))
		}
		if v[1] < math.MinInt8 || v[1] > math.MaxInt8 {
			return 0, fmt.Errorf("%w: preference weight %d out of range", ErrNoSidecar, v[1])
		}
		return uint32(v[0])<<8 | uint32(uint8(int8(v[1]))), nil
	}); err != nil {
		return fmt.Errorf("sidecar: preferences: %w", err)
	}
	if h.Calendar == 1 {
		// Skips: the day, sorted per user as a signed value.
		if err := w.userValues(ctx, db, users, "sidecar_skips", 2, secSkip, secSkipOff, func(v []int32) (uint32, error) {
			return uint32(v[0]) ^ 1<<31, nil // biased: ascending as unsigned
		}); err != nil {
			return fmt.Errorf("sidecar: skips: %w", err)
		}
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

// schedules are the users' rows of sidecar_schedules: ids ascending and
// distinct (the sidecar's ui order), and, when unique (no id came twice),
// each user's schedule.
type schedules struct {
	ids                []int64
	active             []uint8
	box, cadence, next []int32
	unique             bool
}

func readSchedules(ctx context.Context, db DB) (*schedules, error) {
	sc := &schedules{unique: true}
	err := db.QueryArrow(ctx, queries.Get("sidecar_schedules"), func(rec arrow.RecordBatch) error {
		cols, err := int64Cols(rec, 1, 5)
		if err != nil {
			return err
		}
		active, err := column[*array.Boolean](rec, 1)
		if err != nil {
			return err
		}
		ints := make([][]int32, 3)
		for i := range ints {
			c, err := column[*array.Int32](rec, i+2)
			if err != nil {
				return err
			}
			ints[i] = c.Int32Values()
		}
		for i, id := range cols[0] {
			if k := len(sc.ids); k > 0 && sc.ids[k-1] >= id {
				if sc.ids[k-1] > id {
					return fmt.Errorf("user %d follows %d (ascending expected)", id, sc.ids[k-1])
				}
				sc.unique = false // inputs_calendar reports it
				continue
			}
			a := uint8(0)
			if active.Value(i) {
				a = 1
			}
			sc.ids, sc.active = append(sc.ids, id), append(sc.active, a)
			sc.box, sc.cadence, sc.next = append(sc.box, ints[0][i]), append(sc.cadence, ints[1][i]), append(sc.next, ints[2][i])
		}
		return nil
	})
	return sc, err
}

// int64Cols checks that rec has want columns without NULLs and returns its
// first k, which must be BIGINT, as slices.
// column returns column i of rec as a T, or an error naming the column
// and the type it has.
func column[T arrow.Array](rec arrow.RecordBatch, i int) (T, error) {
	c, ok := rec.Column(i).(T)
	if !ok {
		return c, fmt.Errorf("column %s: unexpected type %s", rec.ColumnName(i), rec.Column(i).DataType())
	}
	return c, nil
}

func int64Cols(rec arrow.RecordBatch, k, want int) ([][]int64, error) {
	if int(rec.NumCols()) != want {
		return nil, fmt.Errorf("%d columns, want %d", rec.NumCols(), want)
	}
	out := make([][]int64, k)
	for i := range want {
		if err := checkNoNulls(rec.ColumnName(i), rec.Column(i)); err != nil {
			return nil, err
		}
		if i < k {
			c, err := column[*array.Int64](rec, i)
			if err != nil {
				return nil, err
			}
			out[i] = c.Int64Values()
		}
	}
	return out, nil
}

// idIndex numbers ids by their place in an ascending list of distinct ids
// (a snapshot's users or snacks): through a table indexed by id when the
// ids are dense enough, else a map.
type idIndex struct {
	lo    int64
	dense []int32 // id - lo -> index, or -1; nil when the ids are sparse
	m     map[int64]int32
}

func newIDIndex(ids []int64) (*idIndex, error) {
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			return nil, fmt.Errorf("id %d follows %d (ascending and distinct expected)", ids[i], ids[i-1])
		}
	}
	x := &idIndex{}
	if len(ids) == 0 {
		x.m = map[int64]int32{}
		return x, nil
	}
	// span+1 slots; the subtraction is exact in uint64 for any ids[0] <= ids[last].
	if span := uint64(ids[len(ids)-1]) - uint64(ids[0]); span < uint64(4*len(ids)+1024) {
		x.lo = ids[0]
		x.dense = make([]int32, span+1)
		for i := range x.dense {
			x.dense[i] = -1
		}
		for i, id := range ids {
			x.dense[uint64(id)-uint64(x.lo)] = int32(i)
		}
		return x, nil
	}
	x.m = make(map[int64]int32, len(ids))
	for i, id := range ids {
		x.m[id] = int32(i)
	}
	return x, nil
}

// lookup sets out[i] to the index of ids[i], or -1 for an id not listed,
// reusing out's storage.
func (x *idIndex) lookup(ids []int64, out []int32) []int32 {
	out = slices.Grow(out[:0], len(ids))[:len(ids)]
	if x.dense != nil {
		lo, n := uint64(x.lo), uint64(len(x.dense))
		for i, id := range ids {
			if d := uint64(id) - lo; d < n {
				out[i] = x.dense[d]
			} else {
				out[i] = -1
			}
		}
		return out
	}
	for i, id := range ids {
		if v, ok := x.m[id]; ok {
			out[i] = v
		} else {
			out[i] = -1
		}
	}
	return out
}

// byUser collects the rows of a per-user section in the order a query
// streams them and groups them by user afterwards, so one pass over the
// table is enough (no count per user first). It keeps the runs of rows of
// one user: few (about one per user) when the rows come grouped by user, as
// a snapshot's tables mostly are; when they do not, and runs grow past a
// quarter of the rows, it keeps the user of every row instead (4 bytes a
// row, not 8 a run).
type byUser[T any] struct {
	nUsers  int
	vals    []T
	runU    []int32  // the user of each run of consecutive rows
	runN    []uint32 // its length
	rowU    []int32  // the user of every row, once runs stopped paying (nil before)
	sorted  bool     // every run's user follows the previous run's
	tooMany bool     // more than 2^32 rows
}

// newByUser expects about rows rows (an upper bound sizes the storage once).
func newByUser[T any](nUsers int, rows int64) *byUser[T] {
	return &byUser[T]{nUsers: nUsers, vals: make([]T, 0, max(0, min(rows, math.MaxUint32))), sorted: true}
}

// add appends the rows vs of the users us (0 <= us[i] < nUsers).
func (g *byUser[T]) add(us []int32, vs []T) {
	for i := 0; i < len(us); {
		if g.rowU != nil {
			g.vals = append(g.vals, vs[i:]...)
			g.rowU = append(g.rowU, us[i:]...)
			return
		}
		u, j := us[i], i+1
		for j < len(us) && us[j] == u {
			j++
		}
		g.vals = append(g.vals, vs[i:j]...)
		g.addRun(u, uint32(j-i))
		i = j
	}
}

// addRun records k more rows of user u, appended to vals.
func (g *byUser[T]) addRun(u int32, k uint32) {
	last := len(g.runU) - 1
	if last >= 0 && g.runU[last] == u {
		if g.runN[last] > math.MaxUint32-k {
			g.tooMany = true
		}
		g.runN[last] += k
		return
	}
	if last >= 0 && u < g.runU[last] {
		g.sorted = false
	}
	g.runU = append(g.runU, u)
	g.runN = append(g.runN, k)
	if runs := len(g.runU); !g.sorted && runs > 1<<16 && runs > len(g.vals)/4 {
		g.rowU = make([]int32, 0, cap(g.vals))
		for i, ru := range g.runU {
			for range g.runN[i] {
				g.rowU = append(g.rowU, ru)
			}
		}
		g.runU, g.runN = nil, nil
	}
}

// group returns the CSR offsets over the users and the rows grouped by
// user, each user's sorted by a sorter from newSorter (one per core, the
// users split over them), so the result does not depend on the order the
// rows came in. g is spent.
func (g *byUser[T]) group(newSorter func() func([]T)) (start []uint32, rows []T, err error) {
	if g.tooMany || uint64(len(g.vals)) > math.MaxUint32 {
		return nil, nil, fmt.Errorf("%w: more than 2^32 rows", ErrNoSidecar)
	}
	n := g.nUsers
	start = make([]uint32, n+1)
	if g.rowU != nil {
		for _, u := range g.rowU {
			start[u+1]++
		}
	} else {
		for i, u := range g.runU {
			start[u+1] += g.runN[i]
		}
	}
	for u := 1; u <= n; u++ {
		start[u] += start[u-1]
	}
	rows = g.vals
	switch {
	case g.rowU != nil:
		rows = make([]T, len(g.vals))
		next := slices.Clone(start[:n])
		for i, u := range g.rowU {
			rows[next[u]] = g.vals[i]
			next[u]++
		}
	case !g.sorted:
		rows = make([]T, len(g.vals))
		next := slices.Clone(start[:n])
		at := uint32(0)
		for i, u := range g.runU {
			k := g.runN[i]
			copy(rows[next[u]:next[u]+k], g.vals[at:at+k])
			next[u] += k
			at += k
		}
	}
	g.vals, g.rowU, g.runU, g.runN = nil, nil, nil, nil
	var wg sync.WaitGroup
	parts := runtime.GOMAXPROCS(0)
	for p := range parts {
		wg.Go(func() {
			sortRun := newSorter()
			for u := n * p / parts; u < n*(p+1)/parts; u++ {
				if start[u+1]-start[u] > 1 {
					sortRun(rows[start[u]:start[u+1]])
				}
			}
		})
	}
	wg.Wait()
	return start, rows, nil
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

// u32s appends vs to the current section, which holds only uint32s.
func (w *sidecarWriter) u32s(vs []uint32) error {
	for len(vs) > 0 {
		k := min((cap(w.block)-len(w.block))/4, len(vs))
		if k == 0 {
			w.u32(vs[0])
			vs = vs[1:]
			continue
		}
		b := w.block[len(w.block) : len(w.block)+4*k]
		for i, v := range vs[:k] {
			binary.LittleEndian.PutUint32(b[4*i:], v)
		}
		w.block = w.block[:len(w.block)+4*k]
		vs = vs[k:]
		if len(w.block) == cap(w.block) {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
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
	if err := w.u32s(start); err != nil {
		return err
	}
	return w.end()
}

// packedSection writes section sec (uint32 each), g's rows grouped by user
// and each user's ascending, and its offsets offSec.
func (w *sidecarWriter) packedSection(g *byUser[uint32], sec, offSec int) error {
	start, rows, err := g.group(func() func([]uint32) {
		var tmp []uint32
		return func(run []uint32) { tmp = sortPacked(run, tmp) }
	})
	if err != nil {
		return err
	}
	w.begin(sec)
	if err := w.u32s(rows); err != nil {
		return err
	}
	if err := w.end(); err != nil {
		return err
	}
	return w.offsets(offSec, start)
}

// sortPacked sorts run, values hi << 16 | lo, ascending, and returns tmp
// (scratch, grown as needed). A snapshot's runs are nearly sorted one of two
// ways, each sorted in one or two passes instead of pdqsort's partitioning:
//   - by hi (a user's deliveries come by day, the snacks of one box in any
//     order): insertion, one step a row plus one a misplaced pair, which
//     lie within one day;
//   - by lo with few his (ratings come by snack, the rating in hi): a
//     stable counting sort by hi.
//
// Any other run goes to slices.Sort.
func sortPacked(run, tmp []uint32) []uint32 {
	if len(run) < 2 {
		return tmp
	}
	byHi, byLo, maxHi := true, true, run[0]>>16
	for i := 1; i < len(run); i++ {
		p, v := run[i-1], run[i]
		byHi = byHi && v>>16 >= p>>16
		byLo = byLo && v&0xffff > p&0xffff
		maxHi = max(maxHi, v>>16)
	}
	switch {
	case byHi:
		budget := 8*len(run) + 64 // moves allowed before insertion stops paying
		for i := 1; i < len(run); i++ {
			v, j := run[i], i
			for ; j > 0 && run[j-1] > v; j-- {
				run[j] = run[j-1]
			}
			run[j] = v
			if budget -= i - j; budget < 0 {
				slices.Sort(run)
				break
			}
		}
	case byLo && maxHi < 16:
		var at [17]int
		for _, v := range run {
			at[v>>16+1]++
		}
		for h := 1; h <= 16; h++ {
			at[h] += at[h-1]
		}
		tmp = slices.Grow(tmp[:0], len(run))[:len(run)]
		for _, v := range run {
			tmp[at[v>>16]] = v
			at[v>>16]++
		}
		copy(run, tmp)
	default:
		slices.Sort(run)
	}
	return tmp
}

// affinity is one row of secAff.
type affinity struct {
	cidx, n int32
	total   int64
}

// affinitySection writes secAff and secAffOff from sidecar_affinity (about
// nRows rows), grouped by user as packedSection does, each user's rows
// sorted by cidx.
func (w *sidecarWriter) affinitySection(ctx context.Context, db DB, users *idIndex, nRows int64) error {
	g := newByUser[affinity](int(w.h.NUsers), nRows)
	var ui []int32
	var vs []affinity
	err := streamQuery(ctx, db, queries.Render("sidecar_affinity", map[string]string{"user_category_ratings": UserCategoryRatingsTable}), func(b arrow.RecordBatch) error {
		cols, err := int64Cols(b, 1, 4)
		if err != nil {
			return err
		}
		cs, ok1 := b.Column(1).(*array.Int32)
		ns, ok2 := b.Column(2).(*array.Int32)
		ts, ok3 := b.Column(3).(*array.Int64)
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("unexpected column types %s, %s, %s", b.Column(1).DataType(), b.Column(2).DataType(), b.Column(3).DataType())
		}
		ui = users.lookup(cols[0], ui)
		cv, nv, tv := cs.Int32Values(), ns.Int32Values(), ts.Int64Values()
		vs = slices.Grow(vs[:0], len(ui))[:len(ui)]
		k := 0
		for i, u := range ui {
			if u >= 0 {
				ui[k], vs[k] = u, affinity{cv[i], nv[i], tv[i]}
				k++
			}
		}
		g.add(ui[:k], vs[:k])
		return nil
	})
	if err != nil {
		return err
	}
	byCat := func(a, b affinity) int { return cmp.Compare(a.cidx, b.cidx) }
	start, rows, err := g.group(func() func([]affinity) {
		return func(run []affinity) {
			if !slices.IsSortedFunc(run, byCat) { // already when the table is ordered by category
				slices.SortFunc(run, byCat)
			}
		}
	})
	if err != nil {
		return err
	}
	w.begin(secAff)
	var rec [16]byte
	for _, r := range rows {
		binary.LittleEndian.PutUint32(rec[0:], uint32(r.cidx))
		binary.LittleEndian.PutUint32(rec[4:], uint32(r.n))
		binary.LittleEndian.PutUint64(rec[8:], uint64(r.total))
		if err := w.put(rec[:]); err != nil {
			return err
		}
	}
	if err := w.end(); err != nil {
		return err
	}
	return w.offsets(secAffOff, start)
}

// userValues writes section sec (uint32 each) and its offsets offSec from
// query, whose rows are (user_id BIGINT, then cols-1 INTEGER columns) in any
// order: pack makes a row's value of its INTEGER columns. Each user's values
// are sorted ascending; rows of users not in the snapshot are left out.
func (w *sidecarWriter) userValues(ctx context.Context, db DB, users *idIndex, query string, cols int, sec, offSec int, pack func(v []int32) (uint32, error)) error {
	g := newByUser[uint32](int(w.h.NUsers), 0)
	var ui []int32
	var vs []uint32
	row := make([]int32, cols-1)
	err := streamQuery(ctx, db, queries.Get(query), func(rec arrow.RecordBatch) error {
		ids, err := int64Cols(rec, 1, cols)
		if err != nil {
			return err
		}
		vals := make([][]int32, cols-1)
		for i := range vals {
			c, err := column[*array.Int32](rec, i+1)
			if err != nil {
				return err
			}
			vals[i] = c.Int32Values()
		}
		ui = users.lookup(ids[0], ui)
		vs = slices.Grow(vs[:0], len(ui))[:len(ui)]
		k := 0
		for i, u := range ui {
			if u < 0 {
				continue
			}
			for j := range row {
				row[j] = vals[j][i]
			}
			v, err := pack(row)
			if err != nil {
				return err
			}
			ui[k], vs[k] = u, v
			k++
		}
		g.add(ui[:k], vs[:k])
		return nil
	})
	if err != nil {
		return err
	}
	return w.packedSection(g, sec, offSec)
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
	// Every version starts with the magic and the version, and another
	// version's header has another size: named before its checksum fails.
	if v := binary.LittleEndian.Uint32(buf[8:]); v != SidecarVersion {
		return fmt.Errorf("format version %d, this build reads %d", v, SidecarVersion)
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
	if sc.h.Sec[secUsers].Len != 8*n || sc.h.Sec[secDelOff].Len != 4*(n+1) || sc.h.Sec[secAffOff].Len != 4*(n+1) || sc.h.Sec[secBadOff].Len != 4*(n+1) ||
		sc.h.Sec[secNGOff].Len != 4*(n+1) || sc.h.Sec[secPrefOff].Len != 4*(n+1) {
		return fmt.Errorf("%w: section lengths", errCorrupt)
	}
	switch sc.h.Calendar {
	case 0:
		if sc.h.Sec[secSched].Len != 0 || sc.h.Sec[secSkipOff].Len != 0 || sc.h.Sec[secSkip].Len != 0 {
			return fmt.Errorf("%w: schedule sections without a calendar", errCorrupt)
		}
	case 1:
		if sc.h.Sec[secSched].Len != 16*n || sc.h.Sec[secSkipOff].Len != 4*(n+1) {
			return fmt.Errorf("%w: section lengths", errCorrupt)
		}
	default:
		return fmt.Errorf("%w: calendar flag %d", errCorrupt, sc.h.Calendar)
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

// queryStrings reads the first column of the named query, a text column.
func queryStrings(ctx context.Context, db DB, name string) (out []string, err error) {
	err = db.QueryArrow(ctx, queries.Get(name), func(rec arrow.RecordBatch) (err error) {
		out, err = appendString(out, rec.ColumnName(0), rec.Column(0))
		return err
	})
	return out, err
}
