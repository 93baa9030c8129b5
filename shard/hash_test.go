package shard

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/assign-dev/assign/duck"
)

// Reference values computed outside Go (the README's Python reading of the
// hash), so a change of the Go code cannot silently move users between shards.
var vectors = []struct {
	id   int64
	hash uint32
}{
	{0, 0}, {1, 1364076727}, {2, 821347078}, {100001, 984219093}, {100002, 2562779934},
	{-1, 0}, {math.MaxInt64, 1832674720}, {math.MinInt64, 1832674720},
	{4294967296, 1364076727}, {123456789012, 3005115908},
}

func TestHashVectors(t *testing.T) {
	for _, v := range vectors {
		if got := Hash(v.id); got != v.hash {
			t.Errorf("Hash(%d) = %d, want %d", v.id, got, v.hash)
		}
	}
	if Of(100002, 16) != 14 || Of(100002, 8) != 6 {
		t.Errorf("Of(100002, 16/8) = %d/%d, want 14/6", Of(100002, 16), Of(100002, 8))
	}
}

// TestHashSQLMatchesGo computes the hash and the shard of edge values and of
// random ids in DuckDB with SQLMacros and in Go, and requires them equal.
func TestHashSQLMatchesGo(t *testing.T) {
	ctx := context.Background()
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, SQLMacros); err != nil {
		t.Fatal(err)
	}
	ids := []int64{0, 1, -1, 2, -2, math.MaxInt64, math.MinInt64, math.MaxInt32, math.MinInt32, 1 << 32, -(1 << 32), 1<<32 - 1}
	for _, v := range vectors {
		ids = append(ids, v.id)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		ids = append(ids, int64(r.Uint64()), int64(r.IntN(50_000_000)))
	}
	var vals []string
	for _, id := range ids {
		vals = append(vals, fmt.Sprintf("('%d'::BIGINT)", id))
	}
	q := "SELECT id, assign_user_hash(id), assign_shard(id, 1), assign_shard(id, 7), assign_shard(id, 16) FROM (VALUES " + strings.Join(vals, ", ") + ") t(id)"
	rows, err := db.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int64
		var h uint64
		var s1, s7, s16 int
		if err := rows.Scan(&id, &h, &s1, &s7, &s16); err != nil {
			t.Fatal(err)
		}
		n++
		if uint64(Hash(id)) != h || s1 != 0 || s7 != Of(id, 7) || s16 != Of(id, 16) {
			t.Fatalf("user %d: SQL hash %d shards %d %d %d, Go %d shards 0 %d %d", id, h, s1, s7, s16, Hash(id), Of(id, 7), Of(id, 16))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(ids) {
		t.Fatalf("%d rows, want %d", n, len(ids))
	}
}

// TestHashBalance: consecutive ids, as extracts number users, spread evenly.
func TestHashBalance(t *testing.T) {
	const users, n = 160_000, 16
	var count [n]int
	for id := int64(100_000); id < 100_000+users; id++ {
		count[Of(id, n)]++
	}
	for i, c := range count {
		if math.Abs(float64(c)-users/n) > 0.02*users/n {
			t.Errorf("shard %d has %d users, want %d within 2%%", i, c, users/n)
		}
	}
}
