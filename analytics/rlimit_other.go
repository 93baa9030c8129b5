//go:build !linux

package analytics

// ProcessHeadroom is what a query process may hold beyond its memory
// limit: the program, output buffers, and DuckDB memory outside its buffer
// manager (vectors, lists).
const ProcessHeadroom = 1 << 30

// CapProcessMemory is a no-op where RLIMIT_DATA does not count anonymous
// mappings; DuckDB's memory_limit still applies.
func CapProcessMemory(int64) (restore func()) { return func() {} }
