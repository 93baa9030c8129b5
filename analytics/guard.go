package analytics

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/assign-dev/assign/duck"
)

// RefusedError says which statement of the user's SQL was refused and why.
// Nothing of the SQL ran when it is returned: every statement is checked
// before the first one executes.
type RefusedError struct {
	// Statement is the 1-based position of the refused statement.
	Statement int
	// What names the refused kind, e.g. "ATTACH" or "INSERT (a write)".
	What string
	// Path is the file a refused file access named, if any.
	Path string
	// Reason replaces the general explanation when set, e.g. why a
	// function is refused.
	Reason string
	// Hint is a way around the refusal, if there is one.
	Hint string
}

func (e *RefusedError) Error() string {
	if e.Path != "" {
		msg := fmt.Sprintf("refused reading %q in statement %d: ", e.Path, e.Statement)
		if e.Reason != "" {
			return msg + e.Reason
		}
		return msg + "assign query reads only the snapshot and files under the home's runs folder"
	}
	msg := fmt.Sprintf("refused %s in statement %d: ", e.What, e.Statement)
	if e.Reason != "" {
		msg += e.Reason + "; assign query only reads"
	} else {
		msg += "assign query is read-only and runs only queries (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN)"
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Statement is one checked statement of the user's SQL.
type Statement struct {
	// SQL is the statement's text without the separating semicolon.
	SQL string
	// Explain is true for EXPLAIN [ANALYZE] of a query: it returns a plan,
	// and a file format like parquet makes no sense for it.
	Explain bool
}

// stmtNames names the statement types a user may try, for the refusal.
var stmtNames = map[duckdb.StmtType]string{
	duckdb.STATEMENT_TYPE_INSERT:       "INSERT (a write)",
	duckdb.STATEMENT_TYPE_UPDATE:       "UPDATE (a write)",
	duckdb.STATEMENT_TYPE_DELETE:       "DELETE (a write)",
	duckdb.STATEMENT_TYPE_CREATE:       "CREATE (a write)",
	duckdb.STATEMENT_TYPE_CREATE_FUNC:  "CREATE FUNCTION/MACRO (a write)",
	duckdb.STATEMENT_TYPE_ALTER:        "ALTER (a write)",
	duckdb.STATEMENT_TYPE_DROP:         "DROP (a write)",
	duckdb.STATEMENT_TYPE_COPY:         "COPY (a file write or import)",
	duckdb.STATEMENT_TYPE_EXPORT:       "EXPORT DATABASE (a file write)",
	duckdb.STATEMENT_TYPE_ATTACH:       "ATTACH",
	duckdb.STATEMENT_TYPE_DETACH:       "DETACH",
	duckdb.STATEMENT_TYPE_LOAD:         "INSTALL/LOAD of an extension",
	duckdb.STATEMENT_TYPE_EXTENSION:    "an extension statement",
	duckdb.STATEMENT_TYPE_SET:          "SET/RESET/USE or a setting PRAGMA",
	duckdb.STATEMENT_TYPE_VARIABLE_SET: "SET VARIABLE",
	duckdb.STATEMENT_TYPE_PRAGMA:       "PRAGMA",
	duckdb.STATEMENT_TYPE_TRANSACTION:  "a transaction statement",
	duckdb.STATEMENT_TYPE_CALL:         "CALL",
	duckdb.STATEMENT_TYPE_PREPARE:      "PREPARE",
	duckdb.STATEMENT_TYPE_EXECUTE:      "EXECUTE",
	duckdb.STATEMENT_TYPE_VACUUM:       "VACUUM/ANALYZE",
	duckdb.STATEMENT_TYPE_ANALYZE:      "ANALYZE",
	duckdb.STATEMENT_TYPE_MULTI:        "a statement that expands into several",
}

// leadingWords names refused statements by their first keyword when DuckDB
// already fails to prepare them (a COPY to a forbidden path fails in the
// binder before its type is known), so the refusal still says what it was.
var leadingWords = map[string]string{
	"INSERT": "INSERT (a write)", "UPDATE": "UPDATE (a write)", "DELETE": "DELETE (a write)",
	"CREATE": "CREATE (a write)", "ALTER": "ALTER (a write)", "DROP": "DROP (a write)",
	"TRUNCATE": "TRUNCATE (a write)", "MERGE": "MERGE (a write)",
	"COPY": "COPY (a file write or import)", "EXPORT": "EXPORT DATABASE (a file write)",
	"IMPORT": "IMPORT DATABASE", "ATTACH": "ATTACH", "DETACH": "DETACH",
	"INSTALL": "INSTALL/LOAD of an extension", "LOAD": "INSTALL/LOAD of an extension",
	"FORCE": "INSTALL/LOAD of an extension",
	"SET":   "SET/RESET/USE or a setting PRAGMA", "RESET": "SET/RESET/USE or a setting PRAGMA", "USE": "SET/RESET/USE or a setting PRAGMA",
	"BEGIN": "a transaction statement", "COMMIT": "a transaction statement", "ROLLBACK": "a transaction statement",
	"CHECKPOINT": "CHECKPOINT", "VACUUM": "VACUUM/ANALYZE", "CALL": "CALL",
	"PREPARE": "PREPARE", "EXECUTE": "EXECUTE", "DEALLOCATE": "DEALLOCATE",
}

const pivotHint = "a PIVOT without an IN list does: list the values, PIVOT t ON col IN ('a', 'b')"

var permissionPath = regexp.MustCompile(`Cannot access (?:file|directory) "([^"]*)"`)

var explainPrefix = regexp.MustCompile(`(?is)^\s*EXPLAIN(\s+ANALYZE)?\s+`)

// Check splits text into statements and checks each one before any runs:
// DuckDB parses it (json_serialize_sql, which neither binds nor runs) and
// every function it calls must be on the list of functions that only read
// (functions.go); a statement reading files by path is refused while a
// symbolic link under the runs folder leads outside it; then DuckDB
// prepares it (binding, never executing) to learn its type, which must be
// a query. It returns the statements when all pass, and a RefusedError
// naming the first that does not. Files outside the allowed folders fail
// when prepared: the session's settings make DuckDB's binder refuse them.
func (s *Session) Check(text string) ([]Statement, error) {
	parts, err := SplitStatements(text)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return nil, errors.New("the SQL holds no statement: give a query such as SELECT * FROM snacks LIMIT 5")
	}
	out := make([]Statement, 0, len(parts))
	for i, p := range parts {
		st := Statement{SQL: p}
		body := p
		if m := explainPrefix.FindStringIndex(p); m != nil {
			// EXPLAIN ANALYZE executes what it explains, so the explained
			// statement must pass the same check.
			st.Explain = true
			body = p[m[1]:]
		}
		// The parser's view first: nothing is bound yet, and binding is
		// where some functions act (enable_logging writes files when bound).
		reads, err := s.checkParsed(i+1, body)
		var perr *parseError
		if errors.As(err, &perr) {
			// The same parser fails in prepare, with the line at fault.
			if err := s.checkOne(i+1, body); err != nil {
				return nil, err
			}
			return nil, perr.err
		}
		if err != nil {
			return nil, err
		}
		if reads {
			if err := s.checkLinks(i + 1); err != nil {
				return nil, err
			}
		}
		if err := s.checkOne(i+1, body); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func (s *Session) checkOne(n int, text string) error {
	var typ duckdb.StmtType
	err := s.db.WithRaw(func(dc driver.Conn) error {
		// Conn.Prepare (without context) refuses several statements instead
		// of executing all but the last, which PrepareContext would do.
		st, err := dc.Prepare(text)
		if err != nil {
			return err
		}
		defer st.Close()
		ds, ok := st.(*duckdb.Stmt)
		if !ok {
			return fmt.Errorf("unexpected driver statement %T", st)
		}
		typ, err = ds.StatementType()
		return err
	})
	if err != nil {
		err = classifyPrepareError(n, text, err)
		var refused *RefusedError
		if errors.As(err, &refused) {
			return err
		}
		return s.hint(err)
	}
	switch typ {
	case duckdb.STATEMENT_TYPE_SELECT:
		return nil
	case duckdb.STATEMENT_TYPE_EXPLAIN:
		return &RefusedError{Statement: n, What: "a nested EXPLAIN"}
	}
	what, ok := stmtNames[typ]
	if !ok {
		what = fmt.Sprintf("a statement of type %d", typ)
	}
	r := &RefusedError{Statement: n, What: what}
	if typ == duckdb.STATEMENT_TYPE_CALL {
		r.Hint = "call a table function with SELECT * FROM fn()"
	}
	return r
}

// classifyPrepareError turns a failed prepare into a refusal when the
// statement was of a refused kind or touched a forbidden file, and into a
// plain error (a typo, an unknown table) otherwise.
func classifyPrepareError(n int, text string, err error) error {
	msg := duck.Clean(err).Error()
	if strings.Contains(msg, "missing context for multi-statement") {
		return &RefusedError{Statement: n, What: "a statement that expands into several", Hint: pivotHint}
	}
	first := firstKeyword(text)
	if what, ok := leadingWords[first]; ok {
		return &RefusedError{Statement: n, What: what}
	}
	if duck.IsPermission(err) {
		path := "a file"
		if m := permissionPath.FindStringSubmatch(msg); m != nil {
			path = m[1]
		}
		return &RefusedError{Statement: n, What: "a file access", Path: path}
	}
	if strings.HasPrefix(msg, "could not prepare query") {
		msg = strings.TrimSpace(strings.TrimPrefix(msg, "could not prepare query"))
	}
	// The flattened message keeps DuckDB's error beneath it, so callers
	// still classify it by type.
	return &oneLineError{msg: fmt.Sprintf("statement %d: %s", n, sqlMessage(msg)), err: err}
}

// sqlMessage puts DuckDB's multi-line error (the message, a "Did you mean"
// hint, the SQL line at fault with a caret under it) on one line, as every
// assign error is: the hint and the line are kept in parentheses.
func sqlMessage(msg string) string {
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	out := strings.TrimSpace(lines[0])
	var extra []string
	for _, l := range lines[1:] {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "Did you mean"):
			extra = append(extra, "did you mean"+strings.TrimPrefix(l, "Did you mean"))
		case strings.HasPrefix(l, "LINE "):
			extra = append(extra, "at line"+strings.TrimPrefix(l, "LINE"))
		}
	}
	if len(extra) > 0 {
		out += " (" + strings.Join(extra, "; ") + ")"
	}
	return out
}

// oneLineError is an error whose message sqlMessage has flattened.
type oneLineError struct {
	msg string
	err error
}

func (e *oneLineError) Error() string { return e.msg }
func (e *oneLineError) Unwrap() error { return e.err }

// firstKeyword is the statement's first word, upper-cased, after comments.
func firstKeyword(text string) string {
	t := stripLeadingComments(text)
	end := 0
	for end < len(t) && (t[end] >= 'a' && t[end] <= 'z' || t[end] >= 'A' && t[end] <= 'Z' || t[end] == '_') {
		end++
	}
	return strings.ToUpper(t[:end])
}

func stripLeadingComments(t string) string {
	for {
		t = strings.TrimLeft(t, " \t\r\n(")
		switch {
		case strings.HasPrefix(t, "--"):
			i := strings.IndexByte(t, '\n')
			if i < 0 {
				return ""
			}
			t = t[i+1:]
		case strings.HasPrefix(t, "/*"):
			i := strings.Index(t[2:], "*/")
			if i < 0 {
				return ""
			}
			t = t[i+4:]
		default:
			return t
		}
	}
}

// SplitStatements splits SQL text at semicolons outside string literals,
// quoted identifiers, dollar-quoted strings and comments. Pieces holding
// only whitespace and comments are dropped. A splitting mistake is never
// unsafe: each piece is then prepared alone, and one that holds two
// statements fails to prepare instead of running.
func SplitStatements(text string) ([]string, error) {
	var out []string
	start := 0
	hasCode := false
	flush := func(end int) {
		if hasCode {
			out = append(out, strings.TrimSpace(text[start:end]))
		}
		start, hasCode = end+1, false
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == ';':
			flush(i)
		case c == '-' && i+1 < len(text) && text[i+1] == '-':
			j := strings.IndexByte(text[i:], '\n')
			if j < 0 {
				i = len(text)
			} else {
				i += j
			}
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			j := strings.Index(text[i+2:], "*/")
			if j < 0 {
				return nil, errors.New("unterminated /* comment in the SQL")
			}
			i += j + 3
		case c == '\'' || c == '"':
			hasCode = true
			j := i + 1
			for {
				k := strings.IndexByte(text[j:], c)
				if k < 0 {
					if c == '\'' {
						return nil, errors.New("unterminated string literal in the SQL: a ' is missing")
					}
					return nil, errors.New(`unterminated quoted identifier in the SQL: a " is missing`)
				}
				j += k + 1
				if j < len(text) && text[j] == c { // doubled quote escapes itself
					j++
					continue
				}
				break
			}
			i = j - 1
		case c == '$':
			hasCode = true
			if tag, ok := dollarTag(text[i:]); ok {
				j := strings.Index(text[i+len(tag):], tag)
				if j < 0 {
					return nil, fmt.Errorf("unterminated dollar-quoted string %s in the SQL", tag)
				}
				i += len(tag) + j + len(tag) - 1
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			hasCode = true
		}
	}
	flush(len(text))
	return out, nil
}

// dollarTag returns the opening $tag$ at the start of s ($$ included);
// $1 (a parameter) is not one.
func dollarTag(s string) (string, bool) {
	for j := 1; j < len(s); j++ {
		c := s[j]
		if c == '$' {
			return s[:j+1], true
		}
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 1 && c >= '0' && c <= '9') {
			return "", false
		}
	}
	return "", false
}
