package harness

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuTimes are the aggregate jiffies of the "cpu" line of /proc/stat.
type cpuTimes struct{ idle, total uint64 }

func readCPUTimes() (cpuTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}, fmt.Errorf("read /proc/stat: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return cpuTimes{}, fmt.Errorf("read /proc/stat: unexpected first line %q", line)
	}
	var t cpuTimes
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return cpuTimes{}, fmt.Errorf("read /proc/stat: %w", err)
		}
		if i >= 8 { // guest times are already counted in user and nice
			break
		}
		t.total += v
		if i == 3 || i == 4 { // idle, iowait
			t.idle += v
		}
	}
	return t, nil
}

// IdleFraction measures the share of all cores' time spent idle during
// window (0..1). The harness calls it while none of its children runs, so
// it sees only the other work on the machine.
func IdleFraction(ctx context.Context, window time.Duration) (float64, error) {
	a, err := readCPUTimes()
	if err != nil {
		return 0, err
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(window):
	}
	b, err := readCPUTimes()
	if err != nil {
		return 0, err
	}
	if b.total <= a.total {
		return 1, nil
	}
	return float64(b.idle-a.idle) / float64(b.total-a.total), nil
}

// quietWindow is how long the harness watches the machine before a run.
const quietWindow = 3 * time.Second

// waitQuiet measures how idle the machine is and, when opt.QuietIdle is set,
// waits (up to opt.QuietWait in all) until at least that share of CPU time
// is idle. It returns the last measurement and whether the wait timed out.
func (h *harness) waitQuiet(ctx context.Context) (idle float64, busy bool, err error) {
	idle, err = IdleFraction(ctx, quietWindow)
	if err != nil {
		return 0, false, err
	}
	if h.opt.QuietIdle <= 0 || idle >= h.opt.QuietIdle {
		return idle, false, nil
	}
	deadline := time.Now().Add(h.opt.QuietWait)
	for idle < h.opt.QuietIdle {
		if time.Now().After(deadline) {
			h.logf("machine still busy (%.0f%% idle) after waiting %s; measuring anyway, flagged as busy", idle*100, h.opt.QuietWait)
			return idle, true, nil
		}
		h.logf("machine busy (%.0f%% idle, want %.0f%%); waiting", idle*100, h.opt.QuietIdle*100)
		select {
		case <-ctx.Done():
			return 0, false, ctx.Err()
		case <-time.After(20 * time.Second):
		}
		if idle, err = IdleFraction(ctx, quietWindow); err != nil {
			return 0, false, err
		}
	}
	return idle, false, nil
}
