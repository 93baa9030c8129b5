// Package rundiff compares two runs of the same snapshot: the headline
// figures (boxes, short boxes, unfilled slots, units short of stock, total
// score, requests honoured), the units per snack, the figures per ship date
// and the boxes whose snacks changed. `assign diff`, the dashboard's Runs
// compare page and the difference a what-if scenario shows all use Compare.
//
// Everything is read from the runs' Parquet files with DuckDB, so a
// comparison costs a few aggregations whatever the size of the runs, and
// nothing is written.
package rundiff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/plan"
	queries "github.com/assign-dev/assign/sql"
	"github.com/assign-dev/assign/store"
)

// DefaultLimit is how many changed boxes Compare details by default.
const DefaultLimit = 100

// Run is one side of a comparison.
type Run struct {
	ID       string         `json:"run_id"`
	Dir      string         `json:"-"`
	Mode     string         `json:"mode"`
	Snapshot string         `json:"snapshot"`
	From     string         `json:"date_from"`
	To       string         `json:"date_to"`
	Days     int            `json:"days"`
	Scenario *plan.Scenario `json:"scenario,omitempty"`
	Totals   Totals         `json:"totals"`
}

// Totals are the headline figures of a run.
type Totals struct {
	// Boxes are (ship date, user) pairs with at least one line.
	Boxes int64 `json:"boxes"`
	// BoxLines are the snacks put in boxes (units in boxes).
	BoxLines int64 `json:"box_lines"`
	// Score is the total score of the box lines.
	Score float64 `json:"score"`
	// RequestsHonoured are lines taken as requests.
	RequestsHonoured int64 `json:"requests_honoured"`
	// ShortBoxes are boxes with fewer snacks than the box size (empty ones too).
	ShortBoxes int64 `json:"short_boxes"`
	// UnfilledSlots are the missing lines of the short boxes (short units).
	UnfilledSlots int64 `json:"unfilled_slots"`
	// DemandUnits, CoveredUnits and ShortageUnits are the demand table's
	// sums: units the boxes need, units the lots cover, units short of stock
	// (always 0 in run mode, where boxes take only what is in stock).
	DemandUnits   int64 `json:"demand_units"`
	CoveredUnits  int64 `json:"covered_units"`
	ShortageUnits int64 `json:"shortage_units"`
}

// Metric is one line of the summary: a figure in run A, in run B, and B - A.
type Metric struct {
	Key   string  `json:"metric"`
	Label string  `json:"label"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
	Delta float64 `json:"delta"`
	// Float is true for a fractional figure (the score).
	Float bool `json:"float,omitempty"`
}

// SnackRow is a snack whose units, usable stock or shortage differ.
type SnackRow struct {
	SnackID   int64  `json:"snack_id"`
	Name      string `json:"name"`
	Category  string `json:"category"`
	UnitsA    int64  `json:"units_a"`
	UnitsB    int64  `json:"units_b"`
	StockA    int64  `json:"stock_usable_a"`
	StockB    int64  `json:"stock_usable_b"`
	ShortageA int64  `json:"shortage_a"`
	ShortageB int64  `json:"shortage_b"`
}

// DateRow are the figures of one ship date in both runs.
type DateRow struct {
	ShipOn      string `json:"ship_on"`
	BoxesA      int64  `json:"boxes_a"`
	BoxesB      int64  `json:"boxes_b"`
	ShortBoxesA int64  `json:"short_boxes_a"`
	ShortBoxesB int64  `json:"short_boxes_b"`
	UnitsA      int64  `json:"units_a"`
	UnitsB      int64  `json:"units_b"`
	ShortageA   int64  `json:"shortage_a"`
	ShortageB   int64  `json:"shortage_b"`
}

// BoxChange is a box whose snacks differ between the runs.
type BoxChange struct {
	ShipOn string `json:"ship_on"`
	UserID int64  `json:"user_id"`
	// BoxA and BoxB are the snacks in position order (empty: no box).
	BoxA []int64 `json:"box_a"`
	BoxB []int64 `json:"box_b"`
	// Removed are in A only, Added in B only, by snack_id.
	Removed []int64 `json:"removed"`
	Added   []int64 `json:"added"`
}

// Diff is the comparison of run B against run A.
type Diff struct {
	A       Run         `json:"a"`
	B       Run         `json:"b"`
	Summary []Metric    `json:"summary"`
	Snacks  []SnackRow  `json:"snacks"`
	Dates   []DateRow   `json:"dates"`
	Boxes   []BoxChange `json:"boxes"`
	// BoxesChanged and UsersChanged count every changed box and every user
	// with at least one; Boxes details the first Limit of them.
	BoxesChanged int64 `json:"boxes_changed"`
	UsersChanged int64 `json:"users_changed"`
	Limit        int   `json:"boxes_limit"`
	// Notes say what the reader should know (different horizons or policy).
	Notes   []string `json:"notes"`
	Seconds float64  `json:"seconds"`
}

// DB is what Compare needs: small queries through database/sql. Both
// *duck.DB and an analytics session's database satisfy it; the database
// must be able to read the runs' folders.
type DB interface {
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
}

// Options tune Compare.
type Options struct {
	// Limit is how many changed boxes are detailed; 0 means DefaultLimit,
	// a negative value none.
	Limit int
	// AllowOtherSnapshot compares runs of different snapshots (a scenario's
	// base on an older snapshot); the notes then say so.
	AllowOtherSnapshot bool
}

// Load reads a run folder's manifest into a Run.
func Load(ri store.RunInfo) (Run, error) {
	m, err := plan.ReadManifest(ri.Dir)
	if err != nil {
		return Run{}, fmt.Errorf("run %s: %w", ri.ID, err)
	}
	for _, t := range []string{"boxes", "demand", "snack_summary", "short_boxes"} {
		if _, err := os.Stat(filepath.Join(ri.Dir, t+".parquet")); err != nil {
			return Run{}, fmt.Errorf("run %s in %s has no %s.parquet: it was written with --no-save or is damaged; compare runs written by preassign, run or whatif", ri.ID, ri.Dir, t)
		}
	}
	return Run{ID: ri.ID, Dir: ri.Dir, Mode: m.Mode, Snapshot: m.Snapshot, From: m.Dates.From, To: m.Dates.To, Days: m.Dates.Days, Scenario: m.Scenario}, nil
}

// ErrOtherSnapshot is returned (wrapped) when the runs were made on
// different snapshots.
var ErrOtherSnapshot = errors.New("runs of different snapshots")

// Compare compares run b against run a in db. names is a relation
// (snack_id, name, category) giving snack names, or "" when there is none.
func Compare(ctx context.Context, db DB, a, b Run, names string, opt Options) (*Diff, error) {
	started := time.Now()
	if a.Snapshot != b.Snapshot && !opt.AllowOtherSnapshot {
		return nil, fmt.Errorf("run %s is of snapshot %s and run %s of snapshot %s: %w; diff compares plans of one snapshot",
			a.ID, a.Snapshot, b.ID, b.Snapshot, ErrOtherSnapshot)
	}
	limit := opt.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 0 {
		limit = 0
	}
	d := &Diff{A: a, B: b, Limit: limit, Notes: []string{}, Snacks: []SnackRow{}, Dates: []DateRow{}, Boxes: []BoxChange{}}
	if a.Snapshot != b.Snapshot {
		d.Notes = append(d.Notes, fmt.Sprintf("the runs are of different snapshots (%s, %s): stock and users may differ", a.Snapshot, b.Snapshot))
	}
	if a.From != b.From || a.Days != b.Days {
		days := func(n int) string {
			if n == 1 {
				return "1 day"
			}
			return fmt.Sprintf("%d days", n)
		}
		d.Notes = append(d.Notes, fmt.Sprintf("the horizons differ: %s..%s (%s) against %s..%s (%s)", a.From, a.To, days(a.Days), b.From, b.To, days(b.Days)))
	}
	if a.Mode != b.Mode {
		d.Notes = append(d.Notes, fmt.Sprintf("the modes differ: %s against %s", a.Mode, b.Mode))
	}
	for _, side := range []*Run{&d.A, &d.B} {
		if err := totals(ctx, db, side); err != nil {
			return nil, err
		}
	}
	d.Summary = summary(d.A.Totals, d.B.Totals)
	if names == "" {
		names = "(SELECT NULL::BIGINT AS snack_id, NULL::VARCHAR AS name, NULL::VARCHAR AS category WHERE false)"
	}
	if err := snacks(ctx, db, d, names); err != nil {
		return nil, err
	}
	if err := dates(ctx, db, d); err != nil {
		return nil, err
	}
	if err := boxes(ctx, db, d); err != nil {
		return nil, err
	}
	d.Seconds = time.Since(started).Seconds()
	return d, nil
}

func file(r Run, table string) string { return duck.Quote(filepath.Join(r.Dir, table+".parquet")) }

func totals(ctx context.Context, db DB, r *Run) error {
	q := queries.Render("diff_totals", map[string]string{
		"boxes": file(*r, "boxes"), "short_boxes": file(*r, "short_boxes"), "demand": file(*r, "demand"),
	})
	t := &r.Totals
	err := db.QueryRow(ctx, q).Scan(&t.Boxes, &t.BoxLines, &t.Score, &t.RequestsHonoured, &t.ShortBoxes, &t.UnfilledSlots,
		&t.DemandUnits, &t.CoveredUnits, &t.ShortageUnits)
	if err != nil {
		return fmt.Errorf("read the totals of run %s: %w", r.ID, duck.Clean(err))
	}
	return nil
}

// Metrics lists the summary lines in display order.
var Metrics = []struct{ Key, Label string }{
	{"boxes", "boxes"},
	{"short_boxes", "short boxes"},
	{"unfilled_slots", "short units (unfilled box slots)"},
	{"box_lines", "units in boxes"},
	{"shortage_units", "units short of stock"},
	{"score", "total score"},
	{"requests_honoured", "requests honoured"},
}

func summary(a, b Totals) []Metric {
	val := func(t Totals, key string) float64 {
		switch key {
		case "boxes":
			return float64(t.Boxes)
		case "short_boxes":
			return float64(t.ShortBoxes)
		case "unfilled_slots":
			return float64(t.UnfilledSlots)
		case "box_lines":
			return float64(t.BoxLines)
		case "shortage_units":
			return float64(t.ShortageUnits)
		case "score":
			return t.Score
		case "requests_honoured":
			return float64(t.RequestsHonoured)
		}
		return 0
	}
	out := make([]Metric, 0, len(Metrics))
	for _, m := range Metrics {
		va, vb := val(a, m.Key), val(b, m.Key)
		out = append(out, Metric{Key: m.Key, Label: m.Label, A: va, B: vb, Delta: vb - va, Float: m.Key == "score"})
	}
	return out
}

func snacks(ctx context.Context, db DB, d *Diff, names string) error {
	q := queries.Render("diff_snacks", map[string]string{"a": file(d.A, "snack_summary"), "b": file(d.B, "snack_summary"), "names": names})
	rows, err := db.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("compare snacks: %w", duck.Clean(err))
	}
	defer rows.Close()
	for rows.Next() {
		var r SnackRow
		var name, cat sql.NullString
		if err := rows.Scan(&r.SnackID, &name, &cat, &r.UnitsA, &r.UnitsB, &r.StockA, &r.StockB, &r.ShortageA, &r.ShortageB); err != nil {
			return fmt.Errorf("compare snacks: %w", duck.Clean(err))
		}
		r.Name, r.Category = name.String, cat.String
		d.Snacks = append(d.Snacks, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("compare snacks: %w", duck.Clean(err))
	}
	return nil
}

func dates(ctx context.Context, db DB, d *Diff) error {
	p := map[string]string{}
	for side, r := range map[string]Run{"a": d.A, "b": d.B} {
		for _, t := range []string{"boxes", "short_boxes", "demand"} {
			p[side+"_"+t] = file(r, t)
		}
	}
	rows, err := db.Query(ctx, queries.Render("diff_dates", p))
	if err != nil {
		return fmt.Errorf("compare ship dates: %w", duck.Clean(err))
	}
	defer rows.Close()
	for rows.Next() {
		var r DateRow
		var day time.Time
		if err := rows.Scan(&day, &r.BoxesA, &r.BoxesB, &r.ShortBoxesA, &r.ShortBoxesB, &r.UnitsA, &r.UnitsB, &r.ShortageA, &r.ShortageB); err != nil {
			return fmt.Errorf("compare ship dates: %w", duck.Clean(err))
		}
		r.ShipOn = day.Format("2006-01-02")
		d.Dates = append(d.Dates, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("compare ship dates: %w", duck.Clean(err))
	}
	return nil
}

func boxes(ctx context.Context, db DB, d *Diff) error {
	q := queries.Render("diff_boxes", map[string]string{"a": file(d.A, "boxes"), "b": file(d.B, "boxes"), "limit": strconv.Itoa(d.Limit)})
	rows, err := db.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("compare boxes: %w", duck.Clean(err))
	}
	defer rows.Close()
	for rows.Next() {
		var day sql.NullTime
		var user sql.NullInt64
		var boxA, boxB any
		if err := rows.Scan(&d.BoxesChanged, &d.UsersChanged, &day, &user, &boxA, &boxB); err != nil {
			return fmt.Errorf("compare boxes: %w", duck.Clean(err))
		}
		if !day.Valid {
			continue // no changed box: the counts' row alone
		}
		c := BoxChange{ShipOn: day.Time.Format("2006-01-02"), UserID: user.Int64, BoxA: int64List(boxA), BoxB: int64List(boxB)}
		c.Removed, c.Added = setDiff(c.BoxA, c.BoxB), setDiff(c.BoxB, c.BoxA)
		d.Boxes = append(d.Boxes, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("compare boxes: %w", duck.Clean(err))
	}
	return nil
}

// int64List converts a scanned DuckDB LIST of BIGINT ([]any) to []int64.
func int64List(v any) []int64 {
	out := []int64{}
	l, _ := v.([]any)
	for _, x := range l {
		if n, ok := x.(int64); ok {
			out = append(out, n)
		}
	}
	return out
}

// setDiff returns the elements of a not in b, sorted.
func setDiff(a, b []int64) []int64 {
	out := []int64{}
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}

// CompareInHome compares two runs with snack names from run a's snapshot
// when it is still in the home.
func CompareInHome(ctx context.Context, home *store.Home, a, b Run, opt Options) (*Diff, error) {
	var db *duck.DB
	var err error
	names := ""
	if _, path, rerr := home.Resolve(a.Snapshot); rerr == nil {
		db, err = duck.OpenSnapshot(ctx, path, duck.Options{Threads: 2, TempDir: home.TmpDir()})
		names = "(SELECT snack_id, name, category FROM snacks)"
	} else {
		db, err = duck.OpenMemory(ctx, duck.Options{Threads: 2, TempDir: home.TmpDir()})
	}
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return Compare(ctx, db, a, b, names, opt)
}
