package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/assign-dev/assign/policy"
)

// referenceBox is SPEC section 4 box selection written the plain way:
// score every eligible snack, sort by (score desc, snack_id asc), take
// requests, then the capped pass, then the fill pass. choose must agree
// with it exactly, whatever shortcut it takes.
func referenceBox(e *engine, w *worker, u int32, d Day, elig bitset) box {
	in := e.in
	k := int(in.BoxSize[u])
	var out box
	catCount := make([]int, e.nCats)
	for r := in.ReqStart[u]; r < in.ReqStart[u+1] && out.len() < k; r++ {
		if in.ReqDay[r] >= d || e.reqClosed[r] {
			continue
		}
		s := in.ReqSnack[r]
		if !elig.has(s) {
			continue
		}
		out.add(s, w.score(s, d), true)
		elig.clear(s)
		catCount[in.SnackCat[s]]++
	}
	var cands []cand
	elig.forEach(func(s int32) { cands = append(cands, cand{w.score(s, d), s}) })
	slices.SortFunc(cands, compareCand)
	taken := map[int32]bool{}
	for _, c := range cands {
		if out.len() == k {
			break
		}
		if catCount[in.SnackCat[c.s]] >= e.p.MaxPerCategory {
			continue
		}
		out.add(c.s, c.score, false)
		taken[c.s] = true
		catCount[in.SnackCat[c.s]]++
	}
	if e.p.FillIgnoringCaps {
		for _, c := range cands {
			if out.len() == k {
				break
			}
			if !taken[c.s] {
				out.add(c.s, c.score, false)
			}
		}
	}
	return out
}

// TestChooseEqualsFullRanking compares choose with referenceBox for many
// users, dates and policies, on loaded inputs and on popularity terms
// rigged for ties: exact ties, and values a few ulps apart that become
// equal once the preference term is added, ordered against snack_id.
func TestChooseEqualsFullRanking(t *testing.T) {
	base := policy.Default()
	in := syntheticInputs(t, 1500, 150, 11, d0Test, 14, base)
	capped := base
	capped.MaxPerCategory, capped.FillIgnoringCaps = 1, false
	wide := base
	wide.MaxPerCategory = 4
	none := base
	none.MaxPerCategory = 0
	newish := base
	newish.NewSnackDays = 400
	policies := map[string]policy.Policy{"default": base, "cap1-nofill": capped, "cap4": wide, "cap0": none, "new400": newish}
	rigs := map[string]func(s int, v float64) float64{
		"loaded":     func(s int, v float64) float64 { return v },
		"exact ties": func(s int, v float64) float64 { return float64(s%4) * 0.125 },
		"ulp ties": func(s int, _ float64) float64 {
			v := 0.5
			for range (s * 37) % 7 {
				v = math.Nextafter(v, 1)
			}
			return v
		},
	}
	for pname, p := range policies {
		for rname, rig := range rigs {
			t.Run(fmt.Sprintf("%s/%s", pname, rname), func(t *testing.T) {
				e, err := newEngine(in, Options{Policy: p})
				if err != nil {
					t.Fatal(err)
				}
				for s := range e.popTerm {
					e.popTerm[s] = rig(s, e.popTerm[s])
				}
				e.buildOrders()
				if e.order == nil {
					t.Fatal("no orders built")
				}
				rng := rand.New(rand.NewPCG(1, 2))
				w, ref := e.newWorker(), e.newWorker()
				refElig := newBitset(in.NumSnacks())
				var got box
				checked := 0
				for u := int32(0); u < int32(in.NumUsers()); u++ {
					for j := in.ShipStart[u]; j < in.ShipStart[u+1]; j++ {
						d := in.ShipDay[j]
						di := int(d - in.D0)
						w.prepare(u)
						ref.prepare(u)
						w.eligible(u, di, d, w.elig)
						if rng.IntN(3) == 0 { // as if stock ran out of some snacks (run mode)
							for s := int32(0); s < int32(in.NumSnacks()); s++ {
								if rng.IntN(2) == 0 {
									w.elig.clear(s)
								}
							}
						}
						copy(refElig, w.elig)
						w.choose(u, d, w.elig, &got)
						want := referenceBox(e, ref, u, d, refElig)
						if !slices.Equal(got.snack, want.snack) || !slices.Equal(got.score, want.score) || !slices.Equal(got.requested, want.requested) {
							t.Fatalf("user %d on %s: choose gave %v %v %v, the full ranking %v %v %v",
								in.UserID[u], d, got.snack, got.score, got.requested, want.snack, want.score, want.requested)
						}
						checked++
					}
				}
				if checked < 1000 {
					t.Fatalf("only %d boxes checked", checked)
				}
			})
		}
	}
}
