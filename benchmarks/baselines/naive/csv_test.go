package naive

import (
	"os"
	"path/filepath"
	"testing"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWriteCSVRun pins the SPEC section 5 CSV form: headers, date format,
// shortest floats (0.5 + 0.3 = 0.8 for the new snack), true/false, the lot
// consumed in run mode, sort orders, and zero rows in snack_summary.
func TestWriteCSVRun(t *testing.T) {
	p := DefaultPolicy()
	p.RepeatWindowDays = 0
	res := runCase(t, RunMode, 2, p, contentionSQL...)
	dir := t.TempDir()
	if err := res.WriteCSV(dir); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"boxes.csv": `ship_on,user_id,position,snack_id,lot_id,score,requested
2026-01-10,1,1,2,L10,0.5,false
2026-01-10,2,1,2,L2,0.5,false
2026-01-10,3,1,1,Z,0.8,false
2026-01-11,1,1,2,L2,0.5,false
2026-01-11,2,1,2,L2,0.5,false
`,
		"demand.csv": `ship_on,snack_id,demand,covered,shortage
2026-01-10,1,1,1,0
2026-01-10,2,2,2,0
2026-01-11,2,2,2,0
`,
		"snack_summary.csv": `snack_id,demand,stock_usable,covered,shortage
1,1,1,1,0
2,4,6,4,0
`,
		"short_boxes.csv": `ship_on,user_id,box_size,filled
2026-01-11,3,1,0
`,
	}
	for name, w := range want {
		if got := readFile(t, filepath.Join(dir, name)); got != w {
			t.Errorf("%s:\n got:\n%s\nwant:\n%s", name, got, w)
		}
	}
}

// TestWriteCSVPreassign: lot_id is NULL (an empty field), requested lines
// say true, and tables with no rows still have their header.
func TestWriteCSVPreassign(t *testing.T) {
	res := runCase(t, Preassign, 1, DefaultPolicy(),
		`INSERT INTO snacks VALUES (1,'a','A','2020-01-01',true), (2,'b','B','2020-01-01',true)`,
		`INSERT INTO users VALUES (1,'active',2,7,'2026-01-10')`,
		`INSERT INTO requests VALUES (1,2,'2026-01-01')`,
		`INSERT INTO ratings VALUES (9,1,5,'2025-01-01')`,
	)
	dir := t.TempDir()
	if err := res.WriteCSV(dir); err != nil {
		t.Fatal(err)
	}
	// One rating (5): C = 5; snack 1: (5 + 100)/21 = 5 -> popn 1;
	// snack 2 unrated: 100/20 = 5 -> popn 1.
	want := map[string]string{
		"boxes.csv": `ship_on,user_id,position,snack_id,lot_id,score,requested
2026-01-10,1,1,2,,1,true
2026-01-10,1,2,1,,1,false
`,
		"demand.csv": `ship_on,snack_id,demand,covered,shortage
2026-01-10,1,1,0,1
2026-01-10,2,1,0,1
`,
		"snack_summary.csv": `snack_id,demand,stock_usable,covered,shortage
1,1,0,0,1
2,1,0,0,1
`,
		"short_boxes.csv": "ship_on,user_id,box_size,filled\n",
	}
	for name, w := range want {
		if got := readFile(t, filepath.Join(dir, name)); got != w {
			t.Errorf("%s:\n got:\n%s\nwant:\n%s", name, got, w)
		}
	}
}
