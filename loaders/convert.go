package loaders

import (
	"fmt"
	"strings"
)

// The text rules of SPEC section 4 "Precisions". DuckDB's casts are more
// lenient (they take "12.0", " 12", "1e3", "2026-1-5"), so a value must first
// match the pattern; TRY_CAST then settles the range and calendar validity.
const (
	intPattern  = `-?[0-9]+`
	datePattern = `[0-9]{4}-[0-9]{2}-[0-9]{2}`
	// Hours 00..23 and seconds 00..59: DuckDB would read "24:00" as the
	// next day and the pattern keeps the clock strict.
	timestampPattern = `[0-9]{4}-[0-9]{2}-[0-9]{2}([ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?`
)

var (
	trueWords  = []string{"true", "t", "1", "yes", "y"}
	falseWords = []string{"false", "f", "0", "no", "n"}
)

// Source type families, from DuckDB's type names of a typed source column.
type family int

const (
	famOther family = iota
	famText
	famInt
	famDate
	famTimestamp
	famTimestampTZ
	famBool
)

func familyOf(duckType string) family {
	switch strings.ToUpper(duckType) {
	case "VARCHAR":
		return famText
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT":
		return famInt
	case "DATE":
		return famDate
	case "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS":
		return famTimestamp
	case "TIMESTAMP WITH TIME ZONE":
		return famTimestampTZ
	case "BOOLEAN":
		return famBool
	}
	return famOther
}

// conversion is how a source column becomes a column's type, in two
// steps so the raw value is read once: Pre is computed from the raw value
// ({s}), Post from Pre's result ({p}) and the raw value. The result is NULL
// when the value breaks the type rules.
type conversion struct{ Pre, Post string }

// convert returns the conversion of a source column of DuckDB type srcType
// into column c's type, or ok=false when no value of srcType can be of c's
// type.
func convert(c Column, srcType string) (conv conversion, ok bool) {
	fam := familyOf(srcType)
	if fam == famText {
		return convertText(c), true
	}
	direct := func(pre string) (conversion, bool) { return conversion{Pre: pre, Post: "{p}"}, true }
	// A typed date or timestamp may be infinite or lie past year 9999, which
	// the text rules cannot spell; one rule for all formats refuses both.
	calendar := func(pre string) (conversion, bool) {
		return conversion{Pre: pre, Post: "CASE WHEN isfinite({p}) AND year({p}) BETWEEN 0 AND 9999 THEN {p} END"}, true
	}
	switch c.Type {
	case Bigint, Integer:
		if fam == famInt {
			if strings.EqualFold(srcType, c.Type.SQL()) {
				return direct("{s}")
			}
			return direct(fmt.Sprintf("TRY_CAST({s} AS %s)", c.Type.SQL()))
		}
	case Date:
		switch fam {
		case famDate:
			return calendar("{s}")
		case famTimestamp, famTimestampTZ:
			ts := utcTimestamp("{s}", fam)
			return calendar(fmt.Sprintf("CASE WHEN %[1]s = CAST(CAST(%[1]s AS DATE) AS TIMESTAMP) THEN CAST(%[1]s AS DATE) END", ts))
		}
	case Timestamp:
		switch fam {
		case famTimestamp, famTimestampTZ:
			return calendar(utcTimestamp("{s}", fam))
		case famDate:
			return calendar("CAST({s} AS TIMESTAMP)")
		}
	case Boolean:
		if fam == famBool {
			return direct("{s}")
		}
	}
	return conversion{}, false
}

// utcTimestamp is src as a microsecond TIMESTAMP; zoned values are taken in
// UTC, whatever the session time zone.
func utcTimestamp(src string, fam family) string {
	if fam == famTimestampTZ {
		return fmt.Sprintf("timezone('UTC', %s)", src)
	}
	return fmt.Sprintf("CAST(%s AS TIMESTAMP)", src)
}

// convertText applies the text rules. A value DuckDB casts and prints back
// unchanged is in canonical form and so matches the pattern; only the others
// (leading zeros, a time without seconds, invalid text) pay for the regular
// expression, which halves the cost of checking a large CSV.
func convertText(c Column) conversion {
	strict := func(canonical, pattern string) conversion {
		return conversion{
			Pre:  fmt.Sprintf("TRY_CAST({s} AS %s)", c.Type.SQL()),
			Post: fmt.Sprintf("CASE WHEN (CAST({p} AS VARCHAR) = {s}%s) OR regexp_full_match({s}, '%s') THEN {p} END", canonical, pattern),
		}
	}
	// DuckDB prints years past 9999 with more digits, so its canonical form
	// of a date is YYYY-MM-DD only when the fifth character is the dash
	// (found by FuzzTextValue: "10000-01-01" was accepted).
	const fourDigitYear = " AND substr({s}, 5, 1) = '-'"
	switch c.Type {
	case Bigint, Integer:
		return strict("", intPattern)
	case Date:
		return strict(fourDigitYear, datePattern)
	case Timestamp:
		return strict(fourDigitYear, timestampPattern)
	case Boolean:
		return conversion{Pre: fmt.Sprintf("CASE WHEN lower({s}) IN (%s) THEN true WHEN lower({s}) IN (%s) THEN false END", sqlList(trueWords), sqlList(falseWords)), Post: "{p}"}
	}
	return conversion{Pre: "{s}", Post: "{p}"}
}

func sqlList(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + w + "'"
	}
	return strings.Join(q, ", ")
}

// typeRule is the rule a value breaks when it is not of c's type, worded
// for the kind of source it came from.
func typeRule(c Column, srcType string) string {
	fam := familyOf(srcType)
	switch c.Type {
	case Bigint, Integer:
		if fam == famInt {
			return fmt.Sprintf("%s %s (an integer in range)", c.Name, c.Type.SQL())
		}
		return fmt.Sprintf("%s %s (an integer)", c.Name, c.Type.SQL())
	case Date:
		if fam == famTimestamp || fam == famTimestampTZ {
			return c.Name + " DATE (a finite timestamp at midnight, years 0000 to 9999)"
		}
		if fam == famDate {
			return c.Name + " DATE (a finite date, years 0000 to 9999)"
		}
		return c.Name + " DATE (YYYY-MM-DD)"
	case Timestamp:
		if fam == famDate || fam == famTimestamp || fam == famTimestampTZ {
			return c.Name + " TIMESTAMP (a finite timestamp, years 0000 to 9999)"
		}
		return c.Name + " TIMESTAMP (YYYY-MM-DD HH:MM[:SS[.ffffff]])"
	case Boolean:
		return c.Name + " BOOLEAN (true/false, t/f, 1/0, yes/no, y/n)"
	}
	return c.Name + " " + c.Type.SQL()
}

// wantedTypes says which source types a column accepts, for the message on
// an incompatible column.
func wantedTypes(c Column) string {
	switch c.Type {
	case Bigint, Integer:
		return c.Type.SQL() + " (any integer type, or text holding integers)"
	case Date:
		return "DATE (a date, a timestamp at midnight, or text as YYYY-MM-DD)"
	case Timestamp:
		return "TIMESTAMP (any timestamp type, or text as YYYY-MM-DD HH:MM[:SS[.ffffff]])"
	case Boolean:
		return "BOOLEAN (a boolean, or text true/false, t/f, 1/0, yes/no, y/n)"
	}
	return "VARCHAR (text)"
}
