package reliability

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/store"
)

// smallDisk mounts a 20 MiB file system at a fresh folder and returns it: a
// tmpfs, or failing that an ext4 image on a loop device. Both need root (or
// CAP_SYS_ADMIN); without them the test is skipped with the reason.
func smallDisk(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tmpfsErr := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=20m")
	if tmpfsErr != nil {
		img := filepath.Join(t.TempDir(), "disk.img")
		out, err := exec.Command("sh", "-c", fmt.Sprintf("truncate -s 20M %s && mkfs.ext4 -q -F %s && mount -o loop %s %s", img, img, img, dir)).CombinedOutput()
		if err != nil {
			t.Skipf("cannot mount a small file system to fill (tmpfs: %v; loop-mounted ext4: %v: %s): run as root to test a full disk", tmpfsErr, err, strings.TrimSpace(string(out)))
		}
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill leaves about free bytes available on the file system of dir and
// returns a function giving the space back.
func fill(t *testing.T, dir string, free int64) func() {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	avail := int64(st.Bavail) * st.Bsize
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for todo := avail - free; todo > 0; {
		n, err := f.Write(chunk[:min(int64(len(chunk)), todo)])
		todo -= int64(n)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDiskFull runs load, preassign and report with their home (and the
// report's folder) on a nearly full file system, at several amounts of
// free space, so the disk runs out at different steps of each. Each either
// succeeds or fails with exit 1 and one sentence saying the disk is full,
// never a panic or the driver's wording; what was there before is intact
// (current snapshot and its bytes, runs, reports) and a rerun after freeing
// space succeeds.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a file system")
	}
	disk := smallDisk(t)
	home := filepath.Join(disk, "home")
	out := filepath.Join(disk, "reports")
	mustAssign(t, home, "load", baseExtract)
	tiny := tinyExtract(t, 1)
	// Free space in KiB: a load writes a 4 MiB snapshot; a run some 40 KiB
	// of Parquet, a report that run plus some 80 KiB of files.
	small := []int64{0, 16, 32, 48, 64, 128}
	cmds := []struct {
		name   string
		args   []string
		levels []int64
	}{
		{"load", []string{"load", tiny}, []int64{0, 256, 3072}},
		{"preassign", []string{"preassign", "--date", "2026-03-02", "--days", "28"}, small},
		{"report", []string{"report", "--date", "2026-03-02", "--days", "14", "--out", out}, small},
	}
	failed, cases := 0, 0
	for _, c := range cmds {
		for _, kib := range c.levels {
			free := kib << 10
			cases++
			t.Run(fmt.Sprintf("%s/free=%dKiB", c.name, free>>10), func(t *testing.T) {
				before := stateOf(t, home)
				users := checkQueryable(t, home)
				runs := checkRuns(t, home)
				reports := checkReports(t, out, runs)
				release := fill(t, disk, free)
				// Only the current snapshot is kept between runs, so that
				// each load starts with the same room.
				defer mustAssign(t, home, "snapshots", "gc", "--keep", "1")
				r := assign(t, home, c.args...)
				if r.code == 0 {
					release()
					t.Logf("succeeded with %d KiB free", free>>10)
					return
				}
				failed++
				msg := strings.TrimSpace(r.errOut)
				if r.code != cmdutil.ExitFailure || strings.Count(msg, "\n") > 0 ||
					!strings.HasPrefix(msg, "assign: no space left on device: the file system holding ") {
					t.Errorf("exit %d, want %d and one sentence naming the full disk; stderr:\n%s", r.code, cmdutil.ExitFailure, r.errOut)
				}
				for _, bad := range []string{"panic", "goroutine", "IO Error", "internal error"} {
					if strings.Contains(r.errOut, bad) {
						t.Errorf("stderr shows %q:\n%s", bad, r.errOut)
					}
				}
				// Nothing that was there is lost, even before space is freed.
				after := stateOf(t, home)
				if after.current != before.current || !mapsEqual(after.files, before.files) {
					t.Errorf("the snapshots changed: %+v, were %+v", after, before)
				}
				if got := checkQueryable(t, home); got != users {
					t.Errorf("the current snapshot has %s users, had %s", got, users)
				}
				// A report whose run was written before the disk filled
				// keeps that run: complete, and one more.
				if got := checkRuns(t, home); len(got) != len(runs) && !(c.name == "report" && len(got) == len(runs)+1) {
					t.Errorf("runs %v, were %v", got, runs)
				} else if len(got) > len(runs) {
					t.Logf("with %d KiB free the run was written and the report folder was not", kib)
				}
				if got := checkReports(t, out, runs); strings.Join(got, ",") != strings.Join(reports, ",") {
					t.Errorf("reports %v, were %v", got, reports)
				}
				h, _ := store.Open(home)
				if left := h.StaleTemporaries(); len(left) > 0 {
					t.Errorf("a failed %s left %v", c.name, left)
				}
				release()
				mustAssign(t, home, c.args...)
			})
		}
	}
	t.Logf("%d of %d runs on a nearly full disk failed (the others had room)", failed, cases)
	if failed < len(cmds) {
		t.Errorf("only %d runs met a full disk", failed)
	}
}
