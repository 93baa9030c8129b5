package engine

import (
	"math"
	"math/big"
	"math/bits"
)

// fix is a signed 128-bit fixed-point number, hi·2^64 + lo in two's
// complement, in units of 2^-scale for a scale chosen once per run (see
// fixScale). The optimal allocator adds and compares scores and prices in it
// so that sums are exact: ties are real ties, and a price update moves every
// tied subscriber at once.
type fix struct {
	hi int64
	lo uint64
}

func (a fix) add(b fix) fix {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	return fix{a.hi + b.hi + int64(c), lo}
}

func (a fix) sub(b fix) fix {
	lo, bw := bits.Sub64(a.lo, b.lo, 0)
	return fix{a.hi - b.hi - int64(bw), lo}
}

func (a fix) neg() fix { return fix{}.sub(a) }

func (a fix) isZero() bool { return a.hi == 0 && a.lo == 0 }

func (a fix) sign() int {
	switch {
	case a.hi < 0:
		return -1
	case a.hi == 0 && a.lo == 0:
		return 0
	}
	return 1
}

func (a fix) cmp(b fix) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// mulInt returns a·n (n >= 0, no overflow by the choice of scale).
func (a fix) mulInt(n int64) fix {
	neg := a.sign() < 0
	if neg {
		a = a.neg()
	}
	hi, lo := bits.Mul64(a.lo, uint64(n))
	hi += uint64(a.hi) * uint64(n)
	r := fix{int64(hi), lo}
	if neg {
		r = r.neg()
	}
	return r
}

// fixScale is the number of fractional bits for a run whose score terms are
// at most maxAbs in magnitude: a box line's score is at most 4·maxAbs, a
// date's sum has fewer than 2^26 lines, and prices and path lengths add at
// most 2^12 more, all inside 126 bits.
func fixScale(maxAbs float64) int {
	e := 0
	if maxAbs > 1 {
		_, e = math.Frexp(maxAbs)
	}
	return 126 - 2 - 26 - 12 - e
}

// toFix converts x to fixed point at scale sc. exact is false when x has
// bits below 2^-sc (then it is rounded to nearest) or is not finite.
func toFix(x float64, sc int) (f fix, exact bool) {
	if x == 0 {
		return fix{}, true
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fix{}, false
	}
	frac, exp := math.Frexp(x) // x = frac·2^exp, 0.5 <= |frac| < 1
	m := int64(frac * (1 << 53))
	neg := m < 0
	if neg {
		m = -m
	}
	sh := exp - 53 + sc
	var r fix
	exact = true
	switch {
	case sh >= 64:
		r = fix{int64(uint64(m) << (sh - 64)), 0}
	case sh > 0:
		r = fix{int64(uint64(m) >> (64 - sh)), uint64(m) << sh}
	case sh == 0:
		r = fix{0, uint64(m)}
	case sh > -64:
		s := uint(-sh)
		q := uint64(m) >> s
		rem := uint64(m) & (1<<s - 1)
		if rem != 0 {
			exact = false
			if rem >= 1<<(s-1) {
				q++
			}
		}
		r = fix{0, q}
	default:
		exact = false
	}
	if neg {
		r = r.neg()
	}
	return r, exact
}

// float converts a back to float64 (rounded to nearest).
func (a fix) float(sc int) float64 {
	if a.isZero() {
		return 0
	}
	neg := a.sign() < 0
	if neg {
		a = a.neg()
	}
	b := new(big.Int).SetUint64(uint64(a.hi))
	b.Lsh(b, 64)
	b.Or(b, new(big.Int).SetUint64(a.lo))
	f, _ := new(big.Float).SetPrec(200).SetInt(b).Float64()
	f = math.Ldexp(f, -sc)
	if neg {
		f = -f
	}
	return f
}

// val is a value in the optimal allocator's lexicographic objective, highest
// level first: filled lines, requested lines, minus lines over a category
// cap, score, and the tie-break minus the sum of snack indexes (lower
// snack_id first, as in the SPEC's ranking). Prices have the same form.
type val struct {
	f, r, o int64
	s       fix
	t       int64
}

func (a val) add(b val) val {
	return val{a.f + b.f, a.r + b.r, a.o + b.o, a.s.add(b.s), a.t + b.t}
}

func (a val) sub(b val) val {
	return val{a.f - b.f, a.r - b.r, a.o - b.o, a.s.sub(b.s), a.t - b.t}
}

func (a val) cmp(b val) int { return cmpVal(&a, &b) }

// cmpVal compares two values without copying them.
func cmpVal(a, b *val) int {
	switch {
	case a.f != b.f:
		return cmpInt(a.f, b.f)
	case a.r != b.r:
		return cmpInt(a.r, b.r)
	case a.o != b.o:
		return cmpInt(a.o, b.o)
	}
	if c := a.s.cmp(b.s); c != 0 {
		return c
	}
	return cmpInt(a.t, b.t)
}

func (a val) isZero() bool { return a.f == 0 && a.r == 0 && a.o == 0 && a.s.isZero() && a.t == 0 }

// positive reports a > 0 in the lexicographic order.
func (a val) positive() bool { return a.cmp(val{}) > 0 }

func (a val) mulInt(n int64) val {
	return val{a.f * n, a.r * n, a.o * n, a.s.mulInt(n), a.t * n}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// overVal is the value of one line over a category cap.
var overVal = val{o: -1}

// infVal is larger than any value an allocation can reach.
var infVal = val{f: math.MaxInt64 / 4}
