package loaders

import (
	"context"
	"fmt"
	"time"

	"github.com/assign-dev/assign/duck"
)

// SnapshotMeta is what a snapshot records about itself (assign_meta and
// assign_tables).
type SnapshotMeta struct {
	Meta      map[string]string
	Tables    []TableResult // in SPEC order
	CreatedAt time.Time     // zero when not recorded
}

// ReadMeta opens the snapshot file read-only and reads its metadata tables.
func ReadMeta(ctx context.Context, path string) (*SnapshotMeta, error) {
	db, err := duck.OpenSnapshot(ctx, path, duck.Options{Threads: 1})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	m := &SnapshotMeta{Meta: map[string]string{}}
	rows, err := db.Query(ctx, "SELECT key, value FROM assign_meta ORDER BY key")
	if err != nil {
		return nil, fmt.Errorf("snapshot %s has no readable assign_meta table: %w", path, duck.Clean(err))
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return nil, duck.Clean(err)
		}
		m.Meta[k] = v
	}
	rows.Close()
	if t, err := time.Parse(time.RFC3339, m.Meta["created_at"]); err == nil {
		m.CreatedAt = t
	}
	rows, err = db.Query(ctx, "SELECT table_name, source, format, files, rows, rejected, absent FROM assign_tables")
	if err != nil {
		return nil, fmt.Errorf("snapshot %s has no readable assign_tables table: %w", path, duck.Clean(err))
	}
	defer rows.Close()
	byName := map[string]TableResult{}
	for rows.Next() {
		var t TableResult
		if err := rows.Scan(&t.Table, &t.Source, &t.Format, &t.Files, &t.Rows, &t.Rejected, &t.Absent); err != nil {
			return nil, duck.Clean(err)
		}
		byName[t.Table] = t
	}
	if err := rows.Err(); err != nil {
		return nil, duck.Clean(err)
	}
	for _, t := range Tables {
		if r, ok := byName[t.Name]; ok {
			m.Tables = append(m.Tables, r)
		}
	}
	return m, nil
}
