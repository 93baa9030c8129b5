package plan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/results"
	"github.com/assign-dev/assign/shard"
	"github.com/assign-dev/assign/store"
)

// ShardDemandTable is the extra table of a merged preassign: each shard's
// demand per snack over the horizon (shard INTEGER, snack_id BIGINT, demand
// BIGINT). It is what splits the stock among the shards of a run.
const ShardDemandTable = "shard_demand"

// Quota is the stock split of a sharded run: per snack_id, each shard's
// demand in the merged preassign the quota comes from.
type Quota struct {
	Ref    shard.QuotaRef
	Demand map[int64][]int64
	Count  int
}

// Lots returns the units of each of in's lots that shard s may use: every
// lot split by shard.Weights of the demand.
func (q *Quota) Lots(in *engine.Inputs, s shard.Spec) []int32 {
	w := shard.Weights(q.Demand, q.Count)
	return shard.LotQuota(in.LotSnack, in.LotQty, func(sidx int32) []int64 { return w[in.SnackID[sidx]] }, s)
}

// A QuotaError says why a quota source cannot split a run shard's stock.
// Its message is "stock quota" followed by Detail; a command that took the
// source from a flag puts the flag's name before Detail instead.
type QuotaError struct {
	// Detail follows the name of the source: " RUN is not a merged
	// preassign ...", or ": run \"x\" not found ..." when RUN is unknown.
	Detail string
	// Err is the underlying error, if any.
	Err error
}

func (e *QuotaError) Error() string { return "stock quota" + e.Detail }
func (e *QuotaError) Unwrap() error { return e.Err }

// quotaErrorf builds a QuotaError whose Detail is the formatted text; a %w
// verb fills Err.
func quotaErrorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &QuotaError{Detail: err.Error(), Err: errors.Unwrap(err)}
}

// QuotaFor reads the quota source from (a run id of home or a run folder):
// it must be a merged preassign on the same snapshot (name and fingerprint)
// in as many shards as s.
func QuotaFor(ctx context.Context, db *duck.DB, home *store.Home, from, snapshot, fingerprint string, s shard.Spec) (*Quota, error) {
	ri, err := home.FindRun(from)
	if err != nil {
		return nil, &QuotaError{Detail: ": " + err.Error(), Err: err}
	}
	b, err := os.ReadFile(filepath.Join(ri.Dir, store.ManifestFile))
	if err != nil {
		return nil, quotaErrorf(" %s: %w", from, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, quotaErrorf(" %s: manifest: %v", from, err)
	}
	switch {
	case m.Mode != "preassign" || m.Shards == nil:
		return nil, quotaErrorf(" %s is not a merged preassign (assign merge of preassign shards): the stock is split by each shard's preassigned demand", from)
	case m.Shards.Count != s.Count:
		return nil, quotaErrorf(" %s was planned in %d shards, this run in %d: use the preassign of the same shards", from, m.Shards.Count, s.Count)
	case m.Shards.Hash != shard.HashName:
		return nil, quotaErrorf(" %s split users by %s, this assign by %s", from, m.Shards.Hash, shard.HashName)
	case m.Snapshot != snapshot || m.Shards.SnapshotFingerprint != fingerprint:
		return nil, quotaErrorf(" %s was planned on snapshot %s, this run is on %s: plan the preassign on the same snapshot", from, m.Snapshot, snapshot)
	}
	var file, src string
	if p, ok := results.ParquetPath(ri.Dir, ShardDemandTable); ok {
		file, src = p, "read_parquet("+duck.Quote(p)+")"
	} else {
		file = filepath.Join(ri.Dir, ShardDemandTable+".csv")
		src = "read_csv(" + duck.Quote(file) + ", header = true, columns = {'shard': 'INTEGER', 'snack_id': 'BIGINT', 'demand': 'BIGINT'})"
	}
	_, digest, err := shard.FileSum(file)
	if err != nil {
		return nil, quotaErrorf(" %s has no readable %s table: %w", from, ShardDemandTable, err)
	}
	// A run of the home is named by its id; a run folder elsewhere (an
	// --out folder of assign merge, as engines with fixed paths use) by its
	// absolute path, so the merge finds it again.
	ref := ri.ID
	if filepath.Dir(ri.Dir) != home.RunsDir() {
		ref = ri.Dir
	}
	q := &Quota{Ref: shard.QuotaRef{Run: ref, Digest: digest}, Demand: map[int64][]int64{}, Count: s.Count}
	rows, err := db.Query(ctx, "SELECT shard, snack_id, demand FROM "+src)
	if err != nil {
		return nil, quotaErrorf(" %s: read %s: %w", from, ShardDemandTable, duck.Clean(err))
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var id, n int64
		if err := rows.Scan(&i, &id, &n); err != nil {
			return nil, quotaErrorf(" %s: read %s: %w", from, ShardDemandTable, duck.Clean(err))
		}
		if i < 0 || i >= s.Count || n < 0 {
			return nil, quotaErrorf(" %s: %s has shard %d, demand %d", from, ShardDemandTable, i, n)
		}
		if q.Demand[id] == nil {
			q.Demand[id] = make([]int64, s.Count)
		}
		q.Demand[id][i] += n
	}
	return q, duck.Clean(rows.Err())
}
