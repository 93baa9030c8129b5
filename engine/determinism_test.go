package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/policy"
)

// syntheticInputs loads the engine inputs of a random SQL-made extract.
func syntheticInputs(t testing.TB, users, snacks, seed int, d0 Day, days int, p policy.Policy, extra ...string) *Inputs {
	t.Helper()
	ctx := context.Background()
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
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
	in, err := LoadInputs(ctx, db, LoadOptions{D0: d0, Days: days, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

var d0Test = Day(20514) // 2026-03-02

// TestDeterministicAcrossThreads: the same inputs give the same boxes, lots
// and coverage for any number of threads, in both modes.
func TestDeterministicAcrossThreads(t *testing.T) {
	p := policy.Default()
	in := syntheticInputs(t, 3000, 200, 7, d0Test, 21, p)
	for _, mode := range []Mode{Preassign, Assign} {
		var base *Result
		for _, threads := range []int{1, 2, 3, 8} {
			res, err := Run(context.Background(), in, Options{Policy: p, Mode: mode, Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			res.Timings = nil
			if base == nil {
				base = res
				continue
			}
			if !reflect.DeepEqual(base, res) {
				t.Fatalf("%s: threads=%d differs from threads=1", mode, threads)
			}
		}
		if n := countLines(base); n == 0 {
			t.Fatalf("%s: no box lines; the synthetic extract is broken", mode)
		}
	}
}

// TestPreassignProgress: the workers tell progress as they go, under a
// lock: never backwards, in a few dozen steps, ending at every box; a
// cancelled job stops with the context's error.
func TestPreassignProgress(t *testing.T) {
	p := policy.Default()
	in := syntheticInputs(t, 3000, 200, 7, d0Test, 21, p)
	for _, threads := range []int{1, 3} {
		var mu sync.Mutex
		var got []int
		total := -1
		_, err := Run(context.Background(), in, Options{Policy: p, Mode: Preassign, Threads: threads, Progress: func(done, tot int) {
			mu.Lock()
			defer mu.Unlock()
			got, total = append(got, done), tot
		}})
		if err != nil {
			t.Fatal(err)
		}
		if total != len(in.ShipDay) || len(got) < 8 || len(got) > 40 || got[len(got)-1] != total || !slices.IsSorted(got) || got[0] <= 0 {
			t.Errorf("threads %d: progress %v of %d, want a few dozen rising steps to %d", threads, got, total, len(in.ShipDay))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Run(ctx, in, Options{Policy: p, Mode: Preassign, Threads: 2, Progress: func(done, total int) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled at the first progress: err %v, want context.Canceled", err)
	}
}

// TestOptimalDeterministicAcrossThreads: the optimal allocator gives the same
// boxes, lots and certificate (prices, bounds) for any number of threads,
// under scarce stock where the exchange phases do real work.
func TestOptimalDeterministicAcrossThreads(t *testing.T) {
	p := policy.Default()
	in := syntheticInputs(t, 2000, 120, 5, d0Test, 7, p)
	for l := range in.LotQty {
		in.LotQty[l] /= 10
	}
	var base *Result
	for _, threads := range []int{1, 2, 3, 8} {
		res, err := Run(context.Background(), in, Options{Policy: p, Mode: Assign, Threads: threads, Allocator: Optimal})
		if err != nil {
			t.Fatal(err)
		}
		res.Timings = nil
		for i := range res.Optimal.Dates {
			res.Optimal.Dates[i].Seconds = 0
		}
		if base == nil {
			base = res
			continue
		}
		if !reflect.DeepEqual(base.Dates, res.Dates) {
			t.Fatalf("threads=%d: boxes differ from threads=1", threads)
		}
		if !reflect.DeepEqual(base.Optimal, res.Optimal) {
			t.Fatalf("threads=%d: certificate differs from threads=1", threads)
		}
	}
	priced := 0
	for _, c := range base.Optimal.Dates {
		priced += len(c.Prices)
	}
	if priced == 0 {
		t.Fatal("no snack was priced: the stock is not scarce enough to test the exchange phases")
	}
}

func countLines(res *Result) int {
	n := 0
	for _, boxes := range res.Dates {
		for _, f := range boxes.Filled {
			n += int(f)
		}
	}
	return n
}

// TestSpeculationMatchesSequentialGreedy: the run-mode allocator's parallel
// precomputation gives exactly the boxes of the plain sequential greedy that
// chooses every box at the user's turn, under scarce stock where many
// precomputed boxes go stale. With two or more threads the next date's
// boxes are chosen during a date's commit (greedyCommitAhead); seed 4 has
// users shipping every day or every other day, whom that leaves out.
func TestSpeculationMatchesSequentialGreedy(t *testing.T) {
	p := policy.Default()
	for _, seed := range []int{1, 2, 3, 4} {
		var extra []string
		if seed == 4 {
			extra = []string{"UPDATE users SET cadence_days = 1 + user_id % 2 WHERE user_id % 5 = 0"}
		}
		in := syntheticInputs(t, 2000, 120, seed, d0Test, 10, p, extra...)
		// Scarce stock: a tenth of every lot.
		for l := range in.LotQty {
			in.LotQty[l] /= 10
		}
		slow := sequentialGreedy(t, in, p)
		for _, threads := range []int{2, 3} {
			fast, err := Run(context.Background(), in, Options{Policy: p, Mode: Assign, Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			for di := range fast.Dates {
				f, s := fast.Dates[di], slow.Dates[di]
				if !reflect.DeepEqual(f, s) {
					t.Fatalf("seed %d, threads %d: date %s differs from the sequential greedy", seed, threads, f.Day)
				}
			}
		}
		fast, err := Run(context.Background(), in, Options{Policy: p, Mode: Assign, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		short := 0
		for _, boxes := range fast.Dates {
			for i, u := range boxes.Users {
				if boxes.Filled[i] < in.BoxSize[u] {
					short++
				}
			}
		}
		if short == 0 {
			t.Fatalf("seed %d: stock was not scarce enough to test anything", seed)
		}
	}
}

// sequentialGreedy is the reference allocator written the obvious way: per
// date, order users, then let each choose against the stock left now.
func sequentialGreedy(t *testing.T, in *Inputs, p policy.Policy) *Result {
	e, err := newEngine(in, Options{Policy: p, Mode: Assign, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	w := e.newWorker()
	st := newStock(in, p.MinShelfDays)
	res := &Result{Dates: make([]DateBoxes, in.Days)}
	for di := range res.Dates {
		res.Dates[di].Day = in.D0 + Day(di)
	}
	e.placeUsers(res.Dates)
	for di := range res.Dates {
		boxes := &res.Dates[di]
		st.begin(boxes.Day)
		n := len(boxes.Users)
		boxes.Slot = make([]int32, n+1)
		for i, u := range boxes.Users {
			boxes.Slot[i+1] = boxes.Slot[i] + in.BoxSize[u]
		}
		m := boxes.Slot[n]
		boxes.Filled, boxes.Snack, boxes.Score, boxes.Requested, boxes.Lot = make([]int32, n), make([]int32, m), make([]float64, m), make([]bool, m), make([]int32, m)
		count := make([]int, n)
		for i, u := range boxes.Users {
			w.prepare(u)
			w.eligible(u, di, boxes.Day, w.elig)
			count[i] = w.elig.andCount(st.has)
		}
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		for i := 1; i < n; i++ { // insertion sort: obviously stable by index
			for j := i; j > 0 && count[order[j]] < count[order[j-1]]; j-- {
				order[j], order[j-1] = order[j-1], order[j]
			}
		}
		for _, i := range order {
			u := boxes.Users[i]
			w.prepare(u)
			w.eligible(u, di, boxes.Day, w.elig)
			w.elig.and(st.has)
			w.choose(u, boxes.Day, w.elig, &w.box)
			lots := make([]int32, w.box.len())
			for j, s := range w.box.snack {
				lots[j] = st.take(s)
			}
			e.record(boxes, i, &w.box, lots)
			e.remember(u, boxes.Day, w.box.snack)
		}
	}
	return res
}

// fillSynthetic writes the tables of a random SQL-made extract
// (testdata/synthetic.sql) into db.
func fillSynthetic(t testing.TB, db *duck.DB, users, snacks, seed int) {
	t.Helper()
	b, err := os.ReadFile("testdata/synthetic.sql")
	if err != nil {
		t.Fatal(err)
	}
	q := strings.NewReplacer(":users", fmt.Sprint(users), ":snacks", fmt.Sprint(snacks), ":seed", fmt.Sprint(seed)).Replace(string(b))
	if _, err := db.Exec(context.Background(), q); err != nil {
		t.Fatal(err)
	}
}
