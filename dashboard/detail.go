package dashboard

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/rundiff"
	queries "github.com/assign-dev/assign/sql"
	"github.com/assign-dev/assign/whatif"
)

// Rules of the snack page's eligibility counts, by the number
// dash_snack_eligibility.sql gives them.
var eligibilityRules = map[int]string{
	1: "snack inactive", 2: "not launched yet", 3: "NG tag", 4: "delivered within the repeat window",
	5: "rated at or below never-again", 6: "eligible, not chosen", 7: "in the box",
}

// snack answers the Snack page: ?id=, ?run=, ?date= (default: the run's
// first ship date).
func (s *Server) snack(ctx context.Context, r *http.Request) (any, error) {
	run, err := s.runParam(r, "run")
	if err != nil {
		return nil, err
	}
	id, ok, err := intParam(r, "id")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, badRequest("give the snack as ?id=SNACK_ID")
	}
	date, err := dateParam(r, "date")
	if err != nil {
		return nil, err
	}
	if date == "" && len(run.ShipDates) > 0 {
		date = run.ShipDates[0]
	}
	if date == "" {
		date = run.From
	}
	info := map[string]any{}
	perDate := []map[string]any{}
	rules := []map[string]any{}
	ratings := []map[string]any{}
	users := []int64{}
	var usersTotal int64
	err = s.withSession(ctx, func(p *pooled) error {
		db := p.sess.DB()
		var name, cat string
		var active bool
		var launched time.Time
		err := db.QueryRow(ctx, `SELECT name, category, active, launched_on FROM snacks WHERE snack_id = $1`, id).Scan(&name, &cat, &active, &launched)
		if errors.Is(err, sql.ErrNoRows) {
			return &httpError{code: http.StatusNotFound, err: fmt.Errorf("snack %d is not in snapshot %s", id, p.sess.Snapshot)}
		}
		if err != nil {
			return fmt.Errorf("snack %d: %w", id, duck.Clean(err))
		}
		var tags []string
		if err := scanAll(rowsOf(db.Query(ctx, `SELECT tag FROM snack_tags WHERE snack_id = $1 ORDER BY tag`, id)), func(rows *sql.Rows) error {
			var t string
			err := rows.Scan(&t)
			tags = append(tags, t)
			return err
		}); err != nil {
			return duck.Clean(err)
		}
		info = map[string]any{"snack_id": id, "name": name, "category": cat, "active": active, "launched_on": launched.Format("2006-01-02"), "tags": tags}
		minShelf := 21
		if run.man != nil {
			minShelf = run.man.Policy.MinShelfDays
		}
		q := fmt.Sprintf(`WITH d AS (SELECT ship_on, demand, covered, shortage FROM read_parquet(%s) WHERE snack_id = $1),
			dates AS (SELECT (DATE %s + i::INTEGER)::DATE AS ship_on FROM range(%d) r(i))
			SELECT dates.ship_on, coalesce(d.demand, 0)::BIGINT, coalesce(d.covered, 0)::BIGINT, coalesce(d.shortage, 0)::BIGINT,
			  (SELECT coalesce(sum(quantity), 0) FROM stock st WHERE st.snack_id = $1 AND st.best_before >= dates.ship_on + %d)::BIGINT
			FROM dates LEFT JOIN d USING (ship_on) ORDER BY dates.ship_on`, run.file("demand"), duck.Quote(run.From), run.Days, minShelf)
		if err := scanAll(rowsOf(db.Query(ctx, q, id)), func(rows *sql.Rows) error {
			var d time.Time
			var dem, cov, sh, us int64
			err := rows.Scan(&d, &dem, &cov, &sh, &us)
			perDate = append(perDate, map[string]any{"ship_on": d.Format("2006-01-02"), "demand": dem, "covered": cov, "shortage": sh, "usable": us})
			return err
		}); err != nil {
			return fmt.Errorf("snack %d per date: %w", id, duck.Clean(err))
		}
		window, never := 180, 2
		if run.man != nil {
			window, never = run.man.Policy.RepeatWindowDays, run.man.Policy.NeverAgainRating
		}
		q = queries.Render("dash_snack_eligibility", map[string]string{
			"date": "DATE " + duck.Quote(date), "from": "DATE " + duck.Quote(run.From), "window": strconv.Itoa(window),
			"never_again": strconv.Itoa(never), "boxes": run.file("boxes"),
		})
		if err := scanAll(rowsOf(db.Query(ctx, q, id)), func(rows *sql.Rows) error {
			var rule int
			var n int64
			err := rows.Scan(&rule, &n)
			rules = append(rules, map[string]any{"rule": eligibilityRules[rule], "users": n})
			return err
		}); err != nil {
			return fmt.Errorf("snack %d eligibility: %w", id, duck.Clean(err))
		}
		if err := scanAll(rowsOf(db.Query(ctx, `SELECT r.rating, count(l.rating)::BIGINT FROM range(1, 6) r(rating)
			LEFT JOIN ratings_named l ON l.rating = r.rating AND l.snack_id = $1 GROUP BY r.rating ORDER BY r.rating`, id)), func(rows *sql.Rows) error {
			var rating, n int64
			err := rows.Scan(&rating, &n)
			ratings = append(ratings, map[string]any{"rating": rating, "users": n})
			return err
		}); err != nil {
			return fmt.Errorf("snack %d ratings: %w", id, duck.Clean(err))
		}
		q = fmt.Sprintf(`SELECT user_id, count(*) OVER ()::BIGINT FROM read_parquet(%s) WHERE snack_id = $1 AND ship_on = DATE %s ORDER BY user_id LIMIT 100`,
			run.file("boxes"), duck.Quote(date))
		return scanAll(rowsOf(db.Query(ctx, q, id)), func(rows *sql.Rows) error {
			var u int64
			err := rows.Scan(&u, &usersTotal)
			users = append(users, u)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"run": run, "date": date, "snack": info, "dates": perDate, "eligibility": rules, "ratings": ratings,
		"users": users, "users_total": usersTotal}, nil
}

// users answers the user search: ids starting with ?q=.
func (s *Server) users(ctx context.Context, r *http.Request) (any, error) {
	q := r.URL.Query().Get("q")
	if _, err := strconv.ParseUint(q, 10, 63); err != nil {
		return nil, badRequest("search users by the digits of their user_id")
	}
	out := []map[string]any{}
	err := s.withSession(ctx, func(p *pooled) error {
		return scanAll(rowsOf(p.sess.DB().Query(ctx, `SELECT user_id, status, box_size, cadence_days, next_ship_on FROM users
			WHERE user_id::VARCHAR LIKE $1 || '%' ORDER BY length(user_id::VARCHAR), user_id LIMIT 20`, q)), func(rows *sql.Rows) error {
			var id int64
			var st string
			var box, cad int
			var next time.Time
			err := rows.Scan(&id, &st, &box, &cad, &next)
			out = append(out, map[string]any{"user_id": id, "status": st, "box_size": box, "cadence_days": cad, "next_ship_on": next.Format("2006-01-02")})
			return err
		})
	})
	return map[string]any{"users": out}, err
}

// user answers the User page: the user's boxes in the run and the
// explanation of one box (?date=, default the user's first ship date in
// the run): the facts of `assign explain`.
func (s *Server) user(ctx context.Context, r *http.Request) (any, error) {
	run, err := s.runParam(r, "run")
	if err != nil {
		return nil, err
	}
	id, ok, err := intParam(r, "id")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, badRequest("give the user as ?id=USER_ID")
	}
	date, err := dateParam(r, "date")
	if err != nil {
		return nil, err
	}
	type line struct {
		ShipOn    string  `json:"ship_on"`
		Position  int     `json:"position"`
		SnackID   int64   `json:"snack_id"`
		Name      string  `json:"name"`
		Category  string  `json:"category"`
		LotID     *string `json:"lot_id"`
		Score     float64 `json:"score"`
		Requested bool    `json:"requested"`
	}
	lines := []line{}
	info := map[string]any{}
	snapPath := ""
	err = s.withSession(ctx, func(p *pooled) error {
		db := p.sess.DB()
		var st string
		var box, cad int
		var next time.Time
		err := db.QueryRow(ctx, `SELECT status, box_size, cadence_days, next_ship_on FROM users WHERE user_id = $1`, id).Scan(&st, &box, &cad, &next)
		if errors.Is(err, sql.ErrNoRows) {
			return &httpError{code: http.StatusNotFound, err: fmt.Errorf("user %d is not in snapshot %s", id, p.sess.Snapshot)}
		}
		if err != nil {
			return fmt.Errorf("user %d: %w", id, duck.Clean(err))
		}
		var ng []string
		if err := scanAll(rowsOf(db.Query(ctx, `SELECT tag FROM user_ng WHERE user_id = $1 ORDER BY tag`, id)), func(rows *sql.Rows) error {
			var t string
			err := rows.Scan(&t)
			ng = append(ng, t)
			return err
		}); err != nil {
			return duck.Clean(err)
		}
		info = map[string]any{"user_id": id, "status": st, "box_size": box, "cadence_days": cad, "next_ship_on": next.Format("2006-01-02"), "ng_tags": ng}
		_, snapPath, err = s.home.Resolve(p.sess.Snapshot)
		if err != nil {
			return err
		}
		q := fmt.Sprintf(`SELECT b.ship_on, b.position, b.snack_id, coalesce(s.name, ''), coalesce(s.category, ''), b.lot_id, b.score, b.requested
			FROM read_parquet(%s) b LEFT JOIN snacks s USING (snack_id) WHERE b.user_id = $1 ORDER BY b.ship_on, b.position`, run.file("boxes"))
		return scanAll(rowsOf(db.Query(ctx, q, id)), func(rows *sql.Rows) error {
			var l line
			var d time.Time
			var lot sql.NullString
			err := rows.Scan(&d, &l.Position, &l.SnackID, &l.Name, &l.Category, &lot, &l.Score, &l.Requested)
			l.ShipOn = d.Format("2006-01-02")
			if lot.Valid {
				l.LotID = &lot.String
			}
			lines = append(lines, l)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	if date == "" && len(lines) > 0 {
		date = lines[0].ShipOn
	}
	out := map[string]any{"run": run, "user": info, "lines": lines, "date": date}
	if date == "" || run.man == nil {
		return out, nil
	}
	t, _ := time.Parse("2006-01-02", date)
	from, _ := time.Parse("2006-01-02", run.From)
	day, d0 := engine.DayOf(t), engine.DayOf(from)
	if day < d0 {
		d0 = day
	}
	mode := engine.Preassign
	if run.Mode == "run" {
		mode = engine.Assign
	}
	// Explain opens its own handle: it builds the engine's temp tables,
	// which have no place in a shared read-only session.
	db, err := duck.OpenSnapshot(ctx, snapPath, duck.Options{Threads: s.opt.Threads, TempDir: s.home.TmpDir()})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	// A scenario's box is explained on the scenario's inputs: its stock
	// changes are replayed over the snapshot's, as the scenario made them.
	adjust, err := whatif.Replay(run.man)
	if err != nil {
		return nil, fmt.Errorf("explain user %d in scenario %s: %w", id, run.ID, err)
	}
	ex, err := engine.Explain(ctx, db, engine.ExplainOptions{UserID: id, Day: day, From: d0, Mode: mode, Policy: run.man.Policy, Threads: s.opt.Threads, Adjust: adjust})
	if err != nil {
		return nil, fmt.Errorf("explain user %d on %s: %w", id, date, err)
	}
	out["explain"] = explainJSON(ex)
	if adjust != nil {
		out["explain_note"] = "explained on this scenario's inputs: " + strings.Join(run.man.Scenario.Changes, "; ")
	}
	return out, nil
}

func explainJSON(ex *engine.Explanation) map[string]any {
	snack := func(v engine.SnackVerdict) map[string]any {
		return map[string]any{"snack_id": v.SnackID, "name": v.Name, "category": v.Category, "eligible": v.Eligible, "reason": v.Reason,
			"popularity": v.Terms.Popularity, "preference": v.Terms.Preference, "affinity": v.Terms.Affinity, "novelty": v.Terms.Novelty,
			"score": v.Score, "position": v.Position, "requested": v.Requested}
	}
	box, snacks, reqs := []any{}, []any{}, []any{}
	for _, v := range ex.Box {
		box = append(box, snack(v))
	}
	for _, v := range ex.Snacks {
		snacks = append(snacks, snack(v))
	}
	for _, q := range ex.Requests {
		reqs = append(reqs, map[string]any{"snack_id": q.SnackID, "requested_at": q.RequestedAt.Format("2006-01-02 15:04:05"), "fate": q.Fate})
	}
	return map[string]any{"user_id": ex.UserID, "date": ex.Day.String(), "from": ex.From.String(), "mode": ex.Mode.String(),
		"status": ex.Status, "box_size": ex.BoxSize, "ships": ex.Ships, "not_shipping_reason": ex.NoShip,
		"box": box, "snacks": snacks, "requests": reqs}
}

// compare answers the Runs compare page: ?a= and ?b= (what assign diff shows).
func (s *Server) compare(ctx context.Context, r *http.Request) (any, error) {
	a, err := s.runParam(r, "a")
	if err != nil {
		return nil, err
	}
	b, err := s.runParam(r, "b")
	if err != nil {
		return nil, err
	}
	return s.diff(ctx, a, b)
}

func (s *Server) diff(ctx context.Context, a, b runView) (*rundiff.Diff, error) {
	ra, err := rundiff.Load(storeRun(a))
	if err != nil {
		return nil, err
	}
	rb, err := rundiff.Load(storeRun(b))
	if err != nil {
		return nil, err
	}
	var d *rundiff.Diff
	err = s.withSession(ctx, func(p *pooled) error {
		var err error
		d, err = rundiff.Compare(ctx, p.sess.DB(), ra, rb, "(SELECT snack_id, name, category FROM snacks)",
			rundiff.Options{Limit: 200, AllowOtherSnapshot: true})
		return err
	})
	return d, err
}

// whatif runs a scenario (POST, the body a whatif.Spec) and answers its
// difference against the base run. It is the server's only write.
func (s *Server) whatif(ctx context.Context, r *http.Request) (any, error) {
	var spec whatif.Spec
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return nil, badRequest("the scenario is not valid JSON: %v", err)
	}
	p, err := whatif.Prepare(s.home, spec)
	if err != nil {
		// A base run not found, on another snapshot, a bad value: all
		// about the request, nothing ran.
		return nil, &httpError{code: http.StatusBadRequest, err: err}
	}
	s.whatifMu.Lock()
	defer s.whatifMu.Unlock()
	started := time.Now()
	out, err := whatif.Run(ctx, s.home, p, whatif.Options{Threads: 0, Now: s.opt.Now, Version: s.opt.Version, Logger: s.opt.Logger, DiffLimit: 200})
	if err != nil {
		return nil, asBadRequest(err)
	}
	secs := time.Since(started).Seconds()
	s.opt.Logger.Info("scenario written", "run", out.Run.ID, "base", p.Base.ID, "seconds", secs)
	return map[string]any{"run_id": out.Run.ID, "seconds": secs, "diff": out.Diff}, nil
}

func asBadRequest(err error) error {
	var se *whatif.SpecError
	if errors.As(err, &se) {
		return &httpError{code: http.StatusBadRequest, err: err}
	}
	return err
}
