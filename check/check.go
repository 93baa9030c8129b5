// Package check verifies a run's output tables against the snapshot and the
// rules of SPEC section 4, independently of the engine: eligibility, score,
// ranking, caps and fill pass, requests, box sizes, lots and stock, and the
// aggregate tables. It is what the tests and `assign check` use to catch an
// engine bug or a tampered output.
package check

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/results"
	"github.com/assign-dev/assign/shard"
	queries "github.com/assign-dev/assign/sql"
)

// Violation is one broken rule.
type Violation struct {
	Rule    string `json:"rule"`
	ShipOn  string `json:"ship_on,omitempty"`
	UserID  *int64 `json:"user_id,omitempty"`
	SnackID *int64 `json:"snack_id,omitempty"`
	Detail  string `json:"detail"`
}

func (v Violation) String() string {
	s := v.Rule + ":"
	if v.ShipOn != "" {
		s += " " + v.ShipOn
	}
	if v.UserID != nil {
		s += " user " + strconv.FormatInt(*v.UserID, 10)
	}
	if v.SnackID != nil {
		s += " snack " + strconv.FormatInt(*v.SnackID, 10)
	}
	return s + ": " + v.Detail
}

// Report is the outcome of a check.
type Report struct {
	RunDir     string         `json:"run_dir"`
	Mode       string         `json:"mode"`
	Snapshot   string         `json:"snapshot"`
	Lines      int64          `json:"box_lines"`
	Boxes      int64          `json:"boxes"`
	Counts     map[string]int `json:"violations_by_rule"`
	Total      int            `json:"violations"`
	Violations []Violation    `json:"first_violations"`
	Seconds    float64        `json:"seconds"`
}

// OK reports whether no rule was broken.
func (r *Report) OK() bool { return r.Total == 0 }

// Options configure a check.
type Options struct {
	// Keep is how many violations to keep in the report (all are counted).
	Keep int
	// ChunkUsers is how many users' boxes one pair query covers.
	ChunkUsers int
	// Progress, when set, is told how many boxes were checked.
	Progress func(done, total int)
}

// ReadManifest reads a run folder's manifest.
func ReadManifest(dir string) (*plan.Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("read run manifest: %w", err)
	}
	var m plan.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("run manifest %s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	if m.Mode != "preassign" && m.Mode != "run" {
		return nil, fmt.Errorf("run manifest %s: unknown mode %q", filepath.Join(dir, "manifest.json"), m.Mode)
	}
	return &m, nil
}

// tableColumns are the SPEC section 5 columns, typed, for reading CSV runs.
var tableColumns = map[string]string{
	"boxes":         "{'ship_on': 'DATE', 'user_id': 'BIGINT', 'position': 'INTEGER', 'snack_id': 'BIGINT', 'lot_id': 'VARCHAR', 'score': 'DOUBLE', 'requested': 'BOOLEAN'}",
	"demand":        "{'ship_on': 'DATE', 'snack_id': 'BIGINT', 'demand': 'INTEGER', 'covered': 'INTEGER', 'shortage': 'INTEGER'}",
	"snack_summary": "{'snack_id': 'BIGINT', 'demand': 'BIGINT', 'stock_usable': 'BIGINT', 'covered': 'BIGINT', 'shortage': 'BIGINT'}",
	"short_boxes":   "{'ship_on': 'DATE', 'user_id': 'BIGINT', 'box_size': 'INTEGER', 'filled': 'INTEGER'}",
}

// loadRunTables copies the run's four tables into temp tables chk_<name>.
func loadRunTables(ctx context.Context, db *duck.DB, dir string) error {
	for name, cols := range tableColumns {
		target := map[string]string{"boxes": "chk_boxes", "demand": "chk_demand", "snack_summary": "chk_summary", "short_boxes": "chk_short"}[name]
		pq, isParquet := results.ParquetPath(dir, name)
		cv := filepath.Join(dir, name+".csv")
		var src string
		switch {
		case isParquet:
			src = "read_parquet(" + duck.Quote(pq) + ")"
		case fileExists(cv):
			src = fmt.Sprintf("read_csv(%s, header = true, columns = %s)", duck.Quote(cv), cols)
		default:
			return fmt.Errorf("run folder %s has no %s.parquet or %s.csv", dir, name, name)
		}
		if _, err := db.Exec(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s AS SELECT * FROM %s", target, src)); err != nil {
			return fmt.Errorf("read %s of run %s: %w", name, dir, err)
		}
	}
	return nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

func lit(f float64) string { return "CAST('" + strconv.FormatFloat(f, 'g', -1, 64) + "' AS DOUBLE)" }

// Run checks the run in dir against the snapshot open in db (read-only
// attach, tables unqualified).
func Run(ctx context.Context, db *duck.DB, dir string, m *plan.Manifest, opt Options) (*Report, error) {
	start := time.Now()
	if opt.Keep <= 0 {
		opt.Keep = 50
	}
	if opt.ChunkUsers <= 0 {
		opt.ChunkUsers = 20000
	}
	if err := loadRunTables(ctx, db, dir); err != nil {
		return nil, err
	}
	p := m.Policy
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("run manifest policy: %w", err)
	}
	params := map[string]string{
		"d0": m.Dates.From, "dend": m.Dates.To, "min_shelf": strconv.Itoa(p.MinShelfDays), "prior_weight": lit(p.PriorWeight),
		"window": strconv.Itoa(p.RepeatWindowDays), "never_again": strconv.Itoa(p.NeverAgainRating), "mode": m.Mode,
		"w_pop": lit(p.WPopularity), "w_pref": lit(p.WPreference), "w_aff": lit(p.WAffinity), "w_nov": lit(p.WNovelty),
		"new_days": strconv.Itoa(p.NewSnackDays), "cap": strconv.Itoa(p.MaxPerCategory), "fill": strconv.FormatBool(p.FillIgnoringCaps),
	}
	if err := prepareShards(ctx, db, dir, m, params); err != nil {
		return nil, err
	}
	if _, err := db.Exec(ctx, queries.Render("check_prepare", params)); err != nil {
		return nil, fmt.Errorf("prepare check: %w", err)
	}
	// Violations is never nil, so JSON shows [] rather than null.
	rep := &Report{RunDir: dir, Mode: m.Mode, Snapshot: m.Snapshot, Counts: map[string]int{}, Violations: []Violation{}}
	add := func(v Violation) {
		rep.Counts[v.Rule]++
		rep.Total++
		if len(rep.Violations) < opt.Keep {
			rep.Violations = append(rep.Violations, v)
		}
	}
	if err := db.QueryRow(ctx, `SELECT count(*), count(DISTINCT (ship_on, user_id)) FROM chk_boxes`).Scan(&rep.Lines, &rep.Boxes); err != nil {
		return nil, fmt.Errorf("count box lines: %w", duck.Clean(err))
	}
	for _, name := range []string{"check_lines", "check_tables"} {
		if err := collect(ctx, db, queries.Render(name, params), add); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := checkPairs(ctx, db, params, opt, add); err != nil {
		return nil, err
	}
	if m.Mode == "preassign" {
		if err := checkFEFO(ctx, db, m, add); err != nil {
			return nil, err
		}
	} else if m.Shards == nil {
		// A run merged from shards took each lot within each shard's quota
		// and gave leftover units to short boxes in the merge's final pass,
		// so its lots are not one first-expiry-first-out sequence: its
		// stock is checked per shard by check_pairs (units at every turn).
		if err := checkRunFEFO(ctx, db, m, add); err != nil {
			return nil, err
		}
	}
	if m.Certificate != nil {
		if err := checkCertificate(ctx, db, m, add); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(rep.Violations, func(i, j int) bool { return rep.Violations[i].Rule < rep.Violations[j].Rule })
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// prepareShards sets what check_prepare needs to count stock per shard: the
// assign_shard macro, the shard count and chk_quota, the units of every lot
// each shard could use. A run merged from shards records its quotas (table
// quotas); on one machine, one shard holds every lot whole.
func prepareShards(ctx context.Context, db *duck.DB, dir string, m *plan.Manifest, params map[string]string) error {
	if _, err := db.Exec(ctx, shard.SQLMacros); err != nil {
		return fmt.Errorf("prepare check: %w", duck.Clean(err))
	}
	params["shards"] = "1"
	src := "SELECT 0 AS shard, snack_id, lot_id, quantity FROM stock"
	if m.Mode == "run" && m.Shards != nil {
		params["shards"] = strconv.Itoa(m.Shards.Count)
		if pq, ok := results.ParquetPath(dir, "quotas"); ok {
			src = "SELECT shard, snack_id, lot_id, units AS quantity FROM read_parquet(" + duck.Quote(pq) + ")"
		} else if cv := filepath.Join(dir, "quotas.csv"); fileExists(cv) {
			src = "SELECT shard, snack_id, lot_id, units AS quantity FROM read_csv(" + duck.Quote(cv) +
				", header = true, columns = {'shard': 'INTEGER', 'snack_id': 'BIGINT', 'lot_id': 'VARCHAR', 'units': 'INTEGER'})"
		} else {
			return fmt.Errorf("run %s was merged from %d shards but has no quotas table: the stock each shard had cannot be known", dir, m.Shards.Count)
		}
	}
	if _, err := db.Exec(ctx, "CREATE OR REPLACE TEMP TABLE chk_quota AS "+src); err != nil {
		return fmt.Errorf("read the stock quotas of run %s: %w", dir, duck.Clean(err))
	}
	return nil
}

// collect runs a violations query and adds every row.
func collect(ctx context.Context, db *duck.DB, q string, add func(Violation)) error {
	rows, err := db.Query(ctx, q)
	if err != nil {
		return duck.Clean(err)
	}
	defer rows.Close()
	for rows.Next() {
		var rule, detail sql.NullString
		var ship sql.NullTime
		var user, snack sql.NullInt64
		if err := rows.Scan(&rule, &ship, &user, &snack, &detail); err != nil {
			return duck.Clean(err)
		}
		v := Violation{Rule: rule.String, Detail: detail.String}
		if ship.Valid {
			v.ShipOn = ship.Time.Format("2006-01-02")
		}
		if user.Valid {
			u := user.Int64
			v.UserID = &u
		}
		if snack.Valid {
			s := snack.Int64
			v.SnackID = &s
		}
		add(v)
	}
	return duck.Clean(rows.Err())
}

// checkPairs runs check_pairs over the users in chunks of user_id ranges,
// every date of a user in the same chunk.
func checkPairs(ctx context.Context, db *duck.DB, params map[string]string, opt Options, add func(Violation)) error {
	if _, err := db.Exec(ctx, `CREATE OR REPLACE TEMP TABLE chk_order AS
		SELECT s.ship_on, s.user_id, s.box_size, (u.rank - 1) // `+strconv.Itoa(opt.ChunkUsers)+` AS chunk
		FROM chk_ship s
		JOIN (SELECT user_id, row_number() OVER (ORDER BY user_id) AS rank FROM (SELECT DISTINCT user_id FROM chk_ship)) u USING (user_id)`); err != nil {
		return fmt.Errorf("check: %w", duck.Clean(err))
	}
	type part struct {
		chunk  int64
		lo, hi int64
		n      int
	}
	rows, err := db.Query(ctx, `SELECT chunk, min(user_id), max(user_id), count(*) FROM chk_order GROUP BY chunk ORDER BY chunk`)
	if err != nil {
		return fmt.Errorf("check: %w", duck.Clean(err))
	}
	var parts []part
	total := 0
	for rows.Next() {
		var p part
		if err := rows.Scan(&p.chunk, &p.lo, &p.hi, &p.n); err != nil {
			rows.Close()
			return duck.Clean(err)
		}
		parts = append(parts, p)
		total += p.n
	}
	rows.Close()
	done := 0
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := db.Exec(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE chk_chunk AS
			SELECT ship_on, user_id, box_size FROM chk_order WHERE chunk = %d`, p.chunk)); err != nil {
			return fmt.Errorf("check: %w", duck.Clean(err))
		}
		params["lo"], params["hi"] = strconv.FormatInt(p.lo, 10), strconv.FormatInt(p.hi, 10)
		if err := collect(ctx, db, queries.Render("check_pairs", params), add); err != nil {
			return fmt.Errorf("check_pairs: %w", err)
		}
		done += p.n
		if opt.Progress != nil {
			opt.Progress(done, total)
		}
	}
	return nil
}

// fefoLot is a lot as the FEFO replays draw on it.
type fefoLot struct {
	id     string
	bb     time.Time
	remain int64
}

// fefoLots reads the snapshot's lots by snack, each snack's in the order
// FEFO takes them: earliest best-before first, then lot_id.
func fefoLots(ctx context.Context, db *duck.DB) (map[int64][]*fefoLot, error) {
	lots := map[int64][]*fefoLot{}
	rows, err := db.Query(ctx, `SELECT snack_id, lot_id, best_before, quantity FROM stock`)
	if err != nil {
		return nil, duck.Clean(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s int64
		l := &fefoLot{}
		if err := rows.Scan(&s, &l.id, &l.bb, &l.remain); err != nil {
			return nil, duck.Clean(err)
		}
		lots[s] = append(lots[s], l)
	}
	if err := rows.Err(); err != nil {
		return nil, duck.Clean(err)
	}
	for _, ls := range lots {
		sort.Slice(ls, func(i, j int) bool {
			if !ls[i].bb.Equal(ls[j].bb) {
				return ls[i].bb.Before(ls[j].bb)
			}
			return ls[i].id < ls[j].id
		})
	}
	return lots, nil
}

// checkFEFO replays preassign's coverage: date by date, demand takes units
// first-expiry-first-out from the lots usable on that date; covered must be
// exactly what the replay takes. Written apart from the engine on purpose.
func checkFEFO(ctx context.Context, db *duck.DB, m *plan.Manifest, add func(Violation)) error {
	lots, err := fefoLots(ctx, db)
	if err != nil {
		return err
	}
	rows, err := db.Query(ctx, `SELECT ship_on, snack_id, demand, covered FROM chk_demand ORDER BY ship_on, snack_id`)
	if err != nil {
		return duck.Clean(err)
	}
	defer rows.Close()
	shelf := time.Duration(m.Policy.MinShelfDays) * 24 * time.Hour
	for rows.Next() {
		var d time.Time
		var s, demand, covered int64
		if err := rows.Scan(&d, &s, &demand, &covered); err != nil {
			return duck.Clean(err)
		}
		need, got := demand, int64(0)
		for _, l := range lots[s] {
			if need == 0 {
				break
			}
			if l.bb.Before(d.Add(shelf)) || l.remain == 0 {
				continue
			}
			t := min(need, l.remain)
			l.remain -= t
			need -= t
			got += t
		}
		if got != covered {
			snack := s
			add(Violation{Rule: "fefo", ShipOn: d.Format("2006-01-02"), SnackID: &snack,
				Detail: fmt.Sprintf("covered %d, but first-expiry-first-out from the usable lots gives %d", covered, got)})
		}
	}
	return duck.Clean(rows.Err())
}

// ErrViolations is returned by commands when a check found violations.
var ErrViolations = errors.New("the run breaks the rules")
