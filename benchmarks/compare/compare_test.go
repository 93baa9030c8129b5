package compare

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var base = map[string]string{
	"boxes": `ship_on,user_id,position,snack_id,lot_id,score,requested
2026-01-10,1,1,5,,0.8,true
2026-01-10,1,2,7,,0.5,false
2026-01-10,2,1,5,,0.8,false
2026-01-10,10,1,3,,1.25,false
`,
	"demand": `ship_on,snack_id,demand,covered,shortage
2026-01-10,3,1,1,0
2026-01-10,5,2,1,1
2026-01-10,7,1,0,1
`,
	"snack_summary": `snack_id,demand,stock_usable,covered,shortage
3,1,4,1,0
5,2,1,1,1
7,1,0,0,1
9,0,0,0,0
`,
	"short_boxes": `ship_on,user_id,box_size,filled
2026-01-10,2,2,1
2026-01-10,10,2,1
`,
}

// writeRun writes base with edits applied: edits maps a table to
// old -> new substring replacements.
func writeRun(t *testing.T, edits map[string][2]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range base {
		if e, ok := edits[name]; ok {
			if !strings.Contains(text, e[0]) {
				t.Fatalf("edit %q not found in %s", e[0], name)
			}
			text = strings.Replace(text, e[0], e[1], 1)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".csv"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCompareDirs(t *testing.T) {
	cases := []struct {
		name  string
		edits map[string][2]string
		want  []string // Difference.String() of every difference
	}{
		{"identical", nil, nil},
		{"score within tolerance", map[string][2]string{"boxes": {"0.8,true", "0.8000000000000002,true"}}, nil},
		{"score beyond tolerance", map[string][2]string{"boxes": {"1.25,false", "1.2500001,false"}},
			[]string{"boxes [ship_on=2026-01-10 user_id=10 position=1]: score differs: want 1.25, got 1.2500001"}},
		{"integer field", map[string][2]string{"demand": {"2026-01-10,5,2,1,1", "2026-01-10,5,2,2,0"}},
			[]string{
				"demand [ship_on=2026-01-10 snack_id=5]: covered differs: want 1, got 2",
				"demand [ship_on=2026-01-10 snack_id=5]: shortage differs: want 1, got 0",
			}},
		{"boolean and NULL", map[string][2]string{"boxes": {"2026-01-10,1,2,7,,0.5,false", "2026-01-10,1,2,7,L1,0.5,true"}},
			[]string{
				"boxes [ship_on=2026-01-10 user_id=1 position=2]: lot_id differs: want (empty), got L1",
				"boxes [ship_on=2026-01-10 user_id=1 position=2]: requested differs: want false, got true",
			}},
		{"missing row", map[string][2]string{"short_boxes": {"2026-01-10,2,2,1\n", ""}},
			[]string{"short_boxes [ship_on=2026-01-10 user_id=2]: missing in got (want line 2: 2026-01-10,2,2,1)"}},
		{"extra row", map[string][2]string{"snack_summary": {"9,0,0,0,0\n", "9,0,0,0,0\n11,0,3,0,0\n"}},
			[]string{"snack_summary [snack_id=11]: extra in got (got line 6: 11,0,3,0,0)"}},
		{"out of order", map[string][2]string{"boxes": {
			"2026-01-10,2,1,5,,0.8,false\n2026-01-10,10,1,3,,1.25,false\n",
			"2026-01-10,10,1,3,,1.25,false\n2026-01-10,2,1,5,,0.8,false\n"}},
			[]string{"boxes [ship_on=2026-01-10 user_id=2 position=1]: got line 5 is out of order (rows must be sorted by (ship_on, user_id, position))"}},
		{"duplicate key", map[string][2]string{"demand": {"2026-01-10,7,1,0,1\n", "2026-01-10,7,1,0,1\n2026-01-10,7,1,0,1\n"}},
			[]string{"demand [ship_on=2026-01-10 snack_id=7]: key occurs twice in got (line 5)"}},
		// Only the header names are swapped, so by name the values differ too.
		{"header", map[string][2]string{"short_boxes": {"box_size,filled", "filled,box_size"}},
			[]string{
				"short_boxes: got header is ship_on,user_id,filled,box_size, want ship_on,user_id,box_size,filled",
				"short_boxes [ship_on=2026-01-10 user_id=2]: box_size differs: want 2, got 1",
				"short_boxes [ship_on=2026-01-10 user_id=2]: filled differs: want 1, got 2",
				"short_boxes [ship_on=2026-01-10 user_id=10]: box_size differs: want 2, got 1",
				"short_boxes [ship_on=2026-01-10 user_id=10]: filled differs: want 1, got 2",
			}},
		{"missing key column", map[string][2]string{"demand": {"ship_on,snack_id,", "ship_on,snack,"}},
			[]string{"demand: got header is ship_on,snack,demand,covered,shortage, want ship_on,snack_id,demand,covered,shortage"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := writeRun(t, nil)
			got := writeRun(t, c.edits)
			diffs, err := CompareDirs(want, got, 1e-9)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, d := range diffs {
				lines = append(lines, d.String())
			}
			if strings.Join(lines, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// TestSwappedColumnsCompareByName: a header in another order is reported
// once, and values are still matched by column name, not position.
func TestSwappedColumnsCompareByName(t *testing.T) {
	want := writeRun(t, nil)
	got := writeRun(t, map[string][2]string{"short_boxes": {
		"ship_on,user_id,box_size,filled\n2026-01-10,2,2,1\n2026-01-10,10,2,1\n",
		"ship_on,user_id,filled,box_size\n2026-01-10,2,1,2\n2026-01-10,10,1,3\n"}})
	diffs, err := CompareDirs(want, got, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 2 || diffs[0].Kind != Header || diffs[1].Kind != Field || diffs[1].Column != "box_size" || diffs[1].Got != "3" {
		t.Errorf("got %v", diffs)
	}
}

func TestCompareDirsErrors(t *testing.T) {
	want := writeRun(t, nil)
	empty := t.TempDir()
	if _, err := CompareDirs(want, empty, 0); err == nil || !strings.Contains(err.Error(), "boxes.csv does not exist") {
		t.Errorf("missing file: %v", err)
	}
	bad := writeRun(t, map[string][2]string{"demand": {"2026-01-10,3,1,1,0", "2026-01-10,3,1"}})
	if _, err := CompareDirs(want, bad, 0); err == nil || !strings.Contains(err.Error(), "wrong number of fields") {
		t.Errorf("ragged file: %v", err)
	}
}

func TestReport(t *testing.T) {
	if got := Report(nil, 10); got != "no differences\n" {
		t.Errorf("empty report: %q", got)
	}
	diffs := []Difference{
		{Table: "boxes", Kind: Missing, Key: "k1", Line: 2, Want: "a"},
		{Table: "boxes", Kind: Missing, Key: "k2", Line: 3, Want: "b"},
		{Table: "demand", Kind: Field, Key: "k3", Column: "covered", Want: "1", Got: "2"},
	}
	want := `3 difference(s): boxes 2 missing, demand 1 field
boxes [k1]: missing in got (want line 2: a)
boxes [k2]: missing in got (want line 3: b)
... and 1 more (raise --max to see them)
`
	if got := Report(diffs, 2); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
