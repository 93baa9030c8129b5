package engine

import "github.com/assign-dev/assign/policy"

// Scoring (SPEC section 4). Every formula keeps the SPEC's order of
// operations exactly, and every product that feeds a sum goes through an
// explicit float64 conversion: the Go spec lets a compiler fuse x*y+z into
// one FMA (with a different rounding) unless a conversion forces the product
// to be rounded first.

// Popularity returns popn of every snack: with C the mean of all latest
// ratings (3.0 if none), pop = (sum_s + m*C) / (n_s + m), popn = (pop-1)/4.
func Popularity(in *Inputs, m float64) []float64 {
	c := 3.0
	if in.RatedPairs > 0 {
		c = float64(in.RatingSum) / float64(in.RatedPairs)
	}
	mc := float64(m * c)
	out := make([]float64, len(in.SnackID))
	for s := range out {
		pop := (float64(in.PopSum[s]) + mc) / (float64(in.PopN[s]) + m)
		out[s] = (pop - 1) / 4
	}
	return out
}

// Preference is weight/2 for a user_prefs weight.
func Preference(weight int32) float64 { return float64(weight) / 2 }

// Affinity is (n/(n+3)) * ((r-3)/2) with r = sum/n, and 0 when n = 0.
func Affinity(n int32, sum int64) float64 {
	if n == 0 {
		return 0
	}
	r := float64(sum) / float64(n)
	a := float64(n) / (float64(n) + 3)
	b := (r - 3) / 2
	return float64(a * b)
}

// IsNew reports whether a snack launched on launched is new on d:
// 0 <= d - launched < newDays.
func IsNew(launched, d Day, newDays int) bool {
	age := int(d) - int(launched)
	return age >= 0 && age < newDays
}

// ScoreTerms are the four terms of one snack's score for one user and date.
type ScoreTerms struct {
	Popularity float64 // popn
	Preference float64
	Affinity   float64
	Novelty    float64 // 0 or 1
}

// Score combines the terms in the SPEC's order:
// ((w_pop*popn + w_pref*pref) + w_aff*aff) + w_nov*nov.
func Score(p policy.Policy, t ScoreTerms) float64 {
	a := float64(p.WPopularity * t.Popularity)
	b := float64(p.WPreference * t.Preference)
	c := float64(p.WAffinity * t.Affinity)
	d := float64(p.WNovelty * t.Novelty)
	return ((a + b) + c) + d
}
