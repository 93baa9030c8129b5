package dbsource

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/assign-dev/assign/loaders"
)

// pgDB is a PostgreSQL source: conns[0] holds the snapshot (and runs the
// describing, locating and unsplit reads), the others import it.
type pgDB struct {
	cfg     Config
	conns   []*pgx.Conn
	version int // server_version_num
}

// pgEpoch is 2000-01-01, PostgreSQL's zero for dates and timestamps, in
// days and microseconds since 1970.
const (
	pgEpochDays = 10957
	pgEpochUS   = 946684800 * 1e6
)

// DefaultSplitRows is the estimated size from which a table is read in
// parts: below it one reader keeps up and the split costs more than it saves.
const DefaultSplitRows = 200_000

func pgConnect(ctx context.Context, cfg Config) (*pgx.Conn, error) {
	t := cfg.Target
	pc, err := pgx.ParseConfig(t.Redacted())
	if err != nil {
		return nil, fmt.Errorf("the PostgreSQL source URL is not usable: %s", t.scrub(err.Error()))
	}
	if t.Password != "" {
		pc.Password = t.Password // else what pgx found, e.g. in ~/.pgpass
	}
	if pc.RuntimeParams == nil {
		pc.RuntimeParams = map[string]string{}
	}
	if _, ok := pc.RuntimeParams["application_name"]; !ok {
		pc.RuntimeParams["application_name"] = "assign load"
	}
	pc.RuntimeParams["TimeZone"] = "UTC"
	pc.RuntimeParams["DateStyle"] = "ISO, YMD"
	pc.RuntimeParams["client_encoding"] = "UTF8"
	cctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, pc)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, pgConnectError(t, err, cctx.Err() != nil, cfg.ConnectTimeout)
	}
	return conn, nil
}

// pgConnectError turns a failed connection into one sentence.
func pgConnectError(t *Target, err error, timedOut bool, timeout time.Duration) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28P01":
			return fmt.Errorf("PostgreSQL at %s refused the password of user %s (authentication failed): check the password (URL, --password-file or PGPASSWORD)", t.Address(), t.User)
		case "28000":
			return fmt.Errorf("PostgreSQL at %s does not let user %s in: %s", t.Address(), t.User, t.scrub(pe.Message))
		case "3D000":
			return fmt.Errorf("PostgreSQL at %s has no database %s", t.Address(), t.Database)
		case "53300":
			return fmt.Errorf("PostgreSQL at %s has no free connection slot (%s): lower --parallel or retry later", t.Address(), t.scrub(pe.Message))
		}
		return fmt.Errorf("PostgreSQL at %s refused the connection: %s (SQLSTATE %s)", t.Address(), t.scrub(pe.Message), pe.Code)
	}
	if timedOut {
		return fmt.Errorf("cannot reach PostgreSQL at %s: no answer within %s; check the host, port and firewall", t.Address(), timeout)
	}
	msg := t.scrub(err.Error())
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "connection refused"):
		return fmt.Errorf("cannot reach PostgreSQL at %s: connection refused (is the server running and listening on that port?)", t.Address())
	case strings.Contains(low, "no such host"):
		return fmt.Errorf("cannot reach PostgreSQL at %s: unknown host %s", t.Address(), t.Host)
	case strings.Contains(low, "tls") || strings.Contains(low, "ssl"):
		return fmt.Errorf("cannot connect to PostgreSQL at %s over TLS: %s (see sslmode in the URL)", t.Address(), lastPart(msg))
	}
	return fmt.Errorf("cannot reach PostgreSQL at %s: %s", t.Address(), lastPart(msg))
}

// lastPart drops pgx's "failed to connect to `user=... database=...`: "
// prefixes, which repeat what the message already names.
func lastPart(msg string) string {
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		return msg[i+2:]
	}
	return msg
}

func openPostgres(ctx context.Context, cfg Config) (database, error) {
	conn, err := pgConnect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	d := &pgDB{cfg: cfg, conns: []*pgx.Conn{conn}}
	d.version, _ = strconv.Atoi(conn.PgConn().ParameterStatus("server_version_num"))
	if d.version == 0 {
		var v string
		if err := conn.QueryRow(ctx, "SHOW server_version_num").Scan(&v); err == nil {
			d.version, _ = strconv.Atoi(v)
		}
	}
	return d, nil
}

func (d *pgDB) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range d.conns {
		_, _ = c.Exec(ctx, "ROLLBACK")
		_ = c.Close(ctx)
	}
	d.conns = nil
}

// queryErr explains a failed statement of the source.
func (d *pgDB) queryErr(what string, err error) error {
	t := d.cfg.Target
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "42501":
			return fmt.Errorf("%s: permission denied on PostgreSQL at %s for user %s (%s); grant it SELECT", what, t.Address(), t.User, t.scrub(pe.Message))
		case "57014":
			return fmt.Errorf("%s: PostgreSQL at %s cancelled the statement (%s)", what, t.Address(), t.scrub(pe.Message))
		case "57P01", "57P02", "57P03":
			return fmt.Errorf("%s: lost the connection to PostgreSQL at %s (%s); nothing was loaded", what, t.Address(), t.scrub(pe.Message))
		}
		return fmt.Errorf("%s: PostgreSQL at %s says: %s (SQLSTATE %s)", what, t.Address(), t.scrub(pe.Message), pe.Code)
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) || isConnLost(err) {
		return fmt.Errorf("%s: lost the connection to PostgreSQL at %s (%s); nothing was loaded", what, t.Address(), t.scrub(lastPart(err.Error())))
	}
	return fmt.Errorf("%s: %s", what, t.scrub(err.Error()))
}

func isConnLost(err error) bool {
	low := strings.ToLower(err.Error())
	for _, s := range []string{"eof", "broken pipe", "connection reset", "conn closed", "closed network connection", "connection refused"} {
		if strings.Contains(low, s) {
			return true
		}
	}
	return false
}

func pgClass(typname, typtype string) class {
	if typtype == "e" {
		return clText
	}
	switch typname {
	case "int2", "int4", "int8":
		return clInt
	case "numeric":
		return clDecimal
	case "float4", "float8":
		return clFloat
	case "bool":
		return clBool
	case "date":
		return clDate
	case "timestamp":
		return clDateTime
	case "timestamptz":
		return clZoned
	case "text", "varchar", "bpchar", "name", "citext", "char":
		return clText
	case "bytea":
		return clBinary
	}
	return clOther
}

func (d *pgDB) describe(ctx context.Context, t loaders.Table, tm TableMap, mapped bool) (*tablePlan, error) {
	conn := d.conns[0]
	p := &tablePlan{spec: t}
	var src []srcCol
	var keys []string
	if tm.Query != "" {
		p.query = true
		p.label = "the query of " + t.Name + " in --map"
		p.from = "(" + tm.Query + ") AS q"
		sd, err := conn.PgConn().Prepare(ctx, "", "SELECT * FROM "+p.from, nil)
		if err != nil {
			return nil, d.queryErr("the query of "+t.Name+" in --map fails", err)
		}
		oids := make([]uint32, len(sd.Fields))
		for i, f := range sd.Fields {
			oids[i] = f.DataTypeOID
		}
		types := map[uint32][3]string{}
		rows, err := conn.Query(ctx, `SELECT t.oid, format_type(t.oid, NULL), coalesce(bt.typname, t.typname), t.typtype
			FROM pg_type t LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype WHERE t.oid = ANY($1)`, oids)
		if err != nil {
			return nil, d.queryErr("read the column types of the query of "+t.Name, err)
		}
		for rows.Next() {
			var oid uint32
			var a, b, c string
			if err := rows.Scan(&oid, &a, &b, &c); err != nil {
				rows.Close()
				return nil, d.queryErr("read the column types of the query of "+t.Name, err)
			}
			types[oid] = [3]string{a, b, c}
		}
		rows.Close()
		for _, f := range sd.Fields {
			ty := types[f.DataTypeOID]
			src = append(src, srcCol{Name: f.Name, DBType: ty[0], PGType: ty[1], Class: pgClass(ty[1], ty[2])})
		}
		keys = tm.Key
	} else {
		name := tm.Table
		if name == "" {
			name = t.Name
		}
		p.table = name
		p.label = "source table " + name
		var oid uint32
		var relkind, qname string
		var canSelect bool
		var est float64
		err := conn.QueryRow(ctx, `SELECT c.oid, c.relkind::text, format('%I.%I', n.nspname, c.relname), has_table_privilege(c.oid, 'SELECT'), c.reltuples::float8
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1::text)`, name).Scan(&oid, &relkind, &qname, &canSelect, &est)
		if errors.Is(err, pgx.ErrNoRows) {
			if !t.Required && !mapped {
				return nil, nil
			}
			return nil, fmt.Errorf("PostgreSQL database %s at %s has no table %s for %s%s", d.cfg.Target.Database, d.cfg.Target.Address(), name, t.Name, mapHint(mapped, t.Name))
		}
		if err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && (pe.Code == "42602" || pe.Code == "3F000") { // invalid name, unknown schema
				return nil, fmt.Errorf("PostgreSQL database %s at %s has no table %s for %s%s", d.cfg.Target.Database, d.cfg.Target.Address(), name, t.Name, mapHint(mapped, t.Name))
			}
			return nil, d.queryErr("look up "+p.label, err)
		}
		if !canSelect {
			return nil, fmt.Errorf("permission denied: user %s cannot read %s on PostgreSQL at %s; run GRANT SELECT ON %s TO %s", d.cfg.Target.User, p.label, d.cfg.Target.Address(), qname, d.cfg.Target.User)
		}
		p.from = qname
		p.pgOID = oid
		if relkind != "r" {
			p.pgOID = 0 // views, partitioned tables: no block ranges
		}
		if est > 0 {
			p.est = int64(est)
		}
		rows, err := conn.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), coalesce(bt.typname, t.typname), t.typtype
			FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
			WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, oid)
		if err != nil {
			return nil, d.queryErr("read the columns of "+p.label, err)
		}
		for rows.Next() {
			var c srcCol
			var typtype string
			if err := rows.Scan(&c.Name, &c.DBType, &c.PGType, &typtype); err != nil {
				rows.Close()
				return nil, d.queryErr("read the columns of "+p.label, err)
			}
			c.Class = pgClass(c.PGType, typtype)
			src = append(src, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, d.queryErr("read the columns of "+p.label, err)
		}
		krows, err := conn.Query(ctx, `SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord`, oid)
		if err != nil {
			return nil, d.queryErr("read the primary key of "+p.label, err)
		}
		for krows.Next() {
			var k string
			if err := krows.Scan(&k); err != nil {
				krows.Close()
				return nil, d.queryErr("read the primary key of "+p.label, err)
			}
			keys = append(keys, k)
		}
		krows.Close()
		if len(keys) == 0 && relkind == "r" {
			keys, p.ctid = []string{"ctid"}, true
		}
	}
	if err := planColumns(p, src, tm, keys); err != nil {
		return nil, err
	}
	return p, nil
}

func mapHint(mapped bool, table string) string {
	if mapped {
		return ""
	}
	return fmt.Sprintf(" (map it with [%s] table = \"...\" in --map)", table)
}

func (d *pgDB) begin(ctx context.Context, plans []*tablePlan) error {
	main := d.conns[0]
	if _, err := main.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return d.queryErr("start the snapshot", err)
	}
	split := false
	for _, p := range plans {
		split = split || d.splittable(p)
	}
	if d.cfg.Parallel <= 1 || !split {
		if _, err := main.Exec(ctx, "SELECT 1"); err != nil { // takes the snapshot now
			return d.queryErr("start the snapshot", err)
		}
		return nil
	}
	var snap string
	if err := main.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&snap); err != nil {
		d.cfg.Logger.Info("reading with one connection: the snapshot cannot be shared", "error", d.cfg.Target.scrub(err.Error()))
		// A failed statement aborts the transaction: start it again.
		_, _ = main.Exec(ctx, "ROLLBACK")
		if _, err := main.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
			return d.queryErr("start the snapshot", err)
		}
		_, err := main.Exec(ctx, "SELECT 1")
		if err != nil {
			return d.queryErr("start the snapshot", err)
		}
		return nil
	}
	for i := 1; i < d.cfg.Parallel; i++ {
		c, err := pgConnect(ctx, d.cfg)
		if err != nil {
			return err
		}
		d.conns = append(d.conns, c)
		if _, err := c.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
			return d.queryErr("start the snapshot", err)
		}
		if _, err := c.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+snap+"'"); err != nil {
			return d.queryErr("share the snapshot", err)
		}
	}
	return nil
}

// splittable: a plain table, large enough, on a server with TID range
// scans (14+; before, each part would scan the whole table).
func (d *pgDB) splittable(p *tablePlan) bool {
	return p.pgOID != 0 && p.est >= d.cfg.SplitRows && d.version >= 140000
}

// selectExpr is how a column is read in binary COPY.
func pgSelectExpr(c outCol) string {
	if c.Src.Name == "ctid" && c.Hidden && c.Src.PGType == "tid" {
		return "ctid::text"
	}
	id := pgx.Identifier{c.Src.Name}.Sanitize()
	switch c.Kind {
	case kInt:
		if c.Src.Class == clDecimal {
			return id
		}
		return id + "::int8"
	case kBool:
		if c.Src.Class == clBool {
			return id
		}
		return id + "::int8"
	case kDate, kTimestamp:
		return id
	}
	if c.Src.Class == clDecimal {
		// A decimal read as text (one of its values is not an integer):
		// whole values in integer form, so 14.00 still reads as 14.
		return fmt.Sprintf("CASE WHEN %[1]s = trunc(%[1]s) THEN trunc(%[1]s)::text ELSE %[1]s::text END", id)
	}
	return id + "::text"
}

func (d *pgDB) parts(ctx context.Context, p *tablePlan, cols []outCol, zone *time.Location) ([]producer, error) {
	var sel []string
	for _, c := range cols {
		sel = append(sel, pgSelectExpr(c))
	}
	base := "SELECT " + strings.Join(sel, ", ") + " FROM " + p.from
	var wheres []string
	if len(d.conns) > 1 && d.splittable(p) {
		var blocks int64
		err := d.conns[0].QueryRow(ctx, "SELECT pg_relation_size($1::oid) / current_setting('block_size')::int8", p.pgOID).Scan(&blocks)
		if err != nil {
			return nil, d.queryErr("size "+p.label, err)
		}
		n := int64(len(d.conns))
		if blocks >= 2*n {
			for i := int64(0); i < n; i++ {
				lo, hi := blocks*i/n, blocks*(i+1)/n
				switch {
				case i == 0:
					wheres = append(wheres, fmt.Sprintf(" WHERE ctid < '(%d,0)'::tid", hi))
				case i == n-1:
					// Open-ended: the relation may have grown since it was sized.
					wheres = append(wheres, fmt.Sprintf(" WHERE ctid >= '(%d,0)'::tid", lo))
				default:
					wheres = append(wheres, fmt.Sprintf(" WHERE ctid >= '(%d,0)'::tid AND ctid < '(%d,0)'::tid", lo, hi))
				}
			}
		}
	}
	if len(wheres) == 0 {
		wheres = []string{""}
	}
	var out []producer
	for i, w := range wheres {
		conn := d.conns[i]
		q := "COPY (" + base + w + ") TO STDOUT (FORMAT binary)"
		out = append(out, func(ctx context.Context, emit func(arrow.RecordBatch) error) error {
			s := newSink(cols, zone, p.label, emit)
			defer s.release()
			cp := &pgCopy{s: s, cols: cols, restart: -1}
			_, err := conn.PgConn().CopyTo(ctx, cp, q)
			if cp.err != nil {
				return cp.err
			}
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return d.queryErr("read "+p.label, err)
			}
			if cp.restart >= 0 {
				return &errRestart{col: cp.restart}
			}
			return s.flush()
		})
	}
	return out, nil
}

// pgCopy decodes PostgreSQL's binary COPY stream into the sink. Writes
// carry whole or partial rows; a partial one waits in pending.
type pgCopy struct {
	s       *sink
	cols    []outCol
	pending []byte
	header  bool
	err     error // fatal: stop handing rows over
	restart int   // a column to read as text; the rest of the stream is drained
}

var pgSignature = []byte("PGCOPY\n\xff\r\n\x00")

func (c *pgCopy) Write(p []byte) (int, error) {
	n := len(p)
	if c.err != nil {
		return n, nil
	}
	buf := p
	if len(c.pending) > 0 {
		c.pending = append(c.pending, p...)
		buf = c.pending
	}
	used, err := c.parse(buf)
	if err != nil {
		// Returning an error would drop the connection and its snapshot;
		// keep reading, ignore the rest.
		c.err = err
		c.pending = nil
		return n, nil
	}
	rest := buf[used:]
	if len(c.pending) > 0 {
		c.pending = append(c.pending[:0], rest...)
	} else if len(rest) > 0 {
		c.pending = append([]byte(nil), rest...)
	}
	return n, nil
}

// parse consumes whole rows of buf, returning the bytes used.
func (c *pgCopy) parse(buf []byte) (int, error) {
	pos := 0
	if !c.header {
		if len(buf) < 19 {
			return 0, nil
		}
		if string(buf[:11]) != string(pgSignature) {
			return 0, errors.New("the server's COPY data is not in binary format")
		}
		ext := int(binary.BigEndian.Uint32(buf[15:19]))
		if len(buf) < 19+ext {
			return 0, nil
		}
		pos = 19 + ext
		c.header = true
	}
	ncols := len(c.cols)
	for {
		if len(buf)-pos < 2 {
			return pos, nil
		}
		nf := int16(binary.BigEndian.Uint16(buf[pos:]))
		if nf == -1 {
			return len(buf), nil // trailer
		}
		if int(nf) != ncols {
			return pos, fmt.Errorf("the server's COPY row has %d fields, %d expected", nf, ncols)
		}
		// Is the whole row here?
		end := pos + 2
		for i := 0; i < ncols; i++ {
			if len(buf)-end < 4 {
				return pos, nil
			}
			l := int32(binary.BigEndian.Uint32(buf[end:]))
			end += 4
			if l > 0 {
				end += int(l)
			}
			if end > len(buf) {
				return pos, nil
			}
		}
		if c.restart < 0 {
			if err := c.row(buf[pos+2 : end]); err != nil {
				return pos, err
			}
		}
		pos = end
	}
}

func (c *pgCopy) row(b []byte) error {
	s := c.s
	for i, col := range c.cols {
		l := int32(binary.BigEndian.Uint32(b))
		b = b[4:]
		if l < 0 {
			s.null(i)
			continue
		}
		v := b[:l]
		b = b[l:]
		switch col.Kind {
		case kInt:
			if col.Src.Class == clDecimal {
				n, ok := pgNumericInt(v)
				if !ok {
					c.restart = i
					return nil
				}
				s.int(i, n)
			} else {
				s.int(i, int64(binary.BigEndian.Uint64(v)))
			}
		case kBool:
			if col.Src.Class == clBool {
				s.bool(i, v[0] != 0)
			} else {
				n := int64(binary.BigEndian.Uint64(v))
				if n != 0 && n != 1 {
					c.restart = i
					return nil
				}
				s.bool(i, n == 1)
			}
		case kDate:
			days := int32(binary.BigEndian.Uint32(v))
			if days == math.MaxInt32 || days == math.MinInt32 { // infinity
				c.restart = i
				return nil
			}
			s.date(i, days+pgEpochDays)
		case kTimestamp:
			us := int64(binary.BigEndian.Uint64(v))
			if us == math.MaxInt64 || us == math.MinInt64 {
				c.restart = i
				return nil
			}
			if col.Src.Class == clZoned {
				s.zoned(i, us+pgEpochUS)
			} else {
				s.wall(i, us+pgEpochUS)
			}
		default:
			if err := s.text(i, v); err != nil {
				return err
			}
		}
	}
	if c.restart >= 0 {
		return nil
	}
	return s.row()
}

// pgNumericInt decodes a binary numeric holding an integer that fits int64.
func pgNumericInt(b []byte) (int64, bool) {
	if len(b) < 8 {
		return 0, false
	}
	ndigits := int(binary.BigEndian.Uint16(b))
	weight := int(int16(binary.BigEndian.Uint16(b[2:])))
	sign := binary.BigEndian.Uint16(b[4:])
	if sign != 0x0000 && sign != 0x4000 {
		return 0, false // NaN, infinities
	}
	if len(b) < 8+2*ndigits {
		return 0, false
	}
	var v uint64
	for i := 0; i < ndigits; i++ {
		dg := uint64(binary.BigEndian.Uint16(b[8+2*i:]))
		if i > weight { // a fractional base-10000 digit
			if dg != 0 {
				return 0, false
			}
			continue
		}
		if v > (math.MaxUint64-dg)/10000 {
			return 0, false
		}
		v = v*10000 + dg
	}
	for i := ndigits; i <= weight; i++ { // trailing zero digits are not sent
		if v > math.MaxUint64/10000 {
			return 0, false
		}
		v *= 10000
	}
	if sign == 0x4000 {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

func (d *pgDB) locate(ctx context.Context, p *tablePlan, cols []outCol, rows []loaders.FeedRow) ([]loaders.FeedRaw, error) {
	conn := d.conns[0]
	var sel []string
	for _, c := range cols {
		if c.Hidden && p.ctid {
			sel = append(sel, "ctid::text")
			continue
		}
		sel = append(sel, pgx.Identifier{c.Src.Name}.Sanitize()+"::text")
	}
	keyIdx := keyColumns(cols)
	out := make([]loaders.FeedRaw, 0, len(rows))
	scan := func(q string, args ...any) (map[string][]*string, [][]*string, error) {
		r, err := conn.Query(ctx, q, args...)
		if err != nil {
			return nil, nil, d.queryErr("read "+p.label+" again to locate invalid rows", err)
		}
		defer r.Close()
		byKey := map[string][]*string{}
		var all [][]*string
		for r.Next() {
			raw := r.RawValues()
			vals := make([]*string, len(raw))
			for i, b := range raw {
				if b != nil {
					s := string(b)
					vals[i] = &s
				}
			}
			if len(keyIdx) > 0 {
				byKey[keyOf(vals, keyIdx)] = vals
			} else {
				all = append(all, vals)
			}
		}
		if err := r.Err(); err != nil {
			return nil, nil, d.queryErr("read "+p.label+" again to locate invalid rows", err)
		}
		return byKey, all, nil
	}
	if len(keyIdx) == 0 {
		_, all, err := scan("SELECT " + strings.Join(sel, ", ") + " FROM " + p.from)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			fr := loaders.FeedRaw{Ord: r.Ord}
			if r.Ord >= 0 && r.Ord < int64(len(all)) {
				fillRaw(&fr, p, cols, all[r.Ord], nil)
			}
			out = append(out, fr)
		}
		return out, nil
	}
	// The keys as text arrays, cast back to the key columns' types so the
	// lookup uses the primary key's index.
	arrays := make([][]string, len(keyIdx))
	var conds, unn []string
	for k, ci := range keyIdx {
		for _, r := range rows {
			arrays[k] = append(arrays[k], keyText(r.Key, k))
		}
		col := cols[ci]
		unn = append(unn, fmt.Sprintf("$%d::text[]", k+1))
		if p.ctid {
			conds = append(conds, fmt.Sprintf("t.ctid = u.k%d::tid", k))
		} else {
			conds = append(conds, fmt.Sprintf("t.%s = u.k%d::%s", pgx.Identifier{col.Src.Name}.Sanitize(), k, col.Src.DBType))
		}
	}
	var names []string
	for k := range keyIdx {
		names = append(names, fmt.Sprintf("k%d", k))
	}
	for i := range sel {
		if sel[i] == "ctid::text" {
			sel[i] = "t.ctid::text"
		} else {
			sel[i] = "t." + sel[i]
		}
	}
	args := make([]any, len(arrays))
	for i, a := range arrays {
		args[i] = a
	}
	rel := strings.TrimSuffix(p.from, " AS q")
	q := fmt.Sprintf("SELECT %s FROM %s AS t JOIN unnest(%s) AS u(%s) ON %s", strings.Join(sel, ", "), rel, strings.Join(unn, ", "), strings.Join(names, ", "), strings.Join(conds, " AND "))
	byKey, _, err := scan(q, args...)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		fr := loaders.FeedRaw{Ord: r.Ord}
		want := make([]string, len(keyIdx))
		for k := range keyIdx {
			want[k] = keyText(r.Key, k)
		}
		if vals, ok := byKey[strings.Join(want, "\x00")]; ok {
			fillRaw(&fr, p, cols, vals, keyIdx)
		}
		out = append(out, fr)
	}
	return out, nil
}
