package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// loadTmpPrefix names the per-load spill folders under tmp/.
const loadTmpPrefix = "load-"

// LoadTmpDir is the spill folder of the load running as process pid. Each
// load has its own, so gc can tell a killed load's leftovers from the spill
// files of queries that share tmp/.
func (h *Home) LoadTmpDir(pid int) string {
	return filepath.Join(h.TmpDir(), loadTmpPrefix+strconv.Itoa(pid))
}

// NewNamedPendingSnapshot reserves name for a new snapshot. The caller holds
// the load lock, so a pending file of that name can only be a killed load's
// and is removed.
func (h *Home) NewNamedPendingSnapshot(name string) (*PendingSnapshot, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if _, err := os.Stat(h.SnapshotPath(name)); err == nil {
		return nil, fmt.Errorf("snapshot %q already exists: choose another --name, or remove it first with 'assign snapshots gc'", name)
	}
	p := h.pendingSnapshotPath(name)
	_ = os.Remove(p)
	_ = os.Remove(p + ".wal")
	return &PendingSnapshot{Name: name, Path: p, home: h}, nil
}

// GCResult is what GCSnapshots did.
type GCResult struct {
	Removed     []SnapshotInfo // complete snapshots deleted
	Temporaries []string       // leftovers of killed loads deleted (paths)
	Freed       int64          // bytes
	// LoadRunning is set when a load held the lock, so no leftover was
	// touched: the pending file may be the running load's.
	LoadRunning bool
}

// GCSnapshots deletes every complete snapshot but the newest keep (by
// modification time, which is when its load finished; ties by name) and
// never the current one. When no load is running it also deletes the
// pending files and spill folders left by killed loads.
func (h *Home) GCSnapshots(keep int) (GCResult, error) {
	var res GCResult
	if keep < 0 {
		return res, fmt.Errorf("keep must be 0 or more, not %d", keep)
	}
	unlock, err := h.LockLoad()
	switch {
	case errors.Is(err, ErrLoadBusy):
		res.LoadRunning = true
	case err != nil:
		return res, err
	default:
		defer unlock()
	}
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
		if i < keep || s.Current {
			continue
		}
		if err := os.Remove(s.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return res, fmt.Errorf("remove snapshot %s: %w", s.Name, err)
		}
		_ = os.Remove(s.Path + ".wal")
		res.Removed = append(res.Removed, s)
		res.Freed += s.Size
	}
	if res.LoadRunning {
		return res, nil
	}
	entries, _ := os.ReadDir(h.SnapshotsDir())
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		p := filepath.Join(h.SnapshotsDir(), e.Name())
		if fi, err := e.Info(); err == nil {
			res.Freed += fi.Size()
		}
		if err := os.RemoveAll(p); err != nil {
			return res, fmt.Errorf("remove leftover %s: %w", p, err)
		}
		res.Temporaries = append(res.Temporaries, p)
	}
	entries, _ = os.ReadDir(h.TmpDir())
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), loadTmpPrefix) {
			continue
		}
		p := filepath.Join(h.TmpDir(), e.Name())
		if err := os.RemoveAll(p); err != nil {
			return res, fmt.Errorf("remove leftover %s: %w", p, err)
		}
		res.Temporaries = append(res.Temporaries, p)
	}
	return res, nil
}
