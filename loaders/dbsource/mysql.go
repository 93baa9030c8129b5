package dbsource

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/go-sql-driver/mysql"

	"github.com/assign-dev/assign/loaders"
)

// myDB is a MySQL/MariaDB source: conns[0] describes, locates and reads
// unsplit tables; the others read ranges of the same snapshot.
type myDB struct {
	cfg   Config
	db    *sql.DB
	conns []*sql.Conn
}

func init() {
	// The driver prints some failures to stderr itself; assign reports
	// every failure as one sentence of its own.
	_ = mysql.SetLogger(quietLogger{})
}

type quietLogger struct{}

func (quietLogger) Print(...any) {}

func myConfig(cfg Config) *mysql.Config {
	t := cfg.Target
	mc := mysql.NewConfig()
	mc.User, mc.Passwd = t.User, t.Password
	mc.Net, mc.Addr, mc.DBName = "tcp", t.Address(), t.Database
	mc.Timeout = cfg.ConnectTimeout
	mc.InterpolateParams = true // the text protocol for lookups too
	mc.ParseTime = false
	mc.Loc = time.UTC
	// TIMESTAMP columns are sent in UTC; --time-zone is applied in Go.
	mc.Params = map[string]string{"time_zone": "'+00:00'", "net_write_timeout": "600", "net_read_timeout": "600"}
	mc.Collation = "utf8mb4_general_ci"
	return mc
}

func openMySQL(ctx context.Context, cfg Config) (database, error) {
	conn, err := mysql.NewConnector(myConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("the MySQL source URL is not usable: %s", cfg.Target.scrub(err.Error()))
	}
	d := &myDB{cfg: cfg, db: sql.OpenDB(conn)}
	c, err := d.connect(ctx)
	if err != nil {
		d.db.Close()
		return nil, err
	}
	d.conns = []*sql.Conn{c}
	return d, nil
}

func (d *myDB) connect(ctx context.Context) (*sql.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, d.cfg.ConnectTimeout)
	defer cancel()
	c, err := d.db.Conn(cctx)
	if err == nil {
		err = c.PingContext(cctx)
		if err != nil {
			c.Close()
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, myConnectError(d.cfg.Target, err, cctx.Err() != nil, d.cfg.ConnectTimeout)
	}
	return c, nil
}

func myConnectError(t *Target, err error, timedOut bool, timeout time.Duration) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1045:
			return fmt.Errorf("MySQL at %s refused the password of user %s (authentication failed): check the password (URL, --password-file or MYSQL_PWD) and the user's host", t.Address(), t.User)
		case 1049:
			return fmt.Errorf("MySQL at %s has no database %s", t.Address(), t.Database)
		case 1044:
			return fmt.Errorf("MySQL at %s does not let user %s use database %s: it does not exist, or the user has no privilege on it (GRANT SELECT ON %s.* TO '%s')", t.Address(), t.User, t.Database, t.Database, t.User)
		case 1040:
			return fmt.Errorf("MySQL at %s has too many connections: lower --parallel or retry later", t.Address())
		}
		return fmt.Errorf("MySQL at %s refused the connection: %s (error %d)", t.Address(), t.scrub(me.Message), me.Number)
	}
	var ne net.Error
	if timedOut || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("cannot reach MySQL at %s: no answer within %s; check the host, port and firewall", t.Address(), timeout)
	}
	msg := t.scrub(err.Error())
	switch low := strings.ToLower(msg); {
	case strings.Contains(low, "connection refused"):
		return fmt.Errorf("cannot reach MySQL at %s: connection refused (is the server running and listening on that port?)", t.Address())
	case strings.Contains(low, "no such host"):
		return fmt.Errorf("cannot reach MySQL at %s: unknown host %s", t.Address(), t.Host)
	}
	return fmt.Errorf("cannot reach MySQL at %s: %s", t.Address(), lastPart(msg))
}

func (d *myDB) close() {
	for _, c := range d.conns {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = c.ExecContext(ctx, "ROLLBACK")
		cancel()
		c.Close()
	}
	d.conns = nil
	d.db.Close()
}

func (d *myDB) queryErr(what string, err error) error {
	t := d.cfg.Target
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1142, 1143:
			return fmt.Errorf("%s: permission denied on MySQL at %s for user %s (%s); grant it SELECT", what, t.Address(), t.User, t.scrub(me.Message))
		case 1317, 3024, 1969:
			return fmt.Errorf("%s: MySQL at %s interrupted the statement (%s)", what, t.Address(), t.scrub(me.Message))
		case 1927, 1053, 1152, 1158, 1159, 1160, 1161:
			return fmt.Errorf("%s: lost the connection to MySQL at %s (%s); nothing was loaded", what, t.Address(), t.scrub(me.Message))
		}
		return fmt.Errorf("%s: MySQL at %s says: %s (error %d)", what, t.Address(), t.scrub(me.Message), me.Number)
	}
	if errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isConnLost(err) {
		return fmt.Errorf("%s: lost the connection to MySQL at %s; nothing was loaded", what, t.Address())
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return fmt.Errorf("%s: lost the connection to MySQL at %s (%s); nothing was loaded", what, t.Address(), t.scrub(lastPart(err.Error())))
	}
	return fmt.Errorf("%s: %s", what, t.scrub(err.Error()))
}

func myIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// myTableRef quotes "table" or "schema.table".
func myTableRef(name string) (ref, schema, table string) {
	if i := strings.IndexByte(name, '.'); i > 0 {
		schema, table = name[:i], name[i+1:]
		return myIdent(schema) + "." + myIdent(table), schema, table
	}
	return myIdent(name), "", name
}

func myClass(dbType string) class {
	switch dbType {
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "YEAR",
		"UNSIGNED TINYINT", "UNSIGNED SMALLINT", "UNSIGNED MEDIUMINT", "UNSIGNED INT":
		return clInt
	case "UNSIGNED BIGINT":
		return clUint
	case "DECIMAL":
		return clDecimal
	case "FLOAT", "DOUBLE":
		return clFloat
	case "BIT":
		return clBit
	case "DATE":
		return clDate
	case "DATETIME":
		return clDateTime
	case "TIMESTAMP":
		return clZoned
	case "CHAR", "VARCHAR", "TEXT", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT", "ENUM", "SET", "JSON":
		return clText
	case "BINARY", "VARBINARY", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "GEOMETRY", "VECTOR":
		return clBinary
	}
	return clOther
}

func (d *myDB) describe(ctx context.Context, t loaders.Table, tm TableMap, mapped bool) (*tablePlan, error) {
	conn := d.conns[0]
	p := &tablePlan{spec: t}
	var keys []string
	var schema, table string
	if tm.Query != "" {
		p.query = true
		p.label = "the query of " + t.Name + " in --map"
		p.from = "(" + tm.Query + ") AS q"
		keys = tm.Key
	} else {
		name := tm.Table
		if name == "" {
			name = t.Name
		}
		p.table = name
		p.label = "source table " + name
		p.from, schema, table = myTableRef(name)
	}
	rows, err := conn.QueryContext(ctx, "SELECT * FROM "+p.from+" LIMIT 0")
	if err != nil {
		var me *mysql.MySQLError
		if errors.As(err, &me) && me.Number == 1146 && !p.query {
			if !t.Required && !mapped {
				return nil, nil
			}
			return nil, fmt.Errorf("MySQL database %s at %s has no table %s for %s%s", d.cfg.Target.Database, d.cfg.Target.Address(), p.table, t.Name, mapHint(mapped, t.Name))
		}
		if errors.As(err, &me) && (me.Number == 1142 || me.Number == 1143) {
			return nil, fmt.Errorf("permission denied: user %s cannot read %s on MySQL at %s; run GRANT SELECT ON %s.%s TO '%s'", d.cfg.Target.User, p.label, d.cfg.Target.Address(), d.cfg.Target.Database, p.table, d.cfg.Target.User)
		}
		if p.query {
			return nil, d.queryErr("the query of "+t.Name+" in --map fails", err)
		}
		return nil, d.queryErr("look up "+p.label, err)
	}
	types, err := rows.ColumnTypes()
	rows.Close()
	if err != nil {
		return nil, d.queryErr("read the columns of "+p.label, err)
	}
	var src []srcCol
	for _, ct := range types {
		dt := ct.DatabaseTypeName()
		src = append(src, srcCol{Name: ct.Name(), DBType: strings.ToLower(dt), Class: myClass(dt)})
	}
	if !p.query {
		q := `SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
			WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`
		kr, err := conn.QueryContext(ctx, q, schema, table)
		if err != nil {
			return nil, d.queryErr("read the primary key of "+p.label, err)
		}
		for kr.Next() {
			var k string
			if err := kr.Scan(&k); err != nil {
				kr.Close()
				return nil, d.queryErr("read the primary key of "+p.label, err)
			}
			keys = append(keys, k)
		}
		kr.Close()
		var est sql.NullInt64
		_ = conn.QueryRowContext(ctx, `SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_NAME = ?`, schema, table).Scan(&est)
		p.est = est.Int64
		var order []string
		for _, k := range keys {
			order = append(order, myIdent(k))
		}
		if len(order) > 0 {
			p.order = " ORDER BY " + strings.Join(order, ", ")
		}
	}
	if err := planColumns(p, src, tm, keys); err != nil {
		return nil, err
	}
	if !p.query && len(keys) == 1 {
		for _, c := range p.cols {
			if c.Hidden && c.Src.Class == clInt {
				p.split = keys[0]
			}
		}
	}
	return p, nil
}

// begin starts a consistent snapshot on every connection. With several
// connections the tables they read are read-locked while the snapshots
// start, so every connection sees the same state of them (MySQL cannot
// share one snapshot); without the LOCK TABLES privilege one connection
// reads everything.
func (d *myDB) begin(ctx context.Context, plans []*tablePlan) error {
	start := func(c *sql.Conn) error {
		for _, s := range []string{"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"} {
			if _, err := c.ExecContext(ctx, s); err != nil {
				return d.queryErr("start the snapshot", err)
			}
		}
		return nil
	}
	var locks []string
	for _, p := range plans {
		if p.split != "" && p.est >= d.cfg.SplitRows {
			ref, _, _ := myTableRef(p.table)
			locks = append(locks, ref+" READ")
		}
	}
	if d.cfg.Parallel <= 1 || len(locks) == 0 {
		return start(d.conns[0])
	}
	// Every table read on any connection is locked, not only the split
	// ones: the others are read on conns[0], whose snapshot starts under
	// the same lock.
	locks = locks[:0]
	seen := map[string]bool{}
	for _, p := range plans {
		if !p.query && !seen[p.table] {
			seen[p.table] = true
			ref, _, _ := myTableRef(p.table)
			locks = append(locks, ref+" READ")
		}
	}
	lockConn, err := d.connect(ctx)
	if err != nil {
		return err
	}
	defer lockConn.Close()
	if _, err := lockConn.ExecContext(ctx, "SET SESSION lock_wait_timeout = 30"); err != nil {
		return d.queryErr("start the snapshot", err)
	}
	if _, err := lockConn.ExecContext(ctx, "LOCK TABLES "+strings.Join(locks, ", ")); err != nil {
		d.cfg.Logger.Info("reading with one connection: the tables cannot be locked for a shared snapshot", "error", d.cfg.Target.scrub(err.Error()))
		return start(d.conns[0])
	}
	var extra []*sql.Conn
	for i := 1; i < d.cfg.Parallel; i++ {
		c, err := d.connect(ctx)
		if err != nil {
			_, _ = lockConn.ExecContext(context.WithoutCancel(ctx), "UNLOCK TABLES")
			for _, e := range extra {
				e.Close()
			}
			return err
		}
		extra = append(extra, c)
	}
	d.conns = append(d.conns, extra...)
	var serr error
	for _, c := range d.conns {
		if serr = start(c); serr != nil {
			break
		}
	}
	if _, err := lockConn.ExecContext(context.WithoutCancel(ctx), "UNLOCK TABLES"); err != nil && serr == nil {
		serr = d.queryErr("start the snapshot", err)
	}
	return serr
}

func mySelectExpr(c outCol) string {
	return myIdent(c.Src.Name)
}

func (d *myDB) parts(ctx context.Context, p *tablePlan, cols []outCol, zone *time.Location) ([]producer, error) {
	var sel []string
	for _, c := range cols {
		sel = append(sel, mySelectExpr(c))
	}
	base := "SELECT " + strings.Join(sel, ", ") + " FROM " + p.from
	var wheres []string
	if len(d.conns) > 1 && p.split != "" && p.est >= d.cfg.SplitRows {
		var lo, hi sql.NullInt64
		col := myIdent(p.split)
		if err := d.conns[0].QueryRowContext(ctx, "SELECT MIN("+col+"), MAX("+col+") FROM "+p.from).Scan(&lo, &hi); err != nil {
			return nil, d.queryErr("size "+p.label, err)
		}
		n := int64(len(d.conns))
		if lo.Valid && hi.Valid && hi.Int64-lo.Int64 >= n {
			span := uint64(hi.Int64-lo.Int64) + 1
			for i := int64(1); i <= n; i++ {
				var w []string
				if i > 1 {
					w = append(w, fmt.Sprintf("%s >= %d", col, lo.Int64+int64(span*uint64(i-1)/uint64(n))))
				}
				if i < n {
					w = append(w, fmt.Sprintf("%s < %d", col, lo.Int64+int64(span*uint64(i)/uint64(n))))
				}
				wheres = append(wheres, " WHERE "+strings.Join(w, " AND "))
			}
		}
	}
	if len(wheres) == 0 {
		wheres = []string{""}
	}
	var out []producer
	for i, w := range wheres {
		conn := d.conns[i]
		q := base + w + p.order
		out = append(out, func(ctx context.Context, emit func(arrow.RecordBatch) error) error {
			s := newSink(cols, zone, p.label, emit)
			defer s.release()
			restart := -1
			var fatal error
			err := conn.Raw(func(dc any) error {
				rows, err := dc.(driver.QueryerContext).QueryContext(ctx, q, nil)
				if err != nil {
					return err
				}
				defer rows.Close()
				dest := make([]driver.Value, len(cols))
				for {
					if err := rows.Next(dest); err != nil {
						if errors.Is(err, io.EOF) {
							return nil
						}
						return err
					}
					if restart >= 0 || fatal != nil {
						continue // drain: an error would drop the connection and its snapshot
					}
					col, err := myRow(s, cols, dest)
					if err != nil {
						fatal = err
						continue
					}
					if col >= 0 {
						restart = col
						continue
					}
					if err := s.row(); err != nil {
						return err
					}
				}
			})
			if fatal != nil {
				return fatal
			}
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return d.queryErr("read "+p.label, err)
			}
			if restart >= 0 {
				return &errRestart{col: restart}
			}
			return s.flush()
		})
	}
	return out, nil
}

// myRow appends one text-protocol row; it returns the index of a column
// whose value does not fit its kind (the row is then incomplete and the
// table is read again), or -1.
func myRow(s *sink, cols []outCol, dest []driver.Value) (int, error) {
	for i, col := range cols {
		v := dest[i]
		if v == nil {
			s.null(i)
			continue
		}
		switch col.Kind {
		case kInt:
			switch x := v.(type) {
			case int64:
				s.int(i, x)
			case uint64:
				if x > 1<<63-1 {
					return i, nil
				}
				s.int(i, int64(x))
			case []byte:
				n, ok := parseDecimalInt(x)
				if !ok {
					return i, nil
				}
				s.int(i, n)
			default:
				return i, nil
			}
		case kBool:
			var n uint64
			switch x := v.(type) {
			case int64:
				if x < 0 {
					return i, nil
				}
				n = uint64(x)
			case uint64:
				n = x
			case []byte: // BIT(n): big-endian bytes
				for _, c := range x {
					n = n<<8 | uint64(c)
				}
			default:
				return i, nil
			}
			if n > 1 {
				return i, nil
			}
			s.bool(i, n == 1)
		case kDate:
			b, _ := v.([]byte)
			days, ok := parseDate(b)
			if !ok || days < -1<<31 || days > 1<<31-1 {
				return i, nil
			}
			s.date(i, int32(days))
		case kTimestamp:
			b, _ := v.([]byte)
			us, ok := parseDateTime(b)
			if !ok {
				return i, nil
			}
			if col.Src.Class == clZoned {
				s.zoned(i, us)
			} else {
				s.wall(i, us)
			}
		default:
			switch x := v.(type) {
			case []byte:
				if col.Src.Class == clDecimal {
					// Read as text because a value is not an integer:
					// whole values in integer form, so 14.00 reads as 14.
					if n, ok := parseDecimalInt(x); ok {
						s.textString(i, strconv.FormatInt(n, 10))
						continue
					}
				}
				if err := s.text(i, x); err != nil {
					return -1, err
				}
			case int64:
				s.textString(i, strconv.FormatInt(x, 10))
			case uint64:
				s.textString(i, strconv.FormatUint(x, 10))
			case float64:
				s.textString(i, strconv.FormatFloat(x, 'g', -1, 64))
			case float32:
				s.textString(i, strconv.FormatFloat(float64(x), 'g', -1, 32))
			case time.Time:
				s.textString(i, x.Format("2006-01-02 15:04:05.999999"))
			default:
				s.textString(i, fmt.Sprint(x))
			}
		}
	}
	return -1, nil
}

func (d *myDB) locate(ctx context.Context, p *tablePlan, cols []outCol, rows []loaders.FeedRow) ([]loaders.FeedRaw, error) {
	conn := d.conns[0]
	var sel []string
	for _, c := range cols {
		sel = append(sel, "t."+myIdent(c.Src.Name))
	}
	keyIdx := keyColumns(cols)
	rel := strings.TrimSuffix(p.from, " AS q")
	text := func(v any) *string {
		var s string
		switch x := v.(type) {
		case nil:
			return nil
		case []byte:
			s = string(x)
		case string:
			s = x
		case int64:
			s = strconv.FormatInt(x, 10)
		case uint64:
			s = strconv.FormatUint(x, 10)
		case float64:
			s = strconv.FormatFloat(x, 'g', -1, 64)
		case float32:
			s = strconv.FormatFloat(float64(x), 'g', -1, 32)
		default:
			s = fmt.Sprint(x)
		}
		return &s
	}
	scan := func(q string, args ...any) ([][]*string, error) {
		r, err := conn.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, d.queryErr("read "+p.label+" again to locate invalid rows", err)
		}
		defer r.Close()
		var out [][]*string
		raw := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		for r.Next() {
			if err := r.Scan(ptrs...); err != nil {
				return nil, d.queryErr("read "+p.label+" again to locate invalid rows", err)
			}
			vals := make([]*string, len(cols))
			for i, v := range raw {
				vals[i] = text(v)
			}
			out = append(out, vals)
		}
		if err := r.Err(); err != nil {
			return nil, d.queryErr("read "+p.label+" again to locate invalid rows", err)
		}
		return out, nil
	}
	out := make([]loaders.FeedRaw, 0, len(rows))
	if len(keyIdx) == 0 {
		all, err := scan("SELECT " + strings.Join(sel, ", ") + " FROM " + rel + " AS t" + p.order)
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
	byKey := map[string][]*string{}
	const chunk = 500
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		var tuples []string
		var args []any
		for _, r := range part {
			ph := make([]string, len(keyIdx))
			for k := range keyIdx {
				ph[k] = "?"
				args = append(args, keyText(r.Key, k))
			}
			tuples = append(tuples, "("+strings.Join(ph, ", ")+")")
		}
		var kc []string
		for _, i := range keyIdx {
			kc = append(kc, "t."+myIdent(cols[i].Src.Name))
		}
		q := fmt.Sprintf("SELECT %s FROM %s AS t WHERE (%s) IN (%s)", strings.Join(sel, ", "), rel, strings.Join(kc, ", "), strings.Join(tuples, ", "))
		got, err := scan(q, args...)
		if err != nil {
			return nil, err
		}
		for _, vals := range got {
			byKey[keyOf(vals, keyIdx)] = vals
		}
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
