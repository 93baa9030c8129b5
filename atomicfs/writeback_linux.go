package atomicfs

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback starts the disk writes of f's dirty pages without waiting
// for them (a hint: an error changes nothing, Commit's fsync still flushes
// everything).
func startWriteback(f *os.File) {
	_ = unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
}
