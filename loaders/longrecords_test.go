package loaders_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLongRecords covers records longer than DuckDB's defaults. DuckDB
// dropped a 34 MB last line of a CSV file without a word (exit 0, "0
// rejected"), refused lines of 2 to 20 MB with "CSV Error on Line: 5" and a
// 50 MB line followed by more rows with "Parallel CSV Reader currently does
// not support a full read". Now a record up to MaxRecordBytes loads, and a
// longer one is refused naming the file, the line, its length and the
// limit. The files are written into the test's temporary folder and removed
// after each case.
func TestLongRecords(t *testing.T) {
	cases := []struct {
		name   string
		file   string // replaced in the base extract
		header string
		rows   []string // "{big}" in a row is replaced by big
		big    int      // bytes
		want   string   // error; empty: the load succeeds
		check  string   // for a success: a query whose answer is wantCheck
		answer string
	}{
		{
			name: "34 MB last line", file: "snacks.csv", header: "snack_id,name,category,launched_on,active",
			rows: []string{"1,A,chips,2025-01-10,true", "2,B,chips,2025-01-10,true", "3,C,nuts,2025-06-15,false", "4,D,fruit,2026-02-20,yes", "5,E,popcorn,2025-11-30,t", "6,{big},chips,2025-01-01,true"},
			big:  34_000_000,
			want: "snacks.csv line 7: the record starting on this line is 34.0 MB (34000024 bytes) long, over the limit of 16 MiB per record; shorten its values or fix its quoting",
		},
		{
			name: "50 MB line followed by more rows", file: "snacks.csv", header: "snack_id,name,category,launched_on,active",
			rows: []string{"1,A,chips,2025-01-10,true", "2,{big},chips,2025-01-01,true", "3,C,nuts,2025-06-15,false", "4,D,fruit,2026-02-20,yes", "5,E,popcorn,2025-11-30,t"},
			big:  50_000_000,
			want: "snacks.csv line 3: the record starting on this line is 50.0 MB (50000024 bytes) long, over the limit of 16 MiB per record; shorten its values or fix its quoting",
		},
		{
			// A quoted field over many short lines is one record.
			name: "3 MB quoted record loads", file: "snacks.csv", header: "snack_id,name,category,launched_on,active",
			rows:  []string{"1,A,chips,2025-01-10,true", "2,B,chips,2025-01-10,true", "3,\"{big}\",nuts,2025-06-15,false", "4,D,fruit,2026-02-20,yes", "5,E,popcorn,2025-11-30,t"},
			big:   3_000_000,
			check: "SELECT count(*) || ' ' || max(length(name)) FROM snacks", answer: "5 3000000",
		},
		{
			name: "17 MB JSON line", file: "users.jsonl", header: "",
			rows: []string{`{"user_id": 10, "status": "active", "box_size": 8, "cadence_days": 14, "next_ship_on": "2026-03-02"}`,
				`{"user_id": 11, "status": "paused", "box_size": 6, "cadence_days": 28, "next_ship_on": "2026-03-09", "note": "{big}"}`},
			big:  17_000_000,
			want: "users.jsonl line 2: the line is 17.0 MB (17000112 bytes) long, over the limit of 16 MiB per record; shorten its values or fix its quoting",
		},
		{
			name: "9 MB JSON line loads", file: "users.jsonl", header: "",
			rows: []string{`{"user_id": 10, "status": "active", "box_size": 8, "cadence_days": 14, "next_ship_on": "2026-03-02", "note": "{big}"}`,
				`{"user_id": 11, "status": "paused", "box_size": 6, "cadence_days": 28, "next_ship_on": "2026-03-09"}`,
				`{"user_id": 12, "status": "active", "box_size": 10, "cadence_days": 14, "next_ship_on": "2026-03-04"}`,
				`{"user_id": 13, "status": "cancelled", "box_size": 8, "cadence_days": 28, "next_ship_on": "2026-02-01"}`},
			big:   9_000_000,
			check: "SELECT count(*) || ' ' || max(length(note)) FROM users", answer: "4 9000000",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "extract")
			copyDir(t, baseExtract, dir)
			table := strings.TrimSuffix(c.file, filepath.Ext(c.file))
			os.Remove(filepath.Join(dir, table+".csv"))
			writeBig(t, filepath.Join(dir, c.file), c.header, c.rows, c.big)
			res, err := load(t, newHome(t), dir, nil)
			if c.want != "" {
				if err == nil || err.Error() != c.want {
					t.Fatalf("error %v\nwant %s", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := queryStrings(t, openSnap(t, res.Path), c.check); len(got) != 1 || got[0] != c.answer {
				t.Errorf("%s: %v, want %s", c.check, got, c.answer)
			}
		})
	}
}

// writeBig writes a text file of a header (when not empty) and rows, with
// "{big}" in a row replaced by n bytes: x's, in lines of 99 and a line
// break when the row quotes it ("\"{big}\""), else one run.
func writeBig(t *testing.T, path, header string, rows []string, n int) {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(fh, 1<<20)
	if header != "" {
		w.WriteString(header + "\n")
	}
	for _, r := range rows {
		before, after, ok := strings.Cut(r, "{big}")
		w.WriteString(before)
		if ok {
			lines := strings.HasSuffix(before, `"`) && !strings.HasSuffix(before, `: "`)
			chunk := strings.Repeat("x", 99) + "\n"
			if !lines {
				chunk = strings.Repeat("x", 100)
			}
			for k := 0; k < n/100; k++ {
				w.WriteString(chunk)
			}
			w.WriteString(strings.Repeat("x", n%100))
		}
		w.WriteString(after + "\n")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	fh.Close()
}
