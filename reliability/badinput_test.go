package reliability

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/store"
)

// expectation is a corpus folder's expect.txt:
//
//	# what the defect is (comments)
//	outcome: refused | accepted
//	stderr: a line stderr must hold exactly ($EXTRACT is the extract folder)
//	rows: <table> <count>            (accepted: rows in the new snapshot)
//	sql: <query> => <value>          (accepted: a one-value query's answer)
//	setup: chmod 000 <file>          (made unreadable before the load)
type expectation struct {
	refused bool
	stderr  []string
	rows    [][2]string
	sql     [][2]string
	chmod   []string
}

func readExpect(t *testing.T, path string) expectation {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var e expectation
	outcome := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("%s line %d: want key: value", path, n)
		}
		switch key {
		case "outcome":
			outcome = val
			e.refused = val == "refused"
		case "stderr":
			e.stderr = append(e.stderr, val)
		case "rows":
			table, count, _ := strings.Cut(val, " ")
			e.rows = append(e.rows, [2]string{table, count})
		case "sql":
			q, want, ok := strings.Cut(val, " => ")
			if !ok {
				t.Fatalf("%s line %d: want sql: QUERY => VALUE", path, n)
			}
			e.sql = append(e.sql, [2]string{q, want})
		case "setup":
			file, ok := strings.CutPrefix(val, "chmod 000 ")
			if !ok {
				t.Fatalf("%s line %d: unknown setup %q", path, n, val)
			}
			e.chmod = append(e.chmod, file)
		default:
			t.Fatalf("%s line %d: unknown key %q", path, n, key)
		}
	}
	if outcome != "refused" && outcome != "accepted" {
		t.Fatalf("%s: outcome must be refused or accepted, not %q", path, outcome)
	}
	if e.refused && len(e.stderr) == 0 {
		t.Fatalf("%s: a refused case states the message it expects (stderr: lines)", path)
	}
	return e
}

// TestBadInputCorpus loads every folder of testdata/bad through the command
// entry point into a home whose current snapshot is good, and checks that a
// refused extract fails with exit 1 and exactly the expected message (table
// file, line or row, column, value, rule), leaving the current snapshot
// untouched (same name, same bytes, still queryable), and that an accepted
// one becomes current without touching the previous file.
func TestBadInputCorpus(t *testing.T) {
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	template := goodHome(t)
	base := stateOf(t, template)
	baseUsers, err := queryValue(t, template, "SELECT count(*) FROM users")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			exp := readExpect(t, filepath.Join(corpusDir, name, "expect.txt"))
			work := t.TempDir()
			extract := filepath.Join(work, "extract")
			copyTree(t, filepath.Join(corpusDir, name), extract)
			if err := os.Remove(filepath.Join(extract, "expect.txt")); err != nil {
				t.Fatal(err)
			}
			home := filepath.Join(work, "home")
			copyTree(t, template, home)

			var r result
			if len(exp.chmod) > 0 {
				r = loadUnreadable(t, work, home, extract, exp.chmod)
			} else {
				r = assign(t, home, "load", extract)
			}
			stderr := strings.ReplaceAll(r.errOut, extract, "$EXTRACT")
			for _, bad := range []string{"panic", "goroutine ", "internal error", "SIGSEGV"} {
				if strings.Contains(stderr, bad) {
					t.Fatalf("stderr shows %q:\n%s", bad, stderr)
				}
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			for _, want := range exp.stderr {
				if !slices.Contains(lines, want) {
					t.Errorf("stderr lacks the line\n  %s\nstderr:\n%s", want, stderr)
				}
			}
			after := stateOf(t, home)
			if exp.refused {
				if r.code != cmdutil.ExitFailure {
					t.Errorf("exit %d, want %d (refused); stderr:\n%s", r.code, cmdutil.ExitFailure, stderr)
				}
				if after.current != base.current || !mapsEqual(after.files, base.files) {
					t.Errorf("a refused load changed the home: %+v, was %+v", after, base)
				}
				h, _ := store.Open(home)
				if tmp := h.StaleTemporaries(); len(tmp) > 0 {
					t.Errorf("a refused load left %v", tmp)
				}
				if got, err := queryValue(t, home, "SELECT count(*) FROM users"); err != nil || got != baseUsers {
					t.Errorf("current snapshot after a refused load: users %q, %v; want %s", got, err, baseUsers)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("exit %d, want 0 (accepted); stderr:\n%s", r.code, stderr)
			}
			if after.current == base.current || len(after.files) != len(base.files)+1 {
				t.Errorf("an accepted load did not add a current snapshot: %+v", after)
			}
			for name, sum := range base.files {
				if after.files[name] != sum {
					t.Errorf("an accepted load changed the previous snapshot %s", name)
				}
			}
			for _, rc := range exp.rows {
				got, err := queryValue(t, home, "SELECT count(*) FROM "+rc[0])
				if err != nil || got != rc[1] {
					t.Errorf("rows of %s: %q (%v), want %s", rc[0], got, err, rc[1])
				}
			}
			for _, q := range exp.sql {
				got, err := queryValue(t, home, q[0])
				if err != nil || got != q[1] {
					t.Errorf("%s: %q (%v), want %s", q[0], got, err, q[1])
				}
			}
		})
	}
	if n < 40 {
		t.Errorf("the corpus has %d cases; it should cover every rule and file defect", n)
	}
}

// loadUnreadable makes files unreadable and loads. Root reads any file
// whatever its mode, so as root the load runs as a child process under uid
// 65534 (nobody) on a copy of the test binary it can execute; when that is
// not possible the test is skipped with the reason.
func loadUnreadable(t *testing.T, work, home, extract string, files []string) result {
	t.Helper()
	for _, f := range files {
		if err := os.Chmod(filepath.Join(extract, f), 0); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() != 0 {
		return assign(t, home, "load", extract)
	}
	const nobody = 65534
	// The child must reach its binary, the extract and the home.
	bin := filepath.Join(work, "assign")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := work; d != "/" && d != "."; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o005 == 0o005 {
			continue
		}
		if err := os.Chmod(d, fi.Mode().Perm()|0o005); err != nil {
			t.Skipf("running as root, and %s cannot be opened to uid %d (%v): cannot test an unreadable file", d, nobody, err)
		}
	}
	err = filepath.WalkDir(home, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--home", home, "load", extract)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	cmd.Env = append(os.Environ(), "ASSIGN_TEST_MAIN=1")
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Skipf("running as root, and the load cannot run as uid %d (%v): cannot test an unreadable file", nobody, err)
		}
		code = ee.ExitCode()
	}
	return result{code, out.String(), errOut.String()}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
