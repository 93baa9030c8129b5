package dashboard

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/assign-dev/assign/duck"
	queries "github.com/assign-dev/assign/sql"
)

func (v runView) file(table string) string { return duck.Quote(filepath.Join(v.dir, table+".parquet")) }

type snackRow struct {
	SnackID  int64  `json:"snack_id"`
	Name     string `json:"name"`
	Category string `json:"category"`
	Demand   int64  `json:"demand"`
	Usable   int64  `json:"usable"`
	Covered  int64  `json:"covered"`
	Shortage int64  `json:"shortage"`
}

type dateRow struct {
	ShipOn     string `json:"ship_on"`
	Demand     int64  `json:"demand"`
	Covered    int64  `json:"covered"`
	Shortage   int64  `json:"shortage"`
	Boxes      int64  `json:"boxes"`
	ShortBoxes int64  `json:"short_boxes"`
	Lines      int64  `json:"lines"`
	Requested  int64  `json:"requested"`
}

type catRow struct {
	Category string `json:"category"`
	Demand   int64  `json:"demand"`
	Covered  int64  `json:"covered"`
	Shortage int64  `json:"shortage"`
}

// boxDates are a run's boxes, lines and requested lines per date. Runs
// never change, so they are computed once per run.
func (s *Server) boxDates(ctx context.Context, db *duck.DB, run runView) (map[string][3]int64, error) {
	if v, ok := s.runFacts.Load(run.dir); ok {
		return v.(map[string][3]int64), nil
	}
	out := map[string][3]int64{}
	err := scanAll(rowsOf(db.Query(ctx, queries.Render("dash_box_dates", map[string]string{"boxes": run.file("boxes")}))), func(rows *sql.Rows) error {
		var d time.Time
		var v [3]int64
		if err := rows.Scan(&d, &v[0], &v[1], &v[2]); err != nil {
			return err
		}
		out[d.Format("2006-01-02")] = v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the boxes of run %s: %w", run.ID, duck.Clean(err))
	}
	s.runFacts.Store(run.dir, out)
	return out, nil
}

// overview answers the Overview page: per snack, per ship date and per
// category, filtered by ?category= and ?date=.
func (s *Server) overview(ctx context.Context, r *http.Request) (any, error) {
	run, err := s.runParam(r, "run")
	if err != nil {
		return nil, err
	}
	date, err := dateParam(r, "date")
	if err != nil {
		return nil, err
	}
	cat := r.URL.Query().Get("category")
	snacks, dates, cats := []snackRow{}, []dateRow{}, []catRow{}
	var boxes map[string][3]int64
	err = s.withSession(ctx, func(p *pooled) error {
		db := p.sess.DB()
		q := queries.Render("dash_snacks", map[string]string{"demand": run.file("demand"), "summary": run.file("snack_summary"), "limit": "30"})
		if err := scanAll(rowsOf(db.Query(ctx, q, cat, date)), func(rows *sql.Rows) error {
			var v snackRow
			err := rows.Scan(&v.SnackID, &v.Name, &v.Category, &v.Demand, &v.Usable, &v.Covered, &v.Shortage)
			snacks = append(snacks, v)
			return err
		}); err != nil {
			return fmt.Errorf("overview snacks: %w", duck.Clean(err))
		}
		q = queries.Render("dash_dates", map[string]string{"demand": run.file("demand")})
		if err := scanAll(rowsOf(db.Query(ctx, q, cat)), func(rows *sql.Rows) error {
			var v dateRow
			var d time.Time
			err := rows.Scan(&d, &v.Demand, &v.Covered, &v.Shortage)
			v.ShipOn = d.Format("2006-01-02")
			dates = append(dates, v)
			return err
		}); err != nil {
			return fmt.Errorf("overview dates: %w", duck.Clean(err))
		}
		q = queries.Render("dash_categories", map[string]string{"demand": run.file("demand")})
		if err := scanAll(rowsOf(db.Query(ctx, q, date)), func(rows *sql.Rows) error {
			var v catRow
			err := rows.Scan(&v.Category, &v.Demand, &v.Covered, &v.Shortage)
			cats = append(cats, v)
			return err
		}); err != nil {
			return fmt.Errorf("overview categories: %w", duck.Clean(err))
		}
		boxes, err = s.boxDates(ctx, db, run)
		return err
	})
	if err != nil {
		return nil, err
	}
	// Every ship date of the run gets a row, also one without demand of
	// the category; box counts come from the boxes and the manifest.
	short := map[string]int64{}
	if run.man != nil {
		for _, d := range run.man.PerDate {
			short[d.ShipOn] = int64(d.ShortBoxes)
		}
	}
	byDate := map[string]int{}
	for i, d := range dates {
		byDate[d.ShipOn] = i
	}
	for _, day := range run.ShipDates {
		if _, ok := byDate[day]; !ok {
			byDate[day] = len(dates)
			dates = append(dates, dateRow{ShipOn: day})
		}
	}
	for i := range dates {
		b := boxes[dates[i].ShipOn]
		dates[i].Boxes, dates[i].Lines, dates[i].Requested, dates[i].ShortBoxes = b[0], b[1], b[2], short[dates[i].ShipOn]
	}
	sortDates(dates)
	kpi := map[string]int64{}
	for _, d := range dates {
		if date == "" || d.ShipOn == date {
			kpi["boxes"] += d.Boxes
			kpi["short_boxes"] += d.ShortBoxes
			kpi["requests_honoured"] += d.Requested
			kpi["demand"] += d.Demand
			kpi["covered"] += d.Covered
			kpi["shortage"] += d.Shortage
		}
	}
	return map[string]any{"run": run, "category": cat, "date": date, "kpi": kpi, "snacks": snacks, "dates": dates, "categories": cats}, nil
}

func sortDates(d []dateRow) {
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j].ShipOn < d[j-1].ShipOn; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}
