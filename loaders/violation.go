package loaders

import (
	"fmt"
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
	file = sanitize(file, maxShown)
	switch {
	case line > 0:
		return fmt.Sprintf("%s line %d", file, line)
	case row > 0:
		return fmt.Sprintf("%s row %d", file, row)
	}
	return file
}

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
		b.WriteString("value " + echo(v.Value))
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
	// lostRows marks the refusal of a file DuckDB read another number of
	// rows from than Go counted (the fuzz tests require it never happens).
	lostRows bool
}

// Error is the one-line message. Its parts come from the extract (file
// names) and from readers, so it is sanitized as a whole: whatever a part
// holds, the message stays one printable line.
func (e *FileError) Error() string {
	file := sanitize(e.File, maxShown)
	msg := sanitize(e.Msg, maxMessage)
	switch {
	case e.File == "":
		return msg
	case e.Line > 0:
		return fmt.Sprintf("%s line %d: %s", file, e.Line, msg)
	}
	return fmt.Sprintf("%s: %s", file, msg)
}

// ValidationError is returned when rows break rules and no reject file was
// given. It carries the first violations in table order (SPEC order), then
// file order; the command prints them.
type ValidationError struct {
	// Shown are the first violations: defects first, in table and file
	// order, then rows refused only because of a rejected row they refer to.
	Shown []Violation
	// Total counts every violation (a row can break several rules),
	// references to rejected rows included.
	Total int64
	// Rows counts the invalid rows, rows referring to rejected rows
	// included.
	Rows int64
	// CascadeRows counts the rows that are invalid only because rows they
	// refer to are (a deliveries row of a rejected user), and CascadeValues
	// their references to those rows; Total and Rows include them.
	CascadeRows, CascadeValues int64
}

// Defects are the invalid values and the rows holding them, not counting
// rows that only refer to rejected rows.
func (e *ValidationError) Defects() (values, rows int64) {
	return e.Total - e.CascadeValues, e.Rows - e.CascadeRows
}

func (e *ValidationError) Error() string {
	values, rows := e.Defects()
	if e.CascadeRows == 0 {
		return fmt.Sprintf("the extract has %d invalid %s in %d %s; fix them, or load with --reject-file FILE to set them aside and load the rest",
			values, plural(values, "value", "values"), rows, plural(rows, "row", "rows"))
	}
	return fmt.Sprintf("the extract has %d invalid %s in %d %s, and %d more %s to %s; fix them, or load with --reject-file FILE to set them aside (with the rows referring to them) and load the rest",
		values, plural(values, "value", "values"), rows, plural(rows, "row", "rows"),
		e.CascadeRows, plural(e.CascadeRows, "row refers", "rows refer"), plural(rows, "that row", "those rows"))
}

// More is how many violations are not in Shown.
func (e *ValidationError) More() int64 { return e.Total - int64(len(e.Shown)) }

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
