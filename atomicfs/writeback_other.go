//go:build !linux

package atomicfs

import "os"

// startWriteback does nothing here: Commit's fsync writes everything.
func startWriteback(*os.File) {}
