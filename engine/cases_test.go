package engine_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/results"
	queries "github.com/assign-dev/assign/sql"
)

var update = flag.Bool("update", false, "rewrite the want/ sections of engine/testdata/cases from the current output")

// caseArgs are the settings of one case, from its "args" section:
//
//	date 2026-03-02
//	days 3
//	mode preassign|run
//	threads 1
//	policy max_per_category=1 fill_ignoring_caps=false
type caseArgs struct {
	d0      engine.Day
	days    int
	mode    engine.Mode
	threads int
	policy  policy.Policy
}

func parseArgs(t *testing.T, text string) caseArgs {
	t.Helper()
	a := caseArgs{days: 1, policy: policy.Default()}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "date":
			d, err := time.Parse("2006-01-02", f[1])
			if err != nil {
				t.Fatal(err)
			}
			a.d0 = engine.DayOf(d)
		case "days":
			a.days, _ = strconv.Atoi(f[1])
		case "mode":
			if f[1] == "run" {
				a.mode = engine.Assign
			}
		case "threads":
			a.threads, _ = strconv.Atoi(f[1])
		case "policy":
			doc := ""
			for _, kv := range f[1:] {
				doc += strings.Replace(kv, "=", " = ", 1) + "\n"
			}
			p, err := policy.Parse("args", []byte(doc), a.policy)
			if err != nil {
				t.Fatal(err)
			}
			a.policy = p
		default:
			t.Fatalf("unknown args line %q", line)
		}
	}
	return a
}

// openCase builds an in-memory database holding the case's extract.
func openCase(t *testing.T, ar *txtar.Archive) *duck.DB {
	t.Helper()
	ctx := context.Background()
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(ctx, queries.Get("schema")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range ar.Files {
		name := strings.TrimSuffix(f.Name, ".csv")
		if !strings.HasSuffix(f.Name, ".csv") || strings.Contains(f.Name, "/") {
			continue
		}
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		q := fmt.Sprintf("INSERT INTO %s BY NAME SELECT * FROM read_csv(%s, header = true, all_varchar = true)", name, duck.Quote(p))
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatalf("load %s: %v", f.Name, err)
		}
	}
	return db
}

func runCase(t *testing.T, ar *txtar.Archive, a caseArgs, outDir string) *engine.Result {
	t.Helper()
	ctx := context.Background()
	db := openCase(t, ar)
	in, err := engine.LoadInputs(ctx, db, engine.LoadOptions{D0: a.d0, Days: a.days, Policy: a.policy})
	if err != nil {
		t.Fatal(err)
	}
	res, err := engine.Run(ctx, in, engine.Options{Policy: a.policy, Mode: a.mode, Threads: a.threads})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := results.Write(ctx, db, results.Tables(res), outDir, results.FormatCSV); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestCases runs every case in testdata/cases: a tiny extract whose expected
// output tables were derived by hand (the comment at the top of each file
// shows the derivation).
func TestCases(t *testing.T) {
	files, err := filepath.Glob("testdata/cases/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var args string
			for _, f := range ar.Files {
				if f.Name == "args" {
					args = string(f.Data)
				}
			}
			a := parseArgs(t, args)
			out := t.TempDir()
			runCase(t, ar, a, out)
			changed := false
			for i, f := range ar.Files {
				if !strings.HasPrefix(f.Name, "want/") {
					continue
				}
				got, err := os.ReadFile(filepath.Join(out, strings.TrimPrefix(f.Name, "want/")))
				if err != nil {
					t.Fatal(err)
				}
				if *update {
					if string(got) != string(f.Data) {
						ar.Files[i].Data = got
						changed = true
					}
					continue
				}
				if string(got) != string(f.Data) {
					t.Errorf("%s differs\n--- want\n%s--- got\n%s", f.Name, f.Data, got)
				}
			}
			if changed {
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("updated %s", file)
			}
		})
	}
}
