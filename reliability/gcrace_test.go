package reliability

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assign-dev/assign/store"
)

// TestGCRacesLoads runs `snapshots gc --keep 0` back to back, as fast as
// it goes, while real `assign load` processes publish snapshots, one or
// two at a time. gc used to delete a new snapshot between its rename and
// the switch of CURRENT (the load then failed with "snapshot ... not
// found"), and a load that met gc holding the load lock named gc's pid as
// "another 'assign load'". Now every lone load succeeds and its snapshot
// is current and whole, gc never fails, and a load refused by another
// names that load's pid.
func TestGCRacesLoads(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	home := goodHome(t)
	extract := tinyExtract(t, 3)
	h, err := store.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	var (
		gcs     atomic.Int64
		deleted atomic.Int64
		gcErr   error
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			res, err := h.GCSnapshots(store.GCOptions{Keep: 0})
			if err != nil {
				gcErr = err
				return
			}
			gcs.Add(1)
			deleted.Add(int64(len(res.Removed)))
			time.Sleep(200 * time.Microsecond) // leave the loads a core
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()

	rounds := envInt("ASSIGN_GC_RACE_ROUNDS", 12)
	refused := 0
	for i := 0; i < rounds; i++ {
		procs := []*proc{startAssign(t, home, "load", extract)}
		if i%4 == 3 {
			procs = append(procs, startAssign(t, home, "load", extract))
		}
		ok := 0
		for _, p := range procs {
			if p.wait() {
				ok++
			}
		}
		switch {
		case ok == len(procs):
		case len(procs) == 2 && ok == 1:
			refused++
			winner, loser := procs[0], procs[1]
			if !loser.running() && loser.exitCode() == 0 {
				winner, loser = loser, winner
			}
			want := fmt.Sprintf("another 'assign load' is writing a snapshot in this home (pid %d)", winner.cmd.Process.Pid)
			if !strings.Contains(loser.out.String(), want) {
				t.Errorf("round %d: the refused load does not name the running load's pid %d:\n%s", i, winner.cmd.Process.Pid, loser.out.String())
			}
		default:
			for _, p := range procs {
				t.Logf("load (exit %d):\n%s", p.exitCode(), p.out.String())
			}
			t.Fatalf("round %d: a load failed beside gc (%d gc runs so far)", i, gcs.Load())
		}
		st := stateOf(t, home)
		if _, listed := st.files[st.current]; !listed {
			t.Fatalf("round %d: CURRENT names %s, which gc deleted", i, st.current)
		}
		if got := checkQueryable(t, home); got != "600" {
			t.Fatalf("round %d: the current snapshot has %s users", i, got)
		}
		if gcErr != nil {
			t.Fatalf("round %d: gc failed: %v", i, gcErr)
		}
	}
	close(stop)
	wg.Wait()
	stop = make(chan struct{})
	if gcErr != nil {
		t.Fatalf("gc failed: %v", gcErr)
	}
	t.Logf("%d rounds (%d with two loads, %d refused), %d gc runs deleted %d snapshots", rounds, rounds/4, refused, gcs.Load(), deleted.Load())
	if gcs.Load() < int64(rounds) || deleted.Load() == 0 {
		t.Errorf("gc ran %d times and deleted %d snapshots: it did not race the loads", gcs.Load(), deleted.Load())
	}
}
