// Package atomicfs writes files and folders so that a reader, or the same
// program after a crash or a kill -9, sees the old version or the new one,
// never a part: everything is written under a hidden temporary name in the
// folder of its final path, flushed to the disk (fsync), renamed into
// place, and the folder itself flushed so that the rename survives a power
// cut. Every writer of assign goes through it (store, run folders, results,
// reports, reject files, query --out, gen).
//
// Modes are left to the umask: files are created 0666 and folders 0777
// before it, so under the usual umask 022 they come out 0644 and 0755, and
// under 002 (a home shared by a group) 0664 and 0775. Nothing is made
// private behind the user's back.
package atomicfs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// TempPrefix starts the name of every temporary file and folder. Listings
// skip such names, and gc removes the ones a killed process left.
const TempPrefix = ".tmp-"

// FilePerm and DirPerm are the modes files and folders are created with,
// before the umask.
const (
	FilePerm fs.FileMode = 0o666
	DirPerm  fs.FileMode = 0o777
)

// TempPath returns a fresh hidden path in the folder of final, for a writer
// that creates the file itself (DuckDB's COPY). Hand it to Publish when the
// file is complete; remove it otherwise.
func TempPath(final string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return filepath.Join(filepath.Dir(final), TempPrefix+filepath.Base(final)+"-"+hex.EncodeToString(b[:]))
}

// Publish makes the complete file at tmp the file at final: it flushes
// tmp, renames it over final (replacing a file there) and flushes the
// folder. tmp and final must be in the same folder.
func Publish(tmp, final string) error {
	if err := syncPath(tmp); err != nil {
		return pathErr("write", final, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return pathErr("write", final, err)
	}
	return SyncDir(filepath.Dir(final))
}

// WriteFile writes data to path atomically (see the package comment).
func WriteFile(path string, data []byte) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return pathErr("write", path, err)
	}
	return f.Commit()
}

// File is a file being written under a temporary name beside its final
// path. Write to it, then Commit; Abort (safe after Commit, so it can be
// deferred) removes it.
type File struct {
	*os.File
	final string
	done  bool
	// unsynced counts the bytes written since the last background flush
	// started (see Write); flushing, when not nil, is closed when that
	// flush is over, and flushErr is its error.
	unsynced int64
	flushing chan struct{}
	flushErr error
}

// flushChunk is how many bytes a File takes before it flushes them to disk
// in the background.
const flushChunk = 4 << 20

// Write writes p to the file. Every flushChunk bytes, when no flush is
// under way, it flushes what was written to disk in the background
// (fdatasync on Linux), so that the disk writes and the file system's
// journal commits run while the rest is produced and Commit's fsync has
// little left to do. Only starting the writes (sync_file_range) left the
// fsync of a medium run's 20 MB of boxes at 17-30 ms, waited for at the
// end of the job with nothing left to overlap it; after background
// flushes it takes well under a millisecond.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	if f.unsynced += int64(n); f.unsynced >= flushChunk && !f.flushBusy() {
		f.unsynced = 0
		done := make(chan struct{})
		f.flushing = done
		go func() {
			defer close(done)
			if err := datasync(f.File); err != nil && f.flushErr == nil {
				f.flushErr = err
			}
		}()
	}
	return n, err
}

// flushBusy reports whether a background flush is under way.
func (f *File) flushBusy() bool {
	if f.flushing == nil {
		return false
	}
	select {
	case <-f.flushing:
		return false
	default:
		return true
	}
}

// waitFlush waits for the background flush and returns the first error
// of any: a write error the kernel reported to a background flush is not
// reported again to the final fsync.
func (f *File) waitFlush() error {
	if f.flushing != nil {
		<-f.flushing
	}
	return f.flushErr
}

// Create starts writing the file that will appear at path on Commit.
func Create(path string) (*File, error) {
	for range 100 {
		tmp := TempPath(path)
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FilePerm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, pathErr("write", path, err)
		}
		return &File{File: f, final: path}, nil
	}
	return nil, fmt.Errorf("write %s: no free temporary name beside it", path)
}

// Path is the final path of the file.
func (f *File) Path() string { return f.final }

// Commit flushes the file, renames it to its final path (replacing what is
// there) and flushes the folder.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("write %s: already committed or aborted", f.final)
	}
	f.done = true
	tmp := f.Name()
	if err := f.waitFlush(); err != nil {
		f.Close()
		os.Remove(tmp)
		return pathErr("write", f.final, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return pathErr("write", f.final, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return pathErr("write", f.final, err)
	}
	if err := os.Rename(tmp, f.final); err != nil {
		os.Remove(tmp)
		return pathErr("write", f.final, err)
	}
	return SyncDir(filepath.Dir(f.final))
}

// Abort closes and removes the temporary file; after Commit it does nothing.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.waitFlush()
	f.Close()
	os.Remove(f.Name())
}

// Dir is a folder being written under a temporary name beside its final
// path; Publish moves the whole folder into place at once.
type Dir struct {
	// Path is the temporary folder: write the files here.
	Path  string
	final string
	done  bool
}

// NewDir creates a hidden temporary folder beside final (creating final's
// parent when missing) that Publish will move to final.
func NewDir(final string) (*Dir, error) {
	parent := filepath.Dir(final)
	if err := os.MkdirAll(parent, DirPerm); err != nil {
		return nil, pathErr("create", parent, err)
	}
	for range 100 {
		d, err := NewDirAt(TempPath(final), final)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return d, err
	}
	return nil, fmt.Errorf("create %s: no free temporary name beside it", final)
}

// NewDirAt creates the temporary folder tmp, which must not exist yet (the
// error is then fs.ErrExist) and must lie in the folder of final: for a
// caller that reserves names itself (run folders).
func NewDirAt(tmp, final string) (*Dir, error) {
	if filepath.Dir(tmp) != filepath.Dir(final) {
		return nil, fmt.Errorf("temporary folder %s is not beside %s", tmp, final)
	}
	if err := os.Mkdir(tmp, DirPerm); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		return nil, pathErr("create", final, err)
	}
	return &Dir{Path: tmp, final: final}, nil
}

// Final is the path the folder will have once published.
func (d *Dir) Final() string { return d.final }

// ErrExists is returned by Publish without replace when the final folder
// exists.
var ErrExists = errors.New("already exists")

// Publish flushes every file and folder under the temporary folder, then
// moves it to its final path and flushes the parent. Without replace the
// final path must not exist (ErrExists). With replace an existing folder is
// swapped with the new one in one step (renameat2 RENAME_EXCHANGE) and then
// removed, so a reader of the path sees the old folder or the new one,
// never a mix; on a file system without the exchange the old folder is
// moved aside first and is missing only between two renames.
func (d *Dir) Publish(replace bool) error {
	if d.done {
		return fmt.Errorf("publish %s: already published or aborted", d.final)
	}
	if err := SyncTree(d.Path); err != nil {
		return pathErr("publish", d.final, err)
	}
	parent := filepath.Dir(d.final)
	_, statErr := os.Lstat(d.final)
	exists := statErr == nil
	switch {
	case !exists:
		if err := renameNoReplace(d.Path, d.final); err != nil {
			if errors.Is(err, fs.ErrExist) || errors.Is(err, unix.ENOTEMPTY) {
				return fmt.Errorf("publish %s: %w", d.final, ErrExists)
			}
			return pathErr("publish", d.final, err)
		}
	case !replace:
		return fmt.Errorf("publish %s: %w", d.final, ErrExists)
	default:
		old := d.Path
		if err := unix.Renameat2(unix.AT_FDCWD, d.Path, unix.AT_FDCWD, d.final, unix.RENAME_EXCHANGE); err != nil {
			old = d.Path + ".old"
			if err := os.Rename(d.final, old); err != nil {
				return pathErr("replace", d.final, err)
			}
			if err := os.Rename(d.Path, d.final); err != nil {
				_ = os.Rename(old, d.final)
				return pathErr("replace", d.final, err)
			}
		}
		// old now holds the previous folder.
		if err := os.RemoveAll(old); err != nil {
			d.done = true
			return SyncDir(parent)
		}
	}
	d.done = true
	return SyncDir(parent)
}

// Abort removes the temporary folder; after Publish it does nothing.
func (d *Dir) Abort() {
	if d.done {
		return
	}
	d.done = true
	os.RemoveAll(d.Path)
}

// renameNoReplace renames old to new unless new exists; where the kernel
// lacks RENAME_NOREPLACE a plain rename still refuses a non-empty folder.
func renameNoReplace(oldPath, newPath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldPath, unix.AT_FDCWD, newPath, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return os.Rename(oldPath, newPath)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldPath, New: newPath, Err: err}
	}
	return nil
}

// SyncDir flushes a folder, so that renames and removals in it survive a
// crash. File systems that cannot flush a folder are not an error: the
// rename itself is what readers rely on.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return pathErr("sync", dir, err)
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}

// syncPath flushes one file.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// syncTree flushes every file under dir, then every folder, deepest first.
func SyncTree(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case e.IsDir():
			dirs = append(dirs, p)
		case e.Type().IsRegular():
			if err := syncPath(p); err != nil {
				return fmt.Errorf("sync %s: %w", strings.TrimPrefix(p, dir+string(filepath.Separator)), err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = SyncDir(dirs[i])
	}
	return nil
}

// pathErr names the final path, not the temporary one, in an error ("write
// /home/runs/x/manifest.json: permission denied"), keeping the cause for
// errors.Is (a full disk is told apart by it).
func pathErr(op, path string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}
