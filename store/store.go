// Package store manages the data home: immutable snapshot database files, the
// pointer to the current snapshot, run folders and the load lock.
//
// Layout under the home directory:
//
//	CURRENT                      name of the current snapshot (replaced by rename)
//	snapshots/<name>.duckdb      complete, immutable snapshots
//	snapshots/<name>.engine      the snapshot's engine sidecar (engine/sidecar.go), optional
//	snapshots/.tmp-<name>.duckdb loads in progress or killed; never listed
//	runs/<id>/                   complete run folders (manifest.json written last)
//	runs/.tmp-<id>/              runs in progress or killed; never listed
//	tmp/                         DuckDB spill space
//	load.lock                    held (flock) by the one load writing at a time
//	home.lock                    held (flock) for the short steps that change the snapshots (lock.go)
//
// Every switch a reader can observe is a rename within one directory, so a
// process killed at any moment leaves either the old or the new state, and a
// half-written file is never picked up by a later command.
package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/assign-dev/assign/atomicfs"
)

// EnvHome is the environment variable naming the data home.
const EnvHome = "ASSIGN_HOME"

// DefaultHome is the data home used when neither --home nor ASSIGN_HOME is set.
const DefaultHome = "./assign-data"

const (
	snapshotExt = ".duckdb"
	tmpPrefix   = atomicfs.TempPrefix
	currentFile = "CURRENT"
)

// ErrNoSnapshot is returned when the home has no current snapshot yet.
var ErrNoSnapshot = errors.New("no snapshot loaded yet: run 'assign load DIR' (or 'assign demo') first")

// Home is an opened data home.
type Home struct {
	Dir string
}

// Open returns the home at dir, creating its folders when missing.
func Open(dir string) (*Home, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("data home %q: %w", dir, err)
	}
	h := &Home{Dir: abs}
	for _, d := range []string{h.SnapshotsDir(), h.RunsDir(), h.TmpDir()} {
		if err := os.MkdirAll(d, atomicfs.DirPerm); err != nil {
			return nil, fmt.Errorf("data home %s: cannot create %s: %w", abs, d, err)
		}
	}
	return h, nil
}

// SnapshotsDir is the folder holding snapshot database files.
func (h *Home) SnapshotsDir() string { return filepath.Join(h.Dir, "snapshots") }

// RunsDir is the folder holding run folders.
func (h *Home) RunsDir() string { return filepath.Join(h.Dir, "runs") }

// TmpDir is DuckDB's spill space for this home.
func (h *Home) TmpDir() string { return filepath.Join(h.Dir, "tmp") }

// SnapshotPath is the database file of the named snapshot.
func (h *Home) SnapshotPath(name string) string {
	return filepath.Join(h.SnapshotsDir(), name+snapshotExt)
}

// Current returns the name of the current snapshot. With none it returns
// ErrNoSnapshot when the home has no snapshot either, and otherwise an
// error (wrapping ErrNoSnapshot) pointing at 'assign snapshots use'.
func (h *Home) Current() (string, error) {
	b, err := os.ReadFile(filepath.Join(h.Dir, currentFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read current snapshot pointer: %w", err)
	}
	name := strings.TrimSpace(string(b))
	if name == "" {
		return "", h.noCurrent(err == nil)
	}
	return name, nil
}

// noCurrent is the error of a home without a current snapshot: a home
// with snapshots (loaded with --no-switch, or CURRENT emptied by hand)
// needs one made current, not a load.
func (h *Home) noCurrent(fileExists bool) error {
	names := h.snapshotNames()
	if len(names) == 0 {
		return ErrNoSnapshot
	}
	what := currentFile + " is missing"
	if fileExists {
		what = currentFile + " is empty"
	}
	return &noCurrentError{fmt.Sprintf("no snapshot is current (%s) although the home holds %d; make one current with 'assign snapshots use %s' (the newest by name), see 'assign snapshots'",
		what, len(names), names[len(names)-1])}
}

// noCurrentError is ErrNoSnapshot (errors.Is) in other words: the home has
// snapshots, so loading one is not the advice.
type noCurrentError struct{ msg string }

func (e *noCurrentError) Error() string     { return e.msg }
func (e *noCurrentError) Is(err error) bool { return err == ErrNoSnapshot }

// snapshotNames lists the complete snapshots' names, sorted.
func (h *Home) snapshotNames() []string {
	entries, _ := os.ReadDir(h.SnapshotsDir())
	var out []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && !strings.HasPrefix(n, ".") && strings.HasSuffix(n, snapshotExt) {
			out = append(out, strings.TrimSuffix(n, snapshotExt))
		}
	}
	sort.Strings(out)
	return out
}

// Resolve returns the database path of the named snapshot, or of the current
// one when name is empty. The file must exist.
func (h *Home) Resolve(name string) (string, string, error) {
	if name == "" {
		cur, err := h.Current()
		if err != nil {
			return "", "", err
		}
		name = cur
	}
	if err := ValidName(name); err != nil {
		return "", "", err
	}
	p := h.SnapshotPath(name)
	if _, err := os.Stat(p); err != nil {
		return "", "", fmt.Errorf("snapshot %q not found in %s: see 'assign snapshots' for the list", name, h.SnapshotsDir())
	}
	return name, p, nil
}

// ValidName reports whether name can be a snapshot or run name: it must not
// be empty, start with a dot, or hold a path separator.
func ValidName(name string) error {
	if name == "" || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("invalid name %q: names are plain file names, not paths", name)
	}
	return nil
}

// SetCurrent makes name the current snapshot with an atomic rename.
func (h *Home) SetCurrent(name string) error {
	unlock, err := h.lockHome()
	if err != nil {
		return err
	}
	defer unlock()
	return h.setCurrent(name)
}

// setCurrent is SetCurrent for a caller holding home.lock.
func (h *Home) setCurrent(name string) error {
	if _, _, err := h.Resolve(name); err != nil {
		return err
	}
	return atomicfs.WriteFile(filepath.Join(h.Dir, currentFile), []byte(name+"\n"))
}

// NewSnapshotName returns a fresh, sortable snapshot name for time t.
func (h *Home) NewSnapshotName(t time.Time) string {
	base := "snap-" + t.UTC().Format("20060102-150405")
	name := base
	for i := 2; ; i++ {
		if _, err := os.Stat(h.SnapshotPath(name)); errors.Is(err, os.ErrNotExist) {
			if _, err := os.Stat(h.pendingSnapshotPath(name)); errors.Is(err, os.ErrNotExist) {
				return name
			}
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}

func (h *Home) pendingSnapshotPath(name string) string {
	return filepath.Join(h.SnapshotsDir(), tmpPrefix+name+snapshotExt)
}

// PendingSnapshot is a snapshot database being written. Nothing reads it until
// Commit renames it into place; Abort (or a crash) leaves only a .tmp- file
// that listings ignore and gc removes.
type PendingSnapshot struct {
	Name string
	Path string // the file to write
	home *Home
}

// NewPendingSnapshot reserves a name and a temporary path for a new snapshot.
func (h *Home) NewPendingSnapshot(t time.Time) (*PendingSnapshot, error) {
	name := h.NewSnapshotName(t)
	p := h.pendingSnapshotPath(name)
	_ = os.Remove(p)
	_ = os.Remove(p + ".wal")
	return &PendingSnapshot{Name: name, Path: p, home: h}, nil
}

// Commit syncs the written file, renames it into place and, when makeCurrent,
// switches CURRENT to it. The database must be closed before Commit.
func (p *PendingSnapshot) Commit(makeCurrent bool) error {
	if _, err := os.Stat(p.Path + ".wal"); err == nil {
		return fmt.Errorf("snapshot %s: database was not checkpointed before commit", p.Name)
	}
	// Under home.lock, so that gc never finds the snapshot published and
	// not yet current, and deletes it.
	unlock, err := p.home.lockHome()
	if err != nil {
		return err
	}
	defer unlock()
	if err := atomicfs.Publish(p.Path, p.home.SnapshotPath(p.Name)); err != nil {
		return fmt.Errorf("snapshot %s: %w", p.Name, err)
	}
	if makeCurrent {
		return p.home.setCurrent(p.Name)
	}
	return nil
}

// Abort removes what was written.
func (p *PendingSnapshot) Abort() {
	_ = os.Remove(p.Path)
	_ = os.Remove(p.Path + ".wal")
	_ = os.Remove(p.SidecarPath())
}

// SidecarPath is where the load writes the snapshot's engine sidecar: its
// final place (written atomically), since it is valid only for this
// snapshot's load id. Abort removes it.
func (p *PendingSnapshot) SidecarPath() string {
	return SidecarPath(p.home.SnapshotPath(p.Name))
}

// SnapshotInfo describes one complete snapshot file.
type SnapshotInfo struct {
	Name    string
	Path    string
	Size    int64
	ModTime time.Time
	Current bool
}

// ListSnapshots returns complete snapshots, oldest first.
func (h *Home) ListSnapshots() ([]SnapshotInfo, error) {
	entries, err := os.ReadDir(h.SnapshotsDir())
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	cur, _ := h.Current()
	var out []SnapshotInfo
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || !strings.HasSuffix(n, snapshotExt) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		name := strings.TrimSuffix(n, snapshotExt)
		out = append(out, SnapshotInfo{Name: name, Path: filepath.Join(h.SnapshotsDir(), n), Size: fi.Size(), ModTime: fi.ModTime(), Current: name == cur})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// StaleTemporaries lists files and folders left by killed loads and runs.
func (h *Home) StaleTemporaries() []string {
	var out []string
	for _, dir := range []string{h.SnapshotsDir(), h.RunsDir()} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), tmpPrefix) {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
	}
	return out
}

// SidecarExt ends the name of a snapshot's engine sidecar (engine/sidecar.go):
// snapshots/<name>.engine beside snapshots/<name>.duckdb.
const SidecarExt = ".engine"

// SidecarPath is the engine sidecar of the snapshot database file at
// snapshotPath.
func SidecarPath(snapshotPath string) string {
	return strings.TrimSuffix(snapshotPath, snapshotExt) + SidecarExt
}
