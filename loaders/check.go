package loaders

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/assign-dev/assign/duck"
)

// extraCol is an extra (non-spec) column of a table, kept in the snapshot
// after the spec columns.
type extraCol struct {
	Name string // as first seen
	Type string // DuckDB type; VARCHAR when the files disagree
}

// tableRun is one table being validated and copied into the snapshot.
type tableRun struct {
	t      Table
	src    *Source
	files  []*stagedFile
	view   string
	extras []extraCol

	rows       int64 // in the source
	loaded     int64
	badRows    int64 // rows breaking a column rule
	dupRows    int64
	refRows    int64
	violations int64
	// cascadeRows are the rows rejected only because rows they refer to
	// were rejected, and cascadeViols their references to them (counted in
	// refRows and violations too): not defects of their own.
	cascadeRows  int64
	cascadeViols int64
}

// buildView unions the staged files of a table under one view with the
// file index and ordinal of every row, and settles the extra columns.
func (tr *tableRun) buildView(ctx context.Context, db *duck.DB) error {
	tr.view = "lv_" + tr.t.Name
	byName := map[string]int{}
	for _, sf := range tr.files {
		for _, j := range sf.extras {
			c := sf.cols[j]
			typ := c.Type
			if sf.Format == CSV || sf.Format == JSONL || strings.EqualFold(typ, "NULL") {
				typ = "VARCHAR"
			}
			key := strings.ToLower(strings.TrimSpace(c.Name))
			if k, ok := byName[key]; ok {
				if !strings.EqualFold(tr.extras[k].Type, typ) {
					tr.extras[k].Type = "VARCHAR"
				}
				continue
			}
			byName[key] = len(tr.extras)
			tr.extras = append(tr.extras, extraCol{Name: c.Name, Type: typ})
		}
	}
	var parts []string
	for _, sf := range tr.files {
		sel := []string{fmt.Sprintf("%d AS %s", sf.idx, colFile), "rowid AS " + colRow}
		for _, c := range tr.t.Columns {
			sel = append(sel, duck.Ident(c.Name))
		}
		have := map[string]string{}
		for _, j := range sf.extras {
			have[strings.ToLower(strings.TrimSpace(sf.cols[j].Name))] = sf.cols[j].Name
		}
		for _, e := range tr.extras {
			if n, ok := have[strings.ToLower(strings.TrimSpace(e.Name))]; ok {
				sel = append(sel, fmt.Sprintf("CAST(%s AS %s) AS %s", duck.Ident(n), e.Type, duck.Ident(e.Name)))
			} else {
				sel = append(sel, fmt.Sprintf("CAST(NULL AS %s) AS %s", e.Type, duck.Ident(e.Name)))
			}
		}
		sel = append(sel, colBad)
		parts = append(parts, fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), sf.tmp))
	}
	if len(parts) == 0 {
		return nil
	}
	_, err := db.Exec(ctx, fmt.Sprintf("CREATE TEMP VIEW %s AS %s", tr.view, strings.Join(parts, " UNION ALL ")))
	return duck.Clean(err)
}

// dupTable is the temporary table of later duplicates of a key.
func (tr *tableRun) dupTable() string { return "dup_" + tr.t.Name }

// findDuplicates records, among rows that pass the column rules, every row
// whose key was already seen earlier in file order, with the position of the
// first one (which is kept).
func (tr *tableRun) findDuplicates(ctx context.Context, db *duck.DB) error {
	if len(tr.t.Key) == 0 || tr.view == "" {
		return nil
	}
	keys := identList(tr.t.Key)
	var groups int64
	q := fmt.Sprintf("SELECT count(*) FROM (SELECT 1 FROM %s WHERE %s = 0 GROUP BY %s HAVING count(*) > 1)", tr.view, colBad, keys)
	if err := db.QueryRow(ctx, q).Scan(&groups); err != nil {
		return duck.Clean(err)
	}
	if groups == 0 {
		return nil
	}
	q = fmt.Sprintf(`CREATE TEMP TABLE %[1]s AS
WITH d AS (SELECT %[2]s FROM %[3]s WHERE %[4]s = 0 GROUP BY %[2]s HAVING count(*) > 1)
SELECT %[5]s, %[6]s, ff, fr FROM (
	SELECT v.%[5]s, v.%[6]s,
		first_value(v.%[5]s) OVER w AS ff, first_value(v.%[6]s) OVER w AS fr, row_number() OVER w AS rn
	FROM %[3]s v JOIN d USING (%[2]s)
	WHERE v.%[4]s = 0
	WINDOW w AS (PARTITION BY %[2]s ORDER BY v.%[5]s, v.%[6]s)
) WHERE rn > 1`, tr.dupTable(), keys, tr.view, colBad, colFile, colRow)
	if _, err := db.Exec(ctx, q); err != nil {
		return duck.Clean(err)
	}
	return db.QueryRow(ctx, "SELECT count(*) FROM "+tr.dupTable()).Scan(&tr.dupRows)
}

// survivors is the WHERE clause of rows passing every rule: column rules,
// not a later duplicate, every reference found among the rows already
// accepted into the snapshot (so a row whose referenced row was rejected is
// rejected too).
func (tr *tableRun) survivors(alias string) string {
	conds := []string{fmt.Sprintf("%s.%s = 0", alias, colBad)}
	if tr.dupRows > 0 {
		conds = append(conds, fmt.Sprintf("NOT EXISTS (SELECT 1 FROM %[1]s d WHERE d.%[2]s = %[4]s.%[2]s AND d.%[3]s = %[4]s.%[3]s)", tr.dupTable(), colFile, colRow, alias))
	}
	for _, r := range tr.t.Refs {
		conds = append(conds, refCond(alias, r))
	}
	return strings.Join(conds, " AND ")
}

func refCond(alias string, r Ref) string {
	c := duck.Ident(r.Column)
	return fmt.Sprintf("%s.%s IN (SELECT %s FROM snap.main.%s)", alias, c, c, duck.Ident(r.To))
}

// insert copies the surviving rows, typed, into the snapshot table.
func (tr *tableRun) insert(ctx context.Context, db *duck.DB) error {
	if tr.view == "" {
		return nil
	}
	var cols []string
	for _, c := range tr.t.Columns {
		cols = append(cols, duck.Ident(c.Name))
	}
	for _, e := range tr.extras {
		cols = append(cols, duck.Ident(e.Name))
	}
	q := fmt.Sprintf("INSERT INTO snap.main.%s (%s) SELECT %s FROM %s v WHERE %s",
		duck.Ident(tr.t.Name), strings.Join(cols, ", "), strings.Join(cols, ", "), tr.view, tr.survivors("v"))
	res, err := db.Exec(ctx, q)
	if err != nil {
		return duck.Clean(err)
	}
	tr.loaded, err = res.RowsAffected()
	return err
}

// countBad counts the rows breaking column rules and their violations.
func (tr *tableRun) countBad(ctx context.Context, db *duck.DB) error {
	if tr.view == "" {
		return nil
	}
	var nz []string
	for i := range tr.t.Columns {
		nz = append(nz, fmt.Sprintf("CAST(((%s >> %d) & 3) <> 0 AS INTEGER)", colBad, 2*i))
	}
	q := fmt.Sprintf("SELECT count(*), coalesce(sum(%s), 0) FROM %s WHERE %s <> 0", strings.Join(nz, " + "), tr.view, colBad)
	var viol int64
	if err := db.QueryRow(ctx, q).Scan(&tr.badRows, &viol); err != nil {
		return duck.Clean(err)
	}
	tr.violations += viol + tr.dupRows
	return nil
}

// refFailSQL selects the rows rejected only for references, with per
// reference whether it was found (ok<i>) and whether the referenced key was
// in the source at all (staged<i>; false means it never existed, true that
// its row was rejected).
func (tr *tableRun) refFailSQL(stagedViews map[string]string) string {
	var sel, oks []string
	for i, r := range tr.t.Refs {
		c := duck.Ident(r.Column)
		sel = append(sel, fmt.Sprintf("%s AS ok%d", refCond("v", r), i))
		staged := "false"
		if sv := stagedViews[r.To]; sv != "" {
			staged = fmt.Sprintf("v.%s IN (SELECT %s FROM %s WHERE %s IS NOT NULL)", c, c, sv, c)
		}
		sel = append(sel, fmt.Sprintf("%s AS st%d", staged, i))
		oks = append(oks, fmt.Sprintf("ok%d", i))
	}
	base := fmt.Sprintf("v.%s = 0", colBad)
	if tr.dupRows > 0 {
		base += fmt.Sprintf(" AND NOT EXISTS (SELECT 1 FROM %[1]s d WHERE d.%[2]s = v.%[2]s AND d.%[3]s = v.%[3]s)", tr.dupTable(), colFile, colRow)
	}
	return fmt.Sprintf("SELECT * FROM (SELECT v.%s, v.%s, %s FROM %s v WHERE %s) WHERE NOT (%s)",
		colFile, colRow, strings.Join(sel, ", "), tr.view, base, strings.Join(oks, " AND "))
}

// countRefs counts rows rejected for references and their violations.
func (tr *tableRun) countRefs(ctx context.Context, db *duck.DB, stagedViews map[string]string) error {
	tr.refRows = tr.rows - tr.badRows - tr.dupRows - tr.loaded
	if tr.refRows == 0 || len(tr.t.Refs) == 0 {
		return nil
	}
	var miss, cascade, own []string
	for i := range tr.t.Refs {
		miss = append(miss, fmt.Sprintf("count(*) FILTER (WHERE NOT ok%d)", i))
		cascade = append(cascade, fmt.Sprintf("count(*) FILTER (WHERE NOT ok%[1]d AND st%[1]d)", i))
		own = append(own, fmt.Sprintf("(NOT ok%[1]d AND NOT st%[1]d)", i))
	}
	var viol, cviol, crows int64
	q := fmt.Sprintf("SELECT %s, %s, count(*) FILTER (WHERE NOT (%s)) FROM (%s)",
		strings.Join(miss, " + "), strings.Join(cascade, " + "), strings.Join(own, " OR "), tr.refFailSQL(stagedViews))
	if err := db.QueryRow(ctx, q).Scan(&viol, &cviol, &crows); err != nil {
		return duck.Clean(err)
	}
	tr.violations += viol
	tr.cascadeViols, tr.cascadeRows = cviol, crows
	return nil
}

// entry is one rejected row before its source positions are resolved.
type entry struct {
	f      int
	r      int64
	kind   int // 0 column rules, 1 duplicate, 2 references
	bad    int64
	ff     int
	fr     int64
	ok, st []bool
}

// queryInts runs q (every column castable to BIGINT) and returns its rows
// as int64 tuples, read as Arrow batches.
func queryInts(ctx context.Context, db *duck.DB, q string) ([][]int64, error) {
	var out [][]int64
	err := db.QueryArrow(ctx, q, func(rec arrow.RecordBatch) error {
		n := int(rec.NumRows())
		for i := 0; i < n; i++ {
			row := make([]int64, rec.NumCols())
			for c := range row {
				switch a := rec.Column(c).(type) {
				case *array.Int64:
					row[c] = a.Value(i)
				case *array.Int32:
					row[c] = int64(a.Value(i))
				case *array.Boolean:
					if a.Value(i) {
						row[c] = 1
					}
				default:
					return fmt.Errorf("unexpected column type %s", a.DataType())
				}
			}
			out = append(out, row)
		}
		return nil
	})
	return out, err
}

// listEntries returns up to limit rejected rows (all when limit < 0) of each
// kind, merged in file order.
func (tr *tableRun) listEntries(ctx context.Context, db *duck.DB, limit int, stagedViews map[string]string) ([]entry, error) {
	lim := ""
	if limit >= 0 {
		lim = fmt.Sprintf(" LIMIT %d", limit)
	}
	var out []entry
	if tr.badRows > 0 {
		rows, err := queryInts(ctx, db, fmt.Sprintf("SELECT CAST(%[1]s AS BIGINT), CAST(%[2]s AS BIGINT), CAST(%[3]s AS BIGINT) FROM %[4]s WHERE %[3]s <> 0 ORDER BY 1, 2%[5]s", colFile, colRow, colBad, tr.view, lim))
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out = append(out, entry{f: int(r[0]), r: r[1], kind: 0, bad: r[2]})
		}
	}
	if tr.dupRows > 0 {
		rows, err := queryInts(ctx, db, fmt.Sprintf("SELECT CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(ff AS BIGINT), CAST(fr AS BIGINT) FROM %s ORDER BY 1, 2%s", colFile, colRow, tr.dupTable(), lim))
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out = append(out, entry{f: int(r[0]), r: r[1], kind: 1, ff: int(r[2]), fr: r[3]})
		}
	}
	if tr.refRows > 0 {
		var sel []string
		for i := range tr.t.Refs {
			sel = append(sel, fmt.Sprintf("ok%d", i), fmt.Sprintf("st%d", i))
		}
		rows, err := queryInts(ctx, db, fmt.Sprintf("SELECT CAST(%s AS BIGINT), CAST(%s AS BIGINT), %s FROM (%s) ORDER BY 1, 2%s", colFile, colRow, strings.Join(sel, ", "), tr.refFailSQL(stagedViews), lim))
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			e := entry{f: int(r[0]), r: r[1], kind: 2}
			for i := range tr.t.Refs {
				e.ok = append(e.ok, r[2+2*i] != 0)
				e.st = append(e.st, r[3+2*i] != 0)
			}
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.f != b.f {
			return a.f < b.f
		}
		if a.r != b.r {
			return a.r < b.r
		}
		return a.kind < b.kind
	})
	return out, nil
}

// violations turns entries into violations with their source positions and
// values, keeping at most limit of them (all when limit < 0).
func (tr *tableRun) violationsOf(ctx context.Context, db *duck.DB, entries []entry, limit int) ([]Violation, error) {
	// Expand first, so only the rows actually shown are resolved.
	type item struct {
		e   *entry
		col int // spec column (kind 0) or ref index (kind 2)
	}
	var items []item
	for i := range entries {
		e := &entries[i]
		switch e.kind {
		case 0:
			for c := range tr.t.Columns {
				if (e.bad>>(2*c))&3 != 0 {
					items = append(items, item{e, c})
				}
			}
		case 1:
			items = append(items, item{e, -1})
		case 2:
			for j := range tr.t.Refs {
				if !e.ok[j] {
					items = append(items, item{e, j})
				}
			}
		}
		if limit >= 0 && len(items) >= limit {
			items = items[:limit]
			break
		}
	}
	want := map[int][]int64{}
	for _, it := range items {
		want[it.e.f] = append(want[it.e.f], it.e.r)
		if it.e.kind == 1 {
			want[it.e.ff] = append(want[it.e.ff], it.e.fr)
		}
	}
	raws := map[int]map[int64]rawRow{}
	for f, ords := range want {
		slices.Sort(ords)
		ords = slices.Compact(ords)
		m, err := resolveRows(ctx, db, tr.files[f], ords)
		if err != nil {
			return nil, fmt.Errorf("read %s again to locate invalid rows: %w", tr.files[f].Rel, err)
		}
		raws[f] = m
	}
	out := make([]Violation, 0, len(items))
	for _, it := range items {
		e := it.e
		sf := tr.files[e.f]
		rr, found := raws[e.f][e.r]
		v := Violation{Table: tr.t.Name, File: sf.Rel, Raw: rr.raw, Key: rr.key}
		v.Line, v.Row = position(sf, e.r, rr, found)
		if v.Key != "" {
			v.Row = 0 // the key places the row; its read order means nothing
		}
		field := func(spec int) (string, bool) {
			if !found {
				return "", false
			}
			j := sf.spec[spec]
			return rr.fields[j], rr.nulls[j] && sf.Format != CSV
		}
		switch e.kind {
		case 0:
			c := tr.t.Columns[it.col]
			v.Column = c.Name
			v.Value, v.Null = field(it.col)
			switch (e.bad >> (2 * it.col)) & 3 {
			case codeMissing:
				v.Rule = c.Name + " required"
			case codeType:
				v.Rule = typeRule(c, sf.specCol(it.col).Type)
			case codeCheck:
				for _, chk := range tr.t.Checks {
					if chk.Column == c.Name {
						v.Rule = chk.Rule
					}
				}
			}
		case 1:
			v.Column = strings.Join(tr.t.Key, ", ")
			var vals []string
			for _, k := range tr.t.Key {
				s, _ := field(tr.t.columnIndex(k))
				vals = append(vals, s)
			}
			v.Value = strings.Join(vals, ", ")
			v.Rule = tr.t.keyRule()
			first := tr.files[e.ff]
			frr, ffound := raws[e.ff][e.fr]
			v.DupFile = first.Rel
			v.DupLine, v.DupRow = position(first, e.fr, frr, ffound)
			if v.DupKey = frr.key; v.DupKey != "" {
				v.DupRow = 0
			}
		case 2:
			r := tr.t.Refs[it.col]
			v.Column = r.Column
			v.Value, v.Null = field(tr.t.columnIndex(r.Column))
			v.Rule = fmt.Sprintf("%s in %s", r.Column, r.To)
			if e.st[it.col] {
				v.Rule += fmt.Sprintf(" (its %s row was rejected)", r.To)
				v.Cascade = true
			}
		}
		if sc, ok := sf.Feed.(interface{ SourceColumn(string) string }); ok && !strings.Contains(v.Column, ", ") {
			v.SourceColumn = sc.SourceColumn(v.Column)
		}
		out = append(out, v)
	}
	return out, nil
}

// position is a row's line (text sources, when the re-read found it) or
// 1-based row number.
func position(sf *stagedFile, ord int64, rr rawRow, found bool) (line, row int64) {
	if !sf.Format.typed() && found && rr.line > 0 {
		return rr.line, 0
	}
	return 0, ord + 1
}

func identList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = duck.Ident(n)
	}
	return strings.Join(q, ", ")
}
