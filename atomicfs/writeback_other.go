//go:build !linux

package atomicfs

import "os"

// datasync flushes f to disk (fsync: fdatasync is Linux's).
func datasync(f *os.File) error { return f.Sync() }
