package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/assign-dev/assign/policy"
)

// Trace asks a Run to record the state behind one user's box on one date:
// the eligible set before stock, the stock left at the user's turn (run
// mode), the boxes chosen earlier in the horizon, and the chosen box.
type Trace struct {
	UserID int64
	Day    Day

	found     bool
	uidx      int32
	elig      bitset
	stockLeft []int64
	hdel      []hdelEntry
	reqClosed []bool
	box       box
	opt       *traceOptimal
}

// traceOptimal is what the optimal allocator adds to a trace: the date's
// status, the certificate's prices and the units left at the end of it.
type traceOptimal struct {
	status string
	price  []val
	left   []int64
	sc     int
}

func (t *Trace) matches(in *Inputs, u int32, d Day) bool {
	return d == t.Day && in.UserID[u] == t.UserID
}

func (t *Trace) captureEligible(e *engine, u int32, elig bitset, st *stock) {
	t.found = true
	t.uidx = u
	t.elig = slices.Clone(elig)
	if st != nil {
		t.stockLeft = slices.Clone(st.left)
	}
	t.hdel = e.earlierBoxes(u, t.Day)
	in := e.in
	t.reqClosed = slices.Clone(e.reqClosed[in.ReqStart[u]:in.ReqStart[u+1]])
}

func (t *Trace) captureBox(b *box) {
	t.box = box{snack: slices.Clone(b.snack), score: slices.Clone(b.score), requested: slices.Clone(b.requested)}
}

// SnackVerdict is explain's line for one snack.
type SnackVerdict struct {
	SnackID  int64
	Name     string
	Category string
	Eligible bool
	// Reason is the first rule the snack fails, in SPEC order: "inactive",
	// "not launched", "NG tag <t>", "delivered on <date>", "rated <r>",
	// "no stock"; empty when eligible.
	Reason string
	Terms  ScoreTerms
	Score  float64
	// Position is the 1-based place in the box, 0 when not chosen.
	Position  int
	Requested bool
	// Optimal allocator (run mode): the snack's price on the date in the
	// certificate (zero when its stock did not bind), the units usable at
	// the start of the date and left at its end, and why the plan gave
	// the snack to the user or not.
	Price     *PriceLevels
	UnitsFrom int64
	UnitsLeft int64
	Why       string
}

// PriceLevels is a price of the optimal allocator, level by level.
type PriceLevels struct {
	Filled    int64   `json:"filled"`
	Requested int64   `json:"requested"`
	OverCap   int64   `json:"over_cap"`
	Score     float64 `json:"score"`
}

// RequestFate is what became of one of the user's requests on the date.
type RequestFate struct {
	SnackID     int64
	RequestedAt time.Time
	Fate        string
}

// Explanation is everything explain shows for one user and date.
type Explanation struct {
	UserID   int64
	Day      Day
	From     Day
	Mode     Mode
	Status   string
	BoxSize  int
	Ships    bool
	NoShip   string // why the user does not ship on Day, when Ships is false
	Box      []SnackVerdict
	Snacks   []SnackVerdict // every snack, by snack_id
	Requests []RequestFate
	// Allocator is run mode's allocator; DateStatus the optimal allocator's
	// status of the date (see DateCert.Status).
	Allocator  Allocator
	DateStatus string
}

// ExplainOptions select the box to explain.
type ExplainOptions struct {
	UserID  int64
	Day     Day
	From    Day // first date of the horizon the box is part of (<= Day)
	Mode    Mode
	Policy  policy.Policy
	Threads int
	// LatestRatingsTable as in LoadOptions.
	LatestRatingsTable string
	// Adjust, when set, changes the inputs after they are read and before
	// the horizon runs, as the job being explained did (a what-if
	// scenario's stock changes).
	Adjust func(in *Inputs) error
	// Allocator and MaxPhases select run mode's allocator, as for Run.
	Allocator Allocator
	MaxPhases int64
	// GapTolerance is the optimal allocator's gap tolerance, as for Run.
	GapTolerance float64
}

// Explain runs the horizon From..Day with a trace on the user and reports
// the box of Day with every snack's verdict. In preassign mode only the user's
// own rows are loaded (users do not interact without stock); in run mode the
// whole allocation runs, since the stock left at the user's turn depends on
// everyone before.
func Explain(ctx context.Context, db DB, opt ExplainOptions) (*Explanation, error) {
	if opt.From > opt.Day {
		return nil, fmt.Errorf("explain: the first day %s is after the day explained %s", opt.From, opt.Day)
	}
	p := opt.Policy
	in, err := LoadInputs(ctx, db, LoadOptions{
		D0: opt.From, Days: int(opt.Day-opt.From) + 1, Policy: p,
		UserID: opt.UserID, OnlyUser: opt.Mode == Preassign,
	})
	if err != nil {
		return nil, err
	}
	if opt.Adjust != nil {
		if err := opt.Adjust(in); err != nil {
			return nil, err
		}
	}
	ex := &Explanation{UserID: opt.UserID, Day: opt.Day, From: opt.From, Mode: opt.Mode}
	if opt.Mode == Assign {
		ex.Allocator = opt.Allocator
	}
	if err := explainUser(ctx, db, ex); err != nil {
		return nil, err
	}
	tr := &Trace{UserID: opt.UserID, Day: opt.Day}
	if _, err := Run(ctx, in, Options{Policy: p, Mode: opt.Mode, Threads: opt.Threads, Trace: tr,
		Allocator: ex.Allocator, MaxPhases: opt.MaxPhases, GapTolerance: opt.GapTolerance}); err != nil {
		return nil, err
	}
	names, err := snackNames(ctx, db)
	if err != nil {
		return nil, err
	}
	if !tr.found {
		ex.Ships = false
		return ex, nil
	}
	ex.Ships = true
	ex.NoShip = ""
	e, err := newEngine(in, Options{Policy: p, Mode: opt.Mode})
	if err != nil {
		return nil, err
	}
	u := tr.uidx
	w := e.newWorker()
	w.prepare(u)
	userNG := newBitset(len(in.Tags))
	for j := in.NGStart[u]; j < in.NGStart[u+1]; j++ {
		userNG.set(in.NGTag[j])
	}
	bad := map[int32]int32{}
	for j := in.BadStart[u]; j < in.BadStart[u+1]; j++ {
		bad[in.BadSnack[j]] = in.BadRating[j]
	}
	lastDelivery := map[int32]Day{}
	lo := opt.Day - Day(p.RepeatWindowDays)
	note := func(s int32, d Day) {
		if d > lo && d <= opt.Day {
			if prev, ok := lastDelivery[s]; !ok || d > prev {
				lastDelivery[s] = d
			}
		}
	}
	in.deliveryRows(u, func(from, to int32) {
		for j := from; j < to; j++ {
			note(in.Delivery(j))
		}
	})
	for _, h := range tr.hdel {
		note(h.snack, h.day)
	}
	affN := map[int32]int32{}
	affSum := map[int32]int64{}
	for j := in.AffStart[u]; j < in.AffStart[u+1]; j++ {
		affN[in.AffCat[j]], affSum[in.AffCat[j]] = in.AffN[j], in.AffSum[j]
	}
	prefW := map[int32]int32{}
	for j := in.PrefStart[u]; j < in.PrefStart[u+1]; j++ {
		prefW[in.PrefCat[j]] = in.PrefW[j]
	}
	pos := map[int32]int{}
	for i, s := range tr.box.snack {
		pos[s] = i + 1
	}
	for s := int32(0); s < int32(in.NumSnacks()); s++ {
		c := in.SnackCat[s]
		v := SnackVerdict{SnackID: in.SnackID[s], Name: names[in.SnackID[s]], Category: in.Categories[c]}
		v.Terms = ScoreTerms{Popularity: e.popn[s], Preference: Preference(prefW[c]), Affinity: Affinity(affN[c], affSum[c])}
		if IsNew(in.Launched[s], opt.Day, p.NewSnackDays) {
			v.Terms.Novelty = 1
		}
		v.Score = Score(p, v.Terms)
		switch {
		case !in.Active[s]:
			v.Reason = "inactive"
		case in.Launched[s] > opt.Day:
			v.Reason = "not launched (launches " + in.Launched[s].String() + ")"
		default:
			for j := in.TagStart[s]; j < in.TagStart[s+1]; j++ {
				if t := in.SnackTag[j]; userNG.has(t) && (v.Reason == "" || in.Tags[t] < v.Reason[len("NG tag "):]) {
					v.Reason = "NG tag " + in.Tags[t]
				}
			}
		}
		if v.Reason == "" {
			if d, ok := lastDelivery[s]; ok {
				v.Reason = "delivered on " + d.String()
			} else if r, ok := bad[s]; ok {
				v.Reason = fmt.Sprintf("rated %d", r)
			} else if tr.stockLeft != nil && tr.stockLeft[s] == 0 {
				v.Reason = "no stock"
			}
		}
		v.Eligible = v.Reason == ""
		if v.Eligible != tr.elig.has(s) && !(tr.stockLeft != nil && v.Reason == "no stock") {
			return nil, fmt.Errorf("explain: internal mismatch on snack %d (verdict %q vs engine)", in.SnackID[s], v.Reason)
		}
		if p := pos[s]; p > 0 {
			v.Position = p
			v.Requested = tr.box.requested[p-1]
			if v.Score != tr.box.score[p-1] {
				return nil, fmt.Errorf("explain: internal mismatch on the score of snack %d", in.SnackID[s])
			}
		}
		ex.Snacks = append(ex.Snacks, v)
	}
	if tr.opt != nil {
		ex.DateStatus = tr.opt.status
		if SolvedStatus(ex.DateStatus) {
			explainOptimal(ex, tr)
		}
	}
	for _, s := range tr.box.snack {
		ex.Box = append(ex.Box, ex.Snacks[s])
	}
	reqs, err := explainRequests(ctx, db, ex, in, tr)
	if err != nil {
		return nil, err
	}
	ex.Requests = reqs
	return ex, nil
}

// explainUser fills the user's status and box size and, when the user does
// not ship on the date, why.
func explainUser(ctx context.Context, db DB, ex *Explanation) error {
	var found bool
	var status string
	var box, cadence int64
	var next Day
	err := db.QueryArrow(ctx, fmt.Sprintf(`SELECT status, box_size::BIGINT, cadence_days::BIGINT, next_ship_on,
		EXISTS (SELECT 1 FROM skips WHERE user_id = %[1]d AND ship_on = DATE '%[2]s') AS skipped
		FROM users WHERE user_id = %[1]d`, ex.UserID, ex.Day), func(rec arrow.RecordBatch) error {
		if rec.NumRows() == 0 {
			return nil
		}
		found = true
		st, _ := appendString(nil, "status", rec.Column(0))
		b, _ := appendInt64(nil, "box_size", rec.Column(1))
		c, _ := appendInt64(nil, "cadence_days", rec.Column(2))
		n, _ := appendInt32(nil, "next_ship_on", rec.Column(3))
		sk, _ := appendBool(nil, "skipped", rec.Column(4))
		status, box, cadence, next = st[0], b[0], c[0], Day(n[0])
		switch {
		case status != "active":
			ex.NoShip = "status is " + status
		case ex.Day < next:
			ex.NoShip = "first ship date is " + next.String()
		case int64(ex.Day-next)%cadence != 0:
			k := (int64(ex.Day-next) + cadence - 1) / cadence
			ex.NoShip = fmt.Sprintf("not a ship date: ships every %d days from %s; next is %s", cadence, next, next+Day(k*cadence))
		case sk[0]:
			ex.NoShip = "skipped this date"
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("explain: read user: %w", err)
	}
	if !found {
		return fmt.Errorf("user %d not found in the snapshot", ex.UserID)
	}
	ex.Status, ex.BoxSize = status, int(box)
	return nil
}

func snackNames(ctx context.Context, db DB) (map[int64]string, error) {
	names := map[int64]string{}
	var ids []int64
	var ns []string
	err := db.QueryArrow(ctx, `SELECT snack_id, name FROM snacks`, func(rec arrow.RecordBatch) error {
		var err error
		if ids, err = appendInt64(ids, "snack_id", rec.Column(0)); err != nil {
			return err
		}
		ns, err = appendString(ns, "name", rec.Column(1))
		return err
	})
	for i, id := range ids {
		names[id] = ns[i]
	}
	return names, err
}

// explainRequests classifies every request of the user on the date.
func explainRequests(ctx context.Context, db DB, ex *Explanation, in *Inputs, tr *Trace) ([]RequestFate, error) {
	var snacks, at []int64
	err := db.QueryArrow(ctx, fmt.Sprintf(`SELECT snack_id, epoch_us(requested_at) FROM requests WHERE user_id = %d ORDER BY requested_at, snack_id`, ex.UserID),
		func(rec arrow.RecordBatch) error {
			var err error
			if snacks, err = appendInt64(snacks, "snack_id", rec.Column(0)); err != nil {
				return err
			}
			at, err = appendInt64(at, "requested_at", rec.Column(1))
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("explain: read requests: %w", err)
	}
	// Latest delivery of each snack to the user, snapshot and horizon boxes.
	lastShip := map[int64]Day{}
	var ds []int64
	var dd []int32
	err = db.QueryArrow(ctx, fmt.Sprintf(`SELECT snack_id, max(shipped_on) FROM deliveries WHERE user_id = %d GROUP BY snack_id`, ex.UserID),
		func(rec arrow.RecordBatch) error {
			var err error
			if ds, err = appendInt64(ds, "snack_id", rec.Column(0)); err != nil {
				return err
			}
			dd, err = appendInt32(dd, "shipped_on", rec.Column(1))
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("explain: read deliveries: %w", err)
	}
	for i, s := range ds {
		lastShip[s] = Day(dd[i])
	}
	for _, h := range tr.hdel {
		id := in.SnackID[h.snack]
		if h.day > lastShip[id] {
			lastShip[id] = h.day
		}
	}
	verdict := map[int64]SnackVerdict{}
	for _, v := range ex.Snacks {
		verdict[v.SnackID] = v
	}
	seen := map[int64]bool{}
	taken := 0
	var out []RequestFate
	for i, s := range snacks {
		t := time.UnixMicro(at[i]).UTC()
		rd := DayOf(t)
		f := RequestFate{SnackID: s, RequestedAt: t}
		v := verdict[s]
		last, delivered := lastShip[s]
		switch {
		case rd >= ex.Day:
			f.Fate = "not open yet: requested on or after the ship date"
		case delivered && last >= rd:
			f.Fate = "closed: delivered on " + last.String()
		case seen[s]:
			f.Fate = "duplicate: the snack is already requested earlier"
		case !v.Eligible:
			seen[s] = true
			f.Fate = "skipped: snack not eligible (" + v.Reason + ")"
		case v.Requested:
			seen[s] = true
			taken++
			f.Fate = fmt.Sprintf("taken at position %d", v.Position)
		default:
			seen[s] = true
			f.Fate = fmt.Sprintf("not taken: the box already holds %d requested snacks; stays open", taken)
		}
		out = append(out, f)
	}
	return out, nil
}

// explainOptimal adds the optimal allocator's prices and reasons. A snack
// in the box is worth its score minus its price to the user; the plan gave
// it the box's other lines and left the rest because, at the certificate's
// prices, that box is the user's best (the prices are what the other users
// would lose). An eligible snack left out ran short (its units went to
// users it is worth more to: its price says how much more), or ranked below
// the box, or sat in a category already at the cap.
func explainOptimal(ex *Explanation, tr *Trace) {
	to := tr.opt
	worth := func(v *SnackVerdict) float64 {
		if v.Price != nil {
			return v.Score - v.Price.Score
		}
		return v.Score
	}
	inBox := map[int32]bool{}
	catCount := map[string]int{}
	weakest := 0.0
	haveWeakest := false
	for _, s := range tr.box.snack {
		inBox[s] = true
	}
	for s := range ex.Snacks {
		v := &ex.Snacks[s]
		p := to.price[s]
		if p.f != 0 || p.r != 0 || p.o != 0 || !p.s.isZero() {
			v.Price = &PriceLevels{Filled: p.f, Requested: p.r, OverCap: -p.o, Score: p.s.float(to.sc)}
		}
		if tr.stockLeft != nil {
			v.UnitsFrom = tr.stockLeft[s]
		}
		v.UnitsLeft = to.left[s]
		if inBox[int32(s)] {
			catCount[v.Category]++
			if !v.Requested {
				if w := worth(v); !haveWeakest || w < weakest {
					weakest, haveWeakest = w, true
				}
			}
		}
	}
	for s := range ex.Snacks {
		v := &ex.Snacks[s]
		switch {
		case v.Position > 0 && v.Requested:
			v.Why = "requested: honoured"
		case v.Position > 0 && v.Price != nil:
			v.Why = fmt.Sprintf("ran short (price %s) and went to this user: worth %.4f here after the price, at least what any replacement gives", PriceText(v.Price), worth(v))
		case v.Position > 0:
			v.Why = "in the box: among the best it could take"
		case !v.Eligible:
		case v.UnitsLeft == 0 && v.Price != nil:
			v.Why = fmt.Sprintf("ran short (price %s): its %d units went to users who lose more without it; worth %.4f here after the price", PriceText(v.Price), v.UnitsFrom, worth(v))
			if haveWeakest {
				v.Why += fmt.Sprintf(", against %.4f for the box's weakest line", weakest)
			}
		case v.UnitsLeft == 0:
			v.Why = fmt.Sprintf("its %d units went to other users; it ranks below this box", v.UnitsFrom)
		case catCount[v.Category] >= 1 && haveWeakest && v.Score > weakest:
			v.Why = "units left, but its category is at the cap in this box"
		default:
			v.Why = "units left; ranks below the box"
		}
	}
}

// PriceText renders a price level by level ("1 line + 0.4000").
func PriceText(p *PriceLevels) string {
	var parts []string
	if p.Filled != 0 {
		parts = append(parts, fmt.Sprintf("%d filled line", p.Filled))
	}
	if p.Requested != 0 {
		parts = append(parts, fmt.Sprintf("%d request", p.Requested))
	}
	if p.OverCap != 0 {
		parts = append(parts, fmt.Sprintf("%d over-cap line", p.OverCap))
	}
	if p.Score != 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%.4f", p.Score))
	}
	return strings.Join(parts, " + ")
}
