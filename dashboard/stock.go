package dashboard

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/whatif"
)

type lotRow struct {
	SnackID    int64  `json:"snack_id"`
	Name       string `json:"name"`
	Category   string `json:"category"`
	LotID      string `json:"lot_id"`
	Quantity   int64  `json:"quantity"`
	BestBefore string `json:"best_before"`
	// LastUsable is best_before - min_shelf_days: the last ship date the
	// lot may go in a box.
	LastUsable string `json:"last_usable"`
	// Used are the units the run's covered demand took (FEFO replay).
	Used int64 `json:"used"`
	// AtRisk are units left unused when the lot stops being usable inside
	// the horizon: they will expire unused (waste) unless sold elsewhere.
	AtRisk int64 `json:"at_risk"`

	snack int32
	bb    engine.Day
}

type stockSnack struct {
	SnackID  int64  `json:"snack_id"`
	Name     string `json:"name"`
	Category string `json:"category"`
	UsableD0 int64  `json:"usable_d0"`
	Demand   int64  `json:"demand"`
	Shortage int64  `json:"shortage"`
	AtRisk   int64  `json:"at_risk"`
	// DaysOfSupply is usable stock on the first date over the average
	// daily demand of the horizon; nil when the snack has no demand.
	DaysOfSupply *float64 `json:"days_of_supply"`
}

// stock answers the Stock and expiry page: lots by best-before, units at
// risk of expiring unused over the run's horizon, days of supply per
// snack, filtered by ?category=.
//
// What the run consumed is replayed from its demand table: date by date,
// the covered units of each snack are taken first-expiry-first-out from
// the lots usable that day (SPEC 4), which is exactly what preassign's
// coverage and run's picks did. A scenario's stock changes are applied to
// the lots first, so its page shows its own stock.
func (s *Server) stock(ctx context.Context, r *http.Request) (any, error) {
	run, err := s.runParam(r, "run")
	if err != nil {
		return nil, err
	}
	if run.man == nil {
		return nil, fmt.Errorf("run %s has no manifest", run.ID)
	}
	cat := r.URL.Query().Get("category")
	minShelf := run.man.Policy.MinShelfDays
	from, _ := time.Parse("2006-01-02", run.From)
	d0 := engine.DayOf(from)
	days := run.Days
	in := &engine.Inputs{D0: d0, Days: days}
	var lots []lotRow
	covered := map[[2]int64]int64{} // (day, snack_id) -> units
	names := map[int64][2]string{}
	err = s.withSession(ctx, func(p *pooled) error {
		db := p.sess.DB()
		if err := scanAll(rowsOf(db.Query(ctx, `SELECT snack_id, name, category FROM snacks ORDER BY snack_id`)), func(rows *sql.Rows) error {
			var id int64
			var n, c string
			if err := rows.Scan(&id, &n, &c); err != nil {
				return err
			}
			names[id] = [2]string{n, c}
			in.SnackID = append(in.SnackID, id)
			ci := slices.Index(in.Categories, c)
			if ci < 0 {
				ci = len(in.Categories)
				in.Categories = append(in.Categories, c)
			}
			in.SnackCat = append(in.SnackCat, int32(ci))
			return nil
		}); err != nil {
			return fmt.Errorf("stock: read snacks: %w", duck.Clean(err))
		}
		if err := scanAll(rowsOf(db.Query(ctx, `SELECT snack_id, lot_id, quantity, best_before FROM stock`)), func(rows *sql.Rows) error {
			var id int64
			var lot string
			var q int32
			var bb time.Time
			if err := rows.Scan(&id, &lot, &q, &bb); err != nil {
				return err
			}
			si, ok := slices.BinarySearch(in.SnackID, id)
			if !ok {
				return nil
			}
			in.LotSnack = append(in.LotSnack, int32(si))
			in.LotID = append(in.LotID, lot)
			in.LotQty = append(in.LotQty, q)
			in.LotBefore = append(in.LotBefore, engine.DayOf(bb))
			return nil
		}); err != nil {
			return fmt.Errorf("stock: read lots: %w", duck.Clean(err))
		}
		q := fmt.Sprintf(`SELECT ship_on, snack_id, covered::BIGINT FROM read_parquet(%s) WHERE covered > 0`, run.file("demand"))
		return scanAll(rowsOf(db.Query(ctx, q)), func(rows *sql.Rows) error {
			var d time.Time
			var id, n int64
			if err := rows.Scan(&d, &id, &n); err != nil {
				return err
			}
			covered[[2]int64{int64(engine.DayOf(d)), id}] = n
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	in.SortLots()
	if run.man.Scenario != nil && len(run.man.Scenario.Spec) > 0 {
		var spec whatif.Spec
		if err := json.Unmarshal(run.man.Scenario.Spec, &spec); err == nil && len(spec.Stock) > 0 {
			if _, err := whatif.Apply(in, spec.Stock, minShelf); err != nil {
				return nil, fmt.Errorf("replay the stock changes of scenario %s: %w", run.ID, err)
			}
		}
	}
	for l := range in.LotID {
		id := in.SnackID[in.LotSnack[l]]
		bb := in.LotBefore[l]
		lots = append(lots, lotRow{SnackID: id, Name: names[id][0], Category: names[id][1], LotID: in.LotID[l], Quantity: int64(in.LotQty[l]),
			BestBefore: bb.String(), LastUsable: (bb - engine.Day(minShelf)).String(), snack: in.LotSnack[l], bb: bb})
	}
	// FEFO replay: lots are in (snack, best_before, lot_id) order.
	left := make([]int64, len(lots))
	for i := range lots {
		left[i] = lots[i].Quantity
	}
	start := map[int32]int{}
	for i := len(lots) - 1; i >= 0; i-- {
		start[lots[i].snack] = i
	}
	for di := 0; di < days; di++ {
		d := d0 + engine.Day(di)
		for s, first := range start {
			need := covered[[2]int64{int64(d), in.SnackID[s]}]
			for i := first; need > 0 && i < len(lots) && lots[i].snack == s; i++ {
				if lots[i].bb < d+engine.Day(minShelf) || left[i] == 0 {
					continue
				}
				n := min(need, left[i])
				left[i] -= n
				need -= n
			}
		}
	}
	dEnd := d0 + engine.Day(days-1)
	per := map[int64]*stockSnack{}
	snackOf := func(id int64) *stockSnack {
		if p := per[id]; p != nil {
			return p
		}
		p := &stockSnack{SnackID: id, Name: names[id][0], Category: names[id][1]}
		per[id] = p
		return p
	}
	expiry := map[string][2]int64{} // week -> units, at risk
	var total struct{ Units, AtRisk, LotsAtRisk, Unusable int64 }
	for i := range lots {
		l := &lots[i]
		l.Used = l.Quantity - left[i]
		last := l.bb - engine.Day(minShelf)
		if left[i] > 0 && last >= d0 && last <= dEnd {
			l.AtRisk = left[i]
		}
		if cat != "" && l.Category != cat {
			continue
		}
		p := snackOf(l.SnackID)
		if l.bb >= d0+engine.Day(minShelf) {
			p.UsableD0 += l.Quantity
		} else {
			total.Unusable += l.Quantity
		}
		p.AtRisk += l.AtRisk
		total.Units += l.Quantity
		total.AtRisk += l.AtRisk
		if l.AtRisk > 0 {
			total.LotsAtRisk++
		}
		wk := weekOf(l.bb).String()
		e := expiry[wk]
		expiry[wk] = [2]int64{e[0] + l.Quantity, e[1] + l.AtRisk}
	}
	// Demand and shortage per snack over the horizon.
	var demand map[int64][2]int64
	err = s.withSession(ctx, func(p *pooled) error {
		demand = map[int64][2]int64{}
		q := fmt.Sprintf(`SELECT snack_id, sum(demand)::BIGINT, sum(shortage)::BIGINT FROM read_parquet(%s) GROUP BY snack_id`, run.file("demand"))
		return scanAll(rowsOf(p.sess.DB().Query(ctx, q)), func(rows *sql.Rows) error {
			var id, d, sh int64
			err := rows.Scan(&id, &d, &sh)
			demand[id] = [2]int64{d, sh}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	snacks := []stockSnack{}
	for id, dm := range demand {
		if cat != "" && names[id][1] != cat {
			continue
		}
		p := snackOf(id)
		p.Demand, p.Shortage = dm[0], dm[1]
	}
	cats := map[string][2]int64{}
	for _, p := range per {
		if p.Demand > 0 {
			v := float64(p.UsableD0) / (float64(p.Demand) / float64(days))
			p.DaysOfSupply = &v
		}
		snacks = append(snacks, *p)
		c := cats[p.Category]
		cats[p.Category] = [2]int64{c[0] + p.UsableD0, c[1] + p.AtRisk}
	}
	slices.SortFunc(snacks, func(a, b stockSnack) int {
		if c := cmp.Compare(b.AtRisk, a.AtRisk); c != 0 {
			return c
		}
		return cmp.Compare(a.SnackID, b.SnackID)
	})
	weeks := []map[string]any{}
	for wk, v := range expiry {
		weeks = append(weeks, map[string]any{"week": wk, "units": v[0], "at_risk": v[1]})
	}
	slices.SortFunc(weeks, func(a, b map[string]any) int { return cmp.Compare(a["week"].(string), b["week"].(string)) })
	catRows := []map[string]any{}
	for c, v := range cats {
		catRows = append(catRows, map[string]any{"category": c, "usable_d0": v[0], "at_risk": v[1]})
	}
	slices.SortFunc(catRows, func(a, b map[string]any) int {
		if c := cmp.Compare(b["at_risk"].(int64), a["at_risk"].(int64)); c != 0 {
			return c
		}
		return cmp.Compare(a["category"].(string), b["category"].(string))
	})
	risky := []lotRow{}
	for _, l := range lots {
		if l.AtRisk > 0 && (cat == "" || l.Category == cat) {
			risky = append(risky, l)
		}
	}
	slices.SortFunc(risky, func(a, b lotRow) int {
		if c := cmp.Compare(b.AtRisk, a.AtRisk); c != 0 {
			return c
		}
		return cmp.Compare(a.LotID, b.LotID)
	})
	if len(risky) > 200 {
		risky = risky[:200]
	}
	return map[string]any{
		"run": run, "category": cat, "min_shelf_days": minShelf,
		"totals": map[string]int64{"units": total.Units, "at_risk": total.AtRisk, "lots_at_risk": total.LotsAtRisk, "unusable_at_start": total.Unusable},
		"expiry": weeks, "snacks": snacks, "categories": catRows, "lots": risky,
	}, nil
}

// weekOf is the Monday of d's week.
func weekOf(d engine.Day) engine.Day {
	wd := int(d.Time().Weekday()+6) % 7
	return d - engine.Day(wd)
}
