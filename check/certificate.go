package check

// The optimal allocator's certificate (manifest "certificate") and the run
// mode's lot choice, verified from the run's own tables and the snapshot:
// every figure of every date recomputed (score, filled, requested and
// over-cap lines, box slots), the units in stock at the start of each date
// for every priced snack, the bound's arithmetic (users' part plus prices
// times units, level by level), that the bound is never below the plan,
// the gap, the totals, and that a plan kept over the greedy's is no worse
// than it. Run mode's lots are replayed first-expiry-first-out per date and
// snack.

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/plan"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6+1e-12*math.Max(math.Abs(a), math.Abs(b)) }

type dateFigures struct {
	slots, filled, requested, over int64
	score                          float64
}

// checkCertificate verifies m.Certificate.
func checkCertificate(ctx context.Context, db *duck.DB, m *plan.Manifest, add func(Violation)) error {
	c := m.Certificate
	bad := func(ship, format string, args ...any) {
		add(Violation{Rule: "certificate", ShipOn: ship, Detail: fmt.Sprintf(format, args...)})
	}
	figs := map[string]*dateFigures{}
	get := func(d time.Time) *dateFigures {
		k := d.Format("2006-01-02")
		if figs[k] == nil {
			figs[k] = &dateFigures{}
		}
		return figs[k]
	}
	queries := []struct {
		q    string
		scan func(d time.Time, a int64, b float64, r int64)
	}{
		{`SELECT ship_on, sum(box_size)::BIGINT, 0.0::DOUBLE, 0::BIGINT FROM chk_ship GROUP BY ship_on`,
			func(d time.Time, a int64, _ float64, _ int64) { get(d).slots = a }},
		{`SELECT ship_on, count(*)::BIGINT, sum(score)::DOUBLE, count(*) FILTER (WHERE requested)::BIGINT FROM chk_boxes GROUP BY ship_on`,
			func(d time.Time, a int64, b float64, r int64) { f := get(d); f.filled, f.score, f.requested = a, b, r }},
		{fmt.Sprintf(`SELECT ship_on, sum(greatest(n - %d, 0))::BIGINT, 0.0::DOUBLE, 0::BIGINT FROM
			(SELECT b.ship_on, b.user_id, s.category, count(*) AS n FROM chk_boxes b JOIN snacks s USING (snack_id) GROUP BY ALL)
			GROUP BY ship_on`, m.Policy.MaxPerCategory),
			func(d time.Time, a int64, _ float64, _ int64) { get(d).over = a }},
	}
	for _, q := range queries {
		rows, err := db.Query(ctx, q.q)
		if err != nil {
			return fmt.Errorf("certificate: %w", duck.Clean(err))
		}
		for rows.Next() {
			var d time.Time
			var a, r int64
			var b float64
			if err := rows.Scan(&d, &a, &b, &r); err != nil {
				rows.Close()
				return duck.Clean(err)
			}
			q.scan(d, a, b, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return duck.Clean(err)
		}
	}
	// Units usable at the start of each date: left at its end plus taken on it.
	units := map[string]map[int64]int64{}
	rows, err := db.Query(ctx, `SELECT d.ship_on, d.snack_id, (coalesce(l.units_left, 0) + coalesce(u.units, 0))::BIGINT
		FROM (SELECT DISTINCT ship_on, snack_id FROM chk_left UNION SELECT DISTINCT ship_on, snack_id FROM chk_lot_use) d
		LEFT JOIN chk_left l USING (ship_on, snack_id)
		LEFT JOIN (SELECT ship_on, snack_id, sum(units) AS units FROM chk_lot_use GROUP BY ALL) u USING (ship_on, snack_id)`)
	if err != nil {
		return fmt.Errorf("certificate: %w", duck.Clean(err))
	}
	for rows.Next() {
		var d time.Time
		var s, n int64
		if err := rows.Scan(&d, &s, &n); err != nil {
			rows.Close()
			return duck.Clean(err)
		}
		k := d.Format("2006-01-02")
		if units[k] == nil {
			units[k] = map[int64]int64{}
		}
		units[k][s] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return duck.Clean(err)
	}

	var tot plan.CertTotals
	seen := map[string]bool{}
	for _, d := range c.Dates {
		seen[d.ShipOn] = true
		f := figs[d.ShipOn]
		if f == nil {
			f = &dateFigures{}
		}
		if d.Slots != f.slots || d.Filled != f.filled || d.Requested != f.requested || d.OverCap != f.over {
			bad(d.ShipOn, "the certificate says %d slots, %d filled, %d requested, %d over the cap; the boxes have %d, %d, %d, %d",
				d.Slots, d.Filled, d.Requested, d.OverCap, f.slots, f.filled, f.requested, f.over)
		}
		if !near(d.Score, f.score) {
			bad(d.ShipOn, "the certificate's score %.9f is not the boxes' %.9f", d.Score, f.score)
		}
		if d.ShortUnits != d.Slots-d.Filled || d.ShortUnitsBound != d.Slots-d.FillableBound {
			bad(d.ShipOn, "short units %d (bound %d) do not follow from %d slots, %d filled, %d fillable",
				d.ShortUnits, d.ShortUnitsBound, d.Slots, d.Filled, d.FillableBound)
		}
		// bound_stock = sum of price x units, level by level.
		var sf, sr, so int64
		var ss float64
		for _, p := range d.Prices {
			if !lexNonNegative(p.Filled, p.Requested, -p.OverCap, p.Score) {
				bad(d.ShipOn, "snack %d has a negative price (%d, %d, %d, %g)", p.SnackID, p.Filled, p.Requested, p.OverCap, p.Score)
			}
			if got := units[d.ShipOn][p.SnackID]; got != p.Units {
				bad(d.ShipOn, "snack %d: the certificate charges %d units, the stock usable at the start of the date is %d", p.SnackID, p.Units, got)
			}
			sf += p.Filled * p.Units
			sr += p.Requested * p.Units
			so += p.OverCap * p.Units
			ss += p.Score * float64(p.Units)
		}
		bs := d.BoundStock
		if bs.Filled != sf || bs.Requested != sr || bs.OverCap != so || !near(bs.Score, ss) {
			bad(d.ShipOn, "bound_stock %+v is not the sum of prices x units (%d, %d, %d, %.9f)", bs, sf, sr, so, ss)
		}
		bu := d.BoundUsers
		if d.FillableBound != bu.Filled+bs.Filled || d.RequestedBound != bu.Requested+bs.Requested ||
			d.OverCapBound != bu.OverCap+bs.OverCap || !near(d.Bound, bu.Score+bs.Score+d.Allowance) {
			bad(d.ShipOn, "the bound (%d, %d, %d, %.9f) is not bound_users + bound_stock", d.FillableBound, d.RequestedBound, d.OverCapBound, d.Bound)
		}
		certified := d.FillableBound == d.Filled && d.RequestedBound == d.Requested && d.OverCapBound == d.OverCap
		if certified != d.Certified {
			bad(d.ShipOn, "marked certified=%v, but the bound and the plan agree in the first levels: %v", d.Certified, certified)
		}
		// The bound dominates the plan lexicographically.
		if lexLess(d.FillableBound, d.RequestedBound, -d.OverCapBound, d.Bound+1e-6+1e-12*math.Abs(d.Bound), d.Filled, d.Requested, -d.OverCap, d.Score) {
			bad(d.ShipOn, "the bound (%d, %d, %d, %.9f) is below the plan (%d, %d, %d, %.9f)",
				d.FillableBound, d.RequestedBound, d.OverCapBound, d.Bound, d.Filled, d.Requested, d.OverCap, d.Score)
		}
		if certified && !near(d.GapPct, gap(d.Bound, d.Score)) {
			bad(d.ShipOn, "gap %.9f%% is not (bound - score) / bound", d.GapPct)
		}
		tot.Score += d.Score
		tot.Bound += d.Bound
		tot.Slots += d.Slots
		tot.Filled += d.Filled
		tot.FillableBound += d.FillableBound
		tot.Requested += d.Requested
		tot.RequestedBound += d.RequestedBound
		tot.OverCap += d.OverCap
		tot.OverCapBound += d.OverCapBound
	}
	var missing []string
	for k, f := range figs {
		if !seen[k] && f.slots > 0 {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		bad(k, "a ship date of the run has no certificate")
	}
	t := c.Total
	if t.Slots != tot.Slots || t.Filled != tot.Filled || t.FillableBound != tot.FillableBound || t.Requested != tot.Requested ||
		t.RequestedBound != tot.RequestedBound || t.OverCap != tot.OverCap || t.OverCapBound != tot.OverCapBound ||
		!near(t.Score, tot.Score) || !near(t.Bound, tot.Bound) || !near(t.GapPct, gap(tot.Bound, tot.Score)) ||
		t.ShortUnits != t.Slots-t.Filled || t.ShortUnitsBound != t.Slots-t.FillableBound {
		bad("", "the totals are not the sums of the dates")
	}
	if c.Chosen == "optimal" && (m.Counts.ShortBoxes > c.Greedy.ShortBoxes || t.Score < c.Greedy.Score-1e-6-1e-12*math.Abs(t.Score)) {
		bad("", "the optimal plan was kept with %d short boxes and score %.6f, the greedy's has %d and %.6f",
			m.Counts.ShortBoxes, t.Score, c.Greedy.ShortBoxes, c.Greedy.Score)
	}
	return nil
}

func gap(bound, score float64) float64 {
	if bound == score {
		return 0
	}
	return 100 * (bound - score) / math.Abs(bound)
}

func lexNonNegative(f, r, o int64, s float64) bool {
	switch {
	case f != 0:
		return f > 0
	case r != 0:
		return r > 0
	case o != 0:
		return o > 0
	}
	return s >= 0
}

// lexLess reports (f1, r1, o1, s1) < (f2, r2, o2, s2) lexicographically.
func lexLess(f1, r1, o1 int64, s1 float64, f2, r2, o2 int64, s2 float64) bool {
	switch {
	case f1 != f2:
		return f1 < f2
	case r1 != r2:
		return r1 < r2
	case o1 != o2:
		return o1 < o2
	}
	return s1 < s2
}

// checkRunFEFO replays run mode's lots: per date and snack, the units the
// boxes took must come first-expiry-first-out from the lots usable on that
// date, after the units of earlier dates.
func checkRunFEFO(ctx context.Context, db *duck.DB, m *plan.Manifest, add func(Violation)) error {
	lots, err := fefoLots(ctx, db)
	if err != nil {
		return err
	}
	rows, err := db.Query(ctx, `SELECT ship_on, snack_id, lot_id, count(*)::BIGINT FROM chk_boxes
		WHERE lot_id IS NOT NULL GROUP BY ALL ORDER BY ship_on, snack_id`)
	if err != nil {
		return duck.Clean(err)
	}
	defer rows.Close()
	shelf := time.Duration(m.Policy.MinShelfDays) * 24 * time.Hour
	type key struct {
		d time.Time
		s int64
	}
	var cur key
	got := map[string]int64{}
	flush := func() {
		var need int64
		for _, n := range got {
			need += n
		}
		want := map[string]int64{}
		for _, l := range lots[cur.s] {
			if need == 0 {
				break
			}
			if l.bb.Before(cur.d.Add(shelf)) || l.remain == 0 {
				continue
			}
			t := min(need, l.remain)
			l.remain -= t
			need -= t
			want[l.id] = t
		}
		for id, n := range got {
			if want[id] != n {
				s := cur.s
				add(Violation{Rule: "fefo", ShipOn: cur.d.Format("2006-01-02"), SnackID: &s,
					Detail: fmt.Sprintf("lot %s gave %d units; first-expiry-first-out from the usable lots takes %d from it", id, n, want[id])})
				break
			}
		}
		clear(got)
	}
	first := true
	for rows.Next() {
		var d time.Time
		var s, n int64
		var id string
		if err := rows.Scan(&d, &s, &id, &n); err != nil {
			return duck.Clean(err)
		}
		k := key{d, s}
		if !first && k != cur {
			flush()
		}
		first = false
		cur = k
		got[id] = n
	}
	if !first {
		flush()
	}
	return duck.Clean(rows.Err())
}
