package cmdutil

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/assign-dev/assign/analytics"
)

// DateLayout is the one date format assign reads and writes.
const DateLayout = "2006-01-02"

// ParseDateFlag parses a YYYY-MM-DD flag value, naming the flag on error.
func ParseDateFlag(flag, v string) (time.Time, error) {
	t, err := time.Parse(DateLayout, v)
	if err != nil || t.Format(DateLayout) != v {
		if why := noSuchDate(v); why != "" {
			return time.Time{}, FlagErrorf("--%s %q: %s", flag, v, why)
		}
		return time.Time{}, FlagErrorf("--%s %q: want a date as YYYY-MM-DD, e.g. 2026-03-02", flag, v)
	}
	return t, nil
}

// wellFormedDate is the shape of YYYY-MM-DD, whether or not the date exists.
var wellFormedDate = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)

// noSuchDate says why v, written as YYYY-MM-DD, names no day of the
// calendar ("there is no 30 February: February 2026 has 28 days"), or ""
// when v is not of that shape.
func noSuchDate(v string) string {
	m := wellFormedDate.FindStringSubmatch(v)
	if m == nil {
		return ""
	}
	year, _ := strconv.Atoi(m[1])
	month, _ := strconv.Atoi(m[2])
	day, _ := strconv.Atoi(m[3])
	if month < 1 || month > 12 {
		return fmt.Sprintf("there is no month %02d: the month is 01 to 12 (YYYY-MM-DD)", month)
	}
	last := time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if day < 1 || day > last {
		return fmt.Sprintf("there is no such day: %s %d has %d days", time.Month(month), year, last)
	}
	return ""
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

// HumanBytes formats a byte count for people (1.5 GiB), as query's and the
// console's limit messages do.
func HumanBytes(n int64) string { return analytics.FormatBytes(n) }

// ParseBytes reads a size such as 512MB, 4GB, 1.5GiB or 1073741824 (bytes).
// KB, MB, GB and TB are powers of 1000, KiB, MiB, GiB and TiB of 1024; the
// B may be left out (4G) and case does not matter.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToUpper(strings.TrimSpace(t[i:]))
	v, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil || v < 0 {
		return 0, fmt.Errorf("want a size such as 512MB or 4GB")
	}
	mult := map[string]float64{"": 1, "B": 1,
		"K": 1e3, "KB": 1e3, "M": 1e6, "MB": 1e6, "G": 1e9, "GB": 1e9, "T": 1e12, "TB": 1e12,
		"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit %q: use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB", t[i:])
	}
	if v*mult > float64(1<<62) {
		return 0, fmt.Errorf("too large")
	}
	return int64(v * mult), nil
}

// memorySizeRE accepts the sizes DuckDB's memory_limit takes.
var memorySizeRE = regexp.MustCompile(`^(?i)[0-9]+(\.[0-9]+)? ?(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$`)

// CheckMemorySize fails with a FlagError naming the flag unless v is a size
// DuckDB's memory_limit takes (4GB, 512MB, 2GiB).
func CheckMemorySize(flag, v string) error {
	if !memorySizeRE.MatchString(v) {
		return FlagErrorf("--%s %q: want a size such as 4GB, 512MB or 2GiB", flag, v)
	}
	return nil
}

// Days is "1 day" or "N days".
func Days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return strconv.Itoa(n) + " days"
}

// CheckOutDir refuses an --out folder that is a file or lies under one
// (the folder is created later, and mkdir would only say "not a
// directory").
func CheckOutDir(dir string) error {
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err == nil {
			if fi.IsDir() {
				return nil
			}
			if p == filepath.Clean(dir) {
				return fmt.Errorf("--out %s is a file, not a folder", dir)
			}
			return fmt.Errorf("--out %s: %s is a file, not a folder", dir, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
