package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/assign-dev/assign/duck"
)

// TestDeriveInGoEqualsSQL: the derived tables computed in Go hold the rows
// of derived_*.sql in the same order with the same types, for the synthetic
// extract stored in spec types, its ratings shuffled or grouped by user,
// ties (the same rated_at, the lower rating wins), ratings before 1970,
// categories that sort apart from snack order and sparse ids; and a
// snapshot the Go path does not fit (a rating of an unknown user, a rating
// out of 0..7) gets the SQL's tables.
func TestDeriveInGoEqualsSQL(t *testing.T) {
	spec := `
		CREATE OR REPLACE TABLE users AS SELECT user_id::BIGINT AS user_id, status, box_size, cadence_days, next_ship_on FROM users;
		CREATE OR REPLACE TABLE snacks AS SELECT snack_id::BIGINT AS snack_id, name, category, launched_on, active FROM snacks;
		CREATE OR REPLACE TABLE ratings AS SELECT user_id::BIGINT AS user_id, snack_id::BIGINT AS snack_id, rating::INTEGER AS rating, rated_at::TIMESTAMP AS rated_at FROM ratings;`
	cases := []struct {
		name, sql string
		goPath    bool
	}{
		{"synthetic", "", true},
		{"grouped by user", "CREATE OR REPLACE TABLE ratings AS FROM ratings ORDER BY user_id, rated_at", true},
		{"ties and old ratings", `
			INSERT INTO ratings SELECT user_id, snack_id, 6 - rating, rated_at FROM ratings WHERE user_id % 7 = 0;
			INSERT INTO ratings SELECT user_id, snack_id, rating, TIMESTAMP '1950-01-01' + (rated_at - TIMESTAMP '2025-01-01') FROM ratings WHERE user_id % 5 = 0;
			UPDATE snacks SET category = 'z''z' || category WHERE snack_id % 4 = 0`, true},
		{"sparse ids", `
			UPDATE users SET user_id = user_id * 7919 - 1000000000000;
			UPDATE ratings SET user_id = user_id * 7919 - 1000000000000;
			UPDATE snacks SET snack_id = snack_id * 104729 + 77;
			UPDATE ratings SET snack_id = snack_id * 104729 + 77`, true},
		{"unknown user", "INSERT INTO ratings VALUES (99999999, 1, 3, TIMESTAMP '2026-01-01')", false},
		{"rating out of range", "INSERT INTO ratings VALUES (1, 1, 9, TIMESTAMP '2026-01-01')", false},
	}
	tables := []string{LatestRatingsTable, UserCategoryRatingsTable, SnackRatingsTable}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := duck.OpenMemory(ctx, duck.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			path := t.TempDir() + "/snap.duckdb"
			if _, err := db.Exec(ctx, fmt.Sprintf("ATTACH %s AS snap; USE snap", duck.Quote(path))); err != nil {
				t.Fatal(err)
			}
			fillSynthetic(t, db, 1500, 120, 3)
			if _, err := db.Exec(ctx, spec+c.sql); err != nil {
				t.Fatal(err)
			}
			if err := createDerived(ctx, db, "TABLE", "want_latest", "want_ucr", "want_sr"); err != nil {
				t.Fatal(err)
			}
			err = deriveInGo(ctx, db, db)
			if !c.goPath {
				if err == nil || !strings.Contains(err.Error(), errDeriveSQL.Error()) {
					t.Fatalf("deriveInGo: %v, want the SQL path", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range []string{"want_latest", "want_ucr", "want_sr"} {
				got := tables[i]
				dump := func(tb string) string {
					var b strings.Builder
					rows, err := db.Query(ctx, fmt.Sprintf("SELECT * FROM %s ORDER BY rowid", tb))
					if err != nil {
						t.Fatal(err)
					}
					defer rows.Close()
					cols, _ := rows.ColumnTypes()
					for _, c := range cols {
						fmt.Fprintf(&b, "%s %s|", c.Name(), c.DatabaseTypeName())
					}
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					n := 0
					for rows.Next() {
						if err := rows.Scan(ptrs...); err != nil {
							t.Fatal(err)
						}
						fmt.Fprintln(&b, vals...)
						n++
					}
					if n == 0 {
						t.Fatalf("%s is empty", tb)
					}
					return b.String()
				}
				if g, w := dump(got), dump(want); g != w {
					gl, wl := strings.Split(g, "\n"), strings.Split(w, "\n")
					for j := range min(len(gl), len(wl)) {
						if gl[j] != wl[j] {
							t.Fatalf("%s differs from the SQL's at line %d (of %d, %d): %q, want %q", got, j, len(gl), len(wl), gl[j], wl[j])
						}
					}
					t.Fatalf("%s: %d lines, the SQL's %d", got, len(gl), len(wl))
				}
			}
		})
	}
}
