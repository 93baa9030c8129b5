package reliability

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestModesFollowUmask: everything assign writes (the home's folders,
// CURRENT, snapshots, run folders and manifests, --out tables, reports,
// reject files, query --out files, generated extracts) gets its mode from
// the umask, so a home shared by a group (umask 002) is writable by the
// group and one loaded under umask 022 is readable by every account.
// CURRENT and every manifest.json used to be 0600.
func TestModesFollowUmask(t *testing.T) {
	for _, tc := range []struct {
		umask     int
		file, dir fs.FileMode
	}{{0o022, 0o644, 0o755}, {0o002, 0o664, 0o775}} {
		old := syscall.Umask(tc.umask)
		work := t.TempDir()
		home := filepath.Join(work, "home")
		p := func(name string) string { return filepath.Join(work, name) }
		mustAssign(t, home, "load", "--reject-file", p("rejects.csv"), baseExtract)
		mustAssign(t, home, "snapshots", "use", stateOf(t, home).current)
		mustAssign(t, home, "preassign", "--date", "2026-03-02", "--days", "7", "--out", p("forecast"), "--format", "csv")
		mustAssign(t, home, "run", "--date", "2026-03-02", "--days", "7", "--out", p("picking"))
		mustAssign(t, home, "report", "--date", "2026-03-02", "--days", "7", "--out", p("reports"))
		mustAssign(t, home, "query", "--format", "csv", "--out", p("q.csv"), "SELECT count(*) FROM users")
		mustAssign(t, home, "query", "--format", "parquet", "--out", p("q.parquet"), "SELECT count(*) FROM users")
		mustAssign(t, home, "gen", "--scale", "tiny", "--split", "2", "--out", p("extract"))
		syscall.Umask(old)

		n := 0
		for _, root := range []string{home, p("rejects.csv"), p("forecast"), p("picking"), p("reports"), p("q.csv"), p("q.parquet"), p("extract")} {
			err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				fi, err := e.Info()
				if err != nil {
					return err
				}
				want := tc.file
				if e.IsDir() {
					want = tc.dir
				}
				if fi.Mode().Perm() != want {
					t.Errorf("umask %03o: %s is %v, want %v", tc.umask, path, fi.Mode().Perm(), want)
				}
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if n < 40 {
			t.Fatalf("umask %03o: only %d files and folders checked", tc.umask, n)
		}
		if _, err := os.Stat(filepath.Join(home, "CURRENT")); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAnotherAccountQueries: an analyst's account (here "nobody") queries a
// home that operations (root, umask 022) loaded and planned in, and is told
// plainly that it may not write runs there. Needs root to switch accounts.
func TestAnotherAccountQueries(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a command as another account")
	}
	if testing.Short() {
		t.Skip("starts real processes")
	}
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	work := t.TempDir()
	for _, d := range []string{filepath.Dir(work), work} { // t.TempDir is private
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	home := filepath.Join(work, "home")
	mustAssign(t, home, "load", baseExtract)
	mustAssign(t, home, "preassign", "--date", "2026-03-02", "--days", "7")
	// The test binary lives in a private build folder: copy it out.
	bin := filepath.Join(work, "assign")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	const nobody = 65534
	as := func(args ...string) *proc {
		cmd := exec.Command(bin, append([]string{"--home", home}, args...)...)
		cmd.Dir = work
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		p := startProc(t, cmd)
		p.wait()
		return p
	}
	q := as("query", "--format", "csv", "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM latest.boxes) > 0 AS boxes")
	if q.exitCode() != 0 || !strings.Contains(q.out.String(), "4,true") {
		t.Fatalf("another account cannot query the home (exit %d):\n%s", q.exitCode(), q.out.String())
	}
	r := as("preassign", "--date", "2026-03-02", "--days", "7")
	if r.exitCode() != 1 || !strings.Contains(r.out.String(), "permission denied") || !strings.Contains(r.out.String(), "shared home") {
		t.Fatalf("a run refused for want of write access does not say so (exit %d):\n%s", r.exitCode(), r.out.String())
	}
}
