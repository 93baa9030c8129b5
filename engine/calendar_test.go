package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/shard"
)

// TestCalendarEqualsSQL: the ship calendar computed in Go (loadCalendar)
// is inputs_prepare_users' eng_ship and eng_users, for horizons that start
// before, at and after the users' next ship dates, with skips, a shard and
// one user.
func TestCalendarEqualsSQL(t *testing.T) {
	ctx := context.Background()
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fillSynthetic(t, db, 2000, 60, 5)
	// Skips on the first and last day of a horizon, and a cadence of 1.
	if _, err := db.Exec(ctx, `INSERT INTO skips SELECT user_id, DATE '2026-03-02' FROM users WHERE user_id % 7 = 0;
		INSERT INTO skips SELECT user_id, DATE '2026-03-15' FROM users WHERE user_id % 11 = 0;
		UPDATE users SET cadence_days = 1 WHERE user_id % 13 = 0`); err != nil {
		t.Fatal(err)
	}
	if err := DeriveTables(ctx, db); err != nil {
		t.Fatal(err)
	}
	cases := []LoadOptions{
		{D0: d0Test, Days: 14},
		{D0: d0Test - 2, Days: 1},
		{D0: d0Test + 3, Days: 60},
		{D0: d0Test + 400, Days: 28},
		{D0: d0Test, Days: 28, Shard: shard.Spec{Index: 2, Count: 3}},
		{D0: d0Test, Days: 28, UserID: 26, OnlyUser: true},
		{D0: d0Test, Days: 28, Users: []int64{1, 7, 13, 5000}},
	}
	// The same on 3 goroutines, each a range of the users.
	for _, c := range cases {
		c.Threads = 3
		cases = append(cases, c)
	}
	for i, opt := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if opt.Threads == 3 {
				defer func(n int) { calendarPartRows = n }(calendarPartRows)
				calendarPartRows = 64
			}
			opt.Policy, opt.NoSidecar = policy.Default(), true
			in, err := LoadInputs(ctx, db, opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(in.ShipDay) == 0 {
				t.Fatal("no ship dates: the case tests nothing")
			}
			var uidx []int32
			var ids []int64
			var box []int32
			if err := db.QueryArrow(ctx, "SELECT uidx, user_id::BIGINT, box_size::INTEGER FROM eng_users ORDER BY uidx", func(rec arrow.RecordBatch) error {
				var err error
				if uidx, err = appendInt32(uidx, "uidx", rec.Column(0)); err != nil {
					return err
				}
				if ids, err = appendInt64(ids, "user_id", rec.Column(1)); err != nil {
					return err
				}
				box, err = appendInt32(box, "box_size", rec.Column(2))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids, in.UserID) || !slices.Equal(box, in.BoxSize) {
				t.Fatalf("users differ: SQL %d, Go %d", len(ids), len(in.UserID))
			}
			var su []int32
			var sd []int32
			if err := db.QueryArrow(ctx, "SELECT u.uidx, s.ship_on FROM eng_ship s JOIN eng_users u USING (user_id) ORDER BY 1, 2", func(rec arrow.RecordBatch) error {
				var err error
				if su, err = appendInt32(su, "uidx", rec.Column(0)); err != nil {
					return err
				}
				sd, err = appendInt32(sd, "ship_on", rec.Column(1))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(sd) != len(in.ShipDay) {
				t.Fatalf("%d ship dates in SQL, %d in Go", len(sd), len(in.ShipDay))
			}
			for j := range sd {
				u := su[j]
				if j < int(in.ShipStart[u]) || j >= int(in.ShipStart[u+1]) || Day(sd[j]) != in.ShipDay[j] {
					t.Fatalf("ship date %d: SQL user %d on %s, Go %s", j, u, Day(sd[j]), in.ShipDay[j])
				}
			}
		})
	}
}

// TestUidxOfFind: uidxOf.find agrees with a map of the ids for queries in
// ascending order (with ids that do not ship, repeated), random order and
// descending order, and for ids below and above every id.
func TestUidxOfFind(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	for _, n := range []int{0, 1, 2, 5, 100, 5000} {
		ids := make([]int64, 0, n)
		at := map[int64]int32{}
		for v := int64(-3); len(ids) < n; v += 1 + rng.Int64N(3) {
			at[v] = int32(len(ids))
			ids = append(ids, v)
		}
		top := int64(3*n + 10)
		var asc, rnd []int64
		for v := int64(-10); v <= top; v++ {
			for range rng.IntN(3) {
				asc = append(asc, v)
			}
			rnd = append(rnd, v)
		}
		rng.Shuffle(len(rnd), func(i, j int) { rnd[i], rnd[j] = rnd[j], rnd[i] })
		desc := slices.Clone(asc)
		slices.Reverse(desc)
		for name, qs := range map[string][]int64{"ascending": asc, "random": rnd, "descending": desc} {
			m := &uidxOf{ids: ids}
			for _, id := range qs {
				want, ok := at[id]
				if !ok {
					want = -1
				}
				if got := m.find(id); got != want {
					t.Fatalf("n=%d %s: find(%d) = %d, want %d", n, name, id, got, want)
				}
			}
		}
	}
}

// TestCalendarRowOrder: the calendar does not depend on the order in which
// the users' rows come (the snapshot stores them by user_id, which
// loadCalendar then walks as they come), and a user_id on two rows fails.
func TestCalendarRowOrder(t *testing.T) {
	ctx := context.Background()
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fillSynthetic(t, db, 1500, 60, 7)
	if _, err := db.Exec(ctx, `INSERT INTO skips SELECT user_id, DATE '2026-03-09' FROM users WHERE user_id % 5 = 0`); err != nil {
		t.Fatal(err)
	}
	if err := DeriveTables(ctx, db); err != nil {
		t.Fatal(err)
	}
	defer func(n int) { calendarPartRows = n }(calendarPartRows)
	calendarPartRows = 100
	opt := LoadOptions{D0: d0Test, Days: 28, Policy: policy.Default(), NoSidecar: true}
	load := func() (*Inputs, error) {
		// On one goroutine and on 4 (each a range of the users): the same.
		one := opt
		one.Threads = 1
		a, err := LoadInputs(ctx, db, one)
		four := opt
		four.Threads = 4
		b, err4 := LoadInputs(ctx, db, four)
		if (err == nil) != (err4 == nil) || err != nil && err.Error() != err4.Error() {
			t.Fatalf("1 goroutine: %v, 4: %v", err, err4)
		}
		if err == nil && (!slices.Equal(a.UserID, b.UserID) || !slices.Equal(a.BoxSize, b.BoxSize) ||
			!slices.Equal(a.ShipStart, b.ShipStart) || !slices.Equal(a.ShipDay, b.ShipDay)) {
			t.Fatal("the calendar on 4 goroutines differs from 1's")
		}
		return a, err
	}
	sorted, err := load()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `CREATE OR REPLACE TABLE users AS SELECT * FROM users ORDER BY hash(user_id * 31)`); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	if err := db.QueryArrow(ctx, "SELECT user_id::BIGINT FROM users WHERE status = 'active'", func(rec arrow.RecordBatch) error {
		var err error
		ids, err = appendInt64(ids, "user_id", rec.Column(0))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if slices.IsSorted(ids) {
		t.Fatal("the users' rows are still in user_id order: the case tests nothing")
	}
	shuffled, err := load()
	if err != nil {
		t.Fatal(err)
	}
	if len(sorted.ShipDay) == 0 || !slices.Equal(sorted.UserID, shuffled.UserID) || !slices.Equal(sorted.BoxSize, shuffled.BoxSize) ||
		!slices.Equal(sorted.ShipStart, shuffled.ShipStart) || !slices.Equal(sorted.ShipDay, shuffled.ShipDay) {
		t.Fatalf("the calendar depends on the rows' order: %d/%d users, %d/%d dates",
			len(sorted.UserID), len(shuffled.UserID), len(sorted.ShipDay), len(shuffled.ShipDay))
	}
	for _, order := range []string{"user_id", "hash(user_id * 31)"} {
		if _, err := db.Exec(ctx, `CREATE OR REPLACE TABLE users AS SELECT * FROM (SELECT * FROM users UNION ALL (SELECT * FROM users WHERE status = 'active' ORDER BY user_id LIMIT 1)
			UNION ALL (SELECT * FROM users WHERE status = 'active' ORDER BY user_id LIMIT 1 OFFSET 700)) ORDER BY `+order); err != nil {
			t.Fatal(err)
		}
		if _, err := load(); err == nil || !strings.Contains(err.Error(), "has two rows") {
			t.Fatalf("rows by %s, a user twice: err = %v, want two rows", order, err)
		}
		if _, err := db.Exec(ctx, `CREATE OR REPLACE TABLE users AS SELECT DISTINCT ON (user_id) * FROM users`); err != nil {
			t.Fatal(err)
		}
	}
}
