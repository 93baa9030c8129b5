package plan

import (
	"github.com/assign-dev/assign/engine"
)

// Certificate is the optimal allocator's proof in the manifest: per ship
// date and in total, the plan's value and an upper bound on what any plan
// could reach from that date's state (see engine/optimal.go for the model).
// `assign check` verifies its arithmetic against the run's own tables.
type Certificate struct {
	// Objective names the levels, compared lexicographically.
	Objective []string `json:"objective"`
	// Bound explains how the bound is computed.
	Bound string `json:"bound"`
	// Chosen is "optimal", or "greedy" when the optimal plan had more short
	// boxes or a lower score than the reference greedy (Reason); the
	// tables then hold the greedy's plan, certified date by date.
	Chosen string `json:"chosen"`
	// GapTolerancePct is the gap, in percent of a date's bound, at which a
	// date's exchange phases stopped ("within tolerance"; 0: exact).
	GapTolerancePct float64 `json:"gap_tolerance_pct"`
	Reason          string  `json:"reason,omitempty"`
	// Greedy is the reference greedy run's outcome on the same dates.
	Greedy CertGreedy `json:"greedy"`
	Total  CertTotals `json:"total"`
	Dates  []CertDate `json:"per_date"`
}

// CertGreedy is the reference greedy's outcome.
type CertGreedy struct {
	Score      float64 `json:"score"`
	ShortBoxes int     `json:"short_boxes"`
	ShortUnits int64   `json:"short_units"`
}

// CertTotals sums the dates.
type CertTotals struct {
	Score  float64 `json:"score"`
	Bound  float64 `json:"bound"`
	GapPct float64 `json:"gap_pct"`
	// Slots are the box lines asked for; FillableBound bounds the lines any
	// plan could fill, so ShortUnitsBound = Slots - FillableBound is the
	// fewest short units possible.
	Slots           int64 `json:"slots"`
	Filled          int64 `json:"filled_units"`
	FillableBound   int64 `json:"fillable_bound"`
	ShortUnits      int64 `json:"short_units"`
	ShortUnitsBound int64 `json:"short_units_bound"`
	Requested       int64 `json:"requested_lines"`
	RequestedBound  int64 `json:"requested_bound"`
	OverCap         int64 `json:"over_cap_lines"`
	OverCapBound    int64 `json:"over_cap_bound"`
	CertifiedDates  int   `json:"certified_dates"`
	FallbackDates   int   `json:"fallback_dates"`
}

// CertDate is one ship date's certificate.
type CertDate struct {
	ShipOn string `json:"ship_on"`
	// Status: "optimal", "within tolerance" (stopped at a gap within
	// GapTolerancePct), "uncontested" (no snack ran short at zero prices),
	// "greedy" (the horizon fell back to the greedy's plan) or "fallback:
	// why" (the greedy's boxes on this date).
	Status string `json:"status"`
	// Certified: the bound equals the plan in filled units, requested lines
	// and over-cap lines, so Bound caps the score of every plan as good in
	// those.
	Certified       bool    `json:"certified"`
	Score           float64 `json:"score"`
	Bound           float64 `json:"bound"`
	GapPct          float64 `json:"gap_pct"`
	Slots           int64   `json:"slots"`
	Filled          int64   `json:"filled_units"`
	FillableBound   int64   `json:"fillable_bound"`
	ShortUnits      int64   `json:"short_units"`
	ShortUnitsBound int64   `json:"short_units_bound"`
	Requested       int64   `json:"requested_lines"`
	RequestedBound  int64   `json:"requested_bound"`
	OverCap         int64   `json:"over_cap_lines"`
	OverCapBound    int64   `json:"over_cap_bound"`
	// Bound = BoundUsers + BoundStock, level by level: the users' best
	// boxes at the prices, and the prices times the units in stock.
	BoundUsers engine.Objective `json:"bound_users"`
	BoundStock engine.Objective `json:"bound_stock"`
	// Allowance was added to the bound's score for rounded score terms
	// (and, on dates planned by the auction path, for the split score
	// model's float rounding against the SPEC's scores).
	Allowance float64        `json:"allowance"`
	Prices    []engine.Price `json:"prices"`
	Phases    int64          `json:"phases"`
	Moves     int64          `json:"moves"`
	Repaired  int            `json:"repaired_users"`
	ExitMoves int64          `json:"exit_moves"`
	Seconds   float64        `json:"seconds"`
}

// newCertificate renders the engine's report.
func newCertificate(rep *engine.OptimalReport) *Certificate {
	c := &Certificate{
		Objective: []string{"filled units (fewest short units)", "requested lines", "lines over a category cap (fewest)", "score", "ties: lower snack_id"},
		Bound: "per date, sum over users of the best box at the snack prices plus sum of price times units in stock " +
			"(Lagrangian dual of the stock limits; exact for this network problem); scores as the SPEC computes them",
		Chosen: rep.Chosen, Reason: rep.Reason, GapTolerancePct: rep.GapTolerance * 100,
		Greedy: CertGreedy{Score: rep.GreedyScore, ShortBoxes: rep.GreedyShortBoxes, ShortUnits: rep.GreedyShortUnits},
	}
	t := &c.Total
	for _, d := range rep.Dates {
		cd := CertDate{
			ShipOn: d.Day.String(), Status: d.Status, Certified: d.Certified,
			Score: d.Achieved.Score, Bound: d.Bound.Score, GapPct: d.Gap(),
			Slots: d.Slots, Filled: d.Achieved.Filled, FillableBound: d.Bound.Filled,
			ShortUnits: d.Slots - d.Achieved.Filled, ShortUnitsBound: d.Slots - d.Bound.Filled,
			Requested: d.Achieved.Requested, RequestedBound: d.Bound.Requested,
			OverCap: d.Achieved.OverCap, OverCapBound: d.Bound.OverCap,
			BoundUsers: d.BoundUsers, BoundStock: d.BoundStock, Allowance: d.Allowance,
			Prices: d.Prices, Phases: d.Phases, Moves: d.Moves, Repaired: d.Repaired, ExitMoves: d.ExitMoves, Seconds: d.Seconds,
		}
		if cd.Prices == nil {
			cd.Prices = []engine.Price{}
		}
		c.Dates = append(c.Dates, cd)
		t.Score += cd.Score
		t.Bound += cd.Bound
		t.Slots += cd.Slots
		t.Filled += cd.Filled
		t.FillableBound += cd.FillableBound
		t.Requested += cd.Requested
		t.RequestedBound += cd.RequestedBound
		t.OverCap += cd.OverCap
		t.OverCapBound += cd.OverCapBound
		if cd.Certified {
			t.CertifiedDates++
		}
		if !engine.SolvedStatus(cd.Status) && cd.Status != engine.StatusUncontested {
			t.FallbackDates++
		}
	}
	t.ShortUnits = t.Slots - t.Filled
	t.ShortUnitsBound = t.Slots - t.FillableBound
	t.GapPct = engine.GapPct(t.Bound, t.Score)
	return c
}
