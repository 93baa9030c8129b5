// Package benchmarks holds the project's benchmarks: the harness that times
// the assign binary against the baselines (cmd/bench, harness), the
// baselines themselves (baselines/sqlonly, baselines/naive), the output
// comparison (compare), a profile of the engine's input SQL (cmd/sqlplan),
// and Go benchmarks of the planning path
// (go test -tags duckdb_arrow -run '^$' -bench . ./benchmarks). Results
// are recorded in RESULTS.md.
package benchmarks
