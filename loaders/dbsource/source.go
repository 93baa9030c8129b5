package dbsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/assign-dev/assign/loaders"
)

// Config says what to read and how.
type Config struct {
	Target *Target // password resolved
	Map    Map     // nil: SPEC names throughout
	// Parallel is the number of connections reading at once (>= 1).
	Parallel int
	// Zone is the time zone zoned values (MySQL TIMESTAMP, timestamptz)
	// are read in; nil means UTC.
	Zone *time.Location
	// SplitRows is the estimated size from which a table is read in parts
	// by several connections; 0 means DefaultSplitRows.
	SplitRows int64
	// ConnectTimeout bounds connecting and authenticating.
	ConnectTimeout time.Duration
	Logger         *slog.Logger
}

// DefaultParallel is the default number of reading connections: on the
// 2-core machines assign targets, two readers keep the server, the decoder
// and DuckDB busy without starving any of them.
const DefaultParallel = 2

// tablePlan is how one SPEC table is read.
type tablePlan struct {
	spec  loaders.Table
	label string // "source table rating_events", "source query of requests"
	// table is the source table as mapped (empty for a query); from is the
	// SQL naming it (a quoted table or a parenthesised query with an alias).
	table string
	from  string
	query bool
	cols  []outCol // SPEC columns, kept columns, hidden key columns
	// keyNames are the source columns of the key (PostgreSQL: "ctid" for a
	// table without a primary key); empty: rows are located by ordinal.
	keyNames []string
	ctid     bool
	// order is the ORDER BY of a read (MySQL: the primary key), so the
	// row order is the same on every read.
	order string
	// split is the integer primary key column MySQL ranges are cut on;
	// pgOID the relation PostgreSQL block ranges are cut in.
	split string
	pgOID uint32
	// est is the database's estimate of the row count (0 unknown).
	est int64
}

// database is one of the two servers, connected and inside its snapshot.
type database interface {
	// describe resolves a SPEC table to its source; nil plan and nil error
	// mean an optional table that does not exist.
	describe(ctx context.Context, t loaders.Table, tm TableMap, mapped bool) (*tablePlan, error)
	// begin starts the snapshot on every connection (after describe, so
	// MySQL knows which tables to lock).
	begin(ctx context.Context, plans []*tablePlan) error
	// parts returns one producer per part of the table, each reading
	// cols (a restart may have switched some to text).
	parts(ctx context.Context, p *tablePlan, cols []outCol, zone *time.Location) ([]producer, error)
	locate(ctx context.Context, p *tablePlan, cols []outCol, rows []loaders.FeedRow) ([]loaders.FeedRaw, error)
	close()
}

// Source is an open database source: connected, inside one snapshot, every
// table described. Close it after the load.
type Source struct {
	cfg     Config
	db      database
	Extract *loaders.Extract
	plans   []*tablePlan
}

// Open connects, checks every table and column the load will read, and
// starts the snapshot. Every error is one sentence naming the server, the
// table or the column at fault, without the password.
func Open(ctx context.Context, cfg Config) (*Source, error) {
	if cfg.Parallel <= 0 {
		cfg.Parallel = DefaultParallel
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SplitRows <= 0 {
		cfg.SplitRows = DefaultSplitRows
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 15 * time.Second
	}
	var db database
	var err error
	switch cfg.Target.Kind {
	case MySQL:
		db, err = openMySQL(ctx, cfg)
	default:
		db, err = openPostgres(ctx, cfg)
	}
	if err != nil {
		return nil, err
	}
	s := &Source{cfg: cfg, db: db}
	ok := false
	defer func() {
		if !ok {
			db.close()
		}
	}()
	ex := &loaders.Extract{Dir: cfg.Target.Redacted(), Sources: map[string]*loaders.Source{},
		Meta: map[string]string{"source_url": cfg.Target.Redacted(), "source_kind": string(cfg.Target.Kind)}}
	if cfg.Zone != nil {
		ex.Meta["source_time_zone"] = cfg.Zone.String()
	} else {
		ex.Meta["source_time_zone"] = "UTC"
	}
	for _, t := range loaders.Tables {
		tm, mapped := cfg.Map[t.Name]
		if tm.Absent {
			ex.Notes = append(ex.Notes, fmt.Sprintf("table %s is mapped absent: loaded empty", t.Name))
			continue
		}
		p, err := db.describe(ctx, t, tm, mapped)
		if err != nil {
			return nil, err
		}
		if p == nil {
			ex.Notes = append(ex.Notes, fmt.Sprintf("no source table %s in database %s: table %s is loaded empty (map it with --map, or set absent = true)", t.Name, cfg.Target.Database, t.Name))
			continue
		}
		s.plans = append(s.plans, p)
	}
	if err := db.begin(ctx, s.plans); err != nil {
		return nil, err
	}
	for _, p := range s.plans {
		f := &tableFeed{src: s, plan: p, text: map[int]bool{}}
		name := p.table
		if p.query {
			name = "query"
		}
		ex.Sources[p.spec.Name] = &loaders.Source{Table: p.spec, Name: name,
			Files: []loaders.SourceFile{{Path: cfg.Target.Redacted(), Rel: p.label, Format: loaders.Format(cfg.Target.Kind), Feed: f}}}
	}
	s.Extract = ex
	ok = true
	return s, nil
}

// Close ends the snapshot and disconnects.
func (s *Source) Close() { s.db.close() }

// tableFeed reads one table for the loader (loaders.Feed).
type tableFeed struct {
	src  *Source
	plan *tablePlan
	mu   sync.Mutex
	text map[int]bool // columns switched to text by a restart
}

// columns are the plan's columns with restarted ones read as text.
func (f *tableFeed) columns() []outCol {
	f.mu.Lock()
	defer f.mu.Unlock()
	cols := append([]outCol(nil), f.plan.cols...)
	for i := range cols {
		if f.text[i] {
			cols[i].Kind = kText
		}
	}
	return cols
}

func (f *tableFeed) Read(ctx context.Context) (array.RecordReader, error) {
	cols := f.columns()
	parts, err := f.src.db.parts(ctx, f.plan, cols, f.src.cfg.Zone)
	if err != nil {
		return nil, err
	}
	f.src.cfg.Logger.Debug("reading", "table", f.plan.spec.Name, "source", f.plan.label, "parts", len(parts))
	// A restart request from a producer marks the column before the
	// loader reads the table again.
	wrapped := make([]producer, len(parts))
	for i, p := range parts {
		wrapped[i] = func(ctx context.Context, emit func(arrow.RecordBatch) error) error {
			err := p(ctx, emit)
			var rs *errRestart
			if errors.As(err, &rs) {
				f.mu.Lock()
				f.text[rs.col] = true
				f.mu.Unlock()
				f.src.cfg.Logger.Debug("reading a column as text", "table", f.plan.spec.Name, "column", cols[rs.col].Src.Name)
			}
			return err
		}
	}
	return newMergeReader(ctx, schemaOf(cols), wrapped), nil
}

// SourceColumn is the source column a table column is read from.
func (f *tableFeed) SourceColumn(column string) string {
	for _, c := range f.plan.cols {
		if c.Spec && c.Name == column {
			return c.Src.Name
		}
	}
	return ""
}

func (f *tableFeed) Locate(ctx context.Context, rows []loaders.FeedRow) ([]loaders.FeedRaw, error) {
	return f.src.db.locate(ctx, f.plan, f.columns(), rows)
}

// planColumns builds the output columns of a table from the source's
// columns: SPEC columns by mapping or by name (case-insensitively), kept
// columns, then the hidden key columns.
func planColumns(p *tablePlan, src []srcCol, tm TableMap, keyNames []string) error {
	byName := map[string]int{}
	for i, c := range src {
		byName[strings.ToLower(c.Name)] = i
	}
	var names []string
	for _, c := range src {
		names = append(names, c.Name)
	}
	find := func(name string) (srcCol, bool) {
		i, ok := byName[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			return srcCol{}, false
		}
		return src[i], true
	}
	for _, c := range p.spec.Columns {
		want := c.Name
		if m, ok := tm.Columns[c.Name]; ok {
			want = m
		}
		sc, ok := find(want)
		if !ok {
			how := ""
			if want == c.Name {
				how = fmt.Sprintf("; map the column holding it with columns.%s in --map", c.Name)
			}
			return fmt.Errorf("%s has no column %s for %s.%s (its columns: %s)%s", p.label, want, p.spec.Name, c.Name, strings.Join(names, ", "), how)
		}
		k, ok := kindFor(sc, c.Type)
		if !ok {
			return fmt.Errorf("column %s of %s has type %s, which cannot hold the %s values of %s.%s; map a column (or a query) that holds them", sc.Name, p.label, sc.DBType, typeWords(c.Type), p.spec.Name, c.Name)
		}
		p.cols = append(p.cols, outCol{Name: c.Name, Src: sc, Kind: k, Spec: true})
	}
	for _, name := range tm.Keep {
		sc, ok := find(name)
		if !ok {
			return fmt.Errorf("%s has no column %s to keep (its columns: %s)", p.label, name, strings.Join(names, ", "))
		}
		for _, c := range p.cols {
			if strings.EqualFold(c.Name, sc.Name) || c.Src.Name == sc.Name {
				return fmt.Errorf("column %s of %s is already read for %s.%s: keep lists other columns", sc.Name, p.label, p.spec.Name, c.Name)
			}
		}
		k, ok := keptKind(sc)
		if !ok {
			return fmt.Errorf("column %s of %s has type %s, which assign cannot keep (binary data); drop it from keep", sc.Name, p.label, sc.DBType)
		}
		p.cols = append(p.cols, outCol{Name: sc.Name, Src: sc, Kind: k})
	}
	for i, kn := range keyNames {
		var sc srcCol
		if p.ctid && kn == "ctid" {
			sc = srcCol{Name: "ctid", DBType: "tid", Class: clOther, PGType: "tid"}
		} else {
			var ok bool
			if sc, ok = find(kn); !ok {
				return fmt.Errorf("%s has no column %s for its key (its columns: %s)", p.label, kn, strings.Join(names, ", "))
			}
		}
		p.cols = append(p.cols, outCol{Name: loaders.KeyColumn(i), Src: sc, Kind: keyKind(sc), Hidden: true})
	}
	p.keyNames = keyNames
	return nil
}

// keyLabel is how a message names a row: "primary key id=17" or
// "primary key (user_id, ship_on)=(5, 2026-03-02)".
func keyLabel(p *tablePlan, vals []string) string {
	word := "primary key"
	if p.query {
		word = "key"
	}
	if p.ctid {
		return "row at ctid " + vals[0]
	}
	if len(vals) == 1 {
		return fmt.Sprintf("%s %s=%s", word, p.keyNames[0], vals[0])
	}
	return fmt.Sprintf("%s (%s)=(%s)", word, strings.Join(p.keyNames, ", "), strings.Join(vals, ", "))
}

// keyColumns are the indices of the hidden key columns.
func keyColumns(cols []outCol) []int {
	var out []int
	for i, c := range cols {
		if c.Hidden {
			out = append(out, i)
		}
	}
	return out
}

// keyOf joins a located row's key texts into a map key.
func keyOf(vals []*string, idx []int) string {
	parts := make([]string, len(idx))
	for k, i := range idx {
		if vals[i] != nil {
			parts[k] = *vals[i]
		}
	}
	return strings.Join(parts, "\x00")
}

// keyText is the k-th staged key value as text.
func keyText(key []any, k int) string {
	if k >= len(key) || key[k] == nil {
		return ""
	}
	switch v := key[k].(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	}
	return fmt.Sprint(key[k])
}

// fillRaw sets a located row's fields, raw JSON (source column names) and
// key label.
func fillRaw(fr *loaders.FeedRaw, p *tablePlan, cols []outCol, vals []*string, keyIdx []int) {
	fr.Found = true
	fr.Fields = make([]string, len(cols))
	fr.Nulls = make([]bool, len(cols))
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for i, c := range cols {
		if vals[i] == nil {
			fr.Nulls[i] = true
		} else {
			fr.Fields[i] = *vals[i]
		}
		if c.Hidden {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(c.Src.Name)
		b.Write(k)
		b.WriteByte(':')
		if vals[i] == nil {
			b.WriteString("null")
		} else {
			v, _ := json.Marshal(*vals[i])
			b.Write(v)
		}
	}
	b.WriteByte('}')
	fr.Raw = b.String()
	if len(keyIdx) > 0 {
		kv := make([]string, len(keyIdx))
		for k, i := range keyIdx {
			kv[k] = fr.Fields[i]
		}
		fr.Key = keyLabel(p, kv)
		return
	}
	what := "the table has no primary key"
	if p.query {
		what = "the query has no key in --map"
	}
	fr.Key = fmt.Sprintf("row %d in read order (%s)", fr.Ord+1, what)
}
