package analytics

import (
	"context"
	"fmt"
	"strings"

	"github.com/assign-dev/assign/duck"
)

// tableRef is a table a statement names in FROM.
type tableRef struct{ catalog, schema, table string }

// walkTables collects the tables a parse tree names and the names of its
// common table expressions (a CTE is no snapshot table, whatever its name).
func walkTables(node any, refs *[]tableRef, ctes map[string]bool) {
	switch v := node.(type) {
	case []any:
		for _, e := range v {
			walkTables(e, refs, ctes)
		}
	case map[string]any:
		if v["type"] == "BASE_TABLE" {
			c, _ := v["catalog_name"].(string)
			sc, _ := v["schema_name"].(string)
			t, _ := v["table_name"].(string)
			*refs = append(*refs, tableRef{strings.ToLower(c), strings.ToLower(sc), strings.ToLower(t)})
		}
		if m, ok := v["cte_map"].(map[string]any); ok {
			if entries, ok := m["map"].([]any); ok {
				for _, e := range entries {
					if kv, ok := e.(map[string]any); ok {
						if k, ok := kv["key"].(string); ok {
							ctes[strings.ToLower(k)] = true
						}
					}
				}
			}
		}
		for _, e := range v {
			walkTables(e, refs, ctes)
		}
	}
}

// snapshotCatalog is the catalog the queried snapshot is attached as.
const snapshotCatalog = "snap"

// snapshotViews are the convenience views that read the queried snapshot
// (shortage_by_category reads its run's own snapshot).
var snapshotViews = setOf("usable_stock", "user_eligibility", "ratings_named")

// checkMixedSnapshots refuses a statement that reads a run alias (latest.*,
// latest_preassign.*, latest_run.*) made on another snapshot together with
// the queried snapshot's tables: joined, they pair one extract's snack and
// user ids with another's names, categories and stock, a wrong answer that
// looks right. Either alone is fine (the session warns about the alias).
func (s *Session) checkMixedSnapshots(n int, tree any) error {
	var other []string // aliases whose run was made on another snapshot
	for _, alias := range []string{AliasLatest, AliasPreassign, AliasRun} {
		if r := s.Runs[alias]; r != nil && r.Manifest != nil && r.Manifest.Snapshot != "" && r.Manifest.Snapshot != s.Snapshot {
			other = append(other, alias)
		}
	}
	if len(other) == 0 {
		return nil
	}
	var refs []tableRef
	ctes := map[string]bool{}
	walkTables(tree, &refs, ctes)
	var run, snap string
	for _, r := range refs {
		for _, alias := range other {
			if (r.catalog == "" && r.schema == alias) || r.catalog == alias {
				run = alias
			}
		}
		if snap != "" {
			continue
		}
		switch {
		case r.catalog == snapshotCatalog || (r.catalog == "" && r.schema == snapshotCatalog):
			snap = r.table
		case r.catalog == "" && (r.schema == "" || r.schema == "main") && !ctes[r.table]:
			tables, err := s.snapshotTables()
			if err != nil {
				return err
			}
			if tables[r.table] || snapshotViews[r.table] {
				snap = r.table
			}
		case r.catalog == "memory" && snapshotViews[r.table]:
			snap = r.table
		}
	}
	if run == "" || snap == "" {
		return nil
	}
	ref := s.Runs[run]
	return fmt.Errorf("refused statement %d: it joins %s.* (run %s, made on snapshot %s) with %s of snapshot %s, which pairs one extract's ids with another's names, categories and stock; add --snapshot %s to query the run's own snapshot, or plan the run again on %s",
		n, run, ref.ID, ref.Manifest.Snapshot, snap, s.Snapshot, ref.Manifest.Snapshot, s.Snapshot)
}

// snapshotTables are the queried snapshot's table names, read once.
func (s *Session) snapshotTables() (map[string]bool, error) {
	if s.snapTables != nil {
		return s.snapTables, nil
	}
	rows, err := s.db.Query(context.Background(), "SELECT lower(table_name) FROM information_schema.tables WHERE table_catalog = $1", snapshotCatalog)
	if err != nil {
		return nil, fmt.Errorf("list the snapshot's tables: %w", duck.Clean(err))
	}
	defer rows.Close()
	tables := map[string]bool{}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		tables[t] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.snapTables = tables
	return tables, nil
}
