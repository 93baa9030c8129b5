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
	for _, s := range []string{
		queries.Get("schema"),
		`INSERT INTO snacks VALUES (1,'a','A','2020-01-01',true), (2,'b','B','2020-01-01',true), (3,'c','A','2020-01-01',true)`,
		`INSERT INTO users VALUES (1,'active',2,7,'2026-01-10')`,
		`INSERT INTO stock VALUES (1,'L1',5,'2026-12-31'), (2,'L2',5,'2026-12-31')`,
	} {
		if _, err := db.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestMainRun(t *testing.T) {
	snap := snapshot(t)
	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	// max-per-category 1 and no fill: one A snack and one B snack.
	code := run(context.Background(), []string{"--snapshot", snap, "--date", "2026-01-10", "--days", "7", "--mode", "run",
		"--out", out, "--max-per-category", "1", "--fill-ignoring-caps=false"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "boxes.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := "ship_on,user_id,position,snack_id,lot_id,score,requested\n2026-01-10,1,1,1,L1,0.5,false\n2026-01-10,1,2,2,L2,0.5,false\n"
	if string(b) != want {
		t.Errorf("boxes.csv:\n%s\nwant:\n%s", b, want)
	}
	if !strings.Contains(stdout.String(), "2 box lines") {
		t.Errorf("summary: %q", stdout.String())
	}
}

func TestMainFlagErrors(t *testing.T) {
	snap := snapshot(t)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--date", "2026-01-10", "--out", "x"}, 2, "--snapshot is required"},
		{[]string{"--snapshot", snap, "--date", "10/01/2026", "--out", "x"}, 2, "not YYYY-MM-DD"},
		{[]string{"--snapshot", snap, "--date", "2026-01-10", "--out", t.TempDir(), "--mode", "explain"}, 1, `mode "explain" is unknown`},
		{[]string{"--bogus"}, 2, "flag provided but not defined"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), c.args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr.String(), c.code, c.msg)
		}
	}
}
