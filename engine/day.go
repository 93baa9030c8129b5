package engine

import "time"

// Day is a calendar date counted in days since 1970-01-01, the Arrow date32
// representation. All date arithmetic of SPEC section 4 is whole days.
type Day int32

// DayOf returns the Day of t's calendar date (t's own location is ignored:
// dates carry no time zone).
func DayOf(t time.Time) Day {
	y, m, d := t.Date()
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Time returns midnight UTC of d.
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String formats d as YYYY-MM-DD.
func (d Day) String() string { return d.Time().Format("2006-01-02") }
