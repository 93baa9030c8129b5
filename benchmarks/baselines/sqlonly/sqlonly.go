package sqlonly

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/policy"
)

//go:embed *.sql
var files embed.FS

// dateLayout is the one date format of the SPEC.
const dateLayout = "2006-01-02"

// Options configures one preassign run of the SQL baseline.
type Options struct {
	// Snapshot is the snapshot database file (the typed tables of
	// sql/schema.sql); it is attached read-only.
	Snapshot string
	// Start is the first ship date D0 (only its calendar date is used).
	Start time.Time
	// Days is the horizon length H >= 1: dates D0 .. D0+H-1.
	Days int
	// OutDir receives boxes.csv, demand.csv, snack_summary.csv and
	// short_boxes.csv; it is created if missing.
	OutDir string
	// Policy is the effective policy (SPEC section 3); it is validated.
	Policy policy.Policy
	// Threads is DuckDB's worker count; 0 means all cores.
	Threads int
	// MemoryLimit is DuckDB's memory_limit (e.g. "8GB"); empty keeps DuckDB's default.
	MemoryLimit string
	// TempDir is where DuckDB spills when memory runs short; empty keeps
	// DuckDB's default.
	TempDir string
	// Logger receives one line per step; nil discards.
	Logger *slog.Logger
}

// Result reports what a run produced and where its time went.
type Result struct {
	// Dates is the number of ship dates processed.
	Dates int
	// ShipUsers is the number of (user, date) boxes over the horizon, short
	// ones included.
	ShipUsers int64
	// BoxLines is the number of rows of boxes.
	BoxLines int64
	// ShortBoxes is the number of rows of short_boxes.
	ShortBoxes int64
	// Demand is the total demand in units (= BoxLines).
	Demand int64
	// Shortage is the total shortage in units over the horizon.
	Shortage int64
	// Steps is the wall time per SQL file, summed over the dates, plus
	// "open" and "write".
	Steps map[string]time.Duration
	// Elapsed is the wall time of the whole run.
	Elapsed time.Duration
}

// StepNames returns the keys of Steps in execution order.
func (r *Result) StepNames() []string {
	order := map[string]int{"open": 0, "prepare": 1, "day_calendar": 2, "day_requests": 3,
		"day_candidates": 4, "day_select": 5, "day_stock": 6, "summary": 7, "write": 8}
	names := make([]string, 0, len(r.Steps))
	for k := range r.Steps {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return order[names[i]] < order[names[j]] })
	return names
}

// Run computes the preassign outputs of SPEC section 4 for the horizon with
// SQL only and writes them as CSV (SPEC section 5 form) into opts.OutDir.
func Run(ctx context.Context, opts Options) (*Result, error) {
	started := time.Now()
	if opts.Snapshot == "" {
		return nil, errors.New("no snapshot given: pass the snapshot database file")
	}
	if _, err := os.Stat(opts.Snapshot); err != nil {
		return nil, fmt.Errorf("snapshot %s cannot be read: %w", opts.Snapshot, err)
	}
	if opts.Days < 1 {
		return nil, fmt.Errorf("horizon of %d days is empty: pass at least one day", opts.Days)
	}
	if opts.OutDir == "" {
		return nil, errors.New("no output directory given: pass the folder for the CSV files")
	}
	if err := opts.Policy.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	res := &Result{Steps: map[string]time.Duration{}}
	p := params(opts.Policy)
	d0 := time.Date(opts.Start.Year(), opts.Start.Month(), opts.Start.Day(), 0, 0, 0, 0, time.UTC)
	p["d0"] = dateLit(d0)

	t := time.Now()
	db, err := duck.OpenSnapshot(ctx, opts.Snapshot, duck.Options{
		Threads: opts.Threads, MemoryLimit: opts.MemoryLimit, TempDir: opts.TempDir,
	})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	// Scratch tables live in memory; the snapshot is always named snap.
	if _, err := db.Exec(ctx, "USE memory"); err != nil {
		return nil, fmt.Errorf("switch to the in-memory catalog: %w", duck.Clean(err))
	}
	// max_by's n must be a constant: the largest box anyone can get.
	var kmax int64
	if err := db.QueryRow(ctx, "SELECT coalesce(max(box_size), 1) FROM snap.users").Scan(&kmax); err != nil {
		return nil, fmt.Errorf("read box sizes from snapshot %s: %w", opts.Snapshot, duck.Clean(err))
	}
	p["kmax"] = strconv.FormatInt(max(kmax, 1), 10)
	res.Steps["open"] = time.Since(t)

	exec := func(name string, p map[string]string) error {
		t := time.Now()
		q, err := render(name, p)
		if err != nil {
			return err
		}
		if _, err := db.Exec(ctx, q); err != nil {
			return fmt.Errorf("sql baseline step %s: %w", name, duck.Clean(err))
		}
		res.Steps[name] += time.Since(t)
		return nil
	}

	if err := exec("prepare", p); err != nil {
		return nil, err
	}
	log.Info("prepared", "elapsed", res.Steps["prepare"])
	for i := 0; i < opts.Days; i++ {
		d := d0.AddDate(0, 0, i)
		p["d"] = dateLit(d)
		dt := time.Now()
		for _, name := range []string{"day_calendar", "day_requests", "day_candidates", "day_select", "day_stock"} {
			if err := exec(name, p); err != nil {
				return nil, fmt.Errorf("ship date %s: %w", d.Format(dateLayout), err)
			}
		}
		res.Dates++
		log.Info("ship date done", "date", d.Format(dateLayout), "elapsed", time.Since(dt))
	}
	if err := exec("summary", p); err != nil {
		return nil, err
	}

	t = time.Now()
	if err := writeCSV(ctx, db, opts.OutDir); err != nil {
		return nil, err
	}
	res.Steps["write"] = time.Since(t)

	row := db.QueryRow(ctx, `SELECT (SELECT coalesce(sum(users), 0) FROM ship_counts),
		(SELECT count(*) FROM boxes), (SELECT count(*) FROM short_boxes),
		(SELECT coalesce(sum(demand), 0) FROM demand), (SELECT coalesce(sum(shortage), 0) FROM demand)`)
	if err := row.Scan(&res.ShipUsers, &res.BoxLines, &res.ShortBoxes, &res.Demand, &res.Shortage); err != nil {
		return nil, fmt.Errorf("count results: %w", duck.Clean(err))
	}
	res.Elapsed = time.Since(started)
	return res, nil
}

// outputs are the CSV files of SPEC section 5 with their column order and
// sort keys.
var outputs = []struct{ file, query string }{
	{"boxes.csv", `SELECT ship_on, user_id, position, snack_id, CAST(NULL AS VARCHAR) AS lot_id, score, requested
		FROM boxes ORDER BY ship_on, user_id, position`},
	{"demand.csv", `SELECT ship_on, snack_id, demand, covered, shortage
		FROM demand WHERE demand > 0 ORDER BY ship_on, snack_id`},
	{"snack_summary.csv", `SELECT snack_id, demand, stock_usable, covered, shortage
		FROM snack_summary ORDER BY snack_id`},
	{"short_boxes.csv", `SELECT ship_on, user_id, box_size, filled
		FROM short_boxes ORDER BY ship_on, user_id`},
}

// writeCSV copies the result tables into dir. DuckDB's CSV writer already
// gives the SPEC form: header row, ISO dates, true/false, NULL as an empty
// field, doubles in shortest round-trip form. Each file is written under a
// temporary name and renamed, so a failed run leaves no half file.
func writeCSV(ctx context.Context, db *duck.DB, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output folder %s: %w", dir, err)
	}
	for _, o := range outputs {
		final := filepath.Join(dir, o.file)
		tmp := final + ".tmp"
		q := fmt.Sprintf("COPY (%s) TO %s (FORMAT csv, HEADER true, DELIMITER ',')", o.query, duck.Quote(tmp))
		if _, err := db.Exec(ctx, q); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("write %s: %w", final, duck.Clean(err))
		}
		if err := os.Rename(tmp, final); err != nil {
			return fmt.Errorf("write %s: %w", final, err)
		}
	}
	return nil
}

// params renders the policy as SQL literals. Doubles go through a string
// cast so DuckDB parses the exact shortest decimal form into the same
// float64 (a bare 0.8 would be a DECIMAL).
func params(p policy.Policy) map[string]string {
	return map[string]string{
		"m":           dbl(p.PriorWeight),
		"w_pop":       dbl(p.WPopularity),
		"w_pref":      dbl(p.WPreference),
		"w_aff":       dbl(p.WAffinity),
		"w_nov":       dbl(p.WNovelty),
		"never_again": strconv.Itoa(p.NeverAgainRating),
		"window":      strconv.Itoa(p.RepeatWindowDays),
		"new_days":    strconv.Itoa(p.NewSnackDays),
		"shelf":       strconv.Itoa(p.MinShelfDays),
		"cap":         strconv.Itoa(p.MaxPerCategory),
		"fill":        strconv.FormatBool(p.FillIgnoringCaps),
	}
}

func dbl(v float64) string {
	return "CAST('" + strconv.FormatFloat(v, 'g', -1, 64) + "' AS DOUBLE)"
}

func dateLit(d time.Time) string { return "DATE '" + d.Format(dateLayout) + "'" }

// render returns the named SQL file with every {{key}} replaced; a
// placeholder left unfilled is an error, so a typo cannot reach DuckDB as
// text.
func render(name string, p map[string]string) (string, error) {
	b, err := files.ReadFile(name + ".sql")
	if err != nil {
		return "", fmt.Errorf("sql baseline has no file %s.sql", name)
	}
	s := string(b)
	for k, v := range p {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	if i := strings.Index(s, "{{"); i >= 0 {
		end := strings.Index(s[i:], "}}")
		if end < 0 {
			end = len(s) - i - 2
		}
		return "", fmt.Errorf("sql baseline file %s.sql: parameter %s is not filled", name, s[i:i+end+2])
	}
	return s, nil
}
