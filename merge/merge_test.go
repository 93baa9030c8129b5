package merge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/check"
	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/merge"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/results"
	"github.com/assign-dev/assign/shard"
	"github.com/assign-dev/assign/store"
	"github.com/assign-dev/assign/synth"
)

var d0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// loadTiny generates the tiny extract with seed and loads it into home.
func loadTiny(t *testing.T, h *store.Home, seed int64, at time.Time) string {
	t.Helper()
	ctx := context.Background()
	sc, err := synth.LookupScale("tiny")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "extract")
	if _, err := synth.Generate(ctx, synth.Options{Scale: sc, Seed: seed, Format: synth.FormatParquet, OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	res, err := loaders.Load(ctx, loaders.Options{Dir: dir, Home: h, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	return res.Snapshot
}

func newHome(t *testing.T) *store.Home {
	t.Helper()
	h, err := store.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// scarce is a policy under which the tiny extract runs short of stock, so
// the merge's coverage has shortages to get right.
func scarce() policy.Policy {
	p := policy.Default()
	p.MinShelfDays = 60
	return p
}

// shards plans every shard of n into parts and returns the parts folder.
func shards(t *testing.T, h *store.Home, snapshot string, n, days int, p policy.Policy) string {
	t.Helper()
	parts := filepath.Join(t.TempDir(), "parts")
	for i := 0; i < n; i++ {
		_, err := plan.Execute(context.Background(), h, plan.Request{Mode: engine.Preassign, Snapshot: snapshot, D0: engine.DayOf(d0), Days: days,
			Policy: p, Threads: 2, OutDir: parts, Shard: shard.Spec{Index: i, Count: n}, ShardSource: "test", Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
	}
	return parts
}

func single(t *testing.T, h *store.Home, snapshot string, days int, p policy.Policy) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "single")
	if _, err := plan.Execute(context.Background(), h, plan.Request{Mode: engine.Preassign, Snapshot: snapshot, D0: engine.DayOf(d0), Days: days,
		Policy: p, Threads: 2, OutDir: dir, OutFormat: results.FormatCSV, NoSave: true, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func sameTables(t *testing.T, want, got string) {
	t.Helper()
	for _, name := range []string{"boxes", "demand", "snack_summary", "short_boxes"} {
		a, err := os.ReadFile(filepath.Join(want, name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(got, name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s.csv differs between one machine (%d bytes) and the merged shards (%d bytes)", name, len(a), len(b))
		}
	}
}

// TestPreassignMergeEqualsOneMachine: for several shard counts and two
// policies, the merged tables are byte for byte those of one machine, the
// merged run passes the checker, and its manifest's figures are one
// machine's.
func TestPreassignMergeEqualsOneMachine(t *testing.T) {
	ctx := context.Background()
	h := newHome(t)
	snap := loadTiny(t, h, 3, d0)
	for _, pc := range []struct {
		name string
		p    policy.Policy
	}{{"default", policy.Default()}, {"scarce", scarce()}} {
		want := single(t, h, snap, 21, pc.p)
		wantMan := readManifest(t, want)
		if pc.name == "scarce" && wantMan.Counts.Shortage == 0 {
			t.Fatal("the scarce policy leaves no shortage: the test would not check coverage")
		}
		for _, n := range []int{1, 3, 7} {
			t.Run(fmt.Sprintf("%s/%d", pc.name, n), func(t *testing.T) {
				parts := shards(t, h, snap, n, 21, pc.p)
				got := filepath.Join(t.TempDir(), "merged")
				out, err := merge.Execute(ctx, h, merge.Request{Parts: []string{parts}, OutDir: got, OutFormat: results.FormatCSV, Threads: 2, Version: "test"})
				if err != nil {
					t.Fatal(err)
				}
				sameTables(t, want, got)
				gm := out.Manifest
				if gm.Counts != wantMan.Counts || fmt.Sprint(gm.PerDate) != fmt.Sprint(wantMan.PerDate) || fmt.Sprint(gm.Dates) != fmt.Sprint(wantMan.Dates) {
					t.Errorf("merged manifest counts %+v per date %v, one machine %+v %v", gm.Counts, gm.PerDate, wantMan.Counts, wantMan.PerDate)
				}
				if gm.Shards == nil || gm.Shards.Count != n || len(gm.Shards.Parts) != n {
					t.Errorf("merged manifest shards %+v, want %d parts", gm.Shards, n)
				}
				// The run folder in the home (Parquet, boxes as a folder of
				// the shards' files) passes the independent checker.
				db, err := duck.OpenSnapshot(ctx, h.SnapshotPath(snap), duck.Options{Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				rep, err := check.Run(ctx, db, out.RunDir, out.Manifest, check.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if !rep.OK() {
					t.Fatalf("check of the merged run: %d violations: %v", rep.Total, rep.Violations)
				}
				if files, _ := filepath.Glob(filepath.Join(out.RunDir, "boxes", "*.parquet")); len(files) != n {
					t.Errorf("run folder boxes/ holds %d files, want one per shard (%d)", len(files), n)
				}
			})
		}
	}
}

func readManifest(t *testing.T, dir string) *plan.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, store.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m plan.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// copyDir copies a part folder (to make duplicates and tampered copies).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func editPart(t *testing.T, dir string, edit func(m *shard.PartManifest)) {
	t.Helper()
	p, err := shard.ReadPart(dir)
	if err != nil {
		t.Fatal(err)
	}
	edit(p.Manifest)
	b, _ := json.MarshalIndent(p.Manifest, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, shard.PartManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMergeRefuses: parts that do not make one whole job are refused with a
// message naming what differs, is missing, repeated or damaged, and no run
// appears in the home.
func TestMergeRefuses(t *testing.T) {
	ctx := context.Background()
	h := newHome(t)
	snapA := loadTiny(t, h, 3, d0)
	snapB := loadTiny(t, h, 4, d0.Add(time.Hour))
	partsA := shards(t, h, snapA, 3, 7, policy.Default())
	partsB := shards(t, h, snapB, 3, 7, policy.Default())
	strict := policy.Default()
	strict.MaxPerCategory = 1
	partsStrict := shards(t, h, snapA, 3, 7, strict)
	part := func(dir string, i int) string { return filepath.Join(dir, shard.Spec{Index: i, Count: 3}.PartName()) }

	dup := filepath.Join(t.TempDir(), "dup")
	copyDir(t, part(partsA, 1), dup)
	damaged := filepath.Join(t.TempDir(), "damaged")
	copyDir(t, part(partsA, 2), damaged)
	if err := os.WriteFile(filepath.Join(damaged, "boxes.parquet"), []byte("PAR1 not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	reloaded := filepath.Join(t.TempDir(), "reloaded")
	for i := 0; i < 3; i++ {
		dst := filepath.Join(reloaded, shard.Spec{Index: i, Count: 3}.PartName())
		copyDir(t, part(partsA, i), dst)
		editPart(t, dst, func(m *shard.PartManifest) { m.Snapshot.Fingerprint = strings.Repeat("ab", 32) })
	}
	tampered := filepath.Join(t.TempDir(), "tampered")
	copyDir(t, part(partsA, 0), tampered)
	editPart(t, tampered, func(m *shard.PartManifest) { m.Files[0].SHA256 = strings.Repeat("0", 64) })
	otherDays := filepath.Join(t.TempDir(), "days")
	copyDir(t, part(partsA, 0), otherDays)
	editPart(t, otherDays, func(m *shard.PartManifest) { m.Dates.Days = 8 })

	cases := []struct {
		name  string
		parts []string
		want  []string
	}{
		{"missing", []string{part(partsA, 0), part(partsA, 2)}, []string{"1 of 3 parts are missing: shard 1", "part-0001-of-0003"}},
		{"duplicated", []string{partsA, dup}, []string{"shard 1 of 3 is given 2 times", dup}},
		{"same folder twice", []string{partsA, partsA}, []string{"is given 2 times"}},
		{"different snapshots", []string{part(partsA, 0), part(partsB, 1), part(partsA, 2)}, []string{"their snapshot differs", snapA, snapB, "part-0001-of-0003"}},
		{"different policy", []string{part(partsA, 0), part(partsStrict, 1), part(partsA, 2)}, []string{"their policy differs: max_per_category is 2 in part-0000-of-0003, part-0002-of-0003; 1 in part-0001-of-0003"}},
		{"different days", []string{otherDays, part(partsA, 1), part(partsA, 2)}, []string{"their days differs: 8 in part-0000-of-0003; 7 in part-0001-of-0003"}},
		{"damaged file", []string{part(partsA, 0), part(partsA, 1), damaged}, []string{"boxes.parquet has 15 bytes", "damaged or was replaced", "run shard 2/3 again"}},
		{"tampered manifest", []string{tampered, part(partsA, 1), part(partsA, 2)}, []string{"does not match its file list"}},
		{"snapshot loaded again", []string{reloaded}, []string{"is not the one the parts were planned on"}},
		{"not a part", []string{t.TempDir()}, []string{"holds no parts"}},
		{"no such folder", []string{filepath.Join(t.TempDir(), "nope")}, []string{"no such file or directory"}},
	}
	before, _ := h.ListRuns()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := merge.Execute(ctx, h, merge.Request{Parts: c.parts, Version: "test"})
			if err == nil {
				t.Fatal("merged; want a refusal")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	after, _ := h.ListRuns()
	if len(after) != len(before) {
		t.Errorf("refused merges left %d runs in the home", len(after)-len(before))
	}
	// The complete set merges.
	if _, err := merge.Execute(ctx, h, merge.Request{Parts: []string{partsA}, Version: "test"}); err != nil {
		t.Fatal(err)
	}
}

// runShards plans a sharded run the way assign shards does: preassign
// shards, their merge (the quota source), then run shards with that quota.
func runShards(t *testing.T, h *store.Home, snapshot string, n, days int, p policy.Policy) (parts, quotaRun string) {
	t.Helper()
	ctx := context.Background()
	pre := shards(t, h, snapshot, n, days, p)
	out, err := merge.Execute(ctx, h, merge.Request{Parts: []string{pre}, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	parts = filepath.Join(t.TempDir(), "run-parts")
	for i := 0; i < n; i++ {
		_, err := plan.Execute(ctx, h, plan.Request{Mode: engine.Assign, Snapshot: snapshot, D0: engine.DayOf(d0), Days: days,
			Policy: p, Threads: 2, OutDir: parts, Shard: shard.Spec{Index: i, Count: n}, ShardSource: "test", Version: "test",
			QuotaFrom: out.Manifest.RunID})
		if err != nil {
			t.Fatal(err)
		}
	}
	return parts, out.Manifest.RunID
}

func checkRun(t *testing.T, h *store.Home, snapshot, dir string, m *plan.Manifest) {
	t.Helper()
	ctx := context.Background()
	db, err := duck.OpenSnapshot(ctx, h.SnapshotPath(snapshot), duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err := check.Run(ctx, db, dir, m, check.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("check of %s: %d violations: %v", dir, rep.Total, rep.Violations)
	}
}

// TestRunMergeOneShardEqualsOneMachine: with one shard the quota is the
// whole stock and nothing is left for a final pass, so the merged run is
// byte for byte the single machine's, lots and pick list included.
func TestRunMergeOneShardEqualsOneMachine(t *testing.T) {
	ctx := context.Background()
	h := newHome(t)
	snap := loadTiny(t, h, 3, d0)
	p := scarce()
	p.MinShelfDays = 150
	want := filepath.Join(t.TempDir(), "single")
	if _, err := plan.Execute(ctx, h, plan.Request{Mode: engine.Assign, Snapshot: snap, D0: engine.DayOf(d0), Days: 14, Policy: p,
		Threads: 2, OutDir: want, OutFormat: results.FormatCSV, NoSave: true, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	parts, _ := runShards(t, h, snap, 1, 14, p)
	got := filepath.Join(t.TempDir(), "merged")
	if _, err := merge.Execute(ctx, h, merge.Request{Parts: []string{parts}, OutDir: got, OutFormat: results.FormatCSV, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	sameTables(t, want, got)
	a, _ := os.ReadFile(filepath.Join(want, "picks.csv"))
	b, _ := os.ReadFile(filepath.Join(got, "picks.csv"))
	if !bytes.Equal(a, b) {
		t.Error("picks.csv differs")
	}
}

// TestRunMergeFinalPass: a run in 4 shards under scarce stock leaves boxes
// short that units another shard did not use can fill. The merge's final
// pass tops them up; the merged run passes the checker (each shard judged
// against its quota), keeps every line the shards chose, uses no lot beyond
// its quantity, and the quotas split every lot exactly.
func TestRunMergeFinalPass(t *testing.T) {
	ctx := context.Background()
	h := newHome(t)
	snap := loadTiny(t, h, 3, d0)
	p := scarce()
	p.MinShelfDays = 150
	parts, _ := runShards(t, h, snap, 4, 14, p)
	out, err := merge.Execute(ctx, h, merge.Request{Parts: []string{parts}, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	fp := out.Manifest.Shards.FinalPass
	if fp == nil || fp.BoxesTopped == 0 || fp.LinesAdded == 0 {
		t.Fatalf("final pass %+v: nothing topped up, the test checks nothing", fp)
	}
	if fp.ShortAfter != out.Manifest.Counts.ShortBoxes || fp.ShortAfter > fp.ShortBefore {
		t.Errorf("final pass %+v, manifest short boxes %d", fp, out.Manifest.Counts.ShortBoxes)
	}
	checkRun(t, h, snap, out.RunDir, out.Manifest)

	db, err := duck.OpenSnapshot(ctx, h.SnapshotPath(snap), duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	partBoxes, _ := filepath.Glob(filepath.Join(parts, "part-*", "boxes.parquet"))
	var lost, over, quota, added int64
	q := func(query string, dst *int64) {
		t.Helper()
		if err := db.QueryRow(ctx, query).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	list := "['" + strings.Join(partBoxes, "', '") + "']"
	merged := filepath.Join(out.RunDir, "boxes.parquet")
	q(`SELECT count(*) FROM (SELECT ship_on, user_id, snack_id, lot_id, score, requested FROM read_parquet(`+list+`)
		EXCEPT ALL SELECT ship_on, user_id, snack_id, lot_id, score, requested FROM read_parquet('`+merged+`'))`, &lost)
	q(`SELECT (SELECT count(*) FROM read_parquet('`+merged+`')) - (SELECT count(*) FROM read_parquet(`+list+`))`, &added)
	q(`SELECT count(*) FROM (SELECT snack_id, lot_id, count(*) AS n FROM read_parquet('`+merged+`') GROUP BY ALL) u
		JOIN stock s USING (snack_id, lot_id) WHERE u.n > s.quantity`, &over)
	q(`SELECT count(*) FROM (SELECT snack_id, lot_id, sum(units) AS n FROM read_parquet('`+filepath.Join(out.RunDir, "quotas.parquet")+`') GROUP BY ALL) u
		FULL JOIN (SELECT snack_id, lot_id, quantity FROM stock WHERE quantity > 0) s USING (snack_id, lot_id)
		WHERE u.n IS DISTINCT FROM s.quantity`, &quota)
	if lost != 0 || over != 0 || quota != 0 || added != fp.LinesAdded {
		t.Errorf("shard lines lost %d, lots overdrawn %d, lots whose quotas do not add up %d, lines added %d (manifest %d)", lost, over, quota, added, fp.LinesAdded)
	}
}

// TestRunShardNeedsAMatchingQuota: a run shard takes its quota from a
// merged preassign of the same snapshot and shard count, nothing else.
func TestRunShardNeedsAMatchingQuota(t *testing.T) {
	ctx := context.Background()
	h := newHome(t)
	snap := loadTiny(t, h, 3, d0)
	pre := shards(t, h, snap, 2, 7, policy.Default())
	merged, err := merge.Execute(ctx, h, merge.Request{Parts: []string{pre}, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	single, err := plan.Execute(ctx, h, plan.Request{Mode: engine.Preassign, Snapshot: snap, D0: engine.DayOf(d0), Days: 7, Policy: policy.Default(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		from string
		n    int
		want string
	}{
		{"", 2, "a run shard needs a stock quota"},
		{single.Manifest.RunID, 2, "is not a merged preassign"},
		{merged.Manifest.RunID, 3, "was planned in 2 shards, this run in 3"},
		{"no-such-run", 2, `run "no-such-run" not found`},
	}
	for _, c := range cases {
		_, err := plan.Execute(ctx, h, plan.Request{Mode: engine.Assign, Snapshot: snap, D0: engine.DayOf(d0), Days: 7, Policy: policy.Default(),
			OutDir: t.TempDir(), Shard: shard.Spec{Index: 0, Count: c.n}, QuotaFrom: c.from, Version: "test"})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--quota-from %q with %d shards: error %v, want one saying %q", c.from, c.n, err, c.want)
		}
	}
}

// TestQuotaFromAFolder: engines that fix every path in advance merge the
// preassign into a folder (--out, --no-save) and give that folder to the
// run shards; the run's merge finds it again.
func TestQuotaFromAFolder(t *testing.T) {
	ctx := context.Background()
	h := newHome(t)
	snap := loadTiny(t, h, 3, d0)
	pre := shards(t, h, snap, 2, 7, policy.Default())
	quota := filepath.Join(t.TempDir(), "quota")
	if _, err := merge.Execute(ctx, h, merge.Request{Parts: []string{pre}, OutDir: quota, NoSave: true, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	parts := filepath.Join(t.TempDir(), "run")
	for i := 0; i < 2; i++ {
		if _, err := plan.Execute(ctx, h, plan.Request{Mode: engine.Assign, Snapshot: snap, D0: engine.DayOf(d0), Days: 7, Policy: policy.Default(),
			OutDir: parts, Shard: shard.Spec{Index: i, Count: 2}, QuotaFrom: quota, Version: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := merge.Execute(ctx, h, merge.Request{Parts: []string{parts}, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Manifest.Shards.Quota == nil || out.Manifest.Shards.Quota.Run != quota {
		t.Errorf("merged run's quota %+v, want the folder %s", out.Manifest.Shards.Quota, quota)
	}
	checkRun(t, h, snap, out.RunDir, out.Manifest)
}

// TestRunShardsOptimalAllocator: run shards may each plan with the optimal
// allocator within their quota; the parts and the merged run say so, the
// merged run passes the checker, and parts of different allocators are
// refused.
func TestRunShardsOptimalAllocator(t *testing.T) {
	ctx := context.Background()
	h := newHome(t)
	snap := loadTiny(t, h, 3, d0)
	p := scarce()
	pre := shards(t, h, snap, 2, 14, p)
	quota, err := merge.Execute(ctx, h, merge.Request{Parts: []string{pre}, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	plant := func(parts string, i int, alloc engine.Allocator) {
		t.Helper()
		_, err := plan.Execute(ctx, h, plan.Request{Mode: engine.Assign, Snapshot: snap, D0: engine.DayOf(d0), Days: 14,
			Policy: p, Threads: 2, OutDir: parts, Shard: shard.Spec{Index: i, Count: 2}, ShardSource: "test", Version: "test",
			QuotaFrom: quota.Manifest.RunID, Allocator: alloc})
		if err != nil {
			t.Fatal(err)
		}
	}
	optimal := filepath.Join(t.TempDir(), "optimal")
	plant(optimal, 0, engine.Optimal)
	plant(optimal, 1, engine.Optimal)
	out, err := merge.Execute(ctx, h, merge.Request{Parts: []string{optimal}, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Manifest.Allocator != "optimal" {
		t.Errorf("merged run of optimal shards says allocator %q", out.Manifest.Allocator)
	}
	checkRun(t, h, snap, out.RunDir, out.Manifest)

	mixed := filepath.Join(t.TempDir(), "mixed")
	plant(mixed, 0, engine.Optimal)
	plant(mixed, 1, engine.Greedy)
	if _, err := merge.Execute(ctx, h, merge.Request{Parts: []string{mixed}, Version: "test"}); err == nil || !strings.Contains(err.Error(), "allocator") {
		t.Errorf("parts of the optimal and the greedy allocator merged: error %v, want one naming the allocator", err)
	}
}
