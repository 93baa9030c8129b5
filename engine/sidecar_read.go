package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/assign-dev/assign/store"
)

// sidecarPath is the sidecar LoadInputs reads for opt, or "" for none.
func sidecarPath(db DB, opt LoadOptions) string {
	if opt.NoSidecar {
		return ""
	}
	if opt.SidecarPath != "" {
		return opt.SidecarPath
	}
	if p, ok := db.(interface{ Path() string }); ok && p.Path() != "" {
		return store.SidecarPath(p.Path())
	}
	return ""
}

// snapshotLoadID is the snapshot's assign_meta load_id, "" when it has
// none (snapshots loaded before the sidecar, test snapshots).
func snapshotLoadID(ctx context.Context, db DB) (string, error) {
	found := false
	err := db.QueryArrow(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = current_schema() AND table_name = 'assign_meta'`,
		func(rec arrow.RecordBatch) error {
			v, err := appendInt64(nil, "count", rec.Column(0))
			found = len(v) == 1 && v[0] > 0
			return err
		})
	if err != nil || !found {
		return "", err
	}
	var ids []string
	err = db.QueryArrow(ctx, `SELECT value FROM assign_meta WHERE key = 'load_id'`, func(rec arrow.RecordBatch) error {
		var err error
		ids, err = appendString(ids, "value", rec.Column(0))
		return err
	})
	if err != nil || len(ids) != 1 {
		return "", err
	}
	return ids[0], nil
}

// sidecarInputs are the inputs the sidecar fills, assigned to Inputs only
// when all of them were read and checked.
type sidecarInputs struct {
	delSegStart, delSegFrom, delSegTo []int32
	delSnack, delDay                  []uint16
	delBase                           Day
	affStart, affCat, affN            []int32
	affSum                            []int64
	badStart, badSnack, badRating     []int32
	ngStart, ngTag                    []int32
	prefStart, prefCat, prefW         []int32
	delRows                           int64   // rows in the deliveries' segments
	si                                []int32 // the sidecar's ui of each uidx, -1 when absent
}

// startSidecar begins filling in's deliveries, affinities, never-again
// ratings, NG tags and preferences from the snapshot's engine sidecar, exactly as the SQL path
// would. It checks the sidecar against the snapshot at once (it needs
// in's users, snacks and categories, and db), then reads the file in a
// goroutine, so the caller's other input queries run meanwhile; wait
// returns whether the fields were filled, and must be called before in is
// read (it may be called more than once). A missing sidecar (a snapshot
// loaded before it existed, or one the format cannot hold) is logged at
// debug level, a stale or damaged one as a warning; the caller then reads
// them through SQL, and in.SidecarRebuild names the file a job may write
// again (RebuildSidecar). The reader touches only in.UserID, in.SnackID,
// in.Categories and in.Tags, which the caller must leave alone until wait.
// It reads with opt.Threads goroutines (0: GOMAXPROCS), each a range of the
// users. The caller
// must call close once it no longer needs the file (openRequests reads it
// after wait).
func startSidecar(ctx context.Context, db DB, in *Inputs, opt LoadOptions, logger *slog.Logger) *pendingSidecar {
	no := &pendingSidecar{}
	path := sidecarPath(db, opt)
	if path == "" {
		return no
	}
	if !sidecarHolds(opt) {
		logger.Debug("engine sidecar not used: the policy reads what it does not hold", "path", path)
		return no
	}
	sc, err := openSidecar(path)
	if errors.Is(err, fs.ErrNotExist) {
		logger.Debug("no engine sidecar: inputs read through SQL", "path", path)
		in.SidecarRebuild = path
		return no
	}
	if err != nil {
		logger.Warn("engine sidecar unreadable: inputs read through SQL", "path", path, "err", err)
		in.SidecarRebuild = path
		return no
	}
	handed := false // to the pendingSidecar, which closes sc
	defer func() {
		if !handed {
			sc.Close()
		}
	}()
	if int(sc.h.NSnacks) != in.NumSnacks() || int(sc.h.NCats) != len(in.Categories) || int(sc.h.NTags) != len(in.Tags) ||
		sc.h.Catalogue != catalogueFingerprint(in.SnackID, in.Categories, in.Tags) {
		logger.Warn("engine sidecar numbers snacks, categories or tags otherwise than the snapshot: inputs read through SQL", "path", path,
			"snacks", in.NumSnacks(), "sidecar_snacks", sc.h.NSnacks, "categories", len(in.Categories), "sidecar_categories", sc.h.NCats,
			"tags", len(in.Tags), "sidecar_tags", sc.h.NTags)
		in.SidecarRebuild = path
		return no
	}
	workers := opt.Threads
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p := &pendingSidecar{sc: sc, path: path, logger: logger, started: true, in: in, workers: workers, rd: &sidecarRead{done: make(chan struct{}), t0: time.Now()}}
	handed = true
	go func() {
		defer close(p.rd.done)
		p.rd.out, p.rd.err = sc.read(in.UserID, countsOf(in), opt, workers)
	}()
	// The file is the snapshot's if it names the snapshot's load: checked
	// while the reader runs (two queries, 5-10 ms at medium that came
	// before it), and wait discards what it read otherwise.
	id, err := snapshotLoadID(ctx, db)
	switch {
	case err != nil && ctx.Err() != nil:
		p.reject = func() {} // interrupted: the next query reports it
	case err != nil:
		p.reject = func() {
			logger.Warn("engine sidecar not used: cannot read the snapshot's load id", "path", path, "err", err)
		}
	case id == "" || id != sc.loadID():
		p.reject = func() {
			logger.Warn("engine sidecar is stale (another load's): inputs read through SQL", "path", path, "sidecar_load", sc.loadID(), "snapshot_load", id)
			in.SidecarRebuild = path
		}
	}
	return p
}

// sidecarHolds reports whether the sidecar holds what opt's policy and
// horizon read: never-again ratings of 0..5, a repeat window that is not
// negative, and deliveries' days within the format's 16 bits.
func sidecarHolds(opt LoadOptions) bool {
	pol := opt.Policy
	return pol.NeverAgainRating <= 5 && pol.RepeatWindowDays >= 0 && int64(pol.RepeatWindowDays)+int64(opt.Days)-1 <= math.MaxUint16
}

// sidecarRead is a read of the sidecar running in a goroutine: out and
// err are set when done is closed.
type sidecarRead struct {
	done chan struct{}
	t0   time.Time
	out  *sidecarInputs
	err  error
}

// pendingSidecar is a sidecar being read in the background (startSidecar,
// or a SidecarPrefetch that LoadInputs took), or none (started false).
type pendingSidecar struct {
	started bool
	in      *Inputs
	sc      *sidecarFile
	path    string
	logger  *slog.Logger
	rd      *sidecarRead
	reject  func() // set when the file is not the snapshot's: says why
	// si is the file's ui of each of in's users when known before the
	// reader ends (a prefetch's calendar): the requests are then tested
	// against the file's deliveries beside the reader (closeEarly).
	si      []int32
	closing chan struct{} // closed when keep and keepErr are set
	keep    []bool
	keepErr error
	workers int
	waited  bool
	ok      bool
	closed  bool
}

// wait waits for the reader and, when it read the sidecar whole, assigns
// its fields to the Inputs; it reports whether it did. It may be called
// more than once.
func (p *pendingSidecar) wait() bool {
	if !p.started || p.waited {
		return p.ok
	}
	p.waited = true
	<-p.rd.done
	if p.reject != nil {
		p.reject()
		return false
	}
	if p.rd.err != nil {
		p.logger.Warn("engine sidecar damaged: inputs read through SQL", "path", p.path, "err", p.rd.err)
		p.in.SidecarRebuild = p.path
		return false
	}
	in, out := p.in, p.rd.out
	in.DelSegStart, in.DelSegFrom, in.DelSegTo = out.delSegStart, out.delSegFrom, out.delSegTo
	in.DelSnack, in.DelSnackHi, in.DelDay, in.DelBase = out.delSnack, nil, out.delDay, out.delBase
	in.AffStart, in.AffCat, in.AffN, in.AffSum = out.affStart, out.affCat, out.affN, out.affSum
	in.BadStart, in.BadSnack, in.BadRating = out.badStart, out.badSnack, out.badRating
	in.NGStart, in.NGTag = out.ngStart, out.ngTag
	in.PrefStart, in.PrefCat, in.PrefW = out.prefStart, out.prefCat, out.prefW
	p.logger.Debug("engine input", "query", "sidecar", "seconds", time.Since(p.rd.t0).Seconds(), "deliveries", out.delRows)
	p.ok = true
	return true
}

// closeEarly starts testing in's requests (read without the snapshot
// deliveries' test: inputs_requests_all) against the file's deliveries
// beside the reader, when the users' places in the file are known (si);
// openRequests takes the result. in's requests must not change until then.
func (p *pendingSidecar) closeEarly(in *Inputs) {
	if !p.started || p.si == nil || p.closing != nil {
		return
	}
	reqs := &Inputs{ReqStart: in.ReqStart, ReqSnack: in.ReqSnack, ReqDay: in.ReqDay}
	p.closing = make(chan struct{})
	go func() {
		defer close(p.closing)
		p.keep, p.keepErr = p.sc.closedRequests(p.si, reqs, p.workers)
	}()
}

// close waits for the reader and closes the file.
func (p *pendingSidecar) close() {
	if !p.started || p.closed {
		return
	}
	<-p.rd.done
	if p.closing != nil {
		<-p.closing
	}
	p.closed = true
	p.sc.Close()
}

// openRequests drops from in's requests (read without the snapshot
// deliveries' test: inputs_requests_all) those that a snapshot delivery
// closes, a delivery of the snack to the user on or after the day of the
// request (inputs_requests' NOT EXISTS), keeping the order of the rest. It
// reads the users' delivery rows in the sidecar, which hold every delivery
// of the snapshot. wait must have returned true.
func (p *pendingSidecar) openRequests(in *Inputs) error {
	var keep []bool
	var err error
	if p.closing != nil {
		<-p.closing
		keep, err = p.keep, p.keepErr
	} else {
		keep, err = p.sc.closedRequests(p.rd.out.si, in, p.workers)
	}
	if err != nil {
		return err
	}
	start := make([]int32, len(in.ReqStart))
	n := int32(0)
	for u := 0; u+1 < len(in.ReqStart); u++ {
		for r := in.ReqStart[u]; r < in.ReqStart[u+1]; r++ {
			if keep[r] {
				in.ReqSnack[n], in.ReqAt[n], in.ReqDay[n] = in.ReqSnack[r], in.ReqAt[r], in.ReqDay[r]
				n++
			}
		}
		start[u+1] = n
	}
	in.ReqStart = start
	in.ReqSnack, in.ReqAt, in.ReqDay = in.ReqSnack[:n:n], in.ReqAt[:n:n], in.ReqDay[:n:n]
	return nil
}

// closedRequests reports, per request of in, whether it stays open: no
// delivery row of its user (si: the sidecar's ui of each uidx, -1 when
// absent) holds its snack on a day on or after its ReqDay.
func (sc *sidecarFile) closedRequests(si []int32, in *Inputs, workers int) (keep []bool, err error) {
	keep = make([]bool, len(in.ReqSnack))
	dense := len(in.ReqSnack)*64 >= int(sc.h.NUsers)
	ahead := int64(0)
	parts := 1
	nU := len(in.ReqStart) - 1
	if dense {
		ahead = 1 << 20
		parts = max(1, min(workers, nU/sidecarPartUsers))
	}
	// Each part a range of the users, with its own cursors: the rows of
	// users with requests are spread over the whole section.
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() { errs[p] = sc.closeRequests(si, in, keep, nU*p/parts, nU*(p+1)/parts, ahead) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return keep, nil
}

// closeRequests sets keep for the requests of users [ulo, uhi) (see
// closedRequests).
func (sc *sidecarFile) closeRequests(si []int32, in *Inputs, keep []bool, ulo, uhi int, ahead int64) error {
	rows := sc.count(secDel)
	fileBase := int64(sc.h.DelBase)
	oc, rc := sc.cursor(secDelOff, ahead), sc.cursor(secDel, ahead)
	for u := ulo; u < uhi; u++ {
		lo, hi := in.ReqStart[u], in.ReqStart[u+1]
		if lo == hi {
			continue
		}
		for r := lo; r < hi; r++ {
			keep[r] = true
		}
		i := si[u]
		if i < 0 {
			continue
		}
		a, err := oc.u32(int64(i))
		if err != nil {
			return err
		}
		b, err := oc.u32(int64(i) + 1)
		if err != nil {
			return err
		}
		if a > b || int64(b) > rows {
			return fmt.Errorf("%w: offsets %d..%d of section %d", errCorrupt, a, b, secDelOff)
		}
		if a == b {
			continue
		}
		// Rows are (day, sidx) ascending: those on or after the user's
		// earliest request day are a suffix.
		first := int64(in.ReqDay[lo])
		for r := lo + 1; r < hi; r++ {
			first = min(first, int64(in.ReqDay[r]))
		}
		keys, err := rc.get(4*int64(a), 4*int64(b))
		if err != nil {
			return err
		}
		k := len(keys) / 4
		at := func(j int) int64 { return int64(binary.LittleEndian.Uint32(keys[4*j:]) >> 16) }
		from := sort.Search(k, func(j int) bool { return at(j) >= first-fileBase })
		for j := from; j < k; j++ {
			v := binary.LittleEndian.Uint32(keys[4*j:])
			day, s := int64(v>>16)+fileBase, int32(v&0xffff)
			for r := lo; r < hi; r++ {
				if keep[r] && in.ReqSnack[r] == s && day >= int64(in.ReqDay[r]) {
					keep[r] = false
				}
			}
		}
	}
	return nil
}

// sidecarCounts are the numbers of snacks, categories and tags a reader
// checks the file's indexes against.
type sidecarCounts struct{ snacks, cats, tags uint32 }

func countsOf(in *Inputs) sidecarCounts {
	return sidecarCounts{uint32(in.NumSnacks()), uint32(len(in.Categories)), uint32(len(in.Tags))}
}

// calendar computes the ship calendar of in's horizon (in.D0, in.Days)
// from the file's schedules and skips, as loadCalendar computes it from
// inputs_calendar and inputs_skips: the header's Calendar must be 1. It
// reads the users' sections whole, a chunk of users at a time, each block
// checked. It returns the file's ui of each shipping user (uidx).
func (sc *sidecarFile) calendar(in *Inputs, workers int) ([]int32, error) {
	n := int64(sc.h.NUsers)
	dend := in.D0 + Day(in.Days-1)
	const ahead, chunk = 1 << 20, 4096
	uc, sch := sc.cursor(secUsers, ahead), sc.cursor(secSched, ahead)
	oc, kc := sc.cursor(secSkipOff, ahead), sc.cursor(secSkip, ahead)
	skipRows := sc.count(secSkip)
	r := &calRows{d0: in.D0, dend: dend, ids: make([]int64, 0, n), box: make([]int32, 0, n), cadence: make([]int32, 0, n), next: make([]Day, 0, n)}
	uis := make([]int32, 0, n) // the ui of each of r's rows
	prev := int64(math.MinInt64)
	for c := int64(0); c < n; c += chunk {
		k := min(chunk, n-c)
		ub, err := uc.get(8*c, 8*(c+k))
		if err != nil {
			return nil, err
		}
		sb, err := sch.get(16*c, 16*(c+k))
		if err != nil {
			return nil, err
		}
		ob, err := oc.get(4*c, 4*(c+k+1))
		if err != nil {
			return nil, err
		}
		for j := range k {
			id := int64(binary.LittleEndian.Uint64(ub[8*j:]))
			if id <= prev && c+j > 0 {
				return nil, fmt.Errorf("%w: user %d follows %d", errCorrupt, id, prev)
			}
			prev = id
			b := sb[16*j:]
			switch binary.LittleEndian.Uint32(b) {
			case 0:
				continue
			case 1:
			default:
				return nil, fmt.Errorf("%w: active flag %d", errCorrupt, binary.LittleEndian.Uint32(b))
			}
			r.ids, uis = append(r.ids, id), append(uis, int32(c+j))
			r.box = append(r.box, int32(binary.LittleEndian.Uint32(b[4:])))
			r.cadence = append(r.cadence, int32(binary.LittleEndian.Uint32(b[8:])))
			r.next = append(r.next, Day(int32(binary.LittleEndian.Uint32(b[12:]))))
			lo, hi := binary.LittleEndian.Uint32(ob[4*j:]), binary.LittleEndian.Uint32(ob[4*j+4:])
			if lo > hi || int64(hi) > skipRows {
				return nil, fmt.Errorf("%w: offsets %d..%d of section %d", errCorrupt, lo, hi, secSkipOff)
			}
			if lo == hi {
				continue
			}
			days, err := kc.get(4*int64(lo), 4*int64(hi))
			if err != nil {
				return nil, err
			}
			for x := 0; x < len(days); x += 4 {
				d := Day(int32(binary.LittleEndian.Uint32(days[x:]) ^ 1<<31))
				if d >= in.D0 && d <= dend {
					r.skips = append(r.skips, userDay{id, d})
				}
			}
		}
	}
	if err := r.fill(in, workers); err != nil {
		return nil, err
	}
	// The shipping users are some of r's rows, in the same order.
	si := make([]int32, len(in.UserID))
	k := 0
	for u, id := range in.UserID {
		for r.ids[k] != id {
			k++
		}
		si[u] = uis[k]
	}
	return si, nil
}

// sidecarKind is one per-user input of the sidecar: its offsets and rows
// sections, and for the deliveries and ratings the keys of the rows it
// takes ([lo, hi) of each user's ascending uint32 keys; the other kinds
// take every row).
type sidecarKind struct {
	off, sec int
	lo, hi   uint64
}

const (
	kindDel = iota
	kindBad
	kindAff
	kindNG
	kindPref
	numKinds
)

// partWindow is the rows a part of the users takes of one kind: the CSR
// over the part's users (from 0), its total and each user's rows in the
// section.
type partWindow struct {
	start  []int32
	total  int64
	ranges [][2]int64
}

// sidecarPartUsers is the fewest users a reading goroutine takes (tests
// lower it).
var sidecarPartUsers = 4096

// sidecarChunksPerWorker is how many chunks of the users each reading
// goroutine's share is cut into, so that a goroutine that finishes early
// (its core was faster, or its users held fewer rows) takes the last
// chunks of another's share instead of waiting.
const sidecarChunksPerWorker = 8

// chunkQueue hands out chunks 0..n-1 to workers goroutines: each owns a
// run of consecutive chunks and takes them in order, so its cursors read
// on where the last chunk ended; a goroutine whose run is done takes the
// last chunk left of the run with the most left.
type chunkQueue struct {
	mu          sync.Mutex
	front, back []int
}

func newChunkQueue(n, workers int) *chunkQueue {
	q := &chunkQueue{front: make([]int, workers), back: make([]int, workers)}
	for g := range workers {
		q.front[g], q.back[g] = n*g/workers, n*(g+1)/workers
	}
	return q
}

// take returns goroutine g's next chunk, false when none is left.
func (q *chunkQueue) take(g int) (int, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.front[g] < q.back[g] {
		q.front[g]++
		return q.front[g] - 1, true
	}
	h := -1
	for o := range q.front {
		if q.back[o]-q.front[o] > 0 && (h < 0 || q.back[o]-q.front[o] > q.back[h]-q.front[h]) {
			h = o
		}
	}
	if h < 0 {
		return 0, false
	}
	q.back[h]--
	return q.back[h], true
}

// cursorSet is one reading goroutine's cursors, one per section, kept
// from chunk to chunk (and from the first pass to the second) so that
// their buffers are allocated once and a run of chunks reads on.
type cursorSet struct {
	sc    *sidecarFile
	ahead int64
	c     [numSections]*cursor
	// walked is the users section index the last mapUsers of chunk
	// walkedChunk stopped at.
	walked      int64
	walkedChunk int
}

func (sc *sidecarFile) cursorSet(ahead int64) *cursorSet {
	return &cursorSet{sc: sc, ahead: ahead, walkedChunk: -2}
}

func (cs *cursorSet) get(s int) *cursor {
	if cs.c[s] == nil {
		cs.c[s] = cs.sc.cursor(s, cs.ahead)
	}
	return cs.c[s]
}

// read gathers the inputs of in's users (uidx order) from the sidecar,
// with up to workers goroutines. The users are cut into chunks (see
// chunkQueue); every section of a chunk is read by the goroutine that
// takes it, in two passes (the rows each user takes, then, once the
// arrays are sized, the rows themselves). Where a chunk's rows go depends
// only on the chunk, never on the goroutine.
func (sc *sidecarFile) read(users []int64, cat sidecarCounts, opt LoadOptions, workers int) (*sidecarInputs, error) {
	nU := len(users)
	n := int64(sc.h.NUsers)
	// Dense: most blocks hold a planned user, so read ahead and walk;
	// sparse (explain, a final pass over a few users): look each user up.
	dense := int64(nU)*64 >= n
	ahead := int64(0)
	parts := 1
	if dense {
		ahead = 1 << 20
		parts = max(1, min(workers, nU/sidecarPartUsers))
	}
	chunks := parts
	if parts > 1 {
		chunks = max(parts, min(parts*sidecarChunksPerWorker, nU/sidecarPartUsers))
	}
	sets := make([]*cursorSet, parts)
	for g := range sets {
		sets[g] = sc.cursorSet(ahead)
	}
	bound := func(c int) int { return nU * c / chunks }
	inChunks := func(fn func(cs *cursorSet, c, lo, hi int) error) error {
		if chunks == 1 {
			return fn(sets[0], 0, 0, nU)
		}
		// Every chunk is read even after one fails, so that the error
		// reported does not depend on which goroutine ran first.
		errs := make([]error, chunks)
		q := newChunkQueue(chunks, parts)
		var wg sync.WaitGroup
		for g := range parts {
			wg.Go(func() {
				for c, ok := q.take(g); ok; c, ok = q.take(g) {
					errs[c] = fn(sets[g], c, bound(c), bound(c+1))
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}

	out := &sidecarInputs{si: make([]int32, nU)} // the sidecar's ui of each uidx, -1 when absent
	si := out.si
	nS, nC, nT := cat.snacks, cat.cats, cat.tags

	// Deliveries in (D0 - window, dend], days from D0 - window as the SQL
	// path stores them; never-again ratings <= NeverAgainRating, a prefix
	// of each user's (rating, sidx) rows.
	out.delBase = opt.D0 - Day(opt.Policy.RepeatWindowDays)
	dend := opt.D0 + Day(opt.Days-1)
	fileBase := int64(sc.h.DelBase)
	clamp := func(d int64) uint64 { return uint64(min(max(d, 0), 1<<16)) << 16 }
	shift := int32(fileBase - int64(out.delBase))
	badKey := uint64(0)
	if opt.Policy.NeverAgainRating >= 0 {
		badKey = uint64(opt.Policy.NeverAgainRating+1) << 16
	}
	kinds := [numKinds]sidecarKind{
		kindDel:  {off: secDelOff, sec: secDel, lo: clamp(int64(out.delBase) + 1 - fileBase), hi: clamp(int64(dend) + 1 - fileBase)},
		kindBad:  {off: secBadOff, sec: secBad, lo: 0, hi: badKey},
		kindAff:  {off: secAffOff, sec: secAff},
		kindNG:   {off: secNGOff, sec: secNG},
		kindPref: {off: secPrefOff, sec: secPref},
	}

	// First pass: each part's users, and the rows of theirs each kind
	// holds (offsets only). For the kinds that take every row these are
	// the rows read; for the deliveries and ratings, which take a range of
	// keys, an upper bound: the second pass reads each user's rows once,
	// finding the range and decoding it together.
	wins := make([][numKinds]partWindow, chunks)
	if err := inChunks(func(cs *cursorSet, c, lo, hi int) error {
		if err := cs.mapUsers(c, users[lo:hi], si[lo:hi], dense); err != nil {
			return err
		}
		for k, kd := range kinds {
			w := &wins[c][k]
			var err error
			if w.start, w.total, w.ranges, err = sc.window(si[lo:hi], kd, cs.get(kd.off)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var totals [numKinds]int64
	bases := make([][numKinds]int64, chunks)
	for p := range chunks {
		for k := range numKinds {
			bases[p][k] = totals[k]
			totals[k] += wins[p][k].total
		}
	}
	for k, t := range totals {
		if t > math.MaxInt32 && k != kindDel {
			return nil, fmt.Errorf("more than 2^31 rows")
		}
	}
	// The deliveries are written in place: part p's from bases[p] on, each
	// user's rows a segment (DelSegFrom/DelSegTo), so the rows outside the
	// window leave a gap at the end of each part's place, never written.
	// The ratings taken (a few of each user's) go to each part's own
	// arrays and are copied together after.
	if totals[kindDel] > math.MaxInt32 {
		return nil, fmt.Errorf("more than 2^31 rows")
	}
	var starts [numKinds][]int32
	for _, k := range []int{kindAff, kindNG, kindPref} {
		starts[k] = make([]int32, nU+1)
	}
	out.affStart, out.ngStart, out.prefStart = starts[kindAff], starts[kindNG], starts[kindPref]
	out.delSnack, out.delDay = make([]uint16, totals[kindDel]), make([]uint16, totals[kindDel])
	out.affCat, out.affN, out.affSum = make([]int32, totals[kindAff]), make([]int32, totals[kindAff]), make([]int64, totals[kindAff])
	out.ngTag = make([]int32, totals[kindNG])
	out.prefCat, out.prefW = make([]int32, totals[kindPref]), make([]int32, totals[kindPref])
	badSnack, badRating := make([][]int32, chunks), make([][]int32, chunks)

	// take returns the keys of b (uint32, ascending) in [lo, hi).
	take := func(b []byte, lo, hi uint64) []byte {
		k := len(b) / 4
		at := func(j int) uint64 { return uint64(binary.LittleEndian.Uint32(b[4*j:])) }
		l := sort.Search(k, func(j int) bool { return at(j) >= lo })
		h := l + sort.Search(k-l, func(j int) bool { return at(l+j) >= hi })
		return b[4*l : 4*h]
	}
	// decode writes the rows b of kind k at row at of the part's place; it
	// returns how many rows it wrote.
	decode := func(p, k int, b []byte, at int32) (int32, error) {
		switch k {
		case kindDel:
			b = take(b, kinds[k].lo, kinds[k].hi)
			snack, day := out.delSnack[at:int(at)+len(b)/4], out.delDay[at:int(at)+len(b)/4]
			for j := range snack {
				v := binary.LittleEndian.Uint32(b[4*j:])
				if v&0xffff >= nS {
					return 0, fmt.Errorf("%w: snack index %d", errCorrupt, v&0xffff)
				}
				snack[j] = uint16(v)
				day[j] = uint16(int32(v>>16) + shift)
			}
			return int32(len(snack)), nil
		case kindBad:
			b = take(b, kinds[k].lo, kinds[k].hi)
			for j := 0; j < len(b); j += 4 {
				v := binary.LittleEndian.Uint32(b[j:])
				if v&0xffff >= nS {
					return 0, fmt.Errorf("%w: snack index %d", errCorrupt, v&0xffff)
				}
				badSnack[p] = append(badSnack[p], int32(v&0xffff))
				badRating[p] = append(badRating[p], int32(v>>16))
			}
			return int32(len(b) / 4), nil
		case kindAff:
			n := len(b) / 16
			cat, cnt, sum := out.affCat[at:int(at)+n], out.affN[at:int(at)+n], out.affSum[at:int(at)+n]
			for j := range cat {
				r := b[16*j:]
				c := binary.LittleEndian.Uint32(r)
				if c >= nC {
					return 0, fmt.Errorf("%w: category index %d", errCorrupt, c)
				}
				cat[j], cnt[j], sum[j] = int32(c), int32(binary.LittleEndian.Uint32(r[4:])), int64(binary.LittleEndian.Uint64(r[8:]))
			}
			return int32(n), nil
		case kindNG:
			tag := out.ngTag[at : int(at)+len(b)/4]
			for j := range tag {
				v := binary.LittleEndian.Uint32(b[4*j:])
				if v >= nT {
					return 0, fmt.Errorf("%w: tag index %d", errCorrupt, v)
				}
				tag[j] = int32(v)
			}
			return int32(len(tag)), nil
		default: // kindPref
			cat, w := out.prefCat[at:int(at)+len(b)/4], out.prefW[at:int(at)+len(b)/4]
			for j := range cat {
				v := binary.LittleEndian.Uint32(b[4*j:])
				if v>>8 >= nC {
					return 0, fmt.Errorf("%w: category index %d", errCorrupt, v>>8)
				}
				cat[j], w[j] = int32(v>>8), int32(int8(uint8(v)))
			}
			return int32(len(cat)), nil
		}
	}
	// Second pass: each part reads its users' rows of every kind once.
	// Afterwards wins[p][k].start is the part's CSR of the rows taken.
	if err := inChunks(func(cs *cursorSet, p, lo, hi int) error {
		for k, kd := range kinds {
			w, base := &wins[p][k], int32(bases[p][k])
			c := cs.get(kd.sec)
			width := sectionWidth[kd.sec]
			at := int32(0)
			for u := lo; u < hi; u++ {
				r := w.ranges[u-lo]
				w.start[u-lo] = at
				if r[0] == r[1] {
					continue
				}
				b, err := c.get(width*r[0], width*r[1])
				if err != nil {
					return err
				}
				n, err := decode(p, k, b, base+at)
				if err != nil {
					return err
				}
				at += n
			}
			w.start[hi-lo] = at
			if starts[k] != nil {
				// start[lo] is the previous part's to write.
				for j, v := range w.start[1:] {
					starts[k][lo+j+1] = base + v
				}
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}

	// The ratings taken, one CSR over the parts.
	nBad := 0
	for p := range chunks {
		nBad += len(badSnack[p])
	}
	out.badStart = make([]int32, nU+1)
	out.badSnack, out.badRating = make([]int32, nBad), make([]int32, nBad)
	at := int32(0)
	for p := range chunks {
		lo := bound(p)
		for j, v := range wins[p][kindBad].start[1:] {
			out.badStart[lo+j+1] = at + v
		}
		copy(out.badSnack[at:], badSnack[p])
		copy(out.badRating[at:], badRating[p])
		at += int32(len(badSnack[p]))
	}

	// The deliveries' segments: one per user with rows in the window.
	segs := 0
	for p := range chunks {
		st := wins[p][kindDel].start
		for j := 0; j+1 < len(st); j++ {
			if st[j+1] > st[j] {
				segs++
			}
		}
	}
	out.delSegStart = make([]int32, nU+1)
	out.delSegFrom, out.delSegTo = make([]int32, 0, segs), make([]int32, 0, segs)
	for p := range chunks {
		lo, base, st := bound(p), int32(bases[p][kindDel]), wins[p][kindDel].start
		for j := 0; j+1 < len(st); j++ {
			u := lo + j
			out.delSegStart[u+1] = out.delSegStart[u]
			if st[j+1] > st[j] {
				out.delSegFrom = append(out.delSegFrom, base+st[j])
				out.delSegTo = append(out.delSegTo, base+st[j+1])
				out.delSegStart[u+1]++
			}
		}
	}
	for p := range chunks {
		out.delRows += int64(wins[p][kindDel].start[len(wins[p][kindDel].start)-1])
	}
	return out, nil
}

// mapUsers sets si[k] to the sidecar's ui of ids[k] (ascending), or -1
// when the sidecar does not list it: by walking the users section from
// the first id on when dense, else by a search for each. ids are chunk c's
// users: when the same goroutine mapped chunk c-1, the walk goes on from
// where that one stopped instead of searching for the first id.
func (cs *cursorSet) mapUsers(c int, ids []int64, si []int32, dense bool) error {
	if len(ids) == 0 {
		return nil
	}
	sc := cs.sc
	n := int64(sc.h.NUsers)
	var err error
	search := func(c *cursor, from int64, id int64) int64 {
		return from + int64(sort.Search(int(n-from), func(k int) bool {
			v, e := c.u64(from + int64(k))
			if e != nil {
				err = e
			}
			return int64(v) >= id
		}))
	}
	if !dense {
		c := sc.cursor(secUsers, 0)
		for u, id := range ids {
			k := search(c, 0, id)
			if err != nil {
				return err
			}
			si[u] = -1
			if k < n {
				if v, _ := c.u64(k); int64(v) == id {
					si[u] = int32(k)
				}
			}
		}
		return nil
	}
	i := cs.walked
	if cs.walkedChunk != c-1 {
		i = search(sc.cursor(secUsers, 0), 0, ids[0])
		if err != nil {
			return err
		}
	}
	uc := cs.get(secUsers)
	for u, id := range ids {
		si[u] = -1
		for ; i < n; i++ {
			v, err := uc.u64(i)
			if err != nil {
				return err
			}
			if int64(v) >= id {
				if int64(v) == id {
					si[u] = int32(i)
				}
				break
			}
		}
	}
	cs.walked, cs.walkedChunk = i, c
	return nil
}

// window finds, for every planned user (si: its ui or -1), the rows of
// kind kd it holds, from the offsets section: their CSR over the users,
// their total and their rows in the section.
func (sc *sidecarFile) window(si []int32, kd sidecarKind, oc *cursor) (start []int32, total int64, ranges [][2]int64, err error) {
	rows := sc.count(kd.sec)
	start = make([]int32, len(si)+1)
	ranges = make([][2]int64, len(si))
	for u, i := range si {
		start[u+1] = start[u]
		if i < 0 {
			continue
		}
		b, err := oc.get(4*int64(i), 4*int64(i)+8)
		if err != nil {
			return nil, 0, nil, err
		}
		lo, hi := int64(binary.LittleEndian.Uint32(b)), int64(binary.LittleEndian.Uint32(b[4:]))
		if lo > hi || hi > rows {
			return nil, 0, nil, fmt.Errorf("%w: offsets %d..%d of section %d", errCorrupt, lo, hi, kd.off)
		}
		ranges[u] = [2]int64{lo, hi}
		total += hi - lo
		if total > math.MaxInt32 {
			return nil, 0, nil, fmt.Errorf("more than 2^31 rows")
		}
		start[u+1] = start[u] + int32(hi-lo)
	}
	return start, total, ranges, nil
}
