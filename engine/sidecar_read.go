package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
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
	si                                []int32 // the sidecar's ui of each uidx, -1 when absent
}

// startSidecar begins filling in's deliveries, affinities and never-again
// ratings from the snapshot's engine sidecar, exactly as the SQL path
// would. It checks the sidecar against the snapshot at once (it needs
// in's users, snacks and categories, and db), then reads the file in a
// goroutine, so the caller's other input queries run meanwhile; wait
// returns whether the fields were filled, and must be called before in is
// read (it may be called more than once). A missing sidecar (a snapshot
// loaded before it existed, or one the format cannot hold) is logged at
// debug level, a stale or damaged one as a warning; the caller then reads
// them through SQL, and in.SidecarRebuild names the file a job may write
// again (RebuildSidecar). The reader touches only in.UserID, in.SnackID and
// in.Categories, which the caller must leave alone until wait. The caller
// must call close once it no longer needs the file (openRequests reads it
// after wait).
func startSidecar(ctx context.Context, db DB, in *Inputs, opt LoadOptions, logger *slog.Logger) *pendingSidecar {
	no := &pendingSidecar{}
	path := sidecarPath(db, opt)
	if path == "" {
		return no
	}
	pol := opt.Policy
	if pol.NeverAgainRating > 5 || pol.RepeatWindowDays < 0 || int64(pol.RepeatWindowDays)+int64(opt.Days)-1 > math.MaxUint16 {
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
	id, err := snapshotLoadID(ctx, db)
	if err != nil && ctx.Err() != nil {
		return no // interrupted: the next query reports it
	}
	if err != nil {
		logger.Warn("engine sidecar not used: cannot read the snapshot's load id", "path", path, "err", err)
		return no
	}
	if id == "" || id != sc.loadID() {
		logger.Warn("engine sidecar is stale (another load's): inputs read through SQL", "path", path, "sidecar_load", sc.loadID(), "snapshot_load", id)
		in.SidecarRebuild = path
		return no
	}
	if int(sc.h.NSnacks) != in.NumSnacks() || int(sc.h.NCats) != len(in.Categories) || sc.h.Catalogue != catalogueFingerprint(in.SnackID, in.Categories) {
		logger.Warn("engine sidecar numbers snacks or categories otherwise than the snapshot: inputs read through SQL", "path", path,
			"snacks", in.NumSnacks(), "sidecar_snacks", sc.h.NSnacks, "categories", len(in.Categories), "sidecar_categories", sc.h.NCats)
		in.SidecarRebuild = path
		return no
	}
	t0 := time.Now()
	p := &pendingSidecar{sc: sc, path: path, logger: logger, started: true, done: make(chan struct{}), in: in}
	handed = true
	go func() {
		defer close(p.done)
		p.out, p.err = sc.read(in, opt)
	}()
	p.fill = func() {
		out := p.out
		in.DelSegStart, in.DelSegFrom, in.DelSegTo = out.delSegStart, out.delSegFrom, out.delSegTo
		in.DelSnack, in.DelSnackHi, in.DelDay, in.DelBase = out.delSnack, nil, out.delDay, out.delBase
		in.AffStart, in.AffCat, in.AffN, in.AffSum = out.affStart, out.affCat, out.affN, out.affSum
		in.BadStart, in.BadSnack, in.BadRating = out.badStart, out.badSnack, out.badRating
		logger.Debug("engine input", "query", "sidecar", "seconds", time.Since(t0).Seconds(), "deliveries", len(in.DelSnack))
	}
	return p
}

// pendingSidecar is a sidecar being read in the background (startSidecar),
// or none (started false).
type pendingSidecar struct {
	started bool
	in      *Inputs
	sc      *sidecarFile
	path    string
	logger  *slog.Logger
	done    chan struct{}
	out     *sidecarInputs
	err     error
	fill    func()
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
	<-p.done
	if p.err != nil {
		p.logger.Warn("engine sidecar damaged: inputs read through SQL", "path", p.path, "err", p.err)
		p.in.SidecarRebuild = p.path
		return false
	}
	p.fill()
	p.ok = true
	return true
}

// close waits for the reader and closes the file.
func (p *pendingSidecar) close() {
	if !p.started || p.closed {
		return
	}
	<-p.done
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
	keep, err := p.sc.closedRequests(p.out.si, in)
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
func (sc *sidecarFile) closedRequests(si []int32, in *Inputs) (keep []bool, err error) {
	keep = make([]bool, len(in.ReqSnack))
	rows := sc.count(secDel)
	fileBase := int64(sc.h.DelBase)
	dense := len(in.ReqSnack)*64 >= int(sc.h.NUsers)
	ahead := int64(0)
	if dense {
		ahead = 1 << 20
	}
	oc, rc := sc.cursor(secDelOff, ahead), sc.cursor(secDel, ahead)
	for u := 0; u+1 < len(in.ReqStart); u++ {
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
			return nil, err
		}
		b, err := oc.u32(int64(i) + 1)
		if err != nil {
			return nil, err
		}
		if a > b || int64(b) > rows {
			return nil, fmt.Errorf("%w: offsets %d..%d of section %d", errCorrupt, a, b, secDelOff)
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
			return nil, err
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
	return keep, nil
}

// read gathers the inputs of in's users (uidx order) from the sidecar.
func (sc *sidecarFile) read(in *Inputs, opt LoadOptions) (*sidecarInputs, error) {
	nU := in.NumUsers()
	n := int64(sc.h.NUsers)
	// Dense: most blocks hold a planned user, so read ahead and walk;
	// sparse (explain, a final pass over a few users): look each user up.
	dense := int64(nU)*64 >= n
	ahead := int64(0)
	if dense {
		ahead = 1 << 20
	}
	si := make([]int32, nU) // the sidecar's ui of each uidx, -1 when absent
	uc := sc.cursor(secUsers, ahead)
	var err error
	if dense {
		i := int64(0)
		for u, id := range in.UserID {
			si[u] = -1
			for ; i < n; i++ {
				v, err := uc.u64(i)
				if err != nil {
					return nil, err
				}
				if int64(v) >= id {
					if int64(v) == id {
						si[u] = int32(i)
					}
					break
				}
			}
		}
	} else {
		for u, id := range in.UserID {
			k := sort.Search(int(n), func(k int) bool {
				v, e := uc.u64(int64(k))
				if e != nil {
					err = e
				}
				return int64(v) >= id
			})
			if err != nil {
				return nil, err
			}
			si[u] = -1
			if int64(k) < n {
				if v, _ := uc.u64(int64(k)); int64(v) == id {
					si[u] = int32(k)
				}
			}
		}
	}

	out := &sidecarInputs{si: si}
	nS := uint32(in.NumSnacks())

	// Deliveries in (D0 - window, dend], days from D0 - window as the SQL
	// path stores them.
	out.delBase = opt.D0 - Day(opt.Policy.RepeatWindowDays)
	dend := opt.D0 + Day(opt.Days-1)
	fileBase := int64(sc.h.DelBase)
	clamp := func(d int64) uint64 { return uint64(min(max(d, 0), 1<<16)) << 16 }
	loKey, hiKey := clamp(int64(out.delBase)+1-fileBase), clamp(int64(dend)+1-fileBase)
	shift := int32(fileBase - int64(out.delBase))

	// The three sections are read at once, each with its own cursors (the
	// file is read with ReadAt), and the deliveries, the largest, in two
	// halves of the users: the reader is the longest of a job's input
	// steps, and the queries running beside it leave a core idle.
	parts := 1
	if dense && nU >= 256 {
		parts = 2
	}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	wg.Add(3)
	go func() {
		defer wg.Done()
		errs[0] = sc.readDeliveries(si, parts, ahead, loKey, hiKey, shift, nS, out)
	}()
	go func() {
		defer wg.Done()
		errs[1] = sc.readBad(si, ahead, opt.Policy.NeverAgainRating, nS, out)
	}()
	go func() {
		defer wg.Done()
		errs[2] = sc.readAffinity(si, ahead, uint32(len(in.Categories)), out)
	}()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// readDeliveries fills out's deliveries: the rows of every planned user
// (si) with keys in [loKey, hiKey), days shifted by shift, read in parts
// (ranges of users) at once.
func (sc *sidecarFile) readDeliveries(si []int32, parts int, ahead int64, loKey, hiKey uint64, shift int32, nS uint32, out *sidecarInputs) error {
	nU := len(si)
	bound := func(p int) int { return nU * p / parts }
	starts := make([][]int32, parts)
	ranges := make([][][2]int64, parts)
	errs := make([]error, parts)
	inParts := func(fn func(p, lo, hi int) error) error {
		var wg sync.WaitGroup
		for p := range parts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[p] = fn(p, bound(p), bound(p+1))
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	if err := inParts(func(p, lo, hi int) (err error) {
		starts[p], _, ranges[p], err = sc.window(si[lo:hi], secDelOff, secDel, ahead, loKey, hiKey)
		return err
	}); err != nil {
		return err
	}
	start := make([]int32, nU+1)
	total := int64(0)
	for p := range parts {
		lo := bound(p)
		for k, v := range starts[p][1:] {
			if total+int64(v) > math.MaxInt32 {
				return fmt.Errorf("more than 2^31 rows")
			}
			start[lo+k+1] = int32(total) + v
		}
		total += int64(starts[p][len(starts[p])-1])
	}
	out.delSnack, out.delDay = make([]uint16, total), make([]uint16, total)
	if err := inParts(func(p, lo, hi int) error {
		c := sc.cursor(secDel, ahead)
		for u := lo; u < hi; u++ {
			r := ranges[p][u-lo]
			if r[0] == r[1] {
				continue
			}
			b, err := c.get(4*r[0], 4*r[1])
			if err != nil {
				return err
			}
			at := start[u]
			snack, day := out.delSnack[at:start[u+1]], out.delDay[at:start[u+1]]
			for j := range snack {
				v := binary.LittleEndian.Uint32(b[4*j:])
				if v&0xffff >= nS {
					return fmt.Errorf("%w: snack index %d", errCorrupt, v&0xffff)
				}
				snack[j] = uint16(v)
				day[j] = uint16(int32(v>>16) + shift)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	segs := 0
	for u := 0; u < nU; u++ {
		if start[u+1] > start[u] {
			segs++
		}
	}
	out.delSegStart = make([]int32, nU+1)
	out.delSegFrom, out.delSegTo = make([]int32, 0, segs), make([]int32, 0, segs)
	for u := 0; u < nU; u++ {
		out.delSegStart[u+1] = out.delSegStart[u]
		if start[u+1] > start[u] {
			out.delSegFrom = append(out.delSegFrom, start[u])
			out.delSegTo = append(out.delSegTo, start[u+1])
			out.delSegStart[u+1]++
		}
	}
	return nil
}

// readBad fills out's never-again ratings: the latest ratings <=
// neverAgain of every planned user, a prefix of each user's rows.
func (sc *sidecarFile) readBad(si []int32, ahead int64, neverAgain int, nS uint32, out *sidecarInputs) error {
	badKey := uint64(0)
	if neverAgain >= 0 {
		badKey = uint64(neverAgain+1) << 16
	}
	start, total, ranges, err := sc.window(si, secBadOff, secBad, ahead, 0, badKey)
	if err != nil {
		return err
	}
	out.badStart = start
	out.badSnack, out.badRating = make([]int32, 0, total), make([]int32, 0, total)
	return sc.each(ranges, secBad, ahead, func(b []byte) error {
		for ; len(b) >= 4; b = b[4:] {
			v := binary.LittleEndian.Uint32(b)
			if v&0xffff >= nS {
				return fmt.Errorf("%w: snack index %d", errCorrupt, v&0xffff)
			}
			out.badSnack = append(out.badSnack, int32(v&0xffff))
			out.badRating = append(out.badRating, int32(v>>16))
		}
		return nil
	})
}

// readAffinity fills out's affinities: every row of every planned user.
func (sc *sidecarFile) readAffinity(si []int32, ahead int64, nC uint32, out *sidecarInputs) error {
	start, total, ranges, err := sc.window(si, secAffOff, -1, ahead, 0, 0)
	if err != nil {
		return err
	}
	out.affStart = start
	out.affCat, out.affN, out.affSum = make([]int32, 0, total), make([]int32, 0, total), make([]int64, 0, total)
	ac := sc.cursor(secAff, ahead)
	for _, r := range ranges {
		if r[0] == r[1] {
			continue
		}
		b, err := ac.get(16*r[0], 16*r[1])
		if err != nil {
			return err
		}
		for ; len(b) >= 16; b = b[16:] {
			c := binary.LittleEndian.Uint32(b)
			if c >= nC {
				return fmt.Errorf("%w: category index %d", errCorrupt, c)
			}
			out.affCat = append(out.affCat, int32(c))
			out.affN = append(out.affN, int32(binary.LittleEndian.Uint32(b[4:])))
			out.affSum = append(out.affSum, int64(binary.LittleEndian.Uint64(b[8:])))
		}
	}
	return nil
}

// window finds, for every planned user (si: its ui or -1), the rows of
// section sec (uint32 keys ascending per user, CSR offsets in offSec) with
// keys in [loKey, hiKey): their CSR over uidx, their total and their rows
// in the section. sec -1 takes every row of the user.
func (sc *sidecarFile) window(si []int32, offSec, sec int, ahead int64, loKey, hiKey uint64) (start []int32, total int64, ranges [][2]int64, err error) {
	oc := sc.cursor(offSec, ahead)
	var rc *cursor
	rows := sc.count(secAff)
	if sec >= 0 {
		rc, rows = sc.cursor(sec, ahead), sc.count(sec)
	}
	start = make([]int32, len(si)+1)
	ranges = make([][2]int64, len(si))
	for u, i := range si {
		start[u+1] = start[u]
		if i < 0 {
			continue
		}
		a, err := oc.u32(int64(i))
		if err != nil {
			return nil, 0, nil, err
		}
		b, err := oc.u32(int64(i) + 1)
		if err != nil {
			return nil, 0, nil, err
		}
		if a > b || int64(b) > rows {
			return nil, 0, nil, fmt.Errorf("%w: offsets %d..%d of section %d", errCorrupt, a, b, offSec)
		}
		lo, hi := int64(a), int64(b)
		if rc != nil && lo < hi {
			keys, err := rc.get(4*lo, 4*hi)
			if err != nil {
				return nil, 0, nil, err
			}
			k := int64(len(keys) / 4)
			at := func(j int) uint64 { return uint64(binary.LittleEndian.Uint32(keys[4*j:])) }
			l := int64(sort.Search(int(k), func(j int) bool { return at(j) >= loKey }))
			h := int64(sort.Search(int(k), func(j int) bool { return at(j) >= hiKey }))
			lo, hi = lo+l, lo+max(h, l)
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

// each calls fn with the bytes of every range of uint32 keys in section
// sec, in uidx order.
func (sc *sidecarFile) each(ranges [][2]int64, sec int, ahead int64, fn func(b []byte) error) error {
	c := sc.cursor(sec, ahead)
	for _, r := range ranges {
		if r[0] == r[1] {
			continue
		}
		b, err := c.get(4*r[0], 4*r[1])
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}
