// Package whatif runs what-if scenarios: a preassign or run on the current
// snapshot with changed stock (units of a snack or a lot added or removed, a
// category scaled), policy values or dates, recorded as a run marked
// scenario (never what "latest" names) and compared with the run it started
// from. The changes are applied to the engine's inputs after they are loaded;
// the snapshot is neither copied nor written, so a scenario costs one
// planning job.
package whatif

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
	"github.com/assign-dev/assign/rundiff"
	"github.com/assign-dev/assign/store"
)

// Kinds of stock change.
const (
	// KindSnack adds (Units > 0) or removes (Units < 0) units of a snack.
	// Added units form a new lot, AddedLotID, usable over the whole horizon
	// (best_before = last date + min_shelf_days) unless BestBefore is given;
	// removed units leave the snack's lots latest best-before first (the
	// newest supply goes first; the lots expiring soonest stay).
	KindSnack = "snack"
	// KindLot adds or removes units of one existing lot (never below 0).
	KindLot = "lot"
	// KindCategory multiplies every lot of the category's snacks by Factor,
	// rounding half away from zero.
	KindCategory = "category"
)

// AddedLotID is the lot_id of units a scenario adds to a snack.
const AddedLotID = "whatif-added"

// StockChange is one change of stock.
type StockChange struct {
	Kind     string  `json:"kind"`
	SnackID  int64   `json:"snack_id,omitempty"`
	LotID    string  `json:"lot_id,omitempty"`
	Category string  `json:"category,omitempty"`
	Units    int64   `json:"units,omitempty"`
	Factor   float64 `json:"factor,omitempty"`
	// BestBefore (YYYY-MM-DD) dates the lot of units added to a snack.
	BestBefore string `json:"best_before,omitempty"`
}

// Spec is a scenario: what differs from the base run. Empty fields keep the
// base run's value.
type Spec struct {
	// Base is the run id the scenario starts from and is compared with;
	// empty means the latest run (never a scenario) of the current snapshot.
	Base string `json:"base,omitempty"`
	// Mode is preassign or run.
	Mode string `json:"mode,omitempty"`
	// Date is the first ship date (YYYY-MM-DD) and Days the horizon.
	Date string `json:"date,omitempty"`
	Days int    `json:"days,omitempty"`
	// Policy holds policy keys (as in a policy file) over the base's policy.
	Policy map[string]any `json:"policy,omitempty"`
	Stock  []StockChange  `json:"stock,omitempty"`
}

// SpecError is a mistake in a scenario (an unknown snack, a bad value):
// the caller shows it as a usage error, nothing has run.
type SpecError struct{ Msg string }

func (e *SpecError) Error() string { return e.Msg }

func specErrorf(format string, args ...any) error {
	return &SpecError{Msg: fmt.Sprintf(format, args...)}
}

// Options are how to run a scenario.
type Options struct {
	Threads int
	Now     func() time.Time
	Version string
	Logger  *slog.Logger
	// Stage and Progress report progress (optional).
	Stage    func(name string)
	Progress func(done, total int)
	// DiffLimit is how many changed boxes the difference details.
	DiffLimit int
}

// Outcome is a finished scenario: the run written and its difference
// against the base run.
type Outcome struct {
	Run      store.RunInfo
	Manifest *plan.Manifest
	Diff     *rundiff.Diff
}

// Prepared is a validated scenario ready to run.
type Prepared struct {
	Spec    Spec
	Base    rundiff.Run
	Mode    engine.Mode
	D0      engine.Day
	Days    int
	Policy  policy.Policy
	Changes []string
}

// Prepare checks spec against the home: the base run exists and is of the
// current snapshot, the mode, dates and policy keys are valid. Stock
// changes are checked against the snapshot when the scenario runs.
func Prepare(home *store.Home, spec Spec) (*Prepared, error) {
	cur, err := home.Current()
	if err != nil {
		return nil, err
	}
	ri, err := home.FindRun(spec.Base)
	if err != nil {
		if spec.Base == "" {
			return nil, errors.New("a scenario starts from a run, and the home has none yet: run 'assign preassign --date D' first")
		}
		return nil, err
	}
	base, err := rundiff.Load(ri)
	if err != nil {
		return nil, err
	}
	if base.Snapshot != cur {
		return nil, fmt.Errorf("base run %s was made on snapshot %s, not on the current snapshot %s: run 'assign preassign' on the current snapshot first, or name a run of it", base.ID, base.Snapshot, cur)
	}
	p := &Prepared{Spec: spec, Base: base}
	mode := spec.Mode
	if mode == "" {
		mode = base.Mode
	}
	switch mode {
	case "preassign":
		p.Mode = engine.Preassign
	case "run":
		p.Mode = engine.Assign
	default:
		return nil, specErrorf("mode %q: must be preassign or run", mode)
	}
	date := spec.Date
	if date == "" {
		date = base.From
	}
	t, err := time.Parse("2006-01-02", date)
	if err != nil || t.Format("2006-01-02") != date {
		return nil, specErrorf("date %q: want a date as YYYY-MM-DD", date)
	}
	p.D0 = engine.DayOf(t)
	p.Days = spec.Days
	if p.Days == 0 {
		p.Days = base.Days
	}
	if p.Days < 1 || p.Days > 366 {
		return nil, specErrorf("days %d: must be between 1 and 366", p.Days)
	}
	man, err := readPolicy(ri)
	if err != nil {
		return nil, err
	}
	if p.Policy, err = applyPolicy(man, spec.Policy); err != nil {
		return nil, err
	}
	if mode != base.Mode {
		p.Changes = append(p.Changes, fmt.Sprintf("mode %s instead of %s", mode, base.Mode))
	}
	if p.D0.String() != base.From || p.Days != base.Days {
		days := func(n int) string {
			if n == 1 {
				return "1 day"
			}
			return fmt.Sprintf("%d days", n)
		}
		p.Changes = append(p.Changes, fmt.Sprintf("dates %s for %s instead of %s for %s", p.D0, days(p.Days), base.From, days(base.Days)))
	}
	keys := make([]string, 0, len(spec.Policy))
	for k := range spec.Policy {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.Changes = append(p.Changes, fmt.Sprintf("policy %s = %v", k, spec.Policy[k]))
	}
	for i, c := range spec.Stock {
		if err := c.validate(); err != nil {
			return nil, specErrorf("stock change %d: %v", i+1, err)
		}
	}
	return p, nil
}

func readPolicy(ri store.RunInfo) (policy.Policy, error) {
	m, err := readManifest(ri)
	if err != nil {
		return policy.Policy{}, err
	}
	return m.Policy, nil
}

// applyPolicy sets the given keys (policy file names) over base.
func applyPolicy(base policy.Policy, over map[string]any) (policy.Policy, error) {
	if len(over) == 0 {
		return base, nil
	}
	b, _ := json.Marshal(base)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for k, v := range over {
		if !slices.Contains(policy.Keys(), k) {
			return base, specErrorf("unknown policy key %q; known keys: %s", k, strings.Join(policy.Keys(), ", "))
		}
		m[k] = v
	}
	b, _ = json.Marshal(m)
	var p policy.Policy
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&p); err != nil {
		return base, specErrorf("policy: %v", err)
	}
	if err := p.Validate(); err != nil {
		return base, &SpecError{Msg: err.Error()}
	}
	return p, nil
}

func (c StockChange) validate() error {
	switch c.Kind {
	case KindSnack:
		if c.Units == 0 {
			return errors.New("units of a snack change must not be 0")
		}
		if c.BestBefore != "" {
			if _, err := time.Parse("2006-01-02", c.BestBefore); err != nil {
				return fmt.Errorf("best_before %q: want YYYY-MM-DD", c.BestBefore)
			}
		}
	case KindLot:
		if c.LotID == "" {
			return errors.New("a lot change needs snack_id and lot_id")
		}
		if c.Units == 0 {
			return errors.New("units of a lot change must not be 0")
		}
	case KindCategory:
		if c.Category == "" {
			return errors.New("a category change needs the category")
		}
		if math.IsNaN(c.Factor) || c.Factor < 0 || c.Factor > 1000 {
			return fmt.Errorf("factor %v of category %s: must be between 0 and 1000", c.Factor, c.Category)
		}
	default:
		return fmt.Errorf("kind %q: must be snack, lot or category", c.Kind)
	}
	if c.Units > math.MaxInt32 || c.Units < -math.MaxInt32 {
		return fmt.Errorf("units %d: too many", c.Units)
	}
	return nil
}

// Apply changes the stock of in as the changes say and returns each change
// in words. Lots stay in FEFO order.
func Apply(in *engine.Inputs, changes []StockChange, minShelfDays int) ([]string, error) {
	return apply(in, changes, minShelfDays, in.D0+engine.Day(in.Days-1))
}

// apply is Apply with the last date of the scenario's horizon given: the
// default best-before of added units is that date plus min_shelf_days, also
// when in covers only the start of the horizon (an explanation).
func apply(in *engine.Inputs, changes []StockChange, minShelfDays int, lastDay engine.Day) ([]string, error) {
	var words []string
	sidxOf := func(id int64) (int32, error) {
		i, ok := slices.BinarySearch(in.SnackID, id)
		if !ok {
			return 0, specErrorf("snack %d is not in the snapshot", id)
		}
		return int32(i), nil
	}
	for _, c := range changes {
		switch c.Kind {
		case KindSnack:
			s, err := sidxOf(c.SnackID)
			if err != nil {
				return nil, err
			}
			if c.Units > 0 {
				bb := lastDay + engine.Day(minShelfDays)
				if c.BestBefore != "" {
					t, _ := time.Parse("2006-01-02", c.BestBefore)
					bb = engine.DayOf(t)
				}
				in.LotSnack = append(in.LotSnack, s)
				in.LotID = append(in.LotID, AddedLotID)
				in.LotQty = append(in.LotQty, int32(c.Units))
				in.LotBefore = append(in.LotBefore, bb)
				in.SortLots()
				words = append(words, fmt.Sprintf("add %d units of snack %d (lot %s, best before %s)", c.Units, c.SnackID, AddedLotID, bb))
				continue
			}
			// Remove from the latest best-before first: lots are in FEFO
			// order, so walk the snack's lots backwards.
			want := -c.Units
			var took int64
			for l := len(in.LotSnack) - 1; l >= 0 && took < want; l-- {
				if in.LotSnack[l] != s {
					continue
				}
				n := min(int64(in.LotQty[l]), want-took)
				in.LotQty[l] -= int32(n)
				took += n
			}
			w := fmt.Sprintf("remove %d units of snack %d", want, c.SnackID)
			if took < want {
				w = fmt.Sprintf("remove %d units of snack %d (all it had; %d asked)", took, c.SnackID, want)
			}
			words = append(words, w)
		case KindLot:
			s, err := sidxOf(c.SnackID)
			if err != nil {
				return nil, err
			}
			l := slices.IndexFunc(in.LotID, func(id string) bool { return id == c.LotID })
			for l >= 0 && in.LotSnack[l] != s {
				next := slices.IndexFunc(in.LotID[l+1:], func(id string) bool { return id == c.LotID })
				if next < 0 {
					l = -1
					break
				}
				l += 1 + next
			}
			if l < 0 {
				return nil, specErrorf("snack %d has no lot %q in the snapshot", c.SnackID, c.LotID)
			}
			q := int64(in.LotQty[l]) + c.Units
			w := fmt.Sprintf("%+d units to lot %s of snack %d (%d -> %d)", c.Units, c.LotID, c.SnackID, in.LotQty[l], max(q, 0))
			if q < 0 {
				q = 0
				w += " (a lot never goes below 0)"
			} else if q > math.MaxInt32 {
				return nil, specErrorf("lot %s of snack %d would hold more than %d units", c.LotID, c.SnackID, math.MaxInt32)
			}
			in.LotQty[l] = int32(q)
			words = append(words, w)
		case KindCategory:
			ci := slices.Index(in.Categories, c.Category)
			if ci < 0 {
				return nil, specErrorf("category %q is not in the snapshot; categories: %s", c.Category, strings.Join(in.Categories, ", "))
			}
			var before, after int64
			for l, s := range in.LotSnack {
				if in.SnackCat[s] != int32(ci) {
					continue
				}
				q := math.Round(float64(in.LotQty[l]) * c.Factor)
				if q > math.MaxInt32 {
					return nil, specErrorf("scaling category %s by %v makes a lot larger than %d units", c.Category, c.Factor, math.MaxInt32)
				}
				before += int64(in.LotQty[l])
				in.LotQty[l] = int32(q)
				after += int64(q)
			}
			words = append(words, fmt.Sprintf("scale the stock of category %s by %v (%d -> %d units in its lots)", c.Category, c.Factor, before, after))
		}
	}
	return words, nil
}

// Run runs the scenario: the planning job with the changes applied to its
// inputs, written as a scenario run, then its difference against the base.
func Run(ctx context.Context, home *store.Home, p *Prepared, opt Options) (*Outcome, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	spec, _ := json.Marshal(p.Spec)
	note := &plan.Scenario{BaseRun: p.Base.ID, Changes: slices.Clone(p.Changes), Spec: spec}
	req := plan.Request{
		Mode: p.Mode, D0: p.D0, Days: p.Days, Policy: p.Policy, Threads: opt.Threads,
		Now: opt.Now, Version: opt.Version, Logger: opt.Logger, Stage: opt.Stage, Progress: opt.Progress,
		Flags:    map[string]any{"scenario_of": p.Base.ID},
		Scenario: note,
		Adjust: func(in *engine.Inputs) error {
			words, err := Apply(in, p.Spec.Stock, p.Policy.MinShelfDays)
			note.Changes = append(note.Changes, words...)
			return err
		},
	}
	out, err := plan.Execute(ctx, home, req)
	if err != nil {
		return nil, err
	}
	if len(note.Changes) == 0 {
		note.Changes = []string{}
	}
	ri, err := home.FindRun(out.Manifest.RunID)
	if err != nil {
		return nil, err
	}
	scen, err := rundiff.Load(ri)
	if err != nil {
		return nil, err
	}
	d, err := rundiff.CompareInHome(ctx, home, p.Base, scen, rundiff.Options{Limit: opt.DiffLimit})
	if err != nil {
		return nil, err
	}
	return &Outcome{Run: ri, Manifest: out.Manifest, Diff: d}, nil
}

// Replay returns the change a scenario run made to the engine's inputs, to
// replay all or the start of its horizon (the explanation of one of its
// boxes): the same stock changes, with added units dated as the scenario
// dated them. It returns nil for a run that is not a scenario or changed
// no stock.
func Replay(m *plan.Manifest) (func(*engine.Inputs) error, error) {
	if m == nil || m.Scenario == nil || len(m.Scenario.Spec) == 0 {
		return nil, nil
	}
	var spec Spec
	if err := json.Unmarshal(m.Scenario.Spec, &spec); err != nil {
		return nil, fmt.Errorf("the scenario's recorded changes cannot be read: %w", err)
	}
	if len(spec.Stock) == 0 {
		return nil, nil
	}
	from, err := time.Parse("2006-01-02", m.Dates.From)
	if err != nil || m.Dates.Days < 1 {
		return nil, fmt.Errorf("the scenario's manifest has no valid dates (from %q, %d days)", m.Dates.From, m.Dates.Days)
	}
	lastDay := engine.DayOf(from) + engine.Day(m.Dates.Days-1)
	minShelf := m.Policy.MinShelfDays
	return func(in *engine.Inputs) error {
		_, err := apply(in, spec.Stock, minShelf, lastDay)
		return err
	}, nil
}

func readManifest(ri store.RunInfo) (*plan.Manifest, error) {
	return plan.ReadManifest(ri.Dir)
}
