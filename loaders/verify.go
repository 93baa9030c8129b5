package loaders

import (
	"context"
	"errors"
	"fmt"

	"github.com/assign-dev/assign/duck"
)

// TableCheck is one table of a verified snapshot.
type TableCheck struct {
	Table string `json:"table"`
	// Rows is the count read back; Recorded the count the load recorded
	// (-1 for tables the load keeps no count of, such as derived ones).
	Rows     int64 `json:"rows"`
	Recorded int64 `json:"rows_recorded"`
}

// Verification is what Verify found in one snapshot file.
type Verification struct {
	Tables []TableCheck `json:"tables"`
	// Rows is the total of the rows read.
	Rows int64 `json:"rows"`
	// Problem is the first thing found wrong; empty when the snapshot is
	// whole.
	Problem string `json:"problem,omitempty"`
	// Damaged is set when DuckDB found the file's bytes wrong (cut short,
	// overwritten): the snapshot must be replaced.
	Damaged bool `json:"damaged"`
}

// Verify opens the snapshot file at path read-only and reads every value of
// every table, so that DuckDB checks the checksum of every block, and
// compares each extract table's row count with the one the load recorded
// in assign_tables. A damaged or inconsistent snapshot is reported in the
// Verification, not as an error; the error is for failures to verify at
// all (the context cancelled).
func Verify(ctx context.Context, path string) (*Verification, error) {
	v := &Verification{Tables: []TableCheck{}}
	fail := func(err error) (*Verification, error) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		err = duck.Damaged(path, err)
		var de *duck.DamagedError
		if errors.As(err, &de) {
			v.Damaged = true
			v.Problem = "damaged: " + de.Damage
		} else {
			v.Problem = duck.Clean(err).Error()
		}
		return v, nil
	}
	db, err := duck.OpenSnapshot(ctx, path, duck.Options{})
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	recorded := map[string]int64{}
	rows, err := db.Query(ctx, "SELECT table_name, rows FROM assign_tables")
	if err != nil {
		return fail(fmt.Errorf("the load's record of its tables (assign_tables) cannot be read: %w", err))
	}
	for rows.Next() {
		var t string
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			rows.Close()
			return fail(err)
		}
		recorded[t] = n
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return fail(err)
	}
	rows.Close()
	var tables []string
	rows, err = db.Query(ctx, "SELECT table_name FROM duckdb_tables() WHERE database_name = 'snap' AND schema_name = 'main' ORDER BY table_name")
	if err != nil {
		return fail(err)
	}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return fail(err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	have := map[string]bool{}
	for _, t := range tables {
		have[t] = true
	}
	for _, t := range Tables {
		if _, ok := recorded[t.Name]; ok && !have[t.Name] {
			v.Problem = fmt.Sprintf("table %s is missing", t.Name)
			return v, nil
		}
	}
	for _, t := range tables {
		// hash() of every column reads every value, so every block of the
		// table is read and its checksum checked.
		var n int64
		var h any
		q := fmt.Sprintf("SELECT count(*), bit_xor(hash(*COLUMNS(*))) FROM %s", duck.Ident(t))
		if err := db.QueryRow(ctx, q).Scan(&n, &h); err != nil {
			return fail(fmt.Errorf("table %s: %w", t, err))
		}
		c := TableCheck{Table: t, Rows: n, Recorded: -1}
		if r, ok := recorded[t]; ok {
			c.Recorded = r
			if r != n && v.Problem == "" {
				v.Problem = fmt.Sprintf("table %s has %d rows, the load recorded %d", t, n, r)
			}
		}
		v.Tables = append(v.Tables, c)
		v.Rows += n
	}
	return v, nil
}
