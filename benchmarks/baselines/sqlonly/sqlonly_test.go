package sqlonly

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/policy"
	queries "github.com/assign-dev/assign/sql"
)

// makeSnapshot writes a snapshot database file with the schema of
// sql/schema.sql and the rows inserted by inserts.
func makeSnapshot(t *testing.T, inserts string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "snap.duckdb")
	ctx := context.Background()
	db, err := duck.OpenFile(ctx, path, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, queries.Get("schema")); err != nil {
		t.Fatalf("schema: %v", err)
	}
	if strings.TrimSpace(inserts) != "" {
		if _, err := db.Exec(ctx, inserts); err != nil {
			t.Fatalf("inserts: %v", err)
		}
	}
	return path
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// caseOutputs are the four result files read back, in compact test form.
type caseOutputs struct {
	// boxes: "DATE uUSER: s1 s2* ..." in position order, * = requested.
	boxes []string
	// short: "DATE uUSER box_size filled".
	short []string
	// demand: "DATE sSNACK demand covered shortage".
	demand []string
	// summary: "sSNACK demand stock_usable covered shortage".
	summary []string
	// scores: "DATE/USER/SNACK" -> score.
	scores map[string]float64
}

func runCase(t *testing.T, snap, date string, days int, pol policy.Policy, threads int) (caseOutputs, string) {
	t.Helper()
	d, err := time.Parse(dateLayout, date)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if _, err := Run(context.Background(), Options{
		Snapshot: snap, Start: d, Days: days, OutDir: out, Policy: pol, Threads: threads,
	}); err != nil {
		t.Fatalf("run: %v", err)
	}
	var o caseOutputs
	o.scores = map[string]float64{}

	rows := readCSV(t, filepath.Join(out, "boxes.csv"))
	if want := []string{"ship_on", "user_id", "position", "snack_id", "lot_id", "score", "requested"}; !reflect.DeepEqual(rows[0], want) {
		t.Fatalf("boxes header %v, want %v", rows[0], want)
	}
	var cur string
	for _, r := range rows[1:] {
		key := r[0] + " u" + r[1] + ":"
		if key != cur {
			o.boxes = append(o.boxes, key)
			cur = key
		}
		n := len(strings.Fields(o.boxes[len(o.boxes)-1])) - 2 // date and user come first
		if r[2] != strconv.Itoa(n+1) {
			t.Fatalf("box %s: position %s, want %d", key, r[2], n+1)
		}
		if r[4] != "" {
			t.Fatalf("box %s: lot_id %q in preassign, want empty", key, r[4])
		}
		line := " " + r[3]
		switch r[6] {
		case "true":
			line += "*"
		case "false":
		default:
			t.Fatalf("requested %q is not true/false", r[6])
		}
		o.boxes[len(o.boxes)-1] += line
		s, err := strconv.ParseFloat(r[5], 64)
		if err != nil {
			t.Fatalf("score %q: %v", r[5], err)
		}
		o.scores[r[0]+"/"+r[1]+"/"+r[3]] = s
	}
	for _, r := range readCSV(t, filepath.Join(out, "short_boxes.csv"))[1:] {
		o.short = append(o.short, fmt.Sprintf("%s u%s %s %s", r[0], r[1], r[2], r[3]))
	}
	for _, r := range readCSV(t, filepath.Join(out, "demand.csv"))[1:] {
		o.demand = append(o.demand, fmt.Sprintf("%s s%s %s %s %s", r[0], r[1], r[2], r[3], r[4]))
	}
	for _, r := range readCSV(t, filepath.Join(out, "snack_summary.csv"))[1:] {
		o.summary = append(o.summary, fmt.Sprintf("s%s %s %s %s %s", r[0], r[1], r[2], r[3], r[4]))
	}
	return o, out
}

// Snack rows default to active, launched long ago.
const launched = "'2025-01-01'"

func check(t *testing.T, what string, got, want []string) {
	t.Helper()
	if got == nil {
		got = []string{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// TestScores checks every score term and the exact float64 result against
// the SPEC formula evaluated here with the hand-derived counts and sums.
// Latest ratings: snack 1 {5,4,5}; snack 2 {2, and 3 from a same-time tie
// of 5 and 3}; snack 4 {5} (u1's earlier 1 is superseded); snack 5 {4}
// (inactive). All seven: sum 28, count 7, C = 4. u1: pref A -1, B 2;
// affinity A over snacks 4 and 5: n 2, r 4.5; snack 3 launched 10 days
// before D and 7 on D are new; 6 launched 30 days before D is not.
func TestScores(t *testing.T) {
	snap := makeSnapshot(t, `
INSERT INTO snacks VALUES
  (1,'s1','A',`+launched+`,true),(2,'s2','B',`+launched+`,true),(3,'s3','C','2026-02-20',true),
  (4,'s4','A',`+launched+`,true),(5,'s5','A',`+launched+`,false),(6,'s6','B','2026-01-31',true),
  (7,'s7','C','2026-03-02',true);
INSERT INTO users VALUES (1,'active',10,7,'2026-03-02'),(100,'paused',1,7,'2026-03-02'),
  (101,'paused',1,7,'2026-03-02'),(102,'paused',1,7,'2026-03-02');
INSERT INTO ratings VALUES
  (100,1,5,'2026-01-01 00:00:00'),(101,1,4,'2026-01-01 00:00:00'),(102,1,5,'2026-01-01 00:00:00'),
  (100,2,2,'2026-01-01 00:00:00'),
  (101,2,5,'2026-01-01 10:00:00'),(101,2,3,'2026-01-01 10:00:00'),
  (1,4,1,'2025-06-01 00:00:00'),(1,4,5,'2025-12-01 00:00:00'),
  (1,5,4,'2025-12-01 00:00:00');
INSERT INTO user_prefs VALUES (1,'B',2),(1,'A',-1),(100,'C',2);`)
	pol := policy.Default()
	o, out := runCase(t, snap, "2026-03-02", 1, pol, 1)
	// Scores 6: 1.55, 2: 1.5159, 3 = 7: 1.05 (tie by snack_id), 1: 0.5517, 4: 0.5419.
	check(t, "boxes", o.boxes, []string{"2026-03-02 u1: 6 2 3 7 1 4"})
	check(t, "short_boxes", o.short, []string{"2026-03-02 u1 10 6"})

	c := 28.0 / 7.0
	score := func(sum, n float64, pref, aff, nov float64) float64 {
		pop := (sum + pol.PriorWeight*c) / (n + pol.PriorWeight)
		popn := (pop - 1) / 4
		return ((pol.WPopularity*popn + pol.WPreference*pref) + pol.WAffinity*aff) + pol.WNovelty*nov
	}
	affA := (2.0 / (2.0 + 3)) * ((9.0/2.0 - 3) / 2)
	want := map[string]float64{
		"1": score(14, 3, -1.0/2, affA, 0),
		"2": score(5, 2, 2.0/2, 0, 0),
		"3": score(0, 0, 0, 0, 1),
		"4": score(5, 1, -1.0/2, affA, 0),
		"6": score(0, 0, 2.0/2, 0, 0),
		"7": score(0, 0, 0, 0, 1),
	}
	for s, w := range want {
		got, ok := o.scores["2026-03-02/1/"+s]
		if !ok {
			t.Errorf("snack %s not in the box", s)
			continue
		}
		if math.Float64bits(got) != math.Float64bits(w) {
			t.Errorf("score of snack %s = %v, want %v", s, got, w)
		}
	}

	// The CSV form: shortest round-trip floats, empty lot_id, true/false.
	raw, err := os.ReadFile(filepath.Join(out, "boxes.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if lines[0] != "ship_on,user_id,position,snack_id,lot_id,score,requested" {
		t.Errorf("header %q", lines[0])
	}
	if want := "2026-03-02,1,1,6,," + strconv.FormatFloat(want["6"], 'g', -1, 64) + ",false"; lines[1] != want {
		t.Errorf("first line %q, want %q", lines[1], want)
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		v, _ := strconv.ParseFloat(f[5], 64)
		if short := strconv.FormatFloat(v, 'g', -1, 64); short != f[5] && short+".0" != f[5] {
			t.Errorf("score %q is not in shortest round-trip form (%s)", f[5], short)
		}
	}
	for file, header := range map[string]string{
		"demand.csv":        "ship_on,snack_id,demand,covered,shortage",
		"snack_summary.csv": "snack_id,demand,stock_usable,covered,shortage",
		"short_boxes.csv":   "ship_on,user_id,box_size,filled",
	} {
		rows := readCSV(t, filepath.Join(out, file))
		if got := strings.Join(rows[0], ","); got != header {
			t.Errorf("%s header %q, want %q", file, got, header)
		}
	}
}

// TestDeterministic runs a synthetic snapshot at one and two threads and
// expects identical files.
func TestDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("synthetic run")
	}
	snap := makeSnapshot(t, syntheticInserts(2000, 120, 8))
	pol := policy.Default()
	_, out1 := runCase(t, snap, "2026-03-02", 14, pol, 1)
	_, out2 := runCase(t, snap, "2026-03-02", 14, pol, 2)
	for _, f := range []string{"boxes.csv", "demand.csv", "snack_summary.csv", "short_boxes.csv"} {
		a, err1 := os.ReadFile(filepath.Join(out1, f))
		b, err2 := os.ReadFile(filepath.Join(out2, f))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if string(a) != string(b) {
			t.Errorf("%s differs between 1 and 2 threads", f)
		}
		if f != "short_boxes.csv" && strings.Count(string(a), "\n") < 2 {
			t.Errorf("%s has no data rows", f)
		}
	}
}

func TestRenderFillsEveryParameter(t *testing.T) {
	p := params(policy.Default())
	p["d"] = dateLit(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	p["d0"] = p["d"]
	p["kmax"] = "20"
	entries, err := files.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".sql")
		s, err := render(name, p)
		if err != nil {
			t.Error(err)
		}
		if !strings.HasPrefix(s, "-- "+name+":") {
			t.Errorf("%s.sql does not start with a comment naming what it computes", name)
		}
	}
	if _, err := render("prepare", map[string]string{}); err == nil {
		t.Error("an unfilled parameter was not reported")
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	ctx := context.Background()
	snap := makeSnapshot(t, "")
	for _, o := range []Options{
		{Snapshot: filepath.Join(t.TempDir(), "missing.duckdb"), Days: 1, OutDir: t.TempDir(), Policy: policy.Default()},
		{Snapshot: snap, Days: 0, OutDir: t.TempDir(), Policy: policy.Default()},
		{Snapshot: snap, Days: 1, Policy: policy.Default()},
		{Snapshot: snap, Days: 1, OutDir: t.TempDir(), Policy: policy.Policy{}},
	} {
		if _, err := Run(ctx, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

// syntheticInserts renders testdata/synthetic.sql at a small scale.
func syntheticInserts(users, snacks, categories int) string {
	b, err := os.ReadFile(filepath.Join("testdata", "synthetic.sql"))
	if err != nil {
		panic(err)
	}
	return strings.NewReplacer(
		"{{users}}", strconv.Itoa(users),
		"{{snacks}}", strconv.Itoa(snacks),
		"{{categories}}", strconv.Itoa(categories),
		"{{deliveries_per_user}}", "50",
		"{{ratings_per_user}}", "27",
		"{{d0}}", "DATE '2026-03-02'",
	).Replace(string(b))
}
