// Package spectest is the SPEC section 4 case suite as a runner any
// implementation can use, in the manner of Prometheus' promqltest: the
// engine and both baselines in benchmarks/baselines call Run with their own
// Impl and must produce, for every case, exactly the output folder the case
// expects.
//
// A case is a txtar file in testdata/cases: a comment deriving the expected
// result by hand from the SPEC, then sections
//
//	args                 date, days, mode, threads and policy lines (below)
//	<table>.csv          a table of the extract (header row; absent = empty)
//	setup.sql            optional SQL run after the CSV files (INSERTs)
//	want/<table>.csv     every output table, in the SPEC section 5 CSV form
//	error                instead of want/: a regular expression the error
//	                     of every implementation must match
//
// The args section:
//
//	date 2026-03-02
//	days 3
//	mode preassign|run
//	threads 1
//	policy max_per_category=1 fill_ignoring_caps=false
//	allocator optimal
//
// A case of run mode may name an allocator other than the reference greedy
// (`allocator optimal`); an implementation that does not list it in
// Impl.Allocators skips the case. Such a case may expect tables beyond the
// SPEC's (the engine's want/certificate.txt).
//
// The whole output folder is compared: a table the implementation wrote that
// the case does not list fails, as does a listed table it wrote differently
// or not at all. An implementation that does not write a table (the
// baselines write no `picks`) says so in Impl.Tables, and a mode it does not
// implement is skipped. `go test ./engine -run TestCases -update` rewrites
// the want/ sections from the reference implementation, on purpose only.
package spectest

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/policy"
	queries "github.com/assign-dev/assign/sql"
)

//go:embed testdata/cases/*.txtar
var cases embed.FS

var update = flag.Bool("update", false, "rewrite the want/ sections of internal/spectest/testdata/cases from the reference implementation's output")

// Mode names as the cases write them.
const (
	Preassign = "preassign"
	RunMode   = "run"
)

// Case is the settings of one case, from its args section.
type Case struct {
	Name string
	// Start is D0, the first ship date (a calendar date, UTC midnight).
	Start time.Time
	// Days is the horizon length (1 unless the case says otherwise; a case
	// may give 0 to expect the error of an empty horizon).
	Days int
	// Mode is Preassign or RunMode.
	Mode string
	// Threads is the worker count (0: the implementation's default).
	Threads int
	// Policy is the SPEC section 3 defaults overridden by the policy line.
	Policy policy.Policy
	// Allocator is run mode's allocator: Greedy unless the case says
	// otherwise.
	Allocator string
}

// Greedy is the reference allocator's name in an allocator line.
const Greedy = "greedy"

// Impl is one implementation of SPEC section 4 under test.
type Impl struct {
	// Name names the implementation in failures.
	Name string
	// Reference marks the implementation whose output -update writes.
	Reference bool
	// Modes are the modes it implements; cases of another mode are skipped.
	Modes []string
	// Allocators are the run-mode allocators it implements besides the
	// reference greedy; cases of another allocator are skipped.
	Allocators []string
	// Tables are the output tables it writes (names without .csv). A case's
	// expected table outside this list is not compared; an output file
	// outside it fails like any unexpected table.
	Tables []string
	// Run plans the case over snapshot, a DuckDB file holding the tables of
	// sql/schema.sql (to be opened read-only), and writes its output tables
	// into the existing folder out as SPEC section 5 CSV files.
	Run func(ctx context.Context, snapshot string, c Case, out string) error
}

// Run runs every case of the suite against impl, each as a subtest.
func Run(t *testing.T, impl Impl) {
	names, err := fsGlob()
	if err != nil || len(names) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, name := range names {
		t.Run(strings.TrimSuffix(path.Base(name), ".txtar"), func(t *testing.T) {
			data, err := cases.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			runOne(t, impl, name, txtar.Parse(data))
		})
	}
}

// Build writes the snapshot of the named case (its file name without
// .txtar) for a test that looks at one case more closely, and returns its
// path and the case's settings.
func Build(t *testing.T, name string) (snapshot string, c Case) {
	t.Helper()
	file := "testdata/cases/" + name + ".txtar"
	data, err := cases.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ar := txtar.Parse(data)
	c, err = ParseArgs(section(ar, "args"))
	if err != nil {
		t.Fatalf("%s args: %v", name, err)
	}
	c.Name = name
	return buildSnapshot(t, ar), c
}

func fsGlob() ([]string, error) {
	names, err := fs.Glob(cases, "testdata/cases/*.txtar")
	slices.Sort(names)
	return names, err
}

func runOne(t *testing.T, impl Impl, name string, ar *txtar.Archive) {
	c, err := ParseArgs(section(ar, "args"))
	if err != nil {
		t.Fatalf("args: %v", err)
	}
	c.Name = strings.TrimSuffix(path.Base(name), ".txtar")
	if !slices.Contains(impl.Modes, c.Mode) {
		t.Skipf("%s does not implement mode %s", impl.Name, c.Mode)
	}
	if c.Allocator != Greedy && !slices.Contains(impl.Allocators, c.Allocator) {
		t.Skipf("%s does not implement allocator %s", impl.Name, c.Allocator)
	}
	wantErr, expectsError := sectionOK(ar, "error")
	var wants []txtar.File
	for _, f := range ar.Files {
		if strings.HasPrefix(f.Name, "want/") {
			wants = append(wants, f)
		}
	}
	if expectsError == (len(wants) > 0) && !(*update && impl.Reference && !expectsError) {
		t.Fatalf("a case has either want/ sections or an error section (it has %d want/ and error=%v)", len(wants), expectsError)
	}
	ctx := context.Background()
	snap := buildSnapshot(t, ar)
	out := t.TempDir()
	runErr := impl.Run(ctx, snap, c, out)
	if expectsError {
		re, err := regexp.Compile(strings.TrimSpace(wantErr))
		if err != nil {
			t.Fatalf("error section: %v", err)
		}
		switch {
		case runErr == nil:
			t.Fatalf("%s: no error, want one matching %s", impl.Name, re)
		case !re.MatchString(runErr.Error()):
			t.Fatalf("%s: error %q does not match %s", impl.Name, runErr, re)
		}
		return
	}
	if runErr != nil {
		t.Fatalf("%s: %v", impl.Name, runErr)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	wanted := map[string]bool{}
	for _, f := range wants {
		wanted[strings.TrimPrefix(f.Name, "want/")] = true
	}
	changed := false
	for _, e := range entries {
		if wanted[e.Name()] {
			continue
		}
		if *update && impl.Reference {
			got, err := os.ReadFile(filepath.Join(out, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			ar.Files = append(ar.Files, txtar.File{Name: "want/" + e.Name(), Data: got})
			changed = true
			continue
		}
		t.Errorf("%s wrote %s, which the case does not expect", impl.Name, e.Name())
	}
	for _, f := range wants {
		file := strings.TrimPrefix(f.Name, "want/")
		if !slices.Contains(impl.Tables, strings.TrimSuffix(file, ".csv")) {
			continue
		}
		got, err := os.ReadFile(filepath.Join(out, file))
		if err != nil {
			t.Errorf("%s did not write %s: %v", impl.Name, file, err)
			continue
		}
		if string(got) == string(f.Data) {
			continue
		}
		if *update && impl.Reference {
			for i := range ar.Files {
				if ar.Files[i].Name == f.Name {
					ar.Files[i].Data = got
				}
			}
			changed = true
			continue
		}
		t.Errorf("%s: %s differs\n--- want\n%s--- got\n%s", impl.Name, file, f.Data, got)
	}
	if changed {
		_, self, _, _ := runtime.Caller(0)
		dest := filepath.Join(filepath.Dir(self), filepath.FromSlash(name))
		if err := os.WriteFile(dest, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("updated %s", dest)
	}
}

func section(ar *txtar.Archive, name string) string {
	s, _ := sectionOK(ar, name)
	return s
}

func sectionOK(ar *txtar.Archive, name string) (string, bool) {
	for _, f := range ar.Files {
		if f.Name == name {
			return string(f.Data), true
		}
	}
	return "", false
}

// ParseArgs reads a case's args section.
func ParseArgs(text string) (Case, error) {
	c := Case{Days: 1, Mode: Preassign, Policy: policy.Default(), Allocator: Greedy}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) < 2 {
			return c, fmt.Errorf("args line %q has no value", line)
		}
		var err error
		switch f[0] {
		case "date":
			c.Start, err = time.Parse(time.DateOnly, f[1])
		case "days":
			c.Days, err = strconv.Atoi(f[1])
		case "mode":
			if f[1] != Preassign && f[1] != RunMode {
				err = fmt.Errorf("mode %q: want preassign or run", f[1])
			}
			c.Mode = f[1]
		case "threads":
			c.Threads, err = strconv.Atoi(f[1])
		case "allocator":
			c.Allocator = f[1]
		case "policy":
			doc := ""
			for _, kv := range f[1:] {
				doc += strings.Replace(kv, "=", " = ", 1) + "\n"
			}
			c.Policy, err = policy.Parse("args", []byte(doc), c.Policy)
		default:
			err = fmt.Errorf("unknown args line %q", line)
		}
		if err != nil {
			return c, err
		}
	}
	if c.Start.IsZero() {
		return c, fmt.Errorf("no date line")
	}
	if c.Allocator != Greedy && c.Mode != RunMode {
		return c, fmt.Errorf("allocator %s needs mode run", c.Allocator)
	}
	return c, nil
}

// buildSnapshot writes a snapshot file holding the case's extract: the
// typed tables of sql/schema.sql filled from its CSV sections, then its
// setup.sql.
func buildSnapshot(t *testing.T, ar *txtar.Archive) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	snap := filepath.Join(dir, "snapshot.duckdb")
	db, err := duck.OpenFile(ctx, snap, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, queries.Get("schema")); err != nil {
		t.Fatal(err)
	}
	for _, f := range ar.Files {
		if !strings.HasSuffix(f.Name, ".csv") || strings.Contains(f.Name, "/") {
			continue
		}
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		q := fmt.Sprintf("INSERT INTO %s BY NAME SELECT * FROM read_csv(%s, header = true, all_varchar = true)",
			strings.TrimSuffix(f.Name, ".csv"), duck.Quote(p))
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatalf("load %s: %v", f.Name, err)
		}
	}
	if setup, ok := sectionOK(ar, "setup.sql"); ok {
		if _, err := db.Exec(ctx, setup); err != nil {
			t.Fatalf("setup.sql: %v", err)
		}
	}
	if _, err := db.Exec(ctx, "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	return snap
}
