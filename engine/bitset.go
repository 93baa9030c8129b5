package engine

import (
	"math/bits"
	"sync/atomic"
)

// bitset is a fixed-size set of snack indexes, one bit per sidx.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) has(i int32) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
func (b bitset) set(i int32)      { b[i>>6] |= 1 << (uint(i) & 63) }
func (b bitset) clear(i int32)    { b[i>>6] &^= 1 << (uint(i) & 63) }

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// andCount is the size of b ∩ o without building it.
func (b bitset) andCount(o bitset) int {
	n := 0
	for i, w := range b {
		n += bits.OnesCount64(w & o[i])
	}
	return n
}

func (b bitset) and(o bitset) {
	for i := range b {
		b[i] &= o[i]
	}
}

// andNot removes o's members from b.
func (b bitset) andNot(o bitset) {
	for i := range b {
		b[i] &^= o[i]
	}
}

// allIn reports whether every one of snacks is in b.
func (b bitset) allIn(snacks []int32) bool {
	for _, s := range snacks {
		if !b.has(s) {
			return false
		}
	}
	return true
}

// allInLive is allIn for a set that another goroutine clears meanwhile
// (clearLive).
func (b bitset) allInLive(snacks []int32) bool {
	for _, s := range snacks {
		if atomic.LoadUint64(&b[s>>6])&(1<<(uint(s)&63)) == 0 {
			return false
		}
	}
	return true
}

// clearLive is clear for a set that other goroutines read with andLive
// meanwhile.
func (b bitset) clearLive(i int32) { atomic.AndUint64(&b[i>>6], ^(1 << (uint(i) & 63))) }

// andLive is and with o read word by word atomically, while one goroutine
// may be clearing o's bits (clearLive): b ends up a subset of b ∩ o as the
// read starts and a superset of b ∩ o as it ends.
func (b bitset) andLive(o bitset) {
	for i := range b {
		b[i] &= atomic.LoadUint64(&o[i])
	}
}

// forEach calls fn for every member in ascending order.
func (b bitset) forEach(fn func(i int32)) {
	for wi, w := range b {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			fn(int32(wi<<6 + t))
			w &= w - 1
		}
	}
}
