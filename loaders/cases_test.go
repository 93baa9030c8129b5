package loaders_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/store"
)

var update = flag.Bool("update", false, "rewrite the want sections of loaders/testdata/cases from the current output")

const baseExtract = "testdata/extracts/base"

var fixedNow = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

// TestCases runs every testdata/cases/*.txtar: the base extract overlaid
// with the case's files (and without those its "remove" section lists),
// loaded, and the outcome compared with its "want" section:
//
//	args:   "reject" loads with a reject file (its content is part of the outcome)
//	remove: files of the base extract to delete, one per line
//	want:   the violations as the command prints them and the error, or the
//	        per-table summary (rows, rejected) and the reject file
func TestCases(t *testing.T) {
	files, err := filepath.Glob("testdata/cases/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var reject bool
			var remove []string
			var wantIdx = -1
			dir := t.TempDir()
			extract := filepath.Join(dir, "extract")
			copyDir(t, baseExtract, extract)
			for i, f := range ar.Files {
				switch f.Name {
				case "args":
					reject = strings.Contains(string(f.Data), "reject")
				case "remove":
					remove = strings.Fields(string(f.Data))
				case "want":
					wantIdx = i
				}
			}
			for _, r := range remove {
				if err := os.RemoveAll(filepath.Join(extract, r)); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range ar.Files {
				switch f.Name {
				case "args", "remove", "want":
					continue
				}
				writeFile(t, filepath.Join(extract, f.Name), f.Data)
			}
			got := runLoad(t, dir, extract, reject)
			if wantIdx < 0 {
				ar.Files = append(ar.Files, txtar.File{Name: "want"})
				wantIdx = len(ar.Files) - 1
			}
			if *update {
				ar.Files[wantIdx].Data = []byte(got)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := string(ar.Files[wantIdx].Data); got != want {
				t.Errorf("outcome differs from the want section (run with -update to accept)\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

// runLoad loads extract into a fresh home under dir and renders the outcome
// as text.
func runLoad(t *testing.T, dir, extract string, reject bool) string {
	t.Helper()
	home, err := store.Open(filepath.Join(dir, "home"))
	if err != nil {
		t.Fatal(err)
	}
	opts := loaders.Options{Dir: extract, Home: home, Now: func() time.Time { return fixedNow }, Version: "test", Threads: 2}
	rejectPath := filepath.Join(dir, "rejects.csv")
	if reject {
		opts.RejectFile = rejectPath
	}
	res, err := loaders.Load(context.Background(), opts)
	var b strings.Builder
	var verr *loaders.ValidationError
	switch {
	case errors.As(err, &verr):
		for _, v := range verr.Shown {
			b.WriteString(v.String() + "\n")
		}
		if verr.More() > 0 {
			fmt.Fprintf(&b, "... and %d more\n", verr.More())
		}
		fmt.Fprintf(&b, "error: %s\n", err)
	case err != nil:
		fmt.Fprintf(&b, "error: %s\n", strings.ReplaceAll(err.Error(), extract, "$EXTRACT"))
	default:
		for _, n := range res.Notes {
			fmt.Fprintf(&b, "note: %s\n", n)
		}
		for _, tr := range res.Tables {
			if tr.Absent {
				fmt.Fprintf(&b, "%s absent\n", tr.Table)
				continue
			}
			fmt.Fprintf(&b, "%s rows=%d rejected=%d source=%s format=%s\n", tr.Table, tr.Rows, tr.Rejected, tr.Source, tr.Format)
		}
		if reject {
			data, err := os.ReadFile(rejectPath)
			if err != nil {
				t.Fatalf("reject file: %v", err)
			}
			b.WriteString("reject file:\n")
			b.Write(data)
		}
	}
	if err != nil {
		// A failed load changes nothing in the home.
		snaps, _ := home.ListSnapshots()
		if len(snaps) > 0 {
			t.Errorf("failed load left snapshots %v", snaps)
		}
		if tmp := home.StaleTemporaries(); len(tmp) > 0 {
			t.Errorf("failed load left temporaries %v", tmp)
		}
		if _, err := home.Current(); !errors.Is(err, store.ErrNoSnapshot) {
			t.Errorf("failed load set a current snapshot: %v", err)
		}
		if _, err := os.Stat(rejectPath); reject && err == nil {
			t.Errorf("failed load left a reject file")
		}
	}
	return b.String()
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			copyDir(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dst, e.Name()), data)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
