package dashboard

import (
	"context"
	"database/sql"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/store"
)

// runView is a run as the pages show it.
type runView struct {
	ID         string   `json:"id"`
	Mode       string   `json:"mode"`
	Scenario   bool     `json:"scenario"`
	Snapshot   string   `json:"snapshot"`
	CreatedAt  string   `json:"created_at"`
	From       string   `json:"from"`
	To         string   `json:"to"`
	Days       int      `json:"days"`
	ShipDates  []string `json:"ship_dates"`
	Users      int      `json:"users"`
	Boxes      int      `json:"boxes"`
	ShortBoxes int      `json:"short_boxes"`
	Demand     int64    `json:"demand_units"`
	Shortage   int64    `json:"shortage_units"`
	Seconds    float64  `json:"seconds"`
	BaseRun    string   `json:"base_run,omitempty"`
	Changes    []string `json:"changes,omitempty"`

	dir string
	man *plan.Manifest
}

func newRunView(ri store.RunInfo, m *plan.Manifest) runView {
	v := runView{ID: ri.ID, Mode: ri.Mode, Scenario: ri.Scenario, dir: ri.Dir, man: m}
	if m == nil {
		return v
	}
	v.Mode, v.Snapshot, v.CreatedAt = m.Mode, m.Snapshot, m.CreatedAt
	v.From, v.To, v.Days, v.ShipDates = m.Dates.From, m.Dates.To, m.Dates.Days, m.Dates.ShipDates
	v.Users, v.Boxes, v.ShortBoxes, v.Demand, v.Shortage = m.Counts.Users, m.Counts.Boxes, m.Counts.ShortBoxes, m.Counts.Demand, m.Counts.Shortage
	v.Seconds = m.Timings["total"]
	if v.ShipDates == nil {
		v.ShipDates = []string{}
	}
	if m.Scenario != nil {
		v.BaseRun, v.Changes = m.Scenario.BaseRun, m.Scenario.Changes
	}
	return v
}

// listRuns returns every complete run with a readable manifest, newest
// first. Manifests are read once per run id: run folders never change.
func (s *Server) listRuns() ([]runView, error) {
	runs, err := s.home.ListRuns()
	if err != nil {
		return nil, err
	}
	out := make([]runView, 0, len(runs))
	for i := len(runs) - 1; i >= 0; i-- {
		m, err := s.manifest(runs[i])
		if err != nil {
			continue // damaged: not offered
		}
		out = append(out, newRunView(runs[i], m))
	}
	return out, nil
}

func (s *Server) manifest(ri store.RunInfo) (*plan.Manifest, error) {
	if v, ok := s.manifests.Load(ri.Dir); ok {
		return v.(*plan.Manifest), nil
	}
	m, err := plan.ReadManifest(ri.Dir)
	if err != nil {
		return nil, err
	}
	s.manifests.Store(ri.Dir, m)
	return m, nil
}

// runParam resolves the run a page names (?run=ID; empty: the latest run
// that is not a scenario). Only ids of the home's runs are accepted, never
// paths.
func (s *Server) runParam(r *http.Request, name string) (runView, error) {
	id := r.URL.Query().Get(name)
	runs, err := s.listRuns()
	if err != nil {
		return runView{}, err
	}
	if id == "" || id == "latest" {
		for _, v := range runs {
			if !v.Scenario {
				return v, nil
			}
		}
		return runView{}, &httpError{code: http.StatusConflict, err: errNoRun}
	}
	i := slices.IndexFunc(runs, func(v runView) bool { return v.ID == id })
	if i < 0 {
		return runView{}, badRequest("run %q not found: pick one on the Runs page", id)
	}
	return runs[i], nil
}

type noRun struct{}

func (noRun) Error() string {
	return "the home has no run yet: run 'assign preassign --date D' (or 'assign demo'), then reload"
}

var errNoRun error = noRun{}

// dateParam is ?name=YYYY-MM-DD, or "" when absent.
func dateParam(r *http.Request, name string) (string, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return "", nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil || t.Format("2006-01-02") != v {
		return "", badRequest("%s %q: want a date as YYYY-MM-DD", name, v)
	}
	return v, nil
}

func intParam(r *http.Request, name string) (int64, bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, badRequest("%s %q: want a whole number", name, v)
	}
	return n, true, nil
}

// withSession runs fn on a borrowed session's database.
func (s *Server) withSession(ctx context.Context, fn func(p *pooled) error) error {
	p, err := s.pool.get(ctx)
	if err != nil {
		return err
	}
	defer s.pool.put(p, false)
	return fn(p)
}

// result is a query's rows or its error, so that scanAll can take a
// Query call directly: scanAll(rowsOf(db.Query(...)), scan).
type result struct {
	rows *sql.Rows
	err  error
}

func rowsOf(rows *sql.Rows, err error) result { return result{rows, err} }

// scanAll reads every row of res with scan.
func scanAll(res result, scan func(*sql.Rows) error) error {
	rows, err := res.rows, res.err
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *Server) state(ctx context.Context, r *http.Request) (any, error) {
	runs, err := s.listRuns()
	if err != nil {
		return nil, err
	}
	cur, err := s.home.Current()
	if err != nil {
		return nil, err
	}
	latest := ""
	for _, v := range runs {
		if !v.Scenario {
			latest = v.ID
			break
		}
	}
	var cats []string
	err = s.withSession(ctx, func(p *pooled) error {
		return scanAll(rowsOf(p.sess.DB().Query(ctx, "SELECT DISTINCT category FROM snacks ORDER BY category")), func(rows *sql.Rows) error {
			var c string
			err := rows.Scan(&c)
			cats = append(cats, c)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"snapshot": cur, "runs": runs, "latest": latest, "categories": cats, "version": s.opt.Version}, nil
}

func storeRun(v runView) store.RunInfo {
	return store.RunInfo{ID: v.ID, Dir: v.dir, Mode: v.Mode, Scenario: v.Scenario}
}
