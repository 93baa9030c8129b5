package naive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"
)

// BoxLine is one row of the boxes table.
type BoxLine struct {
	ShipOn    Day
	UserID    int64
	Position  int // 1..filled in selection order
	SnackID   int64
	LotID     sql.NullString // the lot consumed in run mode; NULL in preassign
	Score     float64
	Requested bool // taken in step 1
}

// DemandRow is one row of the demand table (only rows with demand > 0).
type DemandRow struct {
	ShipOn   Day
	SnackID  int64
	Demand   int
	Covered  int
	Shortage int
}

// SummaryRow is one row of snack_summary: one per snack in snacks.
type SummaryRow struct {
	SnackID     int64
	Demand      int
	StockUsable int // total quantity of lots usable on D0 before any consumption
	Covered     int
	Shortage    int
}

// ShortBox is one row of short_boxes: a shipping user with filled < box_size.
type ShortBox struct {
	ShipOn  Day
	UserID  int64
	BoxSize int
	Filled  int
}

// DateCount summarises one ship date of the horizon.
type DateCount struct {
	ShipOn Day
	Users  int // users shipping on the date
	Lines  int // box lines
	Short  int // short boxes
}

// Result is the output of one Run, every table in its SPEC sort order.
type Result struct {
	Mode         Mode
	Start        Day
	Days         int
	Boxes        []BoxLine
	Demand       []DemandRow
	SnackSummary []SummaryRow
	ShortBoxes   []ShortBox
	Dates        []DateCount
	// Queries is the number of per-user SQL queries issued, the cost the
	// baseline exists to show.
	Queries int
	Elapsed time.Duration
}

type runner struct {
	opt      Options
	db       *snapshot
	snackIDs []*snack
	snacks   map[int64]*snack
	users    []*user
	pop      popularity
	stock    *stockTable
	// horizon holds the boxes chosen on earlier dates, per user, as deliveries.
	horizon map[int64][]delivery
	queries int
}

// Run computes the boxes of the horizon opt.Start .. opt.Start+opt.Days-1 in
// opt.Mode over the snapshot file. The result depends only on the snapshot,
// the options and the policy.
func Run(ctx context.Context, opt Options) (*Result, error) {
	began := time.Now()
	if opt.Mode != Preassign && opt.Mode != RunMode {
		return nil, fmt.Errorf("mode %q is unknown; use preassign or run", opt.Mode)
	}
	if opt.Days < 1 {
		return nil, fmt.Errorf("days is %d; use at least 1", opt.Days)
	}
	if err := opt.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if opt.Snapshot == "" {
		return nil, errors.New("no snapshot file given; pass the path of a snapshot .duckdb file")
	}
	db, err := openSnapshot(ctx, opt.Snapshot, opt.Threads)
	if err != nil {
		return nil, err
	}
	defer db.close()
	r := &runner{opt: opt, db: db, horizon: map[int64][]delivery{}}
	if r.snackIDs, r.snacks, err = db.loadSnacks(ctx); err != nil {
		return nil, err
	}
	if r.users, err = db.loadUsers(ctx); err != nil {
		return nil, err
	}
	all, err := db.loadAllRatings(ctx)
	if err != nil {
		return nil, err
	}
	r.pop = computePopularity(latestRatings(all), opt.Policy.PriorWeight)
	lots, err := db.loadLots(ctx)
	if err != nil {
		return nil, err
	}
	r.stock = &stockTable{lots: lots, minShelfDays: opt.Policy.MinShelfDays}

	res := &Result{Mode: opt.Mode, Start: opt.Start, Days: opt.Days}
	summary := map[int64]*SummaryRow{}
	for _, s := range r.snackIDs {
		summary[s.id] = &SummaryRow{SnackID: s.id, StockUsable: r.stock.usableInitial(s.id, opt.Start)}
	}
	for i := 0; i < opt.Days; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d := opt.Start + Day(i)
		if err := r.runDate(ctx, d, res); err != nil {
			return nil, fmt.Errorf("ship date %s: %w", d, err)
		}
	}
	for _, dr := range res.Demand {
		if sr := summary[dr.SnackID]; sr != nil {
			sr.Demand += dr.Demand
			sr.Covered += dr.Covered
			sr.Shortage += dr.Shortage
		}
	}
	for _, s := range r.snackIDs {
		res.SnackSummary = append(res.SnackSummary, *summary[s.id])
	}
	sortResult(res)
	res.Queries = r.queries
	res.Elapsed = time.Since(began)
	return res, nil
}

// ships is the section 4 ship-date rule; skips do not shift the schedule.
func (r *runner) ships(ctx context.Context, u *user, d Day) (bool, error) {
	if u.status != "active" || d < u.nextShip || (d-u.nextShip)%Day(u.cadence) != 0 {
		return false, nil
	}
	r.queries++
	skipped, err := r.db.skips(ctx, u.id, d)
	return !skipped && err == nil, err
}

// userDayFor runs the per-user queries and adds the horizon's earlier boxes.
func (r *runner) userDayFor(ctx context.Context, u *user) (*userDay, error) {
	data, err := r.db.loadUser(ctx, u.id)
	if err != nil {
		return nil, err
	}
	r.queries += 5
	ud := &userDay{u: u, data: data}
	ud.deliveries = append(ud.deliveries, data.deliveries...)
	ud.deliveries = append(ud.deliveries, r.horizon[u.id]...)
	return ud, nil
}

// boxFor chooses u's box on d among the snacks eligible right now.
func (r *runner) boxFor(ud *userDay, d Day) []chosen {
	var cands []candidate
	for _, s := range r.snackIDs {
		if r.eligible(ud, s, d) {
			cands = append(cands, candidate{s, r.opt.Policy.score(r.terms(ud, s, d))})
		}
	}
	return selectBox(ud.u.boxSize, cands, openRequests(ud, d), r.opt.Policy)
}

func (r *runner) runDate(ctx context.Context, d Day, res *Result) error {
	var days []*userDay
	for _, u := range r.users {
		ok, err := r.ships(ctx, u, d)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		ud, err := r.userDayFor(ctx, u)
		if err != nil {
			return err
		}
		days = append(days, ud)
	}
	if r.opt.Mode == RunMode {
		// The order is fixed once, from the stock at the start of the date.
		count := map[int64]int{}
		for _, ud := range days {
			for _, s := range r.snackIDs {
				if r.eligible(ud, s, d) {
					count[ud.u.id]++
				}
			}
		}
		sort.SliceStable(days, func(i, j int) bool {
			ci, cj := count[days[i].u.id], count[days[j].u.id]
			if ci != cj {
				return ci < cj
			}
			return days[i].u.id < days[j].u.id
		})
	}
	dc := DateCount{ShipOn: d, Users: len(days)}
	demand := map[int64]int{}
	today := map[int64][]delivery{}
	for _, ud := range days {
		box := r.boxFor(ud, d)
		for i, c := range box {
			line := BoxLine{ShipOn: d, UserID: ud.u.id, Position: i + 1, SnackID: c.s.id, Score: c.score, Requested: c.requested}
			if r.opt.Mode == RunMode {
				n, from := r.stock.take(c.s.id, d, 1)
				if n != 1 {
					// Eligibility required usable stock at this user's turn
					// and a box holds a snack once, so this cannot happen.
					return fmt.Errorf("user %d: snack %d was chosen without usable stock (internal error)", ud.u.id, c.s.id)
				}
				line.LotID = sql.NullString{String: from[0], Valid: true}
			}
			res.Boxes = append(res.Boxes, line)
			demand[c.s.id]++
			today[ud.u.id] = append(today[ud.u.id], delivery{snack: c.s.id, on: d})
		}
		dc.Lines += len(box)
		if len(box) < ud.u.boxSize {
			res.ShortBoxes = append(res.ShortBoxes, ShortBox{ShipOn: d, UserID: ud.u.id, BoxSize: ud.u.boxSize, Filled: len(box)})
			dc.Short++
		}
	}
	// Boxes of d become deliveries only for later dates.
	for u, ds := range today {
		r.horizon[u] = append(r.horizon[u], ds...)
	}
	ids := make([]int64, 0, len(demand))
	for s := range demand {
		ids = append(ids, s)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, s := range ids {
		row := DemandRow{ShipOn: d, SnackID: s, Demand: demand[s]}
		if r.opt.Mode == RunMode {
			row.Covered = row.Demand
		} else {
			row.Covered, _ = r.stock.take(s, d, row.Demand)
			row.Shortage = row.Demand - row.Covered
		}
		res.Demand = append(res.Demand, row)
	}
	res.Dates = append(res.Dates, dc)
	return nil
}

// sortResult puts every table in its SPEC section 5 order.
func sortResult(res *Result) {
	sort.Slice(res.Boxes, func(i, j int) bool {
		a, b := res.Boxes[i], res.Boxes[j]
		if a.ShipOn != b.ShipOn {
			return a.ShipOn < b.ShipOn
		}
		if a.UserID != b.UserID {
			return a.UserID < b.UserID
		}
		return a.Position < b.Position
	})
	sort.Slice(res.Demand, func(i, j int) bool {
		a, b := res.Demand[i], res.Demand[j]
		if a.ShipOn != b.ShipOn {
			return a.ShipOn < b.ShipOn
		}
		return a.SnackID < b.SnackID
	})
	sort.Slice(res.SnackSummary, func(i, j int) bool { return res.SnackSummary[i].SnackID < res.SnackSummary[j].SnackID })
	sort.Slice(res.ShortBoxes, func(i, j int) bool {
		a, b := res.ShortBoxes[i], res.ShortBoxes[j]
		if a.ShipOn != b.ShipOn {
			return a.ShipOn < b.ShipOn
		}
		return a.UserID < b.UserID
	})
}
