package engine

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/policy"
)

// sortGroups puts every user's affinity and never-again rows in a fixed
// order: the SQL paths emit them in join order, which carries no meaning.
func sortGroups(in *Inputs) {
	type aff struct {
		c, n int32
		sum  int64
	}
	for u := 0; u+1 < len(in.AffStart); u++ {
		lo, hi := in.AffStart[u], in.AffStart[u+1]
		rows := make([]aff, 0, hi-lo)
		for j := lo; j < hi; j++ {
			rows = append(rows, aff{in.AffCat[j], in.AffN[j], in.AffSum[j]})
		}
		slices.SortFunc(rows, func(a, b aff) int { return int(a.c - b.c) })
		for i, r := range rows {
			in.AffCat[lo+int32(i)], in.AffN[lo+int32(i)], in.AffSum[lo+int32(i)] = r.c, r.n, r.sum
		}
	}
	for u := 0; u+1 < len(in.BadStart); u++ {
		lo, hi := in.BadStart[u], in.BadStart[u+1]
		idx := make([]int32, 0, hi-lo)
		for j := lo; j < hi; j++ {
			idx = append(idx, j)
		}
		slices.SortFunc(idx, func(a, b int32) int { return int(in.BadSnack[a] - in.BadSnack[b]) })
		s, r := make([]int32, len(idx)), make([]int32, len(idx))
		for i, j := range idx {
			s[i], r[i] = in.BadSnack[j], in.BadRating[j]
		}
		copy(in.BadSnack[lo:hi], s)
		copy(in.BadRating[lo:hi], r)
	}
}

// TestRatingInputsAgreeOnEveryPath loads the same extract's inputs from
// temp tables derived at load time (a snapshot without derived tables),
// with the ratings in user order and in random order, and from the
// snapshot's stored derived tables. All must give the same inputs. The
// extract has many ratings of one pair, some at the same rated_at with
// different ratings.
func TestRatingInputsAgreeOnEveryPath(t *testing.T) {
	ctx := context.Background()
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b, err := os.ReadFile("testdata/synthetic.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, strings.NewReplacer(":users", "1200", ":snacks", "120", ":seed", "5").Replace(string(b))); err != nil {
		t.Fatal(err)
	}
	p := policy.Default()
	p.NeverAgainRating = 3
	load := func(name string, wantTemp bool) *Inputs {
		t.Helper()
		var log bytes.Buffer
		in, err := LoadInputs(ctx, db, LoadOptions{D0: d0Test, Days: 21, Policy: p,
			Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if temp := strings.Contains(log.String(), "derived temp tables"); temp != wantTemp {
			t.Fatalf("%s: derived temp tables = %v, want %v; log:\n%s", name, temp, wantTemp, log.String())
		}
		sortGroups(in)
		return in
	}
	exec := func(q string) {
		t.Helper()
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	exec("CREATE OR REPLACE TABLE ratings AS SELECT * FROM ratings ORDER BY user_id, hash(snack_id, rated_at, rating)")
	ordered := load("ratings in user order", true)
	if len(ordered.BadSnack) == 0 || len(ordered.AffCat) == 0 || ordered.RatedPairs == 0 {
		t.Fatalf("no ratings found: %d pairs, %d affinity rows, %d never-again rows", ordered.RatedPairs, len(ordered.AffCat), len(ordered.BadSnack))
	}

	exec("CREATE OR REPLACE TABLE ratings AS SELECT * FROM ratings ORDER BY hash(user_id * 7919 + snack_id, rated_at)")
	shuffled := load("ratings in random order", true)

	if err := DeriveTables(ctx, db); err != nil {
		t.Fatal(err)
	}
	derived := load("derived tables", false)

	for name, in := range map[string]*Inputs{"random order": shuffled, "derived tables": derived} {
		if !reflect.DeepEqual(ordered, in) {
			t.Errorf("inputs from %s differ from those of ratings in user order: %s", name, firstDifference(ordered, in))
		}
	}
}

// firstDifference names the first field of Inputs that differs.
func firstDifference(a, b *Inputs) string {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for i := 0; i < va.NumField(); i++ {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			return fmt.Sprintf("field %s", va.Type().Field(i).Name)
		}
	}
	return "none"
}
