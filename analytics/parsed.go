package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/assign-dev/assign/duck"
)

// fileReaders are the table functions that read files by path.
var fileReaders = setOf("glob", "read_parquet", "parquet_scan", "read_csv", "read_csv_auto",
	"read_json", "read_json_auto", "read_json_objects", "read_json_objects_auto",
	"read_ndjson", "read_ndjson_auto", "read_ndjson_objects", "read_text", "read_blob",
	"sniff_csv", "parquet_metadata", "parquet_schema", "parquet_file_metadata",
	"parquet_kv_metadata", "parquet_bloom_probe")

// serialized is json_serialize_sql's answer.
type serialized struct {
	Error        bool              `json:"error"`
	ErrorType    string            `json:"error_type"`
	ErrorMessage string            `json:"error_message"`
	Statements   []json.RawMessage `json:"statements"`
}

// parseError is a statement DuckDB's parser rejects. Preparing it fails
// in the parser too, with the line at fault, so Check reports that.
type parseError struct{ err error }

func (e *parseError) Error() string { return e.err.Error() }
func (e *parseError) Unwrap() error { return e.err }

// call is one function the statement calls.
type call struct {
	name  string
	table bool // in FROM, as a table function
}

// checkParsed has DuckDB parse text (json_serialize_sql parses only: it
// neither binds nor runs anything) and refuses the statement when it is not
// a query or calls a function that is not on the lists of functions.go.
// reads reports whether the statement reads files by path (a file table
// function, or a file name in FROM).
func (s *Session) checkParsed(n int, text string) (reads bool, err error) {
	var raw string
	if err := s.db.QueryRow(context.Background(), "SELECT json_serialize_sql($1::VARCHAR)::VARCHAR", text).Scan(&raw); err != nil {
		return false, fmt.Errorf("statement %d: parse: %w", n, duck.Clean(err))
	}
	var ser serialized
	if err := json.Unmarshal([]byte(raw), &ser); err != nil {
		return false, fmt.Errorf("statement %d: read DuckDB's parse: %w", n, err)
	}
	if ser.Error {
		if !strings.EqualFold(ser.ErrorType, "not implemented") {
			kind := ser.ErrorType
			if kind != "" {
				kind = strings.ToUpper(kind[:1]) + kind[1:] + " Error: "
			}
			return false, &parseError{fmt.Errorf("statement %d: %s", n, sqlMessage(kind+ser.ErrorMessage))}
		}
		// Only a SELECT has a serialized form; of the rest, a PRAGMA that
		// only reads passes, everything else is refused unprepared.
		first := firstKeyword(text)
		if first == "PRAGMA" {
			name := pragmaName(text)
			if allowedPragmas[name] {
				return false, nil
			}
			r := &RefusedError{Statement: n, What: "PRAGMA " + name}
			if strings.Contains(text, "=") {
				r.What = "a setting PRAGMA (" + name + ")"
			}
			return false, r
		}
		what, ok := leadingWords[first]
		if !ok {
			what = "a statement that is not a query"
			if first != "" {
				what = first + " (not a query)"
			}
		}
		r := &RefusedError{Statement: n, What: what}
		switch first {
		case "CALL":
			r.Hint = "call a table function with SELECT * FROM fn()"
		case "PIVOT", "UNPIVOT":
			r.What, r.Hint = "a statement that expands into several", pivotHint
		}
		return false, r
	}
	if len(ser.Statements) != 1 {
		return false, &RefusedError{Statement: n, What: "a statement that expands into several"}
	}
	dec := json.NewDecoder(bytes.NewReader(ser.Statements[0]))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return false, fmt.Errorf("statement %d: read DuckDB's parse: %w", n, err)
	}
	var calls []call
	walkParse(tree, &calls, &reads)
	if err := s.checkMixedSnapshots(n, tree); err != nil {
		return false, err
	}
	for _, c := range calls {
		// DuckDB's list of functions is only read for a name on neither
		// list (reading it takes a good part of a second).
		var lerr error
		isKnown := func(name string) bool {
			known, err := s.knownFunctions()
			if err != nil {
				lerr = err
				return true
			}
			if c.table {
				return known.table[name]
			}
			return known.scalar[name]
		}
		ok, why := functionVerdict(c.name, c.table, isKnown)
		if lerr != nil {
			return false, lerr
		}
		if !ok {
			return false, &RefusedError{Statement: n, What: c.name + "()", Reason: why}
		}
		if c.table && fileReaders[strings.ToLower(c.name)] {
			reads = true
		}
	}
	return reads, nil
}

// walkParse collects every function the parse tree calls and notes file
// names in FROM. Table functions are the "function" of a TABLE_FUNCTION
// reference; every other object with a function_name is a call in an
// expression (functions, operators, aggregates, window functions).
func walkParse(node any, calls *[]call, reads *bool) {
	switch v := node.(type) {
	case []any:
		for _, e := range v {
			walkParse(e, calls, reads)
		}
	case map[string]any:
		if v["type"] == "TABLE_FUNCTION" {
			if fn, ok := v["function"].(map[string]any); ok {
				if name, ok := fn["function_name"].(string); ok {
					*calls = append(*calls, call{name: name, table: true})
				}
				walkParse(fn["children"], calls, reads)
			}
			for k, e := range v {
				if k != "function" {
					walkParse(e, calls, reads)
				}
			}
			return
		}
		if v["type"] == "BASE_TABLE" || v["type"] == "SHOW_REF" {
			if name, _ := v["table_name"].(string); strings.ContainsAny(name, "./\\") && v["schema_name"] == "" && v["catalog_name"] == "" {
				*reads = true // a file name: DuckDB reads it with a replacement scan
			}
		}
		if name, ok := v["function_name"].(string); ok {
			*calls = append(*calls, call{name: name})
		}
		for _, e := range v {
			walkParse(e, calls, reads)
		}
	}
}

// knownSets are the function names DuckDB has, by position.
type knownSets struct{ table, scalar map[string]bool }

// knownFunctions reads DuckDB's function list once per session.
func (s *Session) knownFunctions() (*knownSets, error) {
	if s.known != nil {
		return s.known, nil
	}
	// PRAGMA functions are not callable in a query; checkParsed handles
	// the PRAGMA statement by name.
	rows, err := s.db.Query(context.Background(), `SELECT DISTINCT lower(function_name), function_type IN ('table', 'table_macro') FROM duckdb_functions() WHERE function_type <> 'pragma'`)
	if err != nil {
		return nil, fmt.Errorf("list DuckDB's functions: %w", duck.Clean(err))
	}
	defer rows.Close()
	k := &knownSets{table: map[string]bool{}, scalar: map[string]bool{}}
	for rows.Next() {
		var name string
		var table bool
		if err := rows.Scan(&name, &table); err != nil {
			return nil, err
		}
		if table {
			k.table[name] = true
		} else {
			k.scalar[name] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.known = k
	return k, nil
}

// pragmaName is the name after PRAGMA, lower-cased.
func pragmaName(text string) string {
	t := stripLeadingComments(text)
	t = strings.TrimLeft(t[len("PRAGMA"):], " \t\r\n")
	end := 0
	for end < len(t) && (t[end] >= 'a' && t[end] <= 'z' || t[end] >= 'A' && t[end] <= 'Z' || t[end] >= '0' && t[end] <= '9' || t[end] == '_') {
		end++
	}
	return strings.ToLower(t[:end])
}

// maxLinkScan bounds the entries checkLinks looks at; a runs folder larger
// than this is refused for reads by path rather than half checked.
const maxLinkScan = 200000

// checkLinks refuses reading files by path while a symbolic link under the
// runs folder (or a --run folder outside the home) leads outside it: DuckDB
// checks the path it is given against allowed_directories and would follow
// the link.
func (s *Session) checkLinks(n int) error {
	for _, root := range append([]string{s.home.RunsDir()}, s.extraDirs...) {
		link, target, err := escapingLink(root)
		if err != nil {
			return fmt.Errorf("statement %d: check %s: %w", n, root, err)
		}
		if link != "" {
			return &RefusedError{Statement: n, What: "a file read", Path: link,
				Reason: fmt.Sprintf("it is a symbolic link to %s, outside the folder assign query may read (%s), and assign query reads no file by path while such a link exists; remove it (rm %s)", target, root, link)}
		}
	}
	return nil
}

var errTooMany = errors.New("too many entries")

// escapingLink returns the first symbolic link under root whose target
// (resolved) is not inside root, with that target; "" when there is none.
func escapingLink(root string) (link, target string, err error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		if os.IsNotExist(err) {
			return "", "", nil
		}
		return "", "", err
	}
	seen := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // unreadable: DuckDB cannot read it either
		}
		if seen++; seen > maxLinkScan {
			return errTooMany
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		t, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil // dangling or a loop: nothing to read
		}
		if !within(realRoot, t) {
			link, target = p, t
			return filepath.SkipAll
		}
		return nil
	})
	if errors.Is(err, errTooMany) {
		return root, fmt.Sprintf("(more than %d entries, not checked)", maxLinkScan), nil
	}
	return link, target, err
}

// within reports whether p is root or inside it (both cleaned, absolute).
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
