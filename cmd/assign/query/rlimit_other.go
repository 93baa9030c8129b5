//go:build !linux

package query

// capProcessMemory is a no-op where RLIMIT_DATA does not count anonymous
// mappings; DuckDB's memory_limit still applies.
func capProcessMemory(int64) (restore func()) { return func() {} }
