package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/assign-dev/assign/atomicfs"
)

// ErrLoadBusy is returned by LockLoad when another load holds the lock.
var ErrLoadBusy = errors.New("another 'assign load' is writing a snapshot in this home")

// Two locks guard the home, both flocks, which the kernel releases when the
// holder dies, even by kill -9, so no stale lock file needs cleaning:
//
//   - load.lock is held by the one load writing a snapshot, for its whole
//     length. Only loads take it for long; its file names the holder
//     ("<pid> <command>").
//   - home.lock is held for short steps that change which snapshots exist
//     or which is current: a load taking load.lock, a load publishing its
//     snapshot (rename, then CURRENT), `snapshots use`, `snapshots rm` and
//     `snapshots gc`. Every one of them waits for it. So gc never sees a
//     snapshot that a load renamed into place but has not made current yet,
//     and a load never finds load.lock held by a gc that was only probing
//     it.
const (
	loadLockFile = "load.lock"
	homeLockFile = "home.lock"
)

// flock opens (creating) the lock file name in the home and locks it.
func (h *Home) flock(name string, how int) (*os.File, error) {
	p := filepath.Join(h.Dir, name)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, atomicfs.FilePerm)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// lockHome takes home.lock, waiting for its holder (always a short step).
func (h *Home) lockHome() (unlock func(), err error) {
	f, err := h.flock(homeLockFile, syscall.LOCK_EX)
	if err != nil {
		return nil, fmt.Errorf("take the home lock: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// LockLoad takes the home's load lock without waiting for another load. It
// waits only for the short steps of home.lock. The lock file records the
// holder's pid and command, which a second load's error names.
func (h *Home) LockLoad() (unlock func(), err error) {
	unlockHome, err := h.lockHome()
	if err != nil {
		return nil, err
	}
	defer unlockHome()
	unlock, holder, err := h.tryLoadLock(true)
	if err != nil {
		return nil, err
	}
	if unlock == nil {
		if holder == "" {
			return nil, fmt.Errorf("%w; wait for it to finish and try again", ErrLoadBusy)
		}
		return nil, fmt.Errorf("%w (%s); wait for it to finish and try again", ErrLoadBusy, holder)
	}
	return unlock, nil
}

// tryLoadLock takes load.lock without waiting; the caller holds home.lock.
// When another process holds it, unlock is nil and holder describes that
// process ("pid 42"; "" when unknown). record writes this process into the
// lock file (a load); gc only probes.
func (h *Home) tryLoadLock(record bool) (unlock func(), holder string, err error) {
	f, err := h.flock(loadLockFile, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, holderOf(filepath.Join(h.Dir, loadLockFile)), nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("take the load lock: %w", err)
	}
	if record {
		_ = f.Truncate(0)
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+" "+commandName()+"\n"), 0)
	}
	return func() {
		if record {
			_ = f.Truncate(0)
		}
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, "", nil
}

// commandName is "assign <verb>" of this process: the first argument that
// is not a flag or the value of a root flag (a command's own flag value
// may be taken for it, which only makes the name less precise).
func commandName() string {
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--home" || a == "--log-level":
			i++ // the root's flags that take a value
		case a != "" && !strings.HasPrefix(a, "-"):
			return "assign " + a
		}
	}
	return "assign"
}

// holderOf reads the holder a lock file names: "pid 42" when it is a load,
// "pid 42, assign demo" for another command that loads, "" when the file
// says nothing.
func holderOf(path string) string {
	b, _ := os.ReadFile(path)
	pid, command, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	switch {
	case pid == "":
		return ""
	case command == "" || command == "assign load":
		return "pid " + pid
	default:
		return "pid " + pid + ", " + command
	}
}
