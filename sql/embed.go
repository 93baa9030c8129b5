// Package queries holds the SQL that assign runs in DuckDB, one statement
// group per .sql file. Each file starts with a comment saying what it computes
// and which parameters it takes. Parameters are written {{name}} and filled by
// Render with literals the caller has already validated (dates, integers);
// DuckDB's own placeholders are used where a prepared statement fits.
package queries

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed *.sql
var files embed.FS

// Get returns the text of the named file (without ".sql"). It panics on an
// unknown name: names are compile-time constants, and a test loads them all.
func Get(name string) string {
	b, err := files.ReadFile(name + ".sql")
	if err != nil {
		panic(fmt.Sprintf("queries: no file %s.sql", name))
	}
	return string(b)
}

// Render returns the named file with every {{key}} replaced by params[key].
// It panics when a placeholder is left unfilled, which a test catches.
func Render(name string, params map[string]string) string {
	s := Get(name)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s = strings.ReplaceAll(s, "{{"+k+"}}", params[k])
	}
	if i := strings.Index(s, "{{"); i >= 0 {
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			j = len(s) - i
		}
		panic(fmt.Sprintf("queries: %s.sql: unfilled parameter %s", name, s[i:i+j+2]))
	}
	return s
}

// Names returns the name of every embedded file (without ".sql"), sorted.
func Names() []string {
	entries, err := files.ReadDir(".")
	if err != nil {
		panic(fmt.Sprintf("queries: %v", err))
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".sql"))
	}
	sort.Strings(names)
	return names
}
