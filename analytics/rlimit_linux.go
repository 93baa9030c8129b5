package analytics

import "syscall"

// ProcessHeadroom is what a query process may hold beyond its memory
// limit: the program, output buffers, and DuckDB memory outside its buffer
// manager (vectors, lists).
const ProcessHeadroom = 1 << 30

// infinity is RLIM_INFINITY as the Rlimit fields hold it.
const infinity = ^uint64(0)

// CapProcessMemory lowers the soft limit on the process's data (heap and
// anonymous mappings, RLIMIT_DATA) to limit, so an allocation past it fails
// in DuckDB ("Out of Memory Error") instead of taking the machine. It
// returns a function that restores the previous limit. A limit already
// lower is kept.
func CapProcessMemory(limit int64) (restore func()) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_DATA, &old); err != nil {
		return func() {}
	}
	if old.Cur != infinity && old.Cur <= uint64(limit) {
		return func() {}
	}
	cur := uint64(limit)
	if old.Max != infinity && cur > old.Max {
		cur = old.Max
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_DATA, &syscall.Rlimit{Cur: cur, Max: old.Max}); err != nil {
		return func() {}
	}
	return func() { _ = syscall.Setrlimit(syscall.RLIMIT_DATA, &old) }
}
