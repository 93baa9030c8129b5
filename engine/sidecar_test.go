package engine

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/shard"
	queries "github.com/assign-dev/assign/sql"
	"github.com/assign-dev/assign/store"
)

// sidecarSnapshot writes a snapshot file of the synthetic extract, with its
// derived tables, a load id and its engine sidecar beside it, and returns
// its path.
func sidecarSnapshot(t testing.TB, users, snacks, seed int, extra ...string) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "snap.duckdb")
	db, err := duck.OpenFile(ctx, path, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fillSynthetic(t, db, users, snacks, seed)
	for _, q := range extra {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := DeriveTables(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "CREATE TABLE assign_meta (key VARCHAR NOT NULL, value VARCHAR NOT NULL); INSERT INTO assign_meta VALUES ('load_id', 'load-1')"); err != nil {
		t.Fatal(err)
	}
	if err := WriteSidecar(ctx, db, store.SidecarPath(path), "load-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	return path
}

// openSnapshot opens the snapshot file at path (from sidecarSnapshot) for
// the test, closed at its end.
func openSnapshot(t testing.TB, path string) *duck.DB {
	t.Helper()
	db, err := duck.OpenSnapshot(context.Background(), path, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// logCapture is a debug-level logger whose text a test reads.
func logCapture() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

// loadBoth loads opt's inputs through SQL and through the sidecar (which
// must be used when wantSidecar) and fails unless they are the same.
func loadBoth(t *testing.T, db *duck.DB, opt LoadOptions, wantSidecar bool) (*Inputs, *Inputs) {
	t.Helper()
	viaSQL, viaFile, log := loadCompared(t, db, opt)
	if used := strings.Contains(log, "query=sidecar"); used != wantSidecar {
		t.Fatalf("sidecar used = %v, want %v; log:\n%s", used, wantSidecar, log)
	}
	if wantSidecar && viaFile.SidecarRebuild != "" {
		t.Fatalf("the sidecar was read, yet the inputs ask to rebuild it (%s)", viaFile.SidecarRebuild)
	}
	return viaSQL, viaFile
}

// loadCompared loads opt's inputs through SQL only, then as opt says, and
// fails unless they are the same; it returns both and the second load's
// log.
func loadCompared(t *testing.T, db *duck.DB, opt LoadOptions) (viaSQL, viaFile *Inputs, log string) {
	t.Helper()
	ctx := context.Background()
	sqlOpt := opt
	sqlOpt.NoSidecar = true // a prefetch in opt is not taken
	viaSQL, err := LoadInputs(ctx, db, sqlOpt)
	if err != nil {
		t.Fatal(err)
	}
	logger, buf := logCapture()
	opt.Logger = logger
	viaFile, err = LoadInputs(ctx, db, opt)
	if err != nil {
		t.Fatal(err)
	}
	if diff := inputsDiff(viaSQL, viaFile); diff != "" {
		t.Fatalf("inputs through the sidecar differ from SQL's: %s", diff)
	}
	return viaSQL, viaFile, buf.String()
}

// closingDeliveries adds deliveries of the requested snack the day
// before, on the day and the day after some requests: the last two close
// them (inputs_requests).
const closingDeliveries = `INSERT INTO deliveries (user_id, snack_id, shipped_on)
	SELECT user_id, snack_id, CAST(requested_at AS DATE) + (hash(user_id * 7 + snack_id) % 3)::INT - 1
	FROM requests WHERE hash(user_id * 13 + snack_id) % 3 = 0`

// windowPolicy is the default policy with the given repeat window and
// never-again threshold.
func windowPolicy(window, never int) policy.Policy {
	p := policy.Default()
	p.RepeatWindowDays, p.NeverAgainRating = window, never
	return p
}

// someClosed fails unless in (loaded for opt) holds some but not all of
// the requests inputs_requests_all returns: a delivery closed the others.
func someClosed(t *testing.T, db *duck.DB, opt LoadOptions, in *Inputs) {
	t.Helper()
	var all int64
	q := queries.Render("inputs_requests_all", map[string]string{"dend": (opt.D0 + Day(opt.Days-1)).String()})
	if err := db.QueryArrow(context.Background(), q, func(rec arrow.RecordBatch) error { all += rec.NumRows(); return nil }); err != nil {
		t.Fatal(err)
	}
	if open := int64(len(in.ReqSnack)); open == 0 || open >= all {
		t.Fatalf("%d open requests of %d: the case tests no closed or no open request", open, all)
	}
}

// normalInputs returns a copy of in in which the per-user lists whose
// order SQL leaves open are sorted, and the deliveries are one list of
// (sidx, day) per user.
func normalInputs(in *Inputs) (*Inputs, [][][2]int64) {
	c := *in
	c.SidecarRebuild = "" // says how they were read, not what
	sortCSR := func(start []int32, keys []int32, vals ...any) {
		for u := 0; u+1 < len(start); u++ {
			lo, hi := int(start[u]), int(start[u+1])
			idx := make([]int, hi-lo)
			for i := range idx {
				idx[i] = lo + i
			}
			slices.SortStableFunc(idx, func(a, b int) int { return int(keys[a] - keys[b]) })
			for _, v := range append([]any{keys}, vals...) {
				switch a := v.(type) {
				case []int32:
					tmp := make([]int32, len(idx))
					for i, j := range idx {
						tmp[i] = a[j]
					}
					copy(a[lo:hi], tmp)
				case []int64:
					tmp := make([]int64, len(idx))
					for i, j := range idx {
						tmp[i] = a[j]
					}
					copy(a[lo:hi], tmp)
				}
			}
		}
	}
	c.AffCat, c.AffN, c.AffSum = slices.Clone(in.AffCat), slices.Clone(in.AffN), slices.Clone(in.AffSum)
	sortCSR(c.AffStart, c.AffCat, c.AffN, c.AffSum)
	c.BadSnack, c.BadRating = slices.Clone(in.BadSnack), slices.Clone(in.BadRating)
	sortCSR(c.BadStart, c.BadSnack, c.BadRating)
	c.NGTag = slices.Clone(in.NGTag)
	sortCSR(c.NGStart, c.NGTag)
	c.PrefCat, c.PrefW = slices.Clone(in.PrefCat), slices.Clone(in.PrefW)
	sortCSR(c.PrefStart, c.PrefCat, c.PrefW)
	del := make([][][2]int64, in.NumUsers())
	for u := range del {
		in.deliveryRows(int32(u), func(from, to int32) {
			for j := from; j < to; j++ {
				s, d := in.Delivery(j)
				del[u] = append(del[u], [2]int64{int64(s), int64(d)})
			}
		})
		slices.SortFunc(del[u], func(a, b [2]int64) int {
			if a[0] != b[0] {
				return int(a[0] - b[0])
			}
			return int(a[1] - b[1])
		})
	}
	c.DelSegStart, c.DelSegFrom, c.DelSegTo, c.DelSnack, c.DelSnackHi, c.DelDay, c.DelBase = nil, nil, nil, nil, nil, nil, 0
	return &c, del
}

// inputsDiff names the first field where a and b differ, up to the order
// SQL leaves open.
func inputsDiff(a, b *Inputs) string {
	na, da := normalInputs(a)
	nb, db := normalInputs(b)
	if !reflect.DeepEqual(da, db) {
		for u := range da {
			if !reflect.DeepEqual(da[u], db[u]) {
				return fmt.Sprintf("deliveries of user %d: %v vs %v", a.UserID[u], da[u], db[u])
			}
		}
		return "deliveries"
	}
	if a.DelBase != b.DelBase {
		return fmt.Sprintf("DelBase %s vs %s", a.DelBase, b.DelBase)
	}
	va, vb := reflect.ValueOf(na).Elem(), reflect.ValueOf(nb).Elem()
	for i := 0; i < va.NumField(); i++ {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			return "field " + va.Type().Field(i).Name
		}
	}
	return ""
}

// TestSidecarInputsEqualSQL: for several policies (repeat windows, never-
// again thresholds), horizons, a shard, one user and a list of users, the
// inputs read through the sidecar are the SQL path's, and so are the
// boxes.
func TestSidecarInputsEqualSQL(t *testing.T) {
	// Deliveries of the requested snack the day before, on the day and the
	// day after some requests: the last two close them (inputs_requests),
	// which the sidecar's reader must tell from its rows (openRequests).
	path := sidecarSnapshot(t, 1500, 120, 3, closingDeliveries)
	ctx := context.Background()
	db := openSnapshot(t, path)
	pol := windowPolicy
	cases := []struct {
		name string
		opt  LoadOptions
	}{
		{"default", LoadOptions{D0: d0Test, Days: 14, Policy: policy.Default()}},
		{"window=0,never=0", LoadOptions{D0: d0Test, Days: 28, Policy: pol(0, 0)}},
		{"window=1,never=5", LoadOptions{D0: d0Test, Days: 7, Policy: pol(1, 5)}},
		{"window=30,never=1", LoadOptions{D0: d0Test - 20, Days: 28, Policy: pol(30, 1)}},
		{"window=3650,never=3", LoadOptions{D0: d0Test + 40, Days: 1, Policy: pol(3650, 3)}},
		{"window before history", LoadOptions{D0: d0Test - 10, Days: 40, Policy: pol(500, 2)}},
		{"after history", LoadOptions{D0: d0Test + 500, Days: 5, Policy: pol(180, 2)}},
		{"shard 1/3", LoadOptions{D0: d0Test, Days: 28, Policy: policy.Default(), Shard: shard.Spec{Index: 1, Count: 3}}},
		{"shard 0/1", LoadOptions{D0: d0Test, Days: 28, Policy: pol(60, 4), Shard: shard.Spec{Index: 0, Count: 1}}},
		{"one user", LoadOptions{D0: d0Test, Days: 28, Policy: policy.Default(), UserID: 17, OnlyUser: true}},
		{"users", LoadOptions{D0: d0Test, Days: 14, Policy: pol(90, 2), Users: []int64{3, 5, 700, 1499, 99999}}},
	}
	// The same read by 3 goroutines taking chunks of the users (see
	// chunkQueue): whichever goroutine reads a chunk, the inputs are equal.
	for _, c := range cases[:3] {
		c.name += ", 3 readers"
		c.opt.Threads = 3
		cases = append(cases, c)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.opt.Threads == 3 {
				defer func(n int) { sidecarPartUsers = n }(sidecarPartUsers)
				sidecarPartUsers = 64
			}
			viaSQL, viaFile := loadBoth(t, db, c.opt, true)
			if viaSQL.NumUsers() == 0 || len(viaSQL.DelDay) == 0 && c.name != "after history" {
				t.Fatalf("a case without users or deliveries tests nothing: %d users, %d deliveries", viaSQL.NumUsers(), len(viaSQL.DelDay))
			}
			if c.name == "default" {
				// The sidecar closes requests itself (openRequests): some
				// must be closed by a delivery for this to test it.
				someClosed(t, db, c.opt, viaFile)
			}
			for _, mode := range []Mode{Preassign, Assign} {
				a, err := Run(ctx, viaSQL, Options{Policy: c.opt.Policy, Mode: mode, Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				b, err := Run(ctx, viaFile, Options{Policy: c.opt.Policy, Mode: mode, Threads: 1})
				if err != nil {
					t.Fatal(err)
				}
				a.Timings, b.Timings = nil, nil
				a.Inputs, b.Inputs = nil, nil // compared above, up to order
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("%s: boxes differ", mode)
				}
			}
		})
	}
}

// TestChunkQueue: each goroutine takes its own run of chunks in order,
// then the last chunk of the run with the most left; every chunk is taken
// once, however many goroutines take at once.
func TestChunkQueue(t *testing.T) {
	q := newChunkQueue(10, 3) // runs 0-2, 3-5, 6-9
	var got []int
	for c, ok := q.take(0); ok; c, ok = q.take(0) {
		got = append(got, c)
	}
	if want := []int{0, 1, 2, 9, 5, 8, 4, 7, 3, 6}; !slices.Equal(got, want) {
		t.Errorf("one goroutine took %v, want %v", got, want)
	}
	if c, ok := q.take(2); ok {
		t.Errorf("an emptied queue gave chunk %d", c)
	}

	const n, workers = 1000, 4
	q = newChunkQueue(n, workers)
	taken := make([][]int, workers)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for c, ok := q.take(g); ok; c, ok = q.take(g) {
				taken[g] = append(taken[g], c)
			}
		})
	}
	wg.Wait()
	seen := make([]int, n)
	for g, cs := range taken {
		own := -1
		for _, c := range cs {
			seen[c]++
			if c >= n*g/workers && c < n*(g+1)/workers {
				if c <= own {
					t.Errorf("goroutine %d took chunk %d of its run after %d", g, c, own)
				}
				own = c
			}
		}
	}
	for c, k := range seen {
		if k != 1 {
			t.Errorf("chunk %d taken %d times", c, k)
		}
	}
}

// TestSidecarFallsBack: a damaged, stale, foreign-version or missing
// sidecar is not read, and the inputs are the SQL path's.
func TestSidecarFallsBack(t *testing.T) {
	path := sidecarSnapshot(t, 600, 80, 11)
	ctx := context.Background()
	db := openSnapshot(t, path)
	opt := LoadOptions{D0: d0Test, Days: 14, Policy: policy.Default()}
	loadBoth(t, db, opt, true)

	sb := readSidecarBytes(t, store.SidecarPath(path))
	good, h, withHeader, flip := sb.good, sb.h, sb.withHeader, sb.flip
	variants := map[string][]byte{
		"missing":             nil,
		"version 1 (older)":   withHeader(func(h *sidecarHeader) { h.Version = 1 }),
		"version 2 (older)":   withHeader(func(h *sidecarHeader) { h.Version = 2 }),
		"version 4 (newer)":   withHeader(func(h *sidecarHeader) { h.Version = 4 }),
		"other tags":          withHeader(func(h *sidecarHeader) { h.NTags++ }),
		"NG byte":             flip(h.Sec[secNG].Off + h.Sec[secNG].Len - 2),
		"preference byte":     flip(h.Sec[secPref].Off + 6),
		"NG offsets byte":     flip(h.Sec[secNGOff].Off + 13),
		"stale load id":       withHeader(func(h *sidecarHeader) { copy(h.LoadID[:], "load-2") }),
		"other catalogue":     withHeader(func(h *sidecarHeader) { h.Catalogue++ }),
		"header byte":         flip(20),
		"delivery byte":       flip(h.Sec[secDel].Off + h.Sec[secDel].Len/2),
		"last delivery byte":  flip(h.Sec[secDel].Off + h.Sec[secDel].Len - 1),
		"rating byte":         flip(h.Sec[secBad].Off + 5),
		"affinity byte":       flip(h.Sec[secAff].Off + h.Sec[secAff].Len - 3),
		"offsets byte":        flip(h.Sec[secDelOff].Off + 9),
		"user byte":           flip(h.Sec[secUsers].Off + h.Sec[secUsers].Len - 8),
		"block checksum byte": flip(h.Sec[secDel].CRCOff + 1),
		"truncated":           good[:len(good)-100],
	}
	for name, b := range variants {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x.engine")
			if b != nil {
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			o := opt
			o.SidecarPath = p
			if _, f := loadBoth(t, db, o, false); f.SidecarRebuild != p {
				t.Errorf("after the fallback, the inputs ask to rebuild %q, want %q", f.SidecarRebuild, p)
			}
		})
	}
	// One user reads a few blocks only: damage elsewhere goes unseen, and
	// the user's inputs are still exact.
	t.Run("one user, damage elsewhere", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "x.engine")
		if err := os.WriteFile(p, flip(h.Sec[secDel].Off+h.Sec[secDel].Len-1), 0o644); err != nil {
			t.Fatal(err)
		}
		o := opt
		o.SidecarPath, o.UserID, o.OnlyUser = p, 2, true
		loadBoth(t, db, o, true)
	})
	// A snapshot without a load id (loaded before the sidecar existed).
	t.Run("no load id", func(t *testing.T) {
		mem, err := duck.OpenMemory(ctx, duck.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer mem.Close()
		if _, err := mem.Exec(ctx, fmt.Sprintf("ATTACH %s AS s (READ_ONLY); CREATE TABLE m AS FROM s.main.assign_meta", duck.Quote(path))); err != nil {
			t.Fatal(err)
		}
		id, err := snapshotLoadID(ctx, mem)
		if err != nil || id != "" {
			t.Fatalf("load id of a database without assign_meta: %q, %v", id, err)
		}
	})
}

// sidecarBytes are a sidecar file's bytes and header, which a test damages
// copies of.
type sidecarBytes struct {
	good []byte
	h    sidecarHeader
}

func readSidecarBytes(t *testing.T, path string) *sidecarBytes {
	t.Helper()
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b := &sidecarBytes{good: good}
	if err := binary.Read(bytes.NewReader(good), binary.LittleEndian, &b.h); err != nil {
		t.Fatal(err)
	}
	return b
}

// withHeader is a copy with the header changed by change (and its
// checksum made to match).
func (b *sidecarBytes) withHeader(change func(h *sidecarHeader)) []byte {
	h2 := b.h
	change(&h2)
	var hb bytes.Buffer
	_ = binary.Write(&hb, binary.LittleEndian, &h2)
	_ = binary.Write(&hb, binary.LittleEndian, crc32.Checksum(hb.Bytes(), castagnoli))
	out := slices.Clone(b.good)
	copy(out, hb.Bytes())
	return out
}

// flip is a copy with one bit of byte at flipped.
func (b *sidecarBytes) flip(at uint64) []byte {
	out := slices.Clone(b.good)
	out[at] ^= 0x10
	return out
}

// TestSidecarBytes pins the sidecar's bytes for a few synthetic snapshots:
// a writer that changes how it builds the file (not the format) must write
// the same bytes, whatever order the snapshot's rows are stored in, dense
// or sparse ids, and rows whose user or snack is not in the snapshot
// (which the format leaves out). The version 1 hashes were taken with the
// writer of 5162b81 (joins to dense indexes in SQL, per-user counts
// first); version 2 added NG tags and preferences; these are version 3's
// (the users' schedules and skips added; "sparse ids" lists users twice, so
// its file holds none), the same for the first two cases as they were.
func TestSidecarBytes(t *testing.T) {
	cases := []struct {
		name, sql, want string
	}{
		{"synthetic", "", "cd5a3e3d4130320b53abfc29a32f12cd72de3550d88ec460ebf9dfc5c549698d"},
		// The same rows stored grouped by user: the same file.
		{"grouped by user", `
			CREATE OR REPLACE TABLE deliveries AS FROM deliveries ORDER BY user_id, shipped_on DESC, snack_id;
			CREATE OR REPLACE TABLE ratings AS FROM ratings ORDER BY user_id, rated_at;
			CREATE OR REPLACE TABLE user_ng AS FROM user_ng ORDER BY tag DESC, user_id DESC;
			CREATE OR REPLACE TABLE user_prefs AS FROM user_prefs ORDER BY user_id DESC, category DESC;
			CREATE OR REPLACE TABLE skips AS FROM skips ORDER BY ship_on DESC, user_id;
			CREATE OR REPLACE TABLE users AS FROM users ORDER BY status, user_id DESC`, "cd5a3e3d4130320b53abfc29a32f12cd72de3550d88ec460ebf9dfc5c549698d"},
		// Sparse ids (no dense table fits them), rows of unknown users and
		// snacks, and users listed twice.
		{"sparse ids", `
			UPDATE users SET user_id = user_id * 7919 + 1000000000000;
			UPDATE deliveries SET user_id = user_id * 7919 + 1000000000000;
			UPDATE ratings SET user_id = user_id * 7919 + 1000000000000;
			UPDATE user_ng SET user_id = user_id * 7919 + 1000000000000 WHERE user_id % 5 <> 0;
			UPDATE user_prefs SET user_id = user_id * 7919 + 1000000000000 WHERE user_id % 7 <> 0;
			UPDATE snacks SET snack_id = snack_id * 104729 - 50000000;
			UPDATE deliveries SET snack_id = snack_id * 104729 - 50000000;
			UPDATE ratings SET snack_id = snack_id * 104729 - 50000000;
			INSERT INTO deliveries VALUES (5, 104729 - 50000000, DATE '2026-01-01'), (7919 + 1000000000000, 3, DATE '2026-01-02');
			INSERT INTO ratings VALUES (5, 104729 - 50000000, 1, TIMESTAMP '2026-01-01'), (7919 + 1000000000000, 3, 2, TIMESTAMP '2026-01-01');
			INSERT INTO users FROM users WHERE user_id % 3 = 0`, "6fffd0bec10a735138b492b5c7485b9c137f6d88b68389f4c0ffacb9f9c28131"},
		// Negative and huge ids in one snapshot.
		{"negative ids", `
			CREATE OR REPLACE TABLE users AS SELECT * REPLACE (user_id::BIGINT - 1000 AS user_id) FROM users;
			CREATE OR REPLACE TABLE deliveries AS SELECT * REPLACE (user_id::BIGINT - 1000 AS user_id) FROM deliveries;
			CREATE OR REPLACE TABLE ratings AS SELECT * REPLACE (user_id::BIGINT - 1000 AS user_id) FROM ratings;
			INSERT INTO users VALUES (9223372036854775807, 'active', 8, 14, DATE '2026-03-05')`, "12bb7680b30c1422fbe19fe6b5087be3bdad5b1c04a94d6b5f21f84a488c4097"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			fillSynthetic(t, db, 1500, 120, 3)
			if c.sql != "" {
				if _, err := db.Exec(ctx, c.sql); err != nil {
					t.Fatal(err)
				}
			}
			if err := DeriveTables(ctx, db); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "x.engine")
			if err := WriteSidecar(ctx, db, path, "load-1"); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%x", sha256.Sum256(b)); got != c.want {
				t.Errorf("sidecar of %d bytes has sha256 %s, want %s", len(b), got, c.want)
			}
		})
	}
}

// TestByUserGroups: byUser groups rows by user, each user's sorted, the
// same whatever order they come in (grouped, a few runs out of place,
// shuffled past the point where it keeps every row's user), and
// sortPacked sorts any run like slices.Sort.
func TestByUserGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const nUsers, nRows = 3000, 400000
	type row struct {
		u int32
		v uint32
	}
	rows := make([]row, nRows)
	for i := range rows {
		u := int32(rng.IntN(nUsers))
		switch i % 3 {
		case 0: // by day, snacks of a day in any order
			rows[i] = row{u, uint32(rng.IntN(40))<<16 | uint32(rng.IntN(1500))}
		case 1: // small hi
			rows[i] = row{u, uint32(rng.IntN(6))<<16 | uint32(rng.IntN(1500))}
		default:
			rows[i] = row{u, rng.Uint32()}
		}
	}
	want := map[int32][]uint32{}
	for _, r := range rows {
		want[r.u] = append(want[r.u], r.v)
	}
	for _, vs := range want {
		slices.Sort(vs)
	}
	grouped := slices.Clone(rows)
	slices.SortStableFunc(grouped, func(a, b row) int { return cmp.Compare(a.u, b.u) })
	fewRuns := slices.Clone(grouped)
	copy(fewRuns, grouped[nRows/2:])
	copy(fewRuns[nRows-nRows/2:], grouped[:nRows/2])
	orders := map[string][]row{"shuffled": rows, "grouped": grouped, "two runs swapped": fewRuns}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			g := newByUser[uint32](nUsers, nRows)
			for i := 0; i < len(order); i += 1000 {
				var us []int32
				var vs []uint32
				for _, r := range order[i:min(i+1000, len(order))] {
					us, vs = append(us, r.u), append(vs, r.v)
				}
				g.add(us, vs)
			}
			if name == "shuffled" && g.rowU == nil {
				t.Fatal("shuffled rows kept as runs")
			}
			start, got, err := g.group(func() func([]uint32) {
				var tmp []uint32
				return func(run []uint32) { tmp = sortPacked(run, tmp) }
			})
			if err != nil {
				t.Fatal(err)
			}
			for u := range int32(nUsers) {
				if !slices.Equal(got[start[u]:start[u+1]], want[u]) {
					t.Fatalf("user %d: %v, want %v", u, got[start[u]:start[u+1]], want[u])
				}
			}
		})
	}
	// Runs sorted by hi, by lo, or neither, of every length up to 300.
	var tmp []uint32
	for n := range 300 {
		for k := range 3 {
			run := make([]uint32, n)
			for i := range run {
				switch k {
				case 0:
					run[i] = uint32(i/8)<<16 | uint32(rng.IntN(1<<16))
				case 1:
					run[i] = uint32(rng.IntN(16))<<16 | uint32(i*3)
				default:
					run[i] = rng.Uint32() >> uint(rng.IntN(32))
				}
			}
			w := slices.Sorted(slices.Values(run))
			tmp = sortPacked(run, tmp)
			if !slices.Equal(run, w) {
				t.Fatalf("sortPacked of %d (kind %d): %v, want %v", n, k, run, w)
			}
		}
	}
}

// TestLoadInputsSideCalendar: with a second connection (LoadOptions.Side)
// the ship calendar is computed on it beside the catalogue, and the inputs
// are those computed without it, through the sidecar and through SQL; with
// a user filter the side connection is not used.
func TestLoadInputsSideCalendar(t *testing.T) {
	path := sidecarSnapshot(t, 900, 80, 5)
	ctx := context.Background()
	db := openSnapshot(t, path)
	opened := 0
	side := func(ctx context.Context) (DB, func(), error) {
		opened++
		s, err := db.Side(ctx)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
	for _, c := range []struct {
		name     string
		opt      LoadOptions
		wantSide bool
	}{
		{"default", LoadOptions{D0: d0Test, Days: 28, Policy: policy.Default()}, true},
		{"sql", LoadOptions{D0: d0Test, Days: 14, Policy: policy.Default(), NoSidecar: true}, true},
		{"3 readers", LoadOptions{D0: d0Test - 20, Days: 28, Policy: policy.Default(), Threads: 3}, true},
		{"shard 1/3", LoadOptions{D0: d0Test, Days: 28, Policy: policy.Default(), Shard: shard.Spec{Index: 1, Count: 3}}, false},
		{"one user", LoadOptions{D0: d0Test, Days: 28, Policy: policy.Default(), UserID: 17, OnlyUser: true}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			without, err := LoadInputs(ctx, db, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			opened = 0
			opt := c.opt
			opt.Side = side
			with, err := LoadInputs(ctx, db, opt)
			if err != nil {
				t.Fatal(err)
			}
			if (opened > 0) != c.wantSide {
				t.Fatalf("side connection opened %d times, want it used = %v", opened, c.wantSide)
			}
			if without.NumUsers() == 0 {
				t.Fatal("no shipping user: the case tests nothing")
			}
			if diff := inputsDiff(without, with); diff != "" {
				t.Fatalf("inputs with the calendar on a side connection differ: %s", diff)
			}
		})
	}
	// A failing side connection fails the load, after the catalogue's
	// queries have finished with db.
	opt := LoadOptions{D0: d0Test, Days: 28, Policy: policy.Default(),
		Side: func(context.Context) (DB, func(), error) { return nil, nil, errors.New("no second connection") }}
	if _, err := LoadInputs(ctx, db, opt); err == nil || !strings.Contains(err.Error(), "no second connection") {
		t.Fatalf("err = %v, want the side connection's", err)
	}
	if _, err := LoadInputs(ctx, db, LoadOptions{D0: d0Test, Days: 7, Policy: policy.Default()}); err != nil {
		t.Fatalf("db after a failed side connection: %v", err)
	}
}
