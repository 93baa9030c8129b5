package engine

import (
	"fmt"
	"math/rand/v2"
)

// randomDate builds the inputs of one ship date directly: nU users who all
// ship on D0, nS snacks in nC categories with distinct popularity, NG tags,
// bad ratings, open requests for some users, and one lot per snack holding
// 0 to maxQty units. Small enough for brute force and dense LPs.
func randomDate(rng *rand.Rand, nU, nS, nC, maxBox, maxQty int) *Inputs {
	in := &Inputs{D0: d0Test, Days: 1}
	for c := 0; c < nC; c++ {
		in.Categories = append(in.Categories, fmt.Sprintf("cat%d", c))
	}
	in.Tags = []string{"nuts", "gluten", "dairy"}
	in.TagStart = []int32{0}
	for s := 0; s < nS; s++ {
		in.SnackID = append(in.SnackID, int64(100+s))
		in.SnackCat = append(in.SnackCat, int32(rng.IntN(nC)))
		launched := d0Test - Day(400)
		if rng.IntN(5) == 0 {
			launched = d0Test - Day(rng.IntN(20))
		}
		in.Launched = append(in.Launched, launched)
		in.Active = append(in.Active, true)
		n := int64(rng.IntN(30))
		in.PopN = append(in.PopN, n)
		in.PopSum = append(in.PopSum, n+int64(rng.IntN(int(4*n+1))))
		if rng.IntN(4) == 0 {
			in.SnackTag = append(in.SnackTag, int32(rng.IntN(len(in.Tags))))
		}
		in.TagStart = append(in.TagStart, int32(len(in.SnackTag)))
		in.RatedPairs += n
		in.RatingSum += in.PopSum[s]
		// One lot per snack.
		in.LotSnack = append(in.LotSnack, int32(s))
		in.LotID = append(in.LotID, fmt.Sprintf("L%d", s))
		in.LotQty = append(in.LotQty, int32(rng.IntN(maxQty+1)))
		in.LotBefore = append(in.LotBefore, d0Test+400)
	}
	in.ShipStart = []int32{0}
	in.NGStart, in.PrefStart, in.AffStart, in.BadStart, in.ReqStart = []int32{0}, []int32{0}, []int32{0}, []int32{0}, []int32{0}
	for u := 0; u < nU; u++ {
		in.UserID = append(in.UserID, int64(1+u))
		in.BoxSize = append(in.BoxSize, int32(1+rng.IntN(maxBox)))
		in.ShipDay = append(in.ShipDay, d0Test)
		in.ShipStart = append(in.ShipStart, int32(len(in.ShipDay)))
		if rng.IntN(3) == 0 {
			in.NGTag = append(in.NGTag, int32(rng.IntN(len(in.Tags))))
		}
		in.NGStart = append(in.NGStart, int32(len(in.NGTag)))
		for c := 0; c < nC; c++ {
			if rng.IntN(2) == 0 {
				in.PrefCat = append(in.PrefCat, int32(c))
				in.PrefW = append(in.PrefW, int32(rng.IntN(5)-2))
			}
			if rng.IntN(2) == 0 {
				n := int32(1 + rng.IntN(4))
				in.AffCat = append(in.AffCat, int32(c))
				in.AffN = append(in.AffN, n)
				in.AffSum = append(in.AffSum, int64(n)+int64(rng.IntN(int(4*n+1))))
			}
		}
		in.PrefStart = append(in.PrefStart, int32(len(in.PrefCat)))
		in.AffStart = append(in.AffStart, int32(len(in.AffCat)))
		for j := 0; j < rng.IntN(3); j++ {
			in.BadSnack = append(in.BadSnack, int32(rng.IntN(nS)))
			in.BadRating = append(in.BadRating, 1)
		}
		in.BadStart = append(in.BadStart, int32(len(in.BadSnack)))
		if rng.IntN(3) == 0 {
			seen := map[int32]bool{}
			for j := 0; j < 1+rng.IntN(4); j++ {
				s := int32(rng.IntN(nS))
				if seen[s] {
					continue
				}
				seen[s] = true
				in.ReqSnack = append(in.ReqSnack, s)
				at := int64(d0Test-Day(1+j))*86400e6 + int64(j)
				in.ReqAt = append(in.ReqAt, at)
				in.ReqDay = append(in.ReqDay, d0Test-Day(1+j))
			}
		}
		in.ReqStart = append(in.ReqStart, int32(len(in.ReqSnack)))
	}
	// Requests of a user in (requested_at, snack) order, as LoadInputs has.
	for u := 0; u < nU; u++ {
		lo, hi := in.ReqStart[u], in.ReqStart[u+1]
		for a := lo + 1; a < hi; a++ {
			for b := a; b > lo && in.ReqAt[b] < in.ReqAt[b-1]; b-- {
				in.ReqAt[b], in.ReqAt[b-1] = in.ReqAt[b-1], in.ReqAt[b]
				in.ReqSnack[b], in.ReqSnack[b-1] = in.ReqSnack[b-1], in.ReqSnack[b]
				in.ReqDay[b], in.ReqDay[b-1] = in.ReqDay[b-1], in.ReqDay[b]
			}
		}
	}
	return in
}
