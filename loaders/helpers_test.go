package loaders_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/store"
)

// load runs a load of extract into home with test settings.
func load(t *testing.T, home *store.Home, extract string, mod func(*loaders.Options)) (*loaders.Result, error) {
	t.Helper()
	opts := loaders.Options{Dir: extract, Home: home, Now: func() time.Time { return fixedNow }, Version: "test", Threads: 2}
	if mod != nil {
		mod(&opts)
	}
	return loaders.Load(context.Background(), opts)
}

func newHome(t *testing.T) *store.Home {
	t.Helper()
	h, err := store.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func memDB(t *testing.T) *duck.DB {
	t.Helper()
	db, err := duck.OpenMemory(context.Background(), duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// queryStrings runs q and returns every row as its values joined by "|"
// (NULL shown as NULL).
func queryStrings(t *testing.T, db *duck.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			switch x := v.(type) {
			case nil:
				parts[i] = "NULL"
			case time.Time:
				parts[i] = x.UTC().Format("2006-01-02 15:04:05.999999")
			default:
				parts[i] = fmt.Sprint(x)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// dumpSnapshot renders every extract table of a snapshot (spec columns,
// sorted) as text, for comparing loads of one extract in several formats.
func dumpSnapshot(t *testing.T, path string) string {
	t.Helper()
	db, err := duck.OpenSnapshot(context.Background(), path, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	for _, tb := range loaders.Tables {
		var cols []string
		for _, c := range tb.Columns {
			cols = append(cols, duck.Ident(c.Name))
		}
		list := strings.Join(cols, ", ")
		fmt.Fprintf(&b, "-- %s\n", tb.Name)
		for _, r := range queryStrings(t, db, fmt.Sprintf("SELECT %s FROM %s ORDER BY %s", list, tb.Name, list)) {
			b.WriteString(r + "\n")
		}
	}
	return b.String()
}

func openSnap(t *testing.T, path string) *duck.DB {
	t.Helper()
	db, err := duck.OpenSnapshot(context.Background(), path, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
