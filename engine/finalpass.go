package engine

import (
	"fmt"
	"slices"

	"github.com/assign-dev/assign/policy"
)

// A stock-aware run split by user into shards gives every shard a quota of
// each lot and runs the reference greedy within it. Units one shard left
// unused may be what another shard's boxes ran short of; the merge's final
// pass gives them to the short boxes. It only adds lines: what the shards
// chose stays (a line dropped now could reopen a request or free a snack a
// later box was chosen without), and a snack already in one of the user's
// later boxes is never added (its delivery would block that box's line).

// PlannedBox is a box a shard chose: its lines in position order.
type PlannedBox struct {
	Snack     []int32 // sidx
	Score     []float64
	Requested []bool
	Lot       []int32 // lot index in Inputs
}

// Len is the number of lines.
func (b *PlannedBox) Len() int { return len(b.Snack) }

// ToppedUp is a box the final pass changed: its complete new lines (the
// shard's requested lines, then the pass's requested lines, then the
// shard's other lines, then the pass's, so requests stay first).
type ToppedUp struct {
	User  int32 // uidx
	Date  int   // date index in the horizon
	Box   PlannedBox
	Added int
	// ScoreAdded is the sum of the added lines' scores.
	ScoreAdded float64
}

// FinalPassResult is what the final pass did.
type FinalPassResult struct {
	Boxes []ToppedUp
	// Taken is, per date index and lot, the units the pass took.
	Taken [][]int32
}

// FinalPass tops up short boxes from leftover units. in holds the users
// to consider (those with a short box); planned[u] are user u's boxes on
// each of its ship dates in order (in.ShipDay[in.ShipStart[u]:]), as the
// shards chose them; leftover is, per lot, the units no shard took. Date by
// date, the short boxes of the date are visited in the reference greedy's
// order (eligible snacks with leftover units at the start of the date, then
// user_id); each box is completed (requests, capped pass, fill pass) from
// its eligible snacks with leftover units left, not already in it nor in
// one of the user's later boxes, each added line taking one unit FEFO.
// Boxes of earlier dates, topped up or not, count as deliveries, as in a
// run. planned is updated in place.
func FinalPass(in *Inputs, p policy.Policy, planned [][]PlannedBox, leftover []int32) (*FinalPassResult, error) {
	e, err := newEngine(in, Options{Policy: p, Mode: Assign, Threads: 1})
	if err != nil {
		return nil, err
	}
	nU := in.NumUsers()
	if len(planned) != nU || len(leftover) != len(in.LotQty) {
		return nil, fmt.Errorf("final pass: %d users' boxes for %d users, %d lots' leftovers for %d lots", len(planned), nU, len(leftover), len(in.LotQty))
	}
	byDate := make([][]int32, in.Days)
	for u := 0; u < nU; u++ {
		n := int(in.ShipStart[u+1] - in.ShipStart[u])
		if len(planned[u]) != n {
			return nil, fmt.Errorf("final pass: user %d ships %d times in the horizon but has %d boxes", in.UserID[u], n, len(planned[u]))
		}
		for j := in.ShipStart[u]; j < in.ShipStart[u+1]; j++ {
			di := int(in.ShipDay[j] - in.D0)
			byDate[di] = append(byDate[di], int32(u))
		}
	}
	e.planned = planned
	st := newStock(in, p.MinShelfDays)
	copy(st.remaining, leftover)
	res := &FinalPassResult{Taken: make([][]int32, in.Days)}
	w := e.newWorker()
	next := make([]int, nU) // per user: index of its box on the current date
	cand := newBitset(in.NumSnacks())
	var out box

	// candidates fills cand with u's eligible snacks with leftover units,
	// less those in its box k or in a later box, and returns how many.
	candidates := func(u int32, di int, d Day, k int) int {
		w.prepare(u)
		w.eligible(u, di, d, cand)
		cand.and(st.has)
		for _, b := range planned[u][k:] {
			for _, s := range b.Snack {
				cand.clear(s)
			}
		}
		return cand.count()
	}

	for di := 0; di < in.Days; di++ {
		d := in.D0 + Day(di)
		st.begin(d)
		taken := make([]int32, len(in.LotQty))
		type turn struct {
			u     int32
			count int
		}
		var short []turn
		for _, u := range byDate[di] {
			if planned[u][next[u]].Len() < int(in.BoxSize[u]) {
				short = append(short, turn{u, candidates(u, di, d, next[u])})
			}
		}
		slices.SortFunc(short, func(a, b turn) int {
			if a.count != b.count {
				return a.count - b.count
			}
			return int(a.u - b.u)
		})
		for _, t := range short {
			u, k := t.u, next[t.u]
			if candidates(u, di, d, k) == 0 {
				continue
			}
			own := &planned[u][k]
			out.reset()
			clear(w.catCount)
			for j, s := range own.Snack {
				out.add(s, own.Score[j], own.Requested[j])
				w.catCount[in.SnackCat[s]]++
			}
			w.complete(u, d, cand, &out)
			added := out.len() - own.Len()
			if added == 0 {
				continue
			}
			tu := ToppedUp{User: u, Date: di, Added: added}
			lots := make([]int32, added)
			for j := range lots {
				s := out.snack[own.Len()+j]
				lots[j] = st.take(s)
				taken[lots[j]]++
				tu.ScoreAdded += out.score[own.Len()+j]
			}
			// Requests first: the shard's, then the pass's; then the rest.
			nb := PlannedBox{}
			push := func(s int32, sc float64, req bool, lot int32) {
				nb.Snack = append(nb.Snack, s)
				nb.Score = append(nb.Score, sc)
				nb.Requested = append(nb.Requested, req)
				nb.Lot = append(nb.Lot, lot)
			}
			for _, req := range []bool{true, false} {
				for j := range own.Snack {
					if own.Requested[j] == req {
						push(own.Snack[j], own.Score[j], req, own.Lot[j])
					}
				}
				for j := 0; j < added; j++ {
					if out.requested[own.Len()+j] == req {
						push(out.snack[own.Len()+j], out.score[own.Len()+j], req, lots[j])
					}
				}
			}
			*own = nb
			tu.Box = nb
			res.Boxes = append(res.Boxes, tu)
		}
		for _, u := range byDate[di] {
			e.remember(u, d, planned[u][next[u]].Snack)
			next[u]++
		}
		res.Taken[di] = taken
	}
	return res, nil
}
