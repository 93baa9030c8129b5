package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/assign-dev/assign/atomicfs"
)

// loadTmpPrefix names the per-load spill folders under tmp/.
const loadTmpPrefix = "load-"

// QueryTmpPrefix starts the name of a query session's spill folder under
// tmp/, followed by the query's process id, a dash and a random suffix.
const QueryTmpPrefix = "query-"

// dirSize is the bytes of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// LoadTmpDir is the spill folder of the load running as process pid. Each
// load has its own, so gc can tell a killed load's leftovers from the spill
// files of queries that share tmp/.
func (h *Home) LoadTmpDir(pid int) string {
	return filepath.Join(h.TmpDir(), loadTmpPrefix+strconv.Itoa(pid))
}

// ErrSnapshotExists is returned (wrapped) when a new snapshot's name is
// taken.
var ErrSnapshotExists = errors.New("already exists")

// An InUseError refuses, without force, to remove a snapshot that runs
// were planned on.
type InUseError struct {
	Name string
	Runs []string // the ids of the runs
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("snapshot %s is used by %s (%s): 'assign check' of a run needs its snapshot",
		e.Name, plural(len(e.Runs), "run", "runs"), listSome(e.Runs, 3))
}

// NewNamedPendingSnapshot reserves name for a new snapshot. The caller holds
// the load lock, so a pending file of that name can only be a killed load's
// and is removed.
func (h *Home) NewNamedPendingSnapshot(name string) (*PendingSnapshot, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if _, err := os.Stat(h.SnapshotPath(name)); err == nil {
		return nil, fmt.Errorf("snapshot %q %w", name, ErrSnapshotExists)
	}
	p := h.pendingSnapshotPath(name)
	_ = os.Remove(p)
	_ = os.Remove(p + ".wal")
	return &PendingSnapshot{Name: name, Path: p, home: h}, nil
}

// GCOptions say what GCSnapshots deletes.
type GCOptions struct {
	// Keep is how many of the newest snapshots to keep.
	Keep int
	// DryRun lists what would be deleted and deletes nothing.
	DryRun bool
	// Force deletes snapshots that runs refer to as well.
	Force bool
}

// GCSnapshot is a snapshot gc deleted or kept, with the runs made from it.
type GCSnapshot struct {
	SnapshotInfo
	Runs []string // ids of the runs whose manifest names it, oldest first
}

// GCResult is what GCSnapshots did (or, in a dry run, would do).
type GCResult struct {
	Removed []GCSnapshot // complete snapshots deleted
	// Referenced are snapshots beyond Keep that were kept because runs
	// were made from them (empty with Force).
	Referenced  []GCSnapshot
	Temporaries []string // leftovers of killed loads deleted (paths)
	Freed       int64    // bytes
	// LoadRunning is set when a load held the lock, so no leftover was
	// touched: the pending file may be the running load's.
	LoadRunning bool
	// UnreadableRuns are runs whose manifest could not be read: the
	// snapshot they were made from is unknown, so it may be deleted.
	UnreadableRuns []string
	DryRun         bool
}

// SnapshotRuns maps each snapshot name to the runs made from it (their
// manifests name it), and lists the runs whose manifest cannot be read.
func (h *Home) SnapshotRuns() (map[string][]string, []string, error) {
	runs, err := h.ListRuns()
	if err != nil {
		return nil, nil, err
	}
	uses := map[string][]string{}
	var unreadable []string
	for _, r := range runs {
		var m struct {
			Snapshot string `json:"snapshot"`
		}
		b, err := os.ReadFile(filepath.Join(r.Dir, ManifestFile))
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		if err != nil || m.Snapshot == "" {
			unreadable = append(unreadable, r.ID)
			continue
		}
		uses[m.Snapshot] = append(uses[m.Snapshot], r.ID)
	}
	return uses, unreadable, nil
}

// GCSnapshots deletes every complete snapshot but the newest opt.Keep (by
// modification time, which is when its load finished; ties by name), never
// the current one and, unless opt.Force, none that a run was made from.
// When no load is running it also deletes the pending files and spill
// folders left by killed loads. It holds home.lock throughout, so a load
// publishing a snapshot meanwhile waits, and its snapshot is current by the
// time gc could see it.
func (h *Home) GCSnapshots(opt GCOptions) (GCResult, error) {
	res := GCResult{DryRun: opt.DryRun}
	if opt.Keep < 0 {
		return res, fmt.Errorf("keep must be 0 or more, not %d", opt.Keep)
	}
	unlockHome, err := h.lockHome()
	if err != nil {
		return res, err
	}
	defer unlockHome()
	unlockLoad, _, err := h.tryLoadLock(false)
	if err != nil {
		return res, err
	}
	if unlockLoad == nil {
		res.LoadRunning = true
	} else {
		defer unlockLoad()
	}
	uses, unreadable, err := h.SnapshotRuns()
	if err != nil {
		return res, err
	}
	res.UnreadableRuns = unreadable
	snaps, err := h.ListSnapshots()
	if err != nil {
		return res, err
	}
	sort.SliceStable(snaps, func(i, j int) bool {
		if !snaps[i].ModTime.Equal(snaps[j].ModTime) {
			return snaps[i].ModTime.After(snaps[j].ModTime)
		}
		return snaps[i].Name > snaps[j].Name
	})
	for i, s := range snaps {
		if i < opt.Keep || s.Current {
			continue
		}
		g := GCSnapshot{SnapshotInfo: s, Runs: uses[s.Name]}
		if len(g.Runs) > 0 && !opt.Force {
			res.Referenced = append(res.Referenced, g)
			continue
		}
		if !opt.DryRun {
			if err := removeSnapshotFile(s); err != nil {
				return res, err
			}
		}
		res.Removed = append(res.Removed, g)
		res.Freed += s.Size
	}
	remove := func(p string) error {
		if opt.DryRun {
			return nil
		}
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("remove leftover %s: %w", p, err)
		}
		return nil
	}
	// A query's spill folder is its own: a query killed (kill -9, the
	// machine's OOM killer) leaves it behind, and its process id, which the
	// folder's name carries, is then no process's.
	entries, _ := os.ReadDir(h.TmpDir())
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), QueryTmpPrefix) {
			continue
		}
		pid, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(e.Name(), QueryTmpPrefix), "-", 2)[0])
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		p := filepath.Join(h.TmpDir(), e.Name())
		res.Freed += dirSize(p)
		if err := remove(p); err != nil {
			return res, err
		}
		res.Temporaries = append(res.Temporaries, p)
	}
	if res.LoadRunning {
		return res, nil
	}
	entries, _ = os.ReadDir(h.SnapshotsDir())
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		p := filepath.Join(h.SnapshotsDir(), e.Name())
		if fi, err := e.Info(); err == nil {
			res.Freed += fi.Size()
		}
		if err := remove(p); err != nil {
			return res, err
		}
		res.Temporaries = append(res.Temporaries, p)
	}
	entries, _ = os.ReadDir(h.TmpDir())
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), loadTmpPrefix) {
			continue
		}
		p := filepath.Join(h.TmpDir(), e.Name())
		if err := remove(p); err != nil {
			return res, err
		}
		res.Temporaries = append(res.Temporaries, p)
	}
	return res, nil
}

// RemoveSnapshots deletes the named snapshots, all or none: every name is
// checked first. It refuses the current snapshot and, unless force, one
// that runs were made from (checking a run needs its snapshot). It returns
// what it deleted.
func (h *Home) RemoveSnapshots(names []string, force bool) ([]GCSnapshot, error) {
	for _, name := range names {
		if err := ValidName(name); err != nil {
			return nil, err
		}
	}
	unlock, err := h.lockHome()
	if err != nil {
		return nil, err
	}
	defer unlock()
	snaps, err := h.ListSnapshots()
	if err != nil {
		return nil, err
	}
	uses, _, err := h.SnapshotRuns()
	if err != nil {
		return nil, err
	}
	var doomed []GCSnapshot
	for _, name := range names {
		i := slices.IndexFunc(snaps, func(s SnapshotInfo) bool { return s.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("snapshot %q not found in %s: see 'assign snapshots' for the list", name, h.SnapshotsDir())
		}
		s := snaps[i]
		if s.Current {
			return nil, fmt.Errorf("snapshot %s is the current one: make another current first ('assign snapshots use NAME'), then remove it", name)
		}
		g := GCSnapshot{SnapshotInfo: s, Runs: uses[name]}
		if len(g.Runs) > 0 && !force {
			return nil, &InUseError{Name: name, Runs: g.Runs}
		}
		if !slices.ContainsFunc(doomed, func(d GCSnapshot) bool { return d.Name == name }) {
			doomed = append(doomed, g)
		}
	}
	for _, g := range doomed {
		if err := removeSnapshotFile(g.SnapshotInfo); err != nil {
			return nil, err
		}
	}
	return doomed, nil
}

func removeSnapshotFile(s SnapshotInfo) error {
	if err := os.Remove(s.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove snapshot %s: %w", s.Name, err)
	}
	_ = os.Remove(s.Path + ".wal")
	_ = os.Remove(SidecarPath(s.Path))
	return atomicfs.SyncDir(filepath.Dir(s.Path))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// listSome names the first n items and how many more there are.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}
