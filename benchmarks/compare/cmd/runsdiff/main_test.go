package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeDir(t *testing.T, score string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"boxes.csv":         "ship_on,user_id,position,snack_id,lot_id,score,requested\n2026-01-10,1,1,5,,SCORE,false\n",
		"demand.csv":        "ship_on,snack_id,demand,covered,shortage\n2026-01-10,5,1,0,1\n",
		"snack_summary.csv": "snack_id,demand,stock_usable,covered,shortage\n5,1,0,0,1\n",
		"short_boxes.csv":   "ship_on,user_id,box_size,filled\n",
	}
	for name, text := range files {
		text = strings.ReplaceAll(text, "SCORE", score)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRunsdiff(t *testing.T) {
	a, b := writeDir(t, "0.5"), writeDir(t, "0.75")
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{a, a}, 0, "no differences"},
		{[]string{a, b}, 1, "score differs: want 0.5, got 0.75"},
		{[]string{"--tol", "0.3", a, b}, 0, "no differences"},
		{[]string{a}, 2, "exactly two run folders"},
		{[]string{a, t.TempDir()}, 2, "does not exist"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(c.args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stdout.String()+stderr.String(), c.out) {
			t.Errorf("%v: exit %d, out %q %q; want exit %d with %q", c.args, code, stdout.String(), stderr.String(), c.code, c.out)
		}
	}
}
