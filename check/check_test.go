package check_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/check"
	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/results"
	queries "github.com/assign-dev/assign/sql"
	"github.com/assign-dev/assign/store"
)

// newHome makes a home whose current snapshot is a random extract built with
// the engine's synthetic SQL (tables created from the snapshot schema).
func newHome(t *testing.T, users, snacks, seed int) *store.Home {
	t.Helper()
	ctx := context.Background()
	h, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.NewPendingSnapshot(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	db, err := duck.OpenFile(ctx, p.Path, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../engine/testdata/synthetic.sql")
	if err != nil {
		t.Fatal(err)
	}
	gen := strings.NewReplacer(":users", fmt.Sprint(users), ":snacks", fmt.Sprint(snacks), ":seed", fmt.Sprint(seed)).Replace(string(b))
	gen = strings.ReplaceAll(gen, "CREATE TABLE ", "CREATE TEMP TABLE src_")
	stmts := queries.Get("schema") + ";\n" + gen
	for _, tbl := range []string{"snacks", "snack_tags", "users", "skips", "user_ng", "user_prefs", "deliveries", "ratings", "requests", "stock"} {
		stmts += fmt.Sprintf("INSERT INTO %s BY NAME SELECT * FROM src_%s;\n", tbl, tbl)
	}
	// src_ tables reference each other by their plain names in synthetic.sql.
	stmts = strings.NewReplacer(" FROM snacks,", " FROM src_snacks,", " FROM users,", " FROM src_users,", " FROM users WHERE", " FROM src_users WHERE").Replace(stmts)
	if _, err := db.Exec(ctx, stmts); err != nil {
		t.Fatal(err)
	}
	if err := engine.DeriveTables(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := p.Commit(true); err != nil {
		t.Fatal(err)
	}
	return h
}

func execute(t *testing.T, h *store.Home, mode engine.Mode, days int, pol policy.Policy, outDir string) string {
	t.Helper()
	out, err := plan.Execute(context.Background(), h, plan.Request{
		Mode: mode, D0: engine.DayOf(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)), Days: days, Policy: pol,
		OutDir: outDir, OutFormat: results.FormatCSV, NoSave: outDir != "",
	})
	if err != nil {
		t.Fatal(err)
	}
	if outDir != "" {
		return outDir
	}
	return out.RunDir
}

func runCheck(t *testing.T, h *store.Home, dir string) *check.Report {
	t.Helper()
	ctx := context.Background()
	m, err := check.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, path, err := h.Resolve(m.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	db, err := duck.OpenSnapshot(ctx, path, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err := check.Run(ctx, db, dir, m, check.Options{Keep: 10, ChunkUsers: 700})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestEngineRunsPass: the engine's own outputs satisfy every rule, in both
// modes, with default and changed policies.
func TestEngineRunsPass(t *testing.T) {
	h := newHome(t, 1500, 120, 11)
	strict := policy.Default()
	strict.MaxPerCategory = 1
	strict.FillIgnoringCaps = false
	strict.RepeatWindowDays = 30
	for _, tc := range []struct {
		name string
		mode engine.Mode
		pol  policy.Policy
	}{
		{"preassign", engine.Preassign, policy.Default()},
		{"run", engine.Assign, policy.Default()},
		{"run-strict", engine.Assign, strict},
		{"preassign-strict", engine.Preassign, strict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := execute(t, h, tc.mode, 15, tc.pol, "")
			rep := runCheck(t, h, dir)
			if !rep.OK() {
				t.Fatalf("%d violations: %v", rep.Total, rep.Violations)
			}
			if rep.Lines == 0 {
				t.Fatal("no box lines checked")
			}
		})
	}
}

// TestTamperedRunsFail: each kind of tampering with a run's CSV tables is
// caught by the rule it breaks.
func TestTamperedRunsFail(t *testing.T) {
	h := newHome(t, 1500, 120, 12)
	base := filepath.Join(t.TempDir(), "base")
	execute(t, h, engine.Assign, 10, policy.Default(), base)
	ctx := context.Background()
	db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Each case rewrites boxes.csv (or another table) with SQL over the
	// original file, named "src".
	cases := []struct {
		name, table, sql, rule string
	}{
		{"swap a snack for an inactive one", "boxes",
			`SELECT * REPLACE (CASE WHEN row_number() OVER () = 5 THEN (SELECT min(snack_id) FROM snap_snacks WHERE NOT active) ELSE snack_id END AS snack_id) FROM src`, "inactive"},
		{"duplicate a line", "boxes",
			`WITH t AS (SELECT ship_on, user_id FROM src WHERE position = 2 LIMIT 1)
			 SELECT src.* REPLACE (CASE WHEN t.user_id IS NOT NULL AND position = 2
			     THEN (SELECT snack_id FROM src s2 WHERE s2.position = 1 AND s2.user_id = src.user_id AND s2.ship_on = src.ship_on)
			     ELSE snack_id END AS snack_id)
			 FROM src LEFT JOIN t USING (ship_on, user_id) ORDER BY ship_on, user_id, position`, "duplicate snack"},
		{"drop a line", "boxes",
			`SELECT * FROM src WHERE NOT (position = 1 AND user_id = (SELECT min(user_id) FROM src))`, "positions"},
		{"change a score", "boxes",
			`SELECT * REPLACE (CASE WHEN row_number() OVER () = 3 THEN score + 0.001 ELSE score END AS score) FROM src`, "score"},
		{"move a line to an unusable lot", "boxes",
			`SELECT * REPLACE (CASE WHEN row_number() OVER () = 7 THEN 'no-such-lot' ELSE lot_id END AS lot_id) FROM src`, "lot"},
		{"mark a line requested", "boxes",
			`WITH t AS (SELECT ship_on, user_id FROM src WHERE position = 1 AND NOT requested LIMIT 1)
			 SELECT src.* REPLACE (CASE WHEN t.user_id IS NOT NULL AND position = 1 THEN true ELSE requested END AS requested)
			 FROM src LEFT JOIN t USING (ship_on, user_id) ORDER BY ship_on, user_id, position`, "request"},
		{"understate demand", "demand",
			`SELECT * REPLACE (CASE WHEN row_number() OVER () = 1 THEN demand - 1 ELSE demand END AS demand) FROM src`, "demand"},
		{"claim a full box is short", "short_boxes",
			`SELECT * FROM src UNION ALL
			 SELECT ship_on, user_id, 99, 1 FROM (SELECT * FROM read_csv(BOXES, header = true) LIMIT 1)
			 ORDER BY ship_on, user_id`, "short boxes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			_, snapPath, _ := h.Resolve("")
			file := filepath.Join(dir, tc.table+".csv")
			q := fmt.Sprintf(`ATTACH IF NOT EXISTS %s AS snapx (READ_ONLY);
				CREATE OR REPLACE TEMP VIEW snap_snacks AS SELECT * FROM snapx.snacks;
				CREATE OR REPLACE TEMP TABLE src AS SELECT * FROM read_csv(%s, header = true);
				COPY (%s) TO %s (HEADER true)`, duck.Quote(snapPath), duck.Quote(filepath.Join(base, tc.table+".csv")), strings.ReplaceAll(tc.sql, "BOXES", duck.Quote(filepath.Join(base, "boxes.csv"))), duck.Quote(file))
			if _, err := db.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
			rep := runCheck(t, h, dir)
			if rep.Counts[tc.rule] == 0 {
				t.Fatalf("want a %q violation, got %v", tc.rule, rep.Counts)
			}
		})
	}
}

func executeOptimal(t *testing.T, h *store.Home, days int, pol policy.Policy, outDir string) *plan.Outcome {
	t.Helper()
	out, err := plan.Execute(context.Background(), h, plan.Request{
		Mode: engine.Assign, Allocator: engine.Optimal, D0: engine.DayOf(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)), Days: days, Policy: pol,
		OutDir: outDir, OutFormat: results.FormatCSV, NoSave: outDir != "",
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// scarcePolicy makes stock scarce in the synthetic extract: lots must keep
// 60 days of shelf life, so few are usable.
func scarcePolicy() policy.Policy {
	p := policy.Default()
	p.MinShelfDays = 60
	return p
}

// TestOptimalRunPasses: an optimal run under scarce stock satisfies every
// rule (it is checked against the constraints, not against the greedy's
// boxes) and its certificate's arithmetic; snacks were priced.
func TestOptimalRunPasses(t *testing.T) {
	h := newHome(t, 1500, 120, 13)
	out := executeOptimal(t, h, 10, scarcePolicy(), "")
	rep := runCheck(t, h, out.RunDir)
	if !rep.OK() {
		t.Fatalf("%d violations: %v", rep.Total, rep.Violations)
	}
	c := out.Manifest.Certificate
	priced := 0
	for _, d := range c.Dates {
		priced += len(d.Prices)
	}
	if c == nil || priced == 0 || c.Total.CertifiedDates == 0 {
		t.Fatalf("no contested date to check: %+v", c.Total)
	}
}

// TestTamperedCertificateFails: a certificate that does not add up, or a
// run whose lots are not first-expiry-first-out, is caught.
func TestTamperedCertificateFails(t *testing.T) {
	h := newHome(t, 1500, 120, 14)
	base := filepath.Join(t.TempDir(), "base")
	executeOptimal(t, h, 8, scarcePolicy(), base)
	m, err := check.ReadManifest(base)
	if err != nil {
		t.Fatal(err)
	}
	pricedDate := -1
	for i, d := range m.Certificate.Dates {
		if len(d.Prices) > 0 {
			pricedDate = i
			break
		}
	}
	if pricedDate < 0 {
		t.Fatal("no priced date")
	}
	cases := []struct {
		name   string
		tamper func(m *plan.Manifest)
	}{
		{"bound below the score", func(m *plan.Manifest) {
			d := &m.Certificate.Dates[0]
			d.Bound = d.Score - 1
			d.BoundUsers.Score -= d.Score - d.Bound + 1
		}},
		{"bound not users plus stock", func(m *plan.Manifest) { m.Certificate.Dates[0].BoundUsers.Score += 0.5 }},
		{"units of a priced snack", func(m *plan.Manifest) { m.Certificate.Dates[pricedDate].Prices[0].Units++ }},
		{"a negative price", func(m *plan.Manifest) {
			p := &m.Certificate.Dates[pricedDate].Prices[0]
			p.Score, p.Filled, p.Requested, p.OverCap = -1, 0, 0, 0
		}},
		{"score of a date", func(m *plan.Manifest) { m.Certificate.Dates[0].Score += 0.25 }},
		{"fewest short units", func(m *plan.Manifest) { m.Certificate.Dates[0].ShortUnitsBound++ }},
		{"kept although worse than the greedy", func(m *plan.Manifest) {
			m.Certificate.Chosen = "optimal"
			m.Certificate.Greedy.Score = m.Certificate.Total.Score + 1
		}},
		{"a missing date", func(m *plan.Manifest) { m.Certificate.Dates = m.Certificate.Dates[1:] }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			m, err := check.ReadManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			tc.tamper(m)
			if err := os.WriteFile(filepath.Join(dir, store.ManifestFile), m.JSON(), 0o644); err != nil {
				t.Fatal(err)
			}
			rep := runCheck(t, h, dir)
			if rep.Counts["certificate"] == 0 {
				t.Fatalf("want a certificate violation, got %v", rep.Counts)
			}
		})
	}
	t.Run("lots not first-expiry-first-out", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "run")
		if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		_, snapPath, _ := h.Resolve("")
		q := fmt.Sprintf(`ATTACH %s AS snapx (READ_ONLY);
			CREATE TEMP TABLE src AS SELECT * FROM read_csv(%s, header = true);
			CREATE TEMP TABLE cand AS SELECT b.ship_on, b.user_id, b.position, s.lot_id AS other
			  FROM src b JOIN snapx.stock s ON s.snack_id = b.snack_id AND s.lot_id <> b.lot_id
			   AND s.best_before >= b.ship_on + 60 AND s.quantity > 100
			  ORDER BY b.ship_on, b.user_id, b.position LIMIT 1;
			COPY (SELECT src.* REPLACE (coalesce(cand.other, src.lot_id) AS lot_id) FROM src LEFT JOIN cand USING (ship_on, user_id, position)
			      ORDER BY ship_on, user_id, position) TO %s (HEADER true)`,
			duck.Quote(snapPath), duck.Quote(filepath.Join(base, "boxes.csv")), duck.Quote(filepath.Join(dir, "boxes.csv")))
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
		rep := runCheck(t, h, dir)
		if rep.Counts["fefo"] == 0 {
			t.Fatalf("want a fefo violation, got %v", rep.Counts)
		}
	})
}
