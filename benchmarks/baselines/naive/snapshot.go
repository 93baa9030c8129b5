package naive

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/assign-dev/assign/duck"
)

// This file is the data access of the old per-user system on purpose: plain
// database/sql, rows.Scan row by row, and one query per user and table. The
// house rule of Arrow batches for bulk reads applies to the engine; this
// baseline exists to measure what the engine replaced.

type snack struct {
	id       int64
	category string
	launched Day
	active   bool
	tags     []string
}

type user struct {
	id       int64
	status   string
	boxSize  int
	cadence  int
	nextShip Day
}

// delivery is a snack shipped to the user on a day (from the snapshot or a
// box chosen earlier in the horizon).
type delivery struct {
	snack int64
	on    Day
}

// request is one row of requests; at is requested_at in microseconds.
type request struct {
	snack int64
	at    int64
}

// ratingRow is one row of ratings; at is rated_at in microseconds.
type ratingRow struct {
	user, snack int64
	rating      int
	at          int64
}

// userData is what the old system fetched for one user before deciding.
type userData struct {
	ng         map[string]bool
	deliveries []delivery
	latest     map[int64]int // snack -> latest rating (SPEC tie: lower rating)
	requests   []request
	prefs      map[string]int // category -> weight
}

// snapshot is the open database plus the per-user prepared statements.
type snapshot struct {
	db    *duck.DB
	stmts map[string]*sql.Stmt
}

// perUserSQL are the per-user queries. They carry no ORDER BY because the Go
// side never depends on their row order (every decision sorts explicitly).
var perUserSQL = map[string]string{
	"ng":         `SELECT tag FROM user_ng WHERE user_id = ?`,
	"deliveries": `SELECT snack_id, shipped_on FROM deliveries WHERE user_id = ?`,
	"ratings":    `SELECT snack_id, rating, rated_at FROM ratings WHERE user_id = ?`,
	"requests":   `SELECT snack_id, requested_at FROM requests WHERE user_id = ?`,
	"prefs":      `SELECT category, weight FROM user_prefs WHERE user_id = ?`,
	"skip":       `SELECT count(*) FROM skips WHERE user_id = ? AND ship_on = CAST(? AS DATE)`,
}

func openSnapshot(ctx context.Context, path string, threads int) (*snapshot, error) {
	db, err := duck.OpenSnapshot(ctx, path, duck.Options{Threads: threads})
	if err != nil {
		return nil, fmt.Errorf("open snapshot %s: %w; check the path names a snapshot database file", path, err)
	}
	s := &snapshot{db: db, stmts: map[string]*sql.Stmt{}}
	for name, q := range perUserSQL {
		st, err := db.Conn().PrepareContext(ctx, q)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("snapshot %s: prepare the %s query: %w; check the file has the tables of sql/schema.sql", path, name, duck.Clean(err))
		}
		s.stmts[name] = st
	}
	return s, nil
}

func (s *snapshot) close() {
	for _, st := range s.stmts {
		st.Close()
	}
	s.db.Close()
}

// each calls scan for every row of a query's result and closes it.
func (s *snapshot) each(what string, rows *sql.Rows, err error, scan func(*sql.Rows) error) error {
	if err != nil {
		return fmt.Errorf("read %s: %w", what, duck.Clean(err))
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("read %s: %w", what, duck.Clean(err))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", what, duck.Clean(err))
	}
	return nil
}

func (s *snapshot) query(ctx context.Context, what, q string, scan func(*sql.Rows) error) error {
	rows, err := s.db.Query(ctx, q)
	return s.each(what, rows, err, scan)
}

func (s *snapshot) queryUser(ctx context.Context, name string, scan func(*sql.Rows) error, args ...any) error {
	rows, err := s.stmts[name].QueryContext(ctx, args...)
	return s.each(name+" of user "+fmt.Sprint(args[0]), rows, err, scan)
}

// loadSnacks reads snacks and their tags, ordered by snack_id.
func (s *snapshot) loadSnacks(ctx context.Context) ([]*snack, map[int64]*snack, error) {
	var list []*snack
	byID := map[int64]*snack{}
	err := s.query(ctx, "snacks", `SELECT snack_id, category, launched_on, active FROM snacks ORDER BY snack_id`, func(r *sql.Rows) error {
		var sn snack
		var launched time.Time
		if err := r.Scan(&sn.id, &sn.category, &launched, &sn.active); err != nil {
			return err
		}
		sn.launched = DayOf(launched)
		if byID[sn.id] != nil {
			return fmt.Errorf("snack_id %d appears twice; reload the extract (snack_id must be unique)", sn.id)
		}
		byID[sn.id] = &sn
		list = append(list, &sn)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	err = s.query(ctx, "snack_tags", `SELECT snack_id, tag FROM snack_tags ORDER BY snack_id, tag`, func(r *sql.Rows) error {
		var id int64
		var tag string
		if err := r.Scan(&id, &tag); err != nil {
			return err
		}
		if sn := byID[id]; sn != nil {
			sn.tags = append(sn.tags, tag)
		}
		return nil
	})
	return list, byID, err
}

// loadUsers reads users ordered by user_id.
func (s *snapshot) loadUsers(ctx context.Context) ([]*user, error) {
	var list []*user
	var last *user
	err := s.query(ctx, "users", `SELECT user_id, status, box_size, cadence_days, next_ship_on FROM users ORDER BY user_id`, func(r *sql.Rows) error {
		var u user
		var next time.Time
		if err := r.Scan(&u.id, &u.status, &u.boxSize, &u.cadence, &next); err != nil {
			return err
		}
		u.nextShip = DayOf(next)
		if last != nil && last.id == u.id {
			return fmt.Errorf("user_id %d appears twice; reload the extract (user_id must be unique)", u.id)
		}
		if u.status == "active" && (u.cadence < 1 || u.boxSize < 1) {
			return fmt.Errorf("user %d has cadence_days %d and box_size %d; reload the extract (both must be >= 1)", u.id, u.cadence, u.boxSize)
		}
		last = &u
		list = append(list, &u)
		return nil
	})
	return list, err
}

// loadAllRatings reads every rating, for popularity.
func (s *snapshot) loadAllRatings(ctx context.Context) ([]ratingRow, error) {
	var out []ratingRow
	err := s.query(ctx, "ratings", `SELECT user_id, snack_id, rating, rated_at FROM ratings`, func(r *sql.Rows) error {
		var x ratingRow
		var at time.Time
		if err := r.Scan(&x.user, &x.snack, &x.rating, &at); err != nil {
			return err
		}
		x.at = at.UnixMicro()
		out = append(out, x)
		return nil
	})
	return out, err
}

// loadLots reads stock and orders each snack's lots FEFO: (best_before,
// lot_id as a plain byte string), compared in Go so no collation applies.
func (s *snapshot) loadLots(ctx context.Context) (map[int64][]*lot, error) {
	lots := map[int64][]*lot{}
	err := s.query(ctx, "stock", `SELECT snack_id, lot_id, quantity, best_before FROM stock`, func(r *sql.Rows) error {
		var l lot
		var bb time.Time
		if err := r.Scan(&l.snack, &l.id, &l.quantity, &bb); err != nil {
			return err
		}
		l.bestBefore = DayOf(bb)
		l.left = l.quantity
		lots[l.snack] = append(lots[l.snack], &l)
		return nil
	})
	for _, ls := range lots {
		sort.Slice(ls, func(i, j int) bool {
			if ls[i].bestBefore != ls[j].bestBefore {
				return ls[i].bestBefore < ls[j].bestBefore
			}
			return ls[i].id < ls[j].id
		})
	}
	return lots, err
}

// skips reports whether (u, d) is in skips.
func (s *snapshot) skips(ctx context.Context, userID int64, d Day) (bool, error) {
	var n int64
	err := s.queryUser(ctx, "skip", func(r *sql.Rows) error { return r.Scan(&n) }, userID, d.String())
	return n > 0, err
}

// loadUser runs the five per-user queries of the old system.
func (s *snapshot) loadUser(ctx context.Context, userID int64) (*userData, error) {
	ud := &userData{ng: map[string]bool{}, latest: map[int64]int{}, prefs: map[string]int{}}
	if err := s.queryUser(ctx, "ng", func(r *sql.Rows) error {
		var tag string
		if err := r.Scan(&tag); err != nil {
			return err
		}
		ud.ng[tag] = true
		return nil
	}, userID); err != nil {
		return nil, err
	}
	if err := s.queryUser(ctx, "deliveries", func(r *sql.Rows) error {
		var d delivery
		var on time.Time
		if err := r.Scan(&d.snack, &on); err != nil {
			return err
		}
		d.on = DayOf(on)
		ud.deliveries = append(ud.deliveries, d)
		return nil
	}, userID); err != nil {
		return nil, err
	}
	var rows []ratingRow
	if err := s.queryUser(ctx, "ratings", func(r *sql.Rows) error {
		x := ratingRow{user: userID}
		var at time.Time
		if err := r.Scan(&x.snack, &x.rating, &at); err != nil {
			return err
		}
		x.at = at.UnixMicro()
		rows = append(rows, x)
		return nil
	}, userID); err != nil {
		return nil, err
	}
	for k, v := range latestRatings(rows) {
		ud.latest[k.snack] = v
	}
	if err := s.queryUser(ctx, "requests", func(r *sql.Rows) error {
		var q request
		var at time.Time
		if err := r.Scan(&q.snack, &at); err != nil {
			return err
		}
		q.at = at.UnixMicro()
		ud.requests = append(ud.requests, q)
		return nil
	}, userID); err != nil {
		return nil, err
	}
	if err := s.queryUser(ctx, "prefs", func(r *sql.Rows) error {
		var c string
		var w int
		if err := r.Scan(&c, &w); err != nil {
			return err
		}
		ud.prefs[c] = w
		return nil
	}, userID); err != nil {
		return nil, err
	}
	return ud, nil
}

type pair struct{ user, snack int64 }

// latestRatings keeps, per (user, snack), the rating with the latest
// rated_at; on equal rated_at the lower rating wins (SPEC section 2).
func latestRatings(rows []ratingRow) map[pair]int {
	type best struct {
		at     int64
		rating int
	}
	m := map[pair]best{}
	for _, r := range rows {
		k := pair{r.user, r.snack}
		b, ok := m[k]
		if !ok || r.at > b.at || (r.at == b.at && r.rating < b.rating) {
			m[k] = best{r.at, r.rating}
		}
	}
	out := make(map[pair]int, len(m))
	for k, b := range m {
		out[k] = b.rating
	}
	return out
}
