package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// minShelfDays is the policy default: a lot is usable on D if best_before
// >= D + 21. Best-before dates are spread around it so that some lots are
// already unusable on as-of and some turn unusable inside a 28-day horizon.
const minShelfDays = 21

var lotCountCum = cumulative([]float64{0.1, 0.17, 0.23, 0.22, 0.16, 0.12}) // 1..6 lots

// stockRecord builds the stock table from the estimated 28-day demand per
// snack: most snacks get more usable units than their estimate, the most
// demanded twentieth (and a few others) fewer, so a forecast shows shortages
// where operations would expect them.
func stockRecord(mem memory.Allocator, seed int64, c *catalog, demand []int64) arrow.RecordBatch {
	r := rand.New(rand.NewPCG(mix64(uint64(seed)^0x570c_4b0b), mix64(uint64(seed)+0x107)))
	n := len(c.snacks)
	byDemand := make([]int, n)
	for i := range byDemand {
		byDemand[i] = i
	}
	slices.SortStableFunc(byDemand, func(a, b int) int {
		switch {
		case demand[a] > demand[b]:
			return -1
		case demand[a] < demand[b]:
			return 1
		}
		return a - b
	})
	popular := make([]bool, n)
	for _, i := range byDemand[:max(1, n/20)] {
		if demand[i] > 0 {
			popular[i] = true
		}
	}

	b := newRecBuilder(mem, TableStock)
	ids := b.b.Field(0).(*array.Int64Builder)
	lots := b.b.Field(1).(*array.StringBuilder)
	qty := b.b.Field(2).(*array.Int32Builder)
	bb := b.b.Field(3).(*array.Date32Builder)
	asOf := c.asOf
	for i := range c.snacks {
		s := &c.snacks[i]
		cover := 1.2 + 1.2*r.Float64()
		if popular[i] || r.Float64() < 0.03 {
			cover = 0.5 + 0.4*r.Float64()
		}
		units := float64(demand[i]) * cover
		if demand[i] == 0 {
			if !s.active && r.Float64() < 0.6 {
				continue // discontinued and sold out: no lots
			}
			units = float64(r.IntN(40))
		}
		k := 1 + pick(r, lotCountCum)
		type lot struct {
			qty    int32
			before int32
		}
		ls := make([]lot, k)
		shares := make([]float64, k)
		total := 0.0
		for j := range ls {
			switch p := r.Float64(); {
			case p < 0.08: // already too close to its date on as-of
				ls[j].before = asOf - 20 + int32(r.IntN(minShelfDays+20))
			case p < 0.33: // usable on as-of, not for the whole horizon
				ls[j].before = asOf + minShelfDays + int32(r.IntN(27))
			default:
				ls[j].before = asOf + minShelfDays + 27 + int32(r.IntN(300))
			}
			if j > 0 && r.Float64() < 0.1 {
				ls[j].before = ls[j-1].before // same date: FEFO falls back to lot_id
			}
			shares[j] = 0.2 + r.Float64()
			total += shares[j]
		}
		for j := range ls {
			if r.Float64() < 0.05 {
				continue // an empty lot, kept in the extract at quantity 0
			}
			q := units * shares[j] / total
			if ls[j].before < asOf+minShelfDays {
				q = q*0.3 + float64(r.IntN(20)) // leftovers nobody may ship
			}
			ls[j].qty = int32(math.Ceil(q))
		}
		for j, l := range ls {
			ids.Append(s.id)
			lots.Append(fmt.Sprintf("L%06d-%d", s.id, j+1))
			qty.Append(l.qty)
			bb.Append(arrow.Date32(l.before))
		}
	}
	return b.finish()
}
