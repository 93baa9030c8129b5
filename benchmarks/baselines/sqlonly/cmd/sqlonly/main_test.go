package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assign-dev/assign/duck"
	queries "github.com/assign-dev/assign/sql"
)

func snapshot(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "snap.duckdb")
	ctx := context.Background()
	db, err := duck.OpenFile(ctx, path, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, queries.Get("schema")+`
INSERT INTO snacks VALUES (1,'s1','a','2025-01-01',true),(2,'s2','a','2025-01-01',true),(3,'s3','b','2025-01-01',true);
INSERT INTO users VALUES (1,'active',3,7,'2026-03-02'),(2,'active',2,7,'2026-03-03');
INSERT INTO stock VALUES (1,'L1',1,'2026-05-01');`); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMainFlags(t *testing.T) {
	snap := snapshot(t)
	out := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"no snapshot", []string{"--date", "2026-03-02", "--out", out}, 2, "--snapshot is required"},
		{"bad date", []string{"--snapshot", snap, "--date", "2026-3-2", "--out", out}, 2, "--date"},
		{"no days", []string{"--snapshot", snap, "--date", "2026-03-02", "--days", "0", "--out", out}, 2, "--days 0"},
		{"bad policy", []string{"--snapshot", snap, "--date", "2026-03-02", "--out", out, "--never-again-rating", "9"}, 2, "never_again_rating"},
		{"missing file", []string{"--snapshot", filepath.Join(t.TempDir(), "nope.duckdb"), "--date", "2026-03-02", "--out", t.TempDir()}, 1, "cannot be read"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, errb bytes.Buffer
			if code := Main(c.args, &stdout, &errb); code != c.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, c.code, errb.String())
			}
			if !strings.Contains(errb.String(), c.err) {
				t.Errorf("stderr %q does not mention %q", errb.String(), c.err)
			}
		})
	}
}

// TestMainWritesCSV checks the exact files. With no ratings every snack
// scores popn = (3 - 1) / 4 = 0.5 and ties go by snack_id: user 1 ships on
// 03-02 (1, 2, 3; cap 2 admits both snacks of a), user 2 on 03-03 (1, 2).
// The single unit of snack 1 covers 03-02 and none is left for 03-03.
func TestMainWritesCSV(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	var out, errb bytes.Buffer
	if code := Main([]string{"--snapshot", snapshot(t), "--date", "2026-03-02", "--days", "2", "--out", dir, "--threads", "1"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	want := map[string]string{
		"boxes.csv": "ship_on,user_id,position,snack_id,lot_id,score,requested\n" +
			"2026-03-02,1,1,1,,0.5,false\n2026-03-02,1,2,2,,0.5,false\n2026-03-02,1,3,3,,0.5,false\n" +
			"2026-03-03,2,1,1,,0.5,false\n2026-03-03,2,2,2,,0.5,false\n",
		"demand.csv": "ship_on,snack_id,demand,covered,shortage\n" +
			"2026-03-02,1,1,1,0\n2026-03-02,2,1,0,1\n2026-03-02,3,1,0,1\n2026-03-03,1,1,0,1\n2026-03-03,2,1,0,1\n",
		"snack_summary.csv": "snack_id,demand,stock_usable,covered,shortage\n1,2,1,1,1\n2,2,0,0,2\n3,1,0,0,1\n",
		"short_boxes.csv":   "ship_on,user_id,box_size,filled\n",
	}
	for f, w := range want {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != w {
			t.Errorf("%s:\n%s\nwant\n%s", f, b, w)
		}
	}
	if !strings.Contains(errb.String(), "2 dates, 2 boxes (0 short), 5 box lines") {
		t.Errorf("summary line: %s", errb.String())
	}
}
