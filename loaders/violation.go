package loaders

import (
	"fmt"
	"strconv"
	"strings"
)

// Violation is one value of one row that breaks a rule of SPEC section 2.
// Exactly one of Line and Row is set: Line for text sources (CSV, JSONL),
// counted from 1 with the CSV header on line 1; Row for typed sources
// (Parquet, Arrow, a database source without a primary key), counted from 1.
// A database source with a primary key also sets Key, which positions
// the row instead of Row.
type Violation struct {
	Table string
	// File is the path relative to the extract folder, e.g. "ratings.csv"
	// or "ratings/part-2.parquet"; for a database source, the source table
	// or query ("source table rating_events").
	File string
	Line int64
	Row  int64
	// SourceColumn is the source's own name of Column when a mapping
	// renamed it (a database source read with --map).
	SourceColumn string
	// Key is the row's primary key in a database source, as
	// "primary key id=17" or "primary key (user_id, ship_on)=(5, 2026-03-02)".
	Key string
	// Column is the column at fault; for a composite key the key columns
	// joined with ", ".
	Column string
	Value  string
	// Null reports a missing value (NULL, an absent JSON key). An empty CSV
	// field is also missing, but it shows as "".
	Null bool
	Rule string
	// Cascade is set when the row was rejected only because the row it
	// references was rejected (with --reject-file).
	Cascade bool
	// Dup* locate the first occurrence of a duplicated key, which is kept.
	DupFile string
	DupLine int64
	DupRow  int64
	DupKey  string
	// Raw is the whole source row as a JSON object of the original field
	// names and values (for the reject file).
	Raw string
}

// Where is the position part of the message: "ratings.csv line 17",
// "ratings.parquet row 17" or "source table rating_events, primary key id=17".
func (v Violation) Where() string { return whereKey(v.File, v.Line, v.Row, v.Key) }

func whereKey(file string, line, row int64, key string) string {
	if key != "" {
		if file == "" {
			return key
		}
		return file + ", " + key
	}
	return where(file, line, row)
}

func where(file string, line, row int64) string {
	switch {
	case line > 0:
		return fmt.Sprintf("%s line %d", file, line)
	case row > 0:
		return fmt.Sprintf("%s row %d", file, row)
	}
	return file
}

// maxShown bounds a value in a one-line message; the reject file has it whole.
const maxShown = 80

// String formats the violation as one line, e.g.
//
//	ratings.csv line 17, column rating: value "7" breaks rule rating 1..5
func (v Violation) String() string {
	var b strings.Builder
	b.WriteString(v.Where())
	if strings.Contains(v.Column, ", ") {
		fmt.Fprintf(&b, ", columns (%s): ", v.Column)
	} else {
		if v.SourceColumn != "" && v.SourceColumn != v.Column {
			fmt.Fprintf(&b, ", column %s (source column %s): ", v.Column, v.SourceColumn)
		} else {
			fmt.Fprintf(&b, ", column %s: ", v.Column)
		}
	}
	if v.Null {
		b.WriteString("value null")
	} else {
		val := v.Value
		if r := []rune(val); len(r) > maxShown {
			val = string(r[:maxShown]) + "..."
		}
		b.WriteString("value " + strconv.Quote(val))
	}
	b.WriteString(" breaks rule " + v.Rule)
	if v.DupFile != "" {
		if v.DupFile == v.File {
			fmt.Fprintf(&b, " (same as %s)", strings.TrimPrefix(whereKey("", v.DupLine, v.DupRow, v.DupKey), " "))
		} else {
			fmt.Fprintf(&b, " (same as %s)", whereKey(v.DupFile, v.DupLine, v.DupRow, v.DupKey))
		}
	}
	return b.String()
}

// FileError is a problem with a whole file (or folder): it cannot be read,
// is malformed, lacks a required column or holds a column of an incompatible
// type. It fails the load even with a reject file.
type FileError struct {
	Table string
	File  string // relative to the extract folder; empty for the folder itself
	Line  int64  // 0 when unknown or not a text file
	Msg   string // one lowercase sentence, without the file name
}

func (e *FileError) Error() string {
	switch {
	case e.File == "":
		return e.Msg
	case e.Line > 0:
		return fmt.Sprintf("%s line %d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ValidationError is returned when rows break rules and no reject file was
// given. It carries the first violations in table order (SPEC order), then
// file order; the command prints them.
type ValidationError struct {
	Shown []Violation
	// Total counts every violation (a row can break several rules).
	Total int64
	// Rows counts the invalid rows.
	Rows int64
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("the extract has %d invalid %s in %d %s; fix them, or load with --reject-file FILE to set them aside and load the rest",
		e.Total, plural(e.Total, "value", "values"), e.Rows, plural(e.Rows, "row", "rows"))
}

// More is how many violations are not in Shown.
func (e *ValidationError) More() int64 { return e.Total - int64(len(e.Shown)) }

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
