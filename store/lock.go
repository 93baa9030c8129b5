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

// LockLoad takes the home's load lock without waiting. The lock is an flock
// on load.lock, so the kernel releases it when the holder dies, even by
// kill -9; no stale lock file needs cleaning.
func (h *Home) LockLoad() (unlock func(), err error) {
	p := filepath.Join(h.Dir, "load.lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, atomicfs.FilePerm)
	if err != nil {
		return nil, fmt.Errorf("open load lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(p)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			if pid := strings.TrimSpace(string(holder)); pid != "" {
				return nil, fmt.Errorf("%w (pid %s); wait for it to finish and try again", ErrLoadBusy, pid)
			}
			return nil, fmt.Errorf("%w; wait for it to finish and try again", ErrLoadBusy)
		}
		return nil, fmt.Errorf("take load lock: %w", err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
