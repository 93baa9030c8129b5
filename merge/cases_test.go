package merge_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/internal/spectest"
	"github.com/assign-dev/assign/merge"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/results"
	"github.com/assign-dev/assign/shard"
	"github.com/assign-dev/assign/store"
)

// TestCasesInShards runs the SPEC case suite's preassign cases, extracts
// written by hand rather than generated, as a user of the local runner
// would: every case planned in 2 and 5 shards (so some shards hold no
// user at all), the parts merged, and the merged tables must be the case's
// expected tables byte for byte, the ones one machine writes.
func TestCasesInShards(t *testing.T) {
	for _, n := range []int{2, 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			spectest.Run(t, spectest.Impl{
				Name:   fmt.Sprintf("%d shards and a merge", n),
				Modes:  []string{spectest.Preassign},
				Tables: []string{"boxes", "demand", "snack_summary", "short_boxes"},
				Run: func(ctx context.Context, snapshot string, c spectest.Case, out string) error {
					return runInShards(ctx, t, snapshot, c, n, out)
				},
			})
		})
	}
}

// runInShards puts the case's snapshot into a fresh home, plans each of n
// shards into a parts folder, merges them and copies the merged CSV tables
// into out.
func runInShards(ctx context.Context, t *testing.T, snapshot string, c spectest.Case, n int, out string) error {
	h, err := store.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		return err
	}
	const name = "snap-20260301-000000"
	data, err := os.ReadFile(snapshot)
	if err != nil {
		return err
	}
	if err := os.WriteFile(h.SnapshotPath(name), data, 0o644); err != nil {
		return err
	}
	parts := filepath.Join(t.TempDir(), "parts")
	for i := 0; i < n; i++ {
		_, err := plan.Execute(ctx, h, plan.Request{Mode: engine.Preassign, Snapshot: name, D0: engine.DayOf(c.Start), Days: c.Days,
			Policy: c.Policy, Threads: c.Threads, OutDir: parts, Shard: shard.Spec{Index: i, Count: n}, ShardSource: "test", Version: "test"})
		if err != nil {
			return err
		}
	}
	merged := filepath.Join(t.TempDir(), "merged")
	if _, err := merge.Execute(ctx, h, merge.Request{Parts: []string{parts}, OutDir: merged, OutFormat: results.FormatCSV, NoSave: true, Threads: c.Threads, Version: "test"}); err != nil {
		return err
	}
	for _, table := range []string{"boxes", "demand", "snack_summary", "short_boxes"} {
		b, err := os.ReadFile(filepath.Join(merged, table+".csv"))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, table+".csv"), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
