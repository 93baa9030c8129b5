package naive

import (
	"fmt"
	"time"
)

// Mode selects what Run computes.
type Mode string

const (
	// Preassign is the demand forecast: boxes ignore stock, then demand is
	// covered from stock FEFO date by date.
	Preassign Mode = "preassign"
	// RunMode is the stock-aware assignment with the SPEC's greedy user order.
	RunMode Mode = "run"
)

// Policy holds the section 3 knobs. Field meanings and units are the SPEC's.
type Policy struct {
	MaxPerCategory   int     // at most this many snacks of one category in a box (step 2)
	FillIgnoringCaps bool    // step 3 on or off
	RepeatWindowDays int     // a delivery on a day > D - window blocks s on D
	NeverAgainRating int     // latest rating <= this blocks s forever
	NewSnackDays     int     // new on D if 0 <= D - launched_on < this
	MinShelfDays     int     // a lot is usable on D if best_before >= D + this
	PriorWeight      float64 // m, popularity shrinkage towards the global mean
	WPopularity      float64
	WPreference      float64
	WAffinity        float64
	WNovelty         float64
}

// DefaultPolicy returns the SPEC section 3 defaults.
func DefaultPolicy() Policy {
	return Policy{
		MaxPerCategory:   2,
		FillIgnoringCaps: true,
		RepeatWindowDays: 180,
		NeverAgainRating: 2,
		NewSnackDays:     30,
		MinShelfDays:     21,
		PriorWeight:      20,
		WPopularity:      1.0,
		WPreference:      0.8,
		WAffinity:        0.6,
		WNovelty:         0.3,
	}
}

// Validate reports the first knob outside the range this implementation
// accepts (see reading 8 in the package comment).
func (p Policy) Validate() error {
	switch {
	case p.MaxPerCategory < 0:
		return fmt.Errorf("max_per_category is %d; use a value >= 0", p.MaxPerCategory)
	case p.RepeatWindowDays < 0:
		return fmt.Errorf("repeat_window_days is %d; use a value >= 0", p.RepeatWindowDays)
	case p.NewSnackDays < 0:
		return fmt.Errorf("new_snack_days is %d; use a value >= 0", p.NewSnackDays)
	case p.MinShelfDays < 0:
		return fmt.Errorf("min_shelf_days is %d; use a value >= 0", p.MinShelfDays)
	case !(p.PriorWeight > 0):
		return fmt.Errorf("prior_weight is %v; use a value > 0 (with 0 an unrated snack's popularity is 0/0)", p.PriorWeight)
	}
	return nil
}

// Options is everything one Run needs.
type Options struct {
	// Snapshot is the path of a DuckDB snapshot file with the tables of
	// sql/schema.sql; it is opened read-only.
	Snapshot string
	// Start is D0, the first ship date of the horizon (a calendar date).
	Start Day
	// Days is H, the number of dates D0 .. D0+H-1; at least 1.
	Days int
	// Mode is Preassign or RunMode.
	Mode Mode
	// Policy holds the section 3 knobs.
	Policy Policy
	// Threads is DuckDB's worker count; 0 lets DuckDB use every core.
	Threads int
}

// Day is a calendar date as a count of days since 1970-01-01, so date
// arithmetic is whole-day integer arithmetic with no time zone.
type Day int64

const (
	secondsPerDay = 86400
	microsPerDay  = secondsPerDay * 1_000_000
)

// DayOf returns the calendar date of t as written in t's own location
// (year, month and day fields), ignoring the time of day.
func DayOf(t time.Time) Day {
	y, m, d := t.Date()
	u := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()
	return Day(floorDiv(u, secondsPerDay))
}

// ParseDay parses YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return DayOf(t), nil
}

// String formats d as YYYY-MM-DD.
func (d Day) String() string {
	return time.Unix(int64(d)*secondsPerDay, 0).UTC().Format(time.DateOnly)
}

// dayOfMicros is date(t) for a timestamp given in microseconds since the
// epoch; floor division keeps dates before 1970 right.
func dayOfMicros(us int64) Day { return Day(floorDiv(us, microsPerDay)) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
