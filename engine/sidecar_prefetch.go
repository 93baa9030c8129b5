package engine

import (
	"context"
	"log/slog"
	"runtime"
	"time"
)

// SidecarPrefetch reads a snapshot's engine sidecar ahead of the snapshot's
// database. Started before DuckDB opens, it computes the job's ship
// calendar from the file's schedules (format version 3), then reads the
// deliveries, ratings, affinities, NG tags and preferences of the users
// that ship, on opt.Threads goroutines, while DuckDB opens and answers the
// catalogue's queries: the first 50-80 ms of a medium job, which ran on
// about one core, with the calendar's queries on DuckDB and the reader
// after them.
//
// LoadInputs (given it as LoadOptions.Prefetch) takes what it read only
// once the snapshot's load id and catalogue match the file's; otherwise it
// plans as if there were none (through the sidecar as usual, or through
// SQL, and says why). The caller must Close it.
type SidecarPrefetch struct {
	path    string
	sc      *sidecarFile
	opt     LoadOptions
	workers int
	cal     *Inputs // D0, Days and the calendar's fields
	si      []int32 // the file's ui of each of cal's users
	calDone chan struct{}
	calErr  error
	calTime time.Duration
	rd      *sidecarRead
	adopted bool // LoadInputs took the file (its pendingSidecar closes it)
	closed  bool
}

// PrefetchSidecar starts reading the sidecar at path for a job planning
// opt's horizon and policy with every shipping user (no shard, user or
// user-list filter). It returns nil, and LoadInputs reads as usual, when
// the job or the file does not allow it: a filter, a policy the file does
// not hold, or a file that is missing, unreadable, of another version or
// without schedules (LoadInputs' own open says which).
func PrefetchSidecar(path string, opt LoadOptions) *SidecarPrefetch {
	if path == "" || opt.NoSidecar || opt.Days < 1 || opt.OnlyUser || opt.Shard.Sharded() || opt.Users != nil || opt.CatalogueOnly || !sidecarHolds(opt) {
		return nil
	}
	sc, err := openSidecar(path)
	if err != nil {
		return nil
	}
	if sc.h.Calendar != 1 {
		sc.Close()
		return nil
	}
	workers := opt.Threads
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p := &SidecarPrefetch{path: path, sc: sc, opt: opt, workers: workers, cal: &Inputs{D0: opt.D0, Days: opt.Days},
		calDone: make(chan struct{}), rd: &sidecarRead{done: make(chan struct{})}}
	go func() {
		defer close(p.rd.done)
		t0 := time.Now()
		p.si, p.calErr = sc.calendar(p.cal, workers)
		p.calTime = time.Since(t0)
		close(p.calDone)
		if p.calErr != nil {
			return
		}
		p.rd.t0 = time.Now()
		p.rd.out, p.rd.err = sc.read(p.cal.UserID, sidecarCounts{sc.h.NSnacks, sc.h.NCats, sc.h.NTags}, opt, workers)
	}()
	return p
}

// Close waits for the reading goroutine and closes the file, unless
// LoadInputs took it. A nil prefetch is closed at once.
func (p *SidecarPrefetch) Close() {
	if p == nil || p.closed {
		return
	}
	p.closed = true
	<-p.rd.done
	if !p.adopted {
		p.sc.Close()
	}
}

// fits reports whether the prefetch read what LoadInputs reads for opt
// from db's snapshot with no user filter.
func (p *SidecarPrefetch) fits(db DB, opt LoadOptions) bool {
	return p != nil && !p.adopted && !p.closed && p.path == sidecarPath(db, opt) && !opt.CatalogueOnly &&
		p.opt.D0 == opt.D0 && p.opt.Days == opt.Days &&
		p.opt.Policy.RepeatWindowDays == opt.Policy.RepeatWindowDays && p.opt.Policy.NeverAgainRating == opt.Policy.NeverAgainRating
}

// prefetchOutcome is what adopt decided.
type prefetchOutcome int

const (
	prefetchAdopted prefetchOutcome = iota // in has the calendar; the returned reader fills the rest
	prefetchUnused                         // not the snapshot's file: read as if there were no prefetch
	prefetchDamaged                        // the file is damaged: read through SQL, and rebuild it
)

// adopt waits for the prefetch's calendar and, when the file is the
// snapshot's (its load id and catalogue are those of db and in, whose
// catalogue is loaded), gives in the calendar and returns the reader of
// the rest, which LoadInputs waits for as for startSidecar's.
func (p *SidecarPrefetch) adopt(ctx context.Context, db DB, in *Inputs, logger *slog.Logger) (*pendingSidecar, prefetchOutcome) {
	<-p.calDone
	if p.calErr != nil {
		logger.Warn("engine sidecar damaged: inputs read through SQL", "path", p.path, "err", p.calErr)
		in.SidecarRebuild = p.path
		return nil, prefetchDamaged
	}
	h := p.sc.h
	if int(h.NSnacks) != in.NumSnacks() || int(h.NCats) != len(in.Categories) || int(h.NTags) != len(in.Tags) ||
		h.Catalogue != catalogueFingerprint(in.SnackID, in.Categories, in.Tags) {
		return nil, prefetchUnused
	}
	if id, err := snapshotLoadID(ctx, db); err != nil || id == "" || id != p.sc.loadID() {
		return nil, prefetchUnused
	}
	p.adopted = true
	in.UserID, in.BoxSize, in.ShipStart, in.ShipDay = p.cal.UserID, p.cal.BoxSize, p.cal.ShipStart, p.cal.ShipDay
	logger.Debug("engine input", "query", "calendar", "from", "sidecar", "seconds", p.calTime.Seconds(), "users", len(in.UserID), "boxes", len(in.ShipDay))
	return &pendingSidecar{sc: p.sc, path: p.path, logger: logger, started: true, in: in, workers: p.workers, rd: p.rd, si: p.si}, prefetchAdopted
}
