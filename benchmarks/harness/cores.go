package harness

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"time"
)

// Sizes of the two loops: each takes about 50-100 ms on one core of the
// machines this was written on. A memory walk's table (64 MiB) is twice
// the largest L3 cache seen here, so most of its reads go to memory.
const (
	cpuLoopRounds = 1 << 25
	memLoopReads  = 1 << 19
	memLoopWords  = 8 << 20
)

// cpuLoop is CPU-only work: four independent xorshift chains held in
// registers, touching no memory, so that its speed depends on the core it
// gets and on nothing else.
func cpuLoop(_ *walkTable) uint64 {
	a, b, c, d := uint64(1), uint64(2), uint64(3), uint64(4)
	for range cpuLoopRounds {
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

// memLoop is memory-bound work: a walk of a table larger than the caches
// that holds one random cycle through all its entries (walkTables), so
// that each read waits on the one before and its speed is the memory's
// (latency, and what the cores share of it). Each walk goes on where the
// table's last one stopped, so it reads entries the last did not leave in
// the cache.
func memLoop(w *walkTable) uint64 {
	i := w.at
	for range memLoopReads {
		i = w.next[i]
	}
	w.at = i
	return i
}

// CoreScaling is how much work the machine's cores do at once, relative
// to one alone: each loop runs alone, then on workers goroutines at once
// (each on its own OS thread), and a figure is the sum over them of (time
// alone / their time). Cores that do not slow each other give workers.
// On a shared host other tenants take part of a core (the CPU-only loop
// shows it) and the cores share the memory (the memory-bound walk shows
// it); a program's speedup from 1 to workers threads is at most the CPU
// figure, and for work that waits on memory nearer the memory figure.
type CoreScaling struct {
	CPU    float64 `json:"cpu_only"`
	Memory float64 `json:"memory_bound"`
}

// walkTable is one memory walk's table and where its last walk stopped.
type walkTable struct {
	next []uint64
	at   uint64
}

// tables are the memory walk's tables, one per worker, kept between
// measurements so that each round does not fault them in again.
var (
	tablesMu sync.Mutex
	tables   []*walkTable
)

func walkTables(n int) []*walkTable {
	tablesMu.Lock()
	defer tablesMu.Unlock()
	for len(tables) < n {
		// Sattolo's shuffle of the identity: one cycle through every
		// entry, so a walk never settles into a few cached ones.
		t := make([]uint64, memLoopWords)
		for i := range t {
			t[i] = uint64(i)
		}
		r := rand.New(rand.NewPCG(uint64(len(tables)+1), 0x5eed))
		for i := len(t) - 1; i > 0; i-- {
			j := r.IntN(i)
			t[i], t[j] = t[j], t[i]
		}
		tables = append(tables, &walkTable{next: t})
	}
	return tables[:n]
}

// MeasureCores measures CoreScaling on workers cores.
func MeasureCores(workers int) CoreScaling {
	tabs := walkTables(workers)
	return CoreScaling{CPU: scaling(workers, cpuLoop, tabs), Memory: scaling(workers, memLoop, tabs)}
}

func scaling(workers int, loop func(*walkTable) uint64, tabs []*walkTable) float64 {
	var mu sync.Mutex
	var sink uint64 // the loops' results, kept so they are computed
	timed := func(i int) time.Duration {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		t := time.Now()
		v := loop(tabs[i])
		d := time.Since(t)
		mu.Lock()
		sink += v
		mu.Unlock()
		return d
	}
	alone := timed(0)
	times := make([]time.Duration, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() { times[i] = timed(i) })
	}
	wg.Wait()
	runtime.KeepAlive(sink)
	sum := 0.0
	for _, d := range times {
		sum += alone.Seconds() / d.Seconds()
	}
	return sum
}
