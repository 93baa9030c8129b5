package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/assign-dev/assign/policy"
)

// TestDeliveryRunsGroupEveryOrder feeds the same rows in user order, as a
// few sorted runs (the order a snapshot usually holds), and shuffled (a
// segment almost per row), and checks that every user gets
// exactly its rows each time.
func TestDeliveryRunsGroupEveryOrder(t *testing.T) {
	const nU = 500
	rng := rand.New(rand.NewPCG(3, 4))
	type row struct {
		k, s int32
		d    Day
	}
	var rows []row
	for k := int32(0); k < nU; k++ {
		if k%7 == 3 {
			continue // users without deliveries
		}
		for range rng.IntN(12) {
			rows = append(rows, row{k, int32(rng.IntN(90)), Day(20000 + rng.IntN(200))})
		}
	}
	want := map[int32][]string{}
	for _, r := range rows {
		want[r.k] = append(want[r.k], fmt.Sprint(r.s, r.d))
	}

	sorted := slices.Clone(rows)
	// Two runs: the middle third of the table moved to the end.
	third := len(rows) / 3
	runs := append(append(slices.Clone(rows[:third]), rows[2*third:]...), rows[third:2*third]...)
	shuffled := slices.Clone(rows)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })

	for name, c := range map[string]struct {
		rows []row
	}{"user order": {sorted}, "two runs": {runs}, "shuffled": {shuffled}} {
		t.Run(name, func(t *testing.T) {
			b := &deliveryRuns{nU: nU}
			for _, r := range c.rows {
				if err := b.add(r.k, r.s, r.d); err != nil {
					t.Fatal(err)
				}
			}
			var in Inputs
			b.finish(&in)
			if name == "user order" && len(in.DelSegFrom) != len(want) {
				t.Errorf("%d segments for %d users", len(in.DelSegFrom), len(want))
			}
			total := 0
			for u := int32(0); u < nU; u++ {
				var got []string
				in.deliveryRows(u, func(from, to int32) {
					for j := from; j < to; j++ {
						s, d := in.Delivery(j)
						got = append(got, fmt.Sprint(s, d))
					}
				})
				total += len(got)
				w := slices.Clone(want[u])
				slices.Sort(got)
				slices.Sort(w)
				if !slices.Equal(got, w) {
					t.Fatalf("user %d: rows %v, want %v", u, got, w)
				}
			}
			if total != len(rows) {
				t.Errorf("%d rows in all, want %d", total, len(rows))
			}
		})
	}
	b := &deliveryRuns{nU: nU}
	if err := b.add(nU, 1, 1); err == nil {
		t.Error("an index past the users was accepted")
	}
	if err := b.add(0, 1, 70000); err == nil {
		t.Error("a day past the 16-bit offsets was accepted")
	}
}

// TestDeliveryRowsWide: snack indexes past 16 bits keep their high halves,
// in order and regrouped, and days keep their offsets from the base.
func TestDeliveryRowsWide(t *testing.T) {
	for _, shuffled := range []bool{false, true} {
		b := &deliveryRuns{nU: 4, base: 19000}
		type row struct {
			k, s int32
			d    Day
		}
		rows := []row{{0, 5, 19001}, {0, 65535, 19100}, {1, 65536, 19200}, {2, 1 << 22, 19300}, {3, 7, 19000 + 65535}}
		if shuffled {
			rows = []row{rows[3], rows[1], rows[4], rows[0], rows[2]}
		}
		for _, r := range rows {
			if err := b.add(r.k, r.s, r.d); err != nil {
				t.Fatal(err)
			}
		}
		var in Inputs
		b.finish(&in)
		if in.DelSnackHi == nil {
			t.Fatal("no high halves")
		}
		for _, r := range rows {
			found := false
			in.deliveryRows(r.k, func(from, to int32) {
				for j := from; j < to; j++ {
					if s, d := in.Delivery(j); s == r.s && d == r.d {
						found = true
					}
				}
			})
			if !found {
				t.Errorf("shuffled %v: row %v lost", shuffled, r)
			}
		}
	}
}

// TestDeliveriesStreamedAsMaterialised: the deliveries streamed out of
// DuckDB (the large case) give every user the rows of a materialised read.
func TestDeliveriesStreamedAsMaterialised(t *testing.T) {
	p := policy.Default()
	in := syntheticInputs(t, 2000, 150, 5, d0Test, 14, p)
	defer func(v int64) { streamDeliveryRows = v }(streamDeliveryRows)
	streamDeliveryRows = 0
	st := syntheticInputs(t, 2000, 150, 5, d0Test, 14, p)
	if len(in.DelSnack) == 0 || len(st.DelSnack) != len(in.DelSnack) {
		t.Fatalf("%d rows streamed, %d materialised", len(st.DelSnack), len(in.DelSnack))
	}
	rows := func(in *Inputs, u int32) []string {
		var got []string
		in.deliveryRows(u, func(from, to int32) {
			for j := from; j < to; j++ {
				s, d := in.Delivery(j)
				got = append(got, fmt.Sprint(s, d))
			}
		})
		slices.Sort(got)
		return got
	}
	for u := int32(0); u < int32(in.NumUsers()); u++ {
		if a, b := rows(in, u), rows(st, u); !slices.Equal(a, b) {
			t.Fatalf("user %d: streamed %v, materialised %v", u, b, a)
		}
	}
}
