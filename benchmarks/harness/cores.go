package harness

import (
	"runtime"
	"sync"
	"time"
)

// coreLoopRounds sizes coreLoop: about 50-80 ms on one core of the
// machines this was written on.
const coreLoopRounds = 1 << 25

// sinkCores keeps coreLoop's result alive.
var sinkCores uint64

// coreLoop is CPU-only work: four independent xorshift chains held in
// registers, touching no memory, so that its speed depends on the core
// it gets and on nothing the program does.
func coreLoop(n int) uint64 {
	a, b, c, d := uint64(1), uint64(2), uint64(3), uint64(4)
	for range n {
		a ^= a << 13
		b ^= b << 13
		c ^= c << 13
		d ^= d << 13
		a ^= a >> 7
		b ^= b >> 7
		c ^= c >> 7
		d ^= d >> 7
		a ^= a << 17
		b ^= b << 17
		c ^= c << 17
		d ^= d << 17
	}
	return a + b + c + d
}

// CoreScaling measures how much work the machine does on workers cores at
// once, relative to one: coreLoop runs alone, then on workers goroutines
// at once (each on its own OS thread), and the result is the sum over them
// of (time alone / their time). A machine whose cores do not slow each
// other gives workers; on a shared host whose other tenants take part of a
// core it gives less, and no program's speedup from 1 to workers threads
// can exceed it at that moment.
func CoreScaling(workers int) float64 {
	var mu sync.Mutex
	timed := func() time.Duration {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		t := time.Now()
		v := coreLoop(coreLoopRounds)
		d := time.Since(t)
		mu.Lock()
		sinkCores += v
		mu.Unlock()
		return d
	}
	alone := timed()
	times := make([]time.Duration, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() { times[i] = timed() })
	}
	wg.Wait()
	sum := 0.0
	for _, d := range times {
		sum += alone.Seconds() / d.Seconds()
	}
	return sum
}
