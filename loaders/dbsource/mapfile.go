package dbsource

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/assign-dev/assign/loaders"
)

// TableMap says where one SPEC table comes from. The zero value reads the
// source table named like the SPEC table, its columns by their SPEC names.
type TableMap struct {
	// Table is the source table ("rating_events", or "shop.rating_events"
	// on PostgreSQL); exclusive with Query.
	Table string `toml:"table"`
	// Query is a SELECT whose columns are the table's (after Columns).
	Query string `toml:"query"`
	// Key names the columns of Query that identify a row, for messages
	// (a table's primary key is found by itself).
	Key []string `toml:"key"`
	// Columns maps SPEC column -> source column.
	Columns map[string]string `toml:"columns"`
	// Keep lists source columns kept as extra columns of the snapshot
	// table (by default only the SPEC columns are read).
	Keep []string `toml:"keep"`
	// Absent loads an optional table empty without looking for it.
	Absent bool `toml:"absent"`
}

// Map is a parsed --map file: SPEC table name -> TableMap.
type Map map[string]TableMap

// ReadMap parses a --map file. Every error names the file and the key.
func ReadMap(path string) (Map, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read --map %s: %v", path, err)
	}
	var m Map
	md, err := toml.Decode(string(b), &m)
	if err != nil {
		return nil, fmt.Errorf("--map %s is not valid TOML: %s", path, strings.ReplaceAll(err.Error(), "\n", " "))
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("--map %s: unknown key %s (a table takes table, query, key, columns, keep, absent)", path, und[0].String())
	}
	for name, tm := range m {
		t, ok := loaders.TableByName(name)
		if !ok {
			return nil, fmt.Errorf("--map %s: [%s] is not a table of the extract (%s)", path, name, tableNames())
		}
		where := fmt.Sprintf("--map %s: [%s]", path, name)
		switch {
		case tm.Absent && (tm.Table != "" || tm.Query != "" || len(tm.Columns) > 0 || len(tm.Keep) > 0 || len(tm.Key) > 0):
			return nil, fmt.Errorf("%s: absent = true takes no other key", where)
		case tm.Absent && t.Required:
			return nil, fmt.Errorf("%s: table %s is required and cannot be absent", where, name)
		case tm.Table != "" && tm.Query != "":
			return nil, fmt.Errorf("%s: give table or query, not both", where)
		case tm.Query == "" && len(tm.Key) > 0:
			return nil, fmt.Errorf("%s: key is for a query; a table's primary key is found by itself", where)
		}
		if tm.Query != "" {
			q := strings.TrimSpace(tm.Query)
			q = strings.TrimRight(q, "; \t\n")
			low := strings.ToLower(q)
			if !strings.HasPrefix(low, "select") && !strings.HasPrefix(low, "with") && !strings.HasPrefix(low, "(") {
				return nil, fmt.Errorf("%s: query must be a SELECT (or WITH ... SELECT)", where)
			}
			tm.Query = q
		}
		for spec, src := range tm.Columns {
			if !slices.ContainsFunc(t.Columns, func(c loaders.Column) bool { return c.Name == spec }) {
				return nil, fmt.Errorf("%s: columns.%s is not a column of %s (%s)", where, spec, name, colNames(t))
			}
			if strings.TrimSpace(src) == "" {
				return nil, fmt.Errorf("%s: columns.%s is empty", where, spec)
			}
		}
		m[name] = tm
	}
	return m, nil
}

func tableNames() string {
	var n []string
	for _, t := range loaders.Tables {
		n = append(n, t.Name)
	}
	return strings.Join(n, ", ")
}

func colNames(t loaders.Table) string {
	var n []string
	for _, c := range t.Columns {
		n = append(n, c.Name)
	}
	return strings.Join(n, ", ")
}
