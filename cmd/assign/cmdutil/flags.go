package cmdutil

import (
	"fmt"
	"time"
)

// DateLayout is the one date format assign reads and writes.
const DateLayout = "2006-01-02"

// ParseDateFlag parses a YYYY-MM-DD flag value, naming the flag on error.
func ParseDateFlag(flag, v string) (time.Time, error) {
	t, err := time.Parse(DateLayout, v)
	if err != nil || t.Format(DateLayout) != v {
		return time.Time{}, FlagErrorf("--%s %q: want a date as YYYY-MM-DD, e.g. 2026-03-02", flag, v)
	}
	return t, nil
}

// CheckIntRange fails with a FlagError naming the flag when v is outside [lo, hi].
func CheckIntRange(flag string, v, lo, hi int) error {
	if v < lo || v > hi {
		return FlagErrorf("--%s %d: must be between %d and %d", flag, v, lo, hi)
	}
	return nil
}

// CheckChoice fails with a FlagError naming the flag when v is not one of choices.
func CheckChoice(flag, v string, choices ...string) error {
	for _, c := range choices {
		if v == c {
			return nil
		}
	}
	return FlagErrorf("--%s %q: must be one of %v", flag, v, choices)
}

// HumanBytes formats a byte count for people.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
