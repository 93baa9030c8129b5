package loaders_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/store"
)

// TestCSVDialect checks that a UTF-8 byte order mark and CRLF line endings
// are valid, and that lines stay physical after quoted fields spanning
// lines.
func TestCSVDialect(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "extract")
	copyDir(t, baseExtract, dir)
	snacks := "\ufeffsnack_id,name,category,launched_on,active\r\n" +
		"1,\"Sea Salt\r\nChips\",chips,2025-01-10,true\r\n" +
		"2,\"Dark\nChoc\n\"\"Bar\"\"\",chocolate,2025-03-01,true\r\n" +
		"3,Nuts,nuts,2025-06-15,false\r\n" +
		"4,Mango Bites,fruit,2026-02-20,yes\r\n" +
		"5,Caramel Popcorn,popcorn,2025-11-30,t\r\n"
	writeFile(t, filepath.Join(dir, "snacks.csv"), []byte(snacks))
	res, err := load(t, newHome(t), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := queryStrings(t, openSnap(t, res.Path), "SELECT snack_id, name FROM snacks ORDER BY snack_id LIMIT 2")
	if want := []string{"1|Sea Salt\r\nChips", "2|Dark\nChoc\n\"Bar\""}; fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("rows %q, want %q", rows, want)
	}

	// The same file with a bad value after the multi-line fields.
	writeFile(t, filepath.Join(dir, "snacks.csv"), []byte(snacks+"6,Wafers,sweets,2025-13-01,true\r\n"))
	_, err = load(t, newHome(t), dir, nil)
	want := `snacks.csv line 10, column launched_on: value "2025-13-01" breaks rule launched_on DATE (YYYY-MM-DD)` + "\n"
	if got := outcome(err); !strings.HasPrefix(got, want) {
		t.Errorf("got\n%swant prefix\n%s", got, want)
	}
}

// TestFileSystemErrors covers paths that are folders, cannot be read, or
// do not exist.
func TestFileSystemErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"file is a folder", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "users.csv"))
			os.MkdirAll(filepath.Join(dir, "users.csv"), 0o755)
		}, "users.csv: is a folder, not a csv file; a folder of files must be named users/"},
		{"file in a folder is a folder", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "users.csv"))
			os.MkdirAll(filepath.Join(dir, "users", "a.csv"), 0o755)
		}, "users/a.csv: is a folder, not a file"},
		{"dangling link", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "stock.csv"))
			os.Symlink(filepath.Join(dir, "nowhere.csv"), filepath.Join(dir, "stock.csv"))
		}, "stock.csv: cannot be read: no such file or directory"},
		{"named pipe", func(t *testing.T, dir string) {
			// Opening a named pipe blocks until a writer comes: the load hung,
			// holding the load lock.
			os.Remove(filepath.Join(dir, "users.csv"))
			if err := syscall.Mkfifo(filepath.Join(dir, "users.csv"), 0o644); err != nil {
				t.Skipf("cannot make a named pipe: %v", err)
			}
		}, "users.csv: is a named pipe (FIFO), not a regular file; export table users to a regular file"},
		{"link to itself", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "deliveries.csv"))
			os.Symlink("deliveries", filepath.Join(dir, "deliveries"))
		}, "deliveries: is a symbolic link that loops (it leads back to itself); point it at the table's file or folder, or remove it"},
		{"empty table folder", func(t *testing.T, dir string) {
			// This leaked "Catalog Error: Table with name lv_deliveries does
			// not exist!".
			os.Remove(filepath.Join(dir, "deliveries.csv"))
			os.Mkdir(filepath.Join(dir, "deliveries"), 0o755)
		}, "deliveries/: holds no .csv, .parquet, .jsonl or .arrow file (it is empty); put the files of table deliveries in it, or remove the folder to load deliveries empty"},
		{"table folder holding a link to itself", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "deliveries.csv"))
			os.Mkdir(filepath.Join(dir, "deliveries"), 0o755)
			os.Symlink("../deliveries", filepath.Join(dir, "deliveries", "loop"))
			os.WriteFile(filepath.Join(dir, "deliveries", ".keep"), nil, 0o644)
		}, `deliveries/: holds no .csv, .parquet, .jsonl or .arrow file (it holds only ".keep", "loop/"); put the files of table deliveries in it, or remove the folder to load deliveries empty`},
		{"empty required table folder", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "users.csv"))
			os.Mkdir(filepath.Join(dir, "users"), 0o755)
		}, "users/: holds no .csv, .parquet, .jsonl or .arrow file (it is empty); put the files of table users in it"},
		{"unreadable", func(t *testing.T, dir string) {
			if os.Geteuid() == 0 {
				t.Skip("root reads any file")
			}
			os.Chmod(filepath.Join(dir, "ratings.csv"), 0)
		}, "ratings.csv: cannot be read: permission denied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "extract")
			copyDir(t, baseExtract, dir)
			c.setup(t, dir)
			done := make(chan error, 1)
			go func() {
				_, err := load(t, newHome(t), dir, nil)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || err.Error() != c.want {
					t.Errorf("error %v, want %s", err, c.want)
				}
			case <-time.After(time.Minute):
				t.Fatal("the load hangs")
			}
		})
	}
	t.Run("no extract folder", func(t *testing.T) {
		_, err := load(t, newHome(t), filepath.Join(t.TempDir(), "missing"), nil)
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("extract is a file", func(t *testing.T) {
		_, err := load(t, newHome(t), filepath.Join(baseExtract, "users.csv"), nil)
		if err == nil || !strings.Contains(err.Error(), "is not a folder") {
			t.Errorf("error %v", err)
		}
	})
}

// TestFailedLoadKeepsCurrent checks the atomic switch: after a good load,
// loads failing on rows or on a file leave the previous snapshot current and
// readable, and nothing else in the home.
func TestFailedLoadKeepsCurrent(t *testing.T) {
	home := newHome(t)
	first, err := load(t, home, baseExtract, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, users := range map[string]string{
		"invalid rows":   "user_id,status,box_size,cadence_days,next_ship_on\n10,active,99,14,2026-03-02\n",
		"missing column": "user_id,status\n10,active\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "extract")
			copyDir(t, baseExtract, dir)
			writeFile(t, filepath.Join(dir, "users.csv"), []byte(users))
			if _, err := load(t, home, dir, func(o *loaders.Options) { o.Now = nil }); err == nil {
				t.Fatal("load succeeded")
			}
			cur, err := home.Current()
			if err != nil || cur != first.Snapshot {
				t.Fatalf("current %q, %v; want %s", cur, err, first.Snapshot)
			}
			snaps, _ := home.ListSnapshots()
			if len(snaps) != 1 {
				t.Errorf("snapshots %v", snaps)
			}
			if tmp := home.StaleTemporaries(); len(tmp) > 0 {
				t.Errorf("temporaries left: %v", tmp)
			}
			if n := queryStrings(t, openSnap(t, first.Path), "SELECT count(*) FROM users"); n[0] != "4" {
				t.Errorf("previous snapshot has %v users", n)
			}
			entries, _ := os.ReadDir(home.TmpDir())
			if len(entries) > 0 {
				t.Errorf("spill folder left: %v", entries)
			}
		})
	}
}

// TestNameAndNoSwitch checks --name and --no-switch.
func TestNameAndNoSwitch(t *testing.T) {
	home := newHome(t)
	first, err := load(t, home, baseExtract, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := load(t, home, baseExtract, func(o *loaders.Options) { o.Name = "nightly-1121"; o.NoSwitch = true })
	if err != nil {
		t.Fatal(err)
	}
	if res.Snapshot != "nightly-1121" || res.Current {
		t.Errorf("result %s current=%v", res.Snapshot, res.Current)
	}
	if cur, _ := home.Current(); cur != first.Snapshot {
		t.Errorf("current %s, want %s", cur, first.Snapshot)
	}
	if _, err := os.Stat(home.SnapshotPath("nightly-1121")); err != nil {
		t.Error(err)
	}
	_, err = load(t, home, baseExtract, func(o *loaders.Options) { o.Name = "nightly-1121" })
	if err == nil || !strings.Contains(err.Error(), `snapshot "nightly-1121" already exists`) {
		t.Errorf("error %v", err)
	}
	// A second load in the same second gets a distinct name.
	again, err := load(t, home, baseExtract, nil)
	if err != nil || again.Snapshot == first.Snapshot {
		t.Errorf("second load %v, %v", again, err)
	}
}

// TestLoadLockBusy checks that a load fails clearly while another holds
// the home's load lock.
func TestLoadLockBusy(t *testing.T) {
	home := newHome(t)
	unlock, err := home.LockLoad()
	if err != nil {
		t.Fatal(err)
	}
	_, err = load(t, home, baseExtract, nil)
	unlock()
	if !errors.Is(err, store.ErrLoadBusy) {
		t.Fatalf("error %v, want ErrLoadBusy", err)
	}
	if _, err := load(t, home, baseExtract, nil); err != nil {
		t.Fatalf("load after unlock: %v", err)
	}
}

// TestRejectFileOnlyOnSuccess checks that the reject file appears only
// when the load succeeds, and holds just a header when nothing is rejected.
func TestRejectFileOnlyOnSuccess(t *testing.T) {
	home := newHome(t)
	rej := filepath.Join(t.TempDir(), "rejects.csv")
	res, err := load(t, home, baseExtract, func(o *loaders.Options) { o.RejectFile = rej })
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(rej)
	if string(data) != strings.Join(loaders.RejectHeader, ",")+"\n" || res.Rejected != 0 {
		t.Errorf("reject file %q, rejected %d", data, res.Rejected)
	}
	entries, _ := os.ReadDir(filepath.Dir(rej))
	if len(entries) != 1 {
		t.Errorf("files beside the reject file: %v", entries)
	}
}

// TestProgress checks that every table reports its steps, ending complete.
func TestProgress(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "extract")
	copyDir(t, baseExtract, dir)
	os.Remove(filepath.Join(dir, "skips.csv"))
	last := map[string][2]int{}
	var order []string
	_, err := load(t, newHome(t), dir, func(o *loaders.Options) {
		o.Progress = func(table string, done, total int) {
			if _, seen := last[table]; !seen {
				order = append(order, table)
			}
			last[table] = [2]int{done, total}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range loaders.Tables {
		names = append(names, tb.Name)
		if p := last[tb.Name]; p[0] != p[1] || p[1] == 0 {
			t.Errorf("%s: last progress %v", tb.Name, p)
		}
	}
	// After the tables, the derived rating statistics are written.
	names = append(names, "derived ratings")
	if p := last["derived ratings"]; p != [2]int{1, 1} {
		t.Errorf("derived ratings: last progress %v", p)
	}
	if fmt.Sprint(order) != fmt.Sprint(names) {
		t.Errorf("order %v", order)
	}
}
