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

// Lot classes by best-before date relative to as-of and the policy's
// minimum shelf life.
const (
	lotLasting  = iota // usable for a whole 28-day horizon
	lotExpiring        // usable on as-of, unusable before the horizon ends
	lotExpired         // already unusable on as-of
)

type lot struct {
	class  int
	before int32
	share  float64
	empty  bool
	qty    int32
}

var lotCountCum = cumulative([]float64{0.1, 0.17, 0.23, 0.22, 0.16, 0.12}) // 1..6 lots

// stockRecord builds the stock table from the estimated 28-day demand per
// snack: most snacks get more usable units than their estimate, the most
// demanded ones (a third of all demand) and a few others fewer, so a
// forecast shows shortages where operations would expect them. Checked
// against preassign --days 28 (engine_test.go): about 90-95% of units
// covered, the shortage on the most demanded snacks.
//
// factor (0 meaning 1) scales every lot's units afterwards, rounded up, for
// scarce or plentiful scenarios; it draws no random numbers, so the lots,
// their dates and every other table stay the same.
func stockRecord(mem memory.Allocator, seed int64, c *catalog, demand []int64, factor float64) arrow.RecordBatch {
	if factor <= 0 {
		factor = 1
	}
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
	// Popular: the most demanded snacks that together make a third of
	// the estimated demand, whatever the scale's catalogue size.
	var sum int64
	for _, d := range demand {
		sum += d
	}
	popular := make([]bool, n)
	var acc int64
	for _, i := range byDemand {
		if demand[i] == 0 || 3*acc >= sum {
			break
		}
		popular[i] = true
		acc += demand[i]
	}

	active := 0
	for i := range demand {
		if c.snacks[i].active {
			active++
		}
	}
	avg := float64(sum) / float64(max(1, active))

	b := newRecBuilder(mem, TableStock)
	ids := b.b.Field(0).(*array.Int64Builder)
	lots := b.b.Field(1).(*array.StringBuilder)
	qty := b.b.Field(2).(*array.Int32Builder)
	bb := b.b.Field(3).(*array.Date32Builder)
	asOf := c.asOf
	for i := range c.snacks {
		s := &c.snacks[i]
		cover := 1.1 + 0.9*r.Float64()
		switch {
		case s.launched > c.asOf-30:
			// New and upcoming snacks: the engine's novelty bonus makes
			// them the most demanded, and operations stock launches
			// generously, not always enough.
			cover = 0.8 + 0.5*r.Float64()
		case popular[i] || r.Float64() < 0.03:
			cover = 0.5 + 0.4*r.Float64()
		}
		units := float64(demand[i]) * cover
		if demand[i] == 0 && !s.active && r.Float64() < 0.6 {
			continue // discontinued and sold out: no lots
		}
		if s.active {
			// Every snack on sale keeps a base stock: the estimate misses
			// some snacks the engine will pick, and operations would too.
			units = max(units, avg*(0.3+0.7*r.Float64()))
		} else if demand[i] == 0 {
			units = float64(r.IntN(40))
		}
		k := 1 + pick(r, lotCountCum)
		ls := make([]lot, k)
		long := -1 // some lot lasts the whole horizon
		for j := range ls {
			switch p := r.Float64(); {
			case p < 0.08:
				ls[j].class = lotExpired
				ls[j].before = asOf - 20 + int32(r.IntN(minShelfDays+20))
			case p < 0.33:
				ls[j].class = lotExpiring
				ls[j].before = asOf + minShelfDays + int32(r.IntN(27))
			default:
				ls[j].class = lotLasting
				ls[j].before = asOf + minShelfDays + 27 + int32(r.IntN(300))
			}
			if j > 0 && r.Float64() < 0.1 {
				ls[j].class, ls[j].before = ls[j-1].class, ls[j-1].before // same date: FEFO falls back to lot_id
			}
			ls[j].empty = r.Float64() < 0.05 // kept in the extract at quantity 0
			ls[j].share = 0.2 + r.Float64()
			if ls[j].class == lotLasting && !ls[j].empty {
				long = j
			}
		}
		if long < 0 {
			ls[0] = lot{class: lotLasting, before: asOf + minShelfDays + 27 + int32(r.IntN(300)), share: 1}
		}
		// The lasting lots carry the planned cover; lots that expire in the
		// horizon add stock for its first weeks, expired ones are leftovers.
		var lasting, all float64
		for _, l := range ls {
			if !l.empty {
				all += l.share
				if l.class == lotLasting {
					lasting += l.share
				}
			}
		}
		for j := range ls {
			l := &ls[j]
			if l.empty {
				continue
			}
			var q float64
			switch l.class {
			case lotLasting:
				q = units * l.share / lasting
			case lotExpiring:
				q = 0.5 * units * l.share / all
			case lotExpired:
				q = 0.05*units + float64(r.IntN(20))
			}
			l.qty = int32(math.Ceil(q * factor))
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
