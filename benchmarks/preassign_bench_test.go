package benchmarks

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/store"
	"github.com/assign-dev/assign/synth"
)

// fixture is a loaded small extract, made once per test binary.
type fixture struct {
	home  *store.Home
	snap  string
	users int
}

var (
	fixtureOnce sync.Once
	fix         fixture
	fixErr      error
)

func loadFixture(b *testing.B) fixture {
	b.Helper()
	fixtureOnce.Do(func() {
		ctx := context.Background()
		sc, err := synth.LookupScale("small")
		if err != nil {
			fixErr = err
			return
		}
		dir, err := tempDir()
		if err != nil {
			fixErr = err
			return
		}
		ex := filepath.Join(dir, "extract")
		if _, err := synth.Generate(ctx, synth.Options{Scale: sc, Seed: 1, OutDir: ex}); err != nil {
			fixErr = err
			return
		}
		h, err := store.Open(filepath.Join(dir, "home"))
		if err != nil {
			fixErr = err
			return
		}
		res, err := loaders.Load(ctx, loaders.Options{Dir: ex, Home: h})
		if err != nil {
			fixErr = err
			return
		}
		fix = fixture{home: h, snap: res.Path, users: sc.Users}
	})
	if fixErr != nil {
		b.Fatal(fixErr)
	}
	return fix
}

const days = 28

// BenchmarkPreassign is the whole job of 'assign preassign --days 28' on
// the small scale except writing the tables: open the snapshot, run the
// input SQL, choose every box and cover the demand.
func BenchmarkPreassign(b *testing.B) {
	f := loadFixture(b)
	ctx := context.Background()
	b.Run(fmt.Sprintf("users=%d,days=%d", f.users, days), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out, err := plan.Execute(ctx, f.home, plan.Request{Mode: engine.Preassign, D0: engine.DayOf(synth.DefaultAsOf),
				Days: days, Policy: policy.Default(), NoSave: true})
			if err != nil {
				b.Fatal(err)
			}
			if out.Manifest.Counts.BoxLines == 0 {
				b.Fatal("no box lines")
			}
		}
	})
}

// BenchmarkEngine times the two halves of the job apart: the input SQL
// (inputs) and the per-user selection with the FEFO cover (select), at one
// thread and at all cores. The selection also reports the process's CPU
// time per run (cpu-ms/op): beside ns/op it shows how much more CPU the
// same work takes when the cores run it at once.
func BenchmarkEngine(b *testing.B) {
	f := loadFixture(b)
	ctx := context.Background()
	db, err := duck.OpenSnapshot(ctx, f.snap, duck.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	lo := engine.LoadOptions{D0: engine.DayOf(synth.DefaultAsOf), Days: days, Policy: policy.Default()}
	b.Run(fmt.Sprintf("inputs/users=%d,days=%d", f.users, days), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := engine.LoadInputs(ctx, db, lo); err != nil {
				b.Fatal(err)
			}
		}
	})
	in, err := engine.LoadInputs(ctx, db, lo)
	if err != nil {
		b.Fatal(err)
	}
	for _, threads := range []int{1, 0} {
		b.Run(fmt.Sprintf("select/users=%d,days=%d,threads=%d", f.users, days, threads), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU(b)
			for b.Loop() {
				if _, err := engine.Run(ctx, in, engine.Options{Policy: policy.Default(), Mode: engine.Preassign, Threads: threads}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
