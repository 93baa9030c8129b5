package dbtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// Table is one table of a test schema: its DDL and the columns its CSV
// file fills (the CSV header order).
type Table struct {
	Name string // SPEC table whose CSV file fills it
	As   string // the table's name in the database (default Name)
	DDL  string // CREATE TABLE ... with {t} for the name
	// Load is the column list of the bulk load; MariaDB may use @vars and
	// a SET clause (LoadSet).
	Load    string
	LoadSet string
}

func (t Table) name() string {
	if t.As != "" {
		return t.As
	}
	return t.Name
}

// PostgresSchema is the SPEC schema as an operations database would hold
// it in PostgreSQL: natural primary keys, surrogate ids where the SPEC has
// no key, timestamptz for requests.
var PostgresSchema = []Table{
	{Name: "snacks", DDL: "CREATE TABLE {t} (snack_id bigint PRIMARY KEY, name text NOT NULL, category varchar(40), launched_on date, active boolean)"},
	{Name: "snack_tags", DDL: "CREATE TABLE {t} (snack_id bigint, tag text, PRIMARY KEY (snack_id, tag))"},
	{Name: "users", DDL: "CREATE TABLE {t} (user_id bigint PRIMARY KEY, status varchar(12), box_size smallint, cadence_days integer, next_ship_on date)"},
	{Name: "skips", DDL: "CREATE TABLE {t} (user_id bigint, ship_on date, PRIMARY KEY (user_id, ship_on))"},
	{Name: "user_ng", DDL: "CREATE TABLE {t} (user_id bigint, tag text, PRIMARY KEY (user_id, tag))"},
	{Name: "user_prefs", DDL: "CREATE TABLE {t} (user_id bigint, category text, weight smallint, PRIMARY KEY (user_id, category))"},
	{Name: "deliveries", DDL: "CREATE TABLE {t} (id bigserial PRIMARY KEY, user_id bigint, snack_id bigint, shipped_on date)", Load: "user_id, snack_id, shipped_on"},
	{Name: "ratings", DDL: "CREATE TABLE {t} (id bigserial PRIMARY KEY, user_id bigint, snack_id integer, rating smallint, rated_at timestamp)", Load: "user_id, snack_id, rating, rated_at"},
	{Name: "requests", DDL: "CREATE TABLE {t} (id bigserial PRIMARY KEY, user_id bigint, snack_id bigint, requested_at timestamptz)", Load: "user_id, snack_id, requested_at"},
	{Name: "stock", DDL: "CREATE TABLE {t} (snack_id bigint, lot_id varchar(20), quantity integer, best_before date, PRIMARY KEY (snack_id, lot_id))"},
}

// MariaDBSchema is the same for MariaDB: BOOLEAN (TINYINT(1)), ENUM,
// utf8mb4, DATETIME and TIMESTAMP.
var MariaDBSchema = []Table{
	{Name: "snacks", DDL: "CREATE TABLE {t} (snack_id BIGINT PRIMARY KEY, name VARCHAR(200) NOT NULL, category VARCHAR(40), launched_on DATE, active BOOLEAN) CHARACTER SET utf8mb4",
		Load: "snack_id, name, category, launched_on, @active", LoadSet: "active = (@active = 'true')"},
	{Name: "snack_tags", DDL: "CREATE TABLE {t} (snack_id BIGINT, tag VARCHAR(60), PRIMARY KEY (snack_id, tag)) CHARACTER SET utf8mb4"},
	{Name: "users", DDL: "CREATE TABLE {t} (user_id BIGINT PRIMARY KEY, status ENUM('active','paused','cancelled'), box_size TINYINT, cadence_days INT, next_ship_on DATE)"},
	{Name: "skips", DDL: "CREATE TABLE {t} (user_id BIGINT, ship_on DATE, PRIMARY KEY (user_id, ship_on))"},
	{Name: "user_ng", DDL: "CREATE TABLE {t} (user_id BIGINT, tag VARCHAR(60), PRIMARY KEY (user_id, tag)) CHARACTER SET utf8mb4"},
	{Name: "user_prefs", DDL: "CREATE TABLE {t} (user_id BIGINT, category VARCHAR(40), weight SMALLINT, PRIMARY KEY (user_id, category)) CHARACTER SET utf8mb4"},
	{Name: "deliveries", DDL: "CREATE TABLE {t} (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id BIGINT, snack_id BIGINT, shipped_on DATE)", Load: "user_id, snack_id, shipped_on"},
	{Name: "ratings", DDL: "CREATE TABLE {t} (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id BIGINT, snack_id INT, rating TINYINT, rated_at TIMESTAMP NULL)", Load: "user_id, snack_id, rating, rated_at"},
	{Name: "requests", DDL: "CREATE TABLE {t} (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id BIGINT, snack_id BIGINT, requested_at DATETIME(6))", Load: "user_id, snack_id, requested_at"},
	{Name: "stock", DDL: "CREATE TABLE {t} (snack_id BIGINT, lot_id VARCHAR(20), quantity INT, best_before DATE, PRIMARY KEY (snack_id, lot_id)) CHARACTER SET utf8mb4"},
}

// CreatePostgresDB creates database db (dropping one of that name).
func (s *Server) CreatePostgresDB(ctx context.Context, db string) error {
	c, err := s.Postgres(ctx, "postgres")
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
		return err
	}
	_, err = c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize())
	return err
}

// ImportPostgres creates the tables of schema in database db and fills
// each from dir/<Name>.csv with COPY FROM STDIN (PostgreSQL's bulk load).
func (s *Server) ImportPostgres(ctx context.Context, db, dir string, schema []Table) error {
	c, err := s.Postgres(ctx, db)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	for _, t := range schema {
		name := pgx.Identifier{t.name()}.Sanitize()
		if _, err := c.Exec(ctx, strings.ReplaceAll(t.DDL, "{t}", name)); err != nil {
			return fmt.Errorf("%s: %w", t.name(), err)
		}
		path := filepath.Join(dir, t.Name+".csv")
		f, err := os.Open(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		cols := ""
		if t.Load != "" {
			cols = " (" + t.Load + ")"
		}
		_, err = c.PgConn().CopyFrom(ctx, f, fmt.Sprintf("COPY %s%s FROM STDIN (FORMAT csv, HEADER true)", name, cols))
		f.Close()
		if err != nil {
			return fmt.Errorf("copy %s: %w", t.name(), err)
		}
	}
	_, err = c.Exec(ctx, "ANALYZE")
	return err
}

// CreateMariaDB creates database db (dropping one of that name).
func (s *Server) CreateMariaDB(ctx context.Context, db string) error {
	h, err := s.MySQL("")
	if err != nil {
		return err
	}
	defer h.Close()
	_, err = h.ExecContext(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS `%s`; CREATE DATABASE `%s` CHARACTER SET utf8mb4", db, db))
	return err
}

// ImportMariaDB creates the tables of schema in database db and fills each
// from dir/<Name>.csv with LOAD DATA LOCAL INFILE (MariaDB's bulk load).
func (s *Server) ImportMariaDB(ctx context.Context, db, dir string, schema []Table) error {
	h, err := s.MySQL(db)
	if err != nil {
		return err
	}
	defer h.Close()
	for _, t := range schema {
		name := "`" + t.name() + "`"
		if _, err := h.ExecContext(ctx, strings.ReplaceAll(t.DDL, "{t}", name)); err != nil {
			return fmt.Errorf("%s: %w", t.name(), err)
		}
		path := filepath.Join(dir, t.Name+".csv")
		if _, err := os.Stat(path); os.IsNotExist(err) {
			continue
		}
		mysql.RegisterLocalFile(path)
		q := fmt.Sprintf("LOAD DATA LOCAL INFILE '%s' INTO TABLE %s CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES", path, name)
		if t.Load != "" {
			q += " (" + t.Load + ")"
		}
		if t.LoadSet != "" {
			q += " SET " + t.LoadSet
		}
		if _, err := h.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("load %s: %w", t.name(), err)
		}
	}
	_, err = h.ExecContext(ctx, "ANALYZE TABLE "+tableList(schema))
	return err
}

func tableList(schema []Table) string {
	var n []string
	for _, t := range schema {
		n = append(n, "`"+t.name()+"`")
	}
	return strings.Join(n, ", ")
}

// Exec runs statements on database db as the superuser.
func (s *Server) Exec(ctx context.Context, db string, stmts ...string) error {
	switch s.Kind {
	case "postgres":
		c, err := s.Postgres(ctx, db)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		for _, q := range stmts {
			if _, err := c.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	}
	h, err := s.MySQL(db)
	if err != nil {
		return err
	}
	defer h.Close()
	for _, q := range stmts {
		if _, err := h.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// QueryInt runs a query returning one integer as the superuser (0 when it
// returns no row or fails).
func (s *Server) QueryInt(ctx context.Context, q string) int64 { return s.QueryIntIn(ctx, "", q) }

// QueryIntIn is QueryInt in database db.
func (s *Server) QueryIntIn(ctx context.Context, db, q string) int64 {
	var n int64
	if s.Kind == "postgres" {
		if db == "" {
			db = "postgres"
		}
		c, err := s.Postgres(ctx, db)
		if err != nil {
			return 0
		}
		defer c.Close(ctx)
		_ = c.QueryRow(ctx, q).Scan(&n)
		return n
	}
	h, err := s.MySQL(db)
	if err != nil {
		return 0
	}
	defer h.Close()
	_ = h.QueryRowContext(ctx, q).Scan(&n)
	return n
}

// WriteLoop commits transactions of stmts on database db until stop is
// closed, counting the commits.
func (s *Server) WriteLoop(ctx context.Context, db string, stmts []string, stop <-chan struct{}, commits *atomic.Int64) error {
	if s.Kind == "postgres" {
		c, err := s.Postgres(ctx, db)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		for {
			select {
			case <-stop:
				return nil
			default:
			}
			tx, err := c.Begin(ctx)
			if err != nil {
				return err
			}
			for _, q := range stmts {
				if _, err := tx.Exec(ctx, q); err != nil {
					tx.Rollback(ctx)
					return fmt.Errorf("%s: %w", q, err)
				}
			}
			if err := tx.Commit(ctx); err != nil {
				return err
			}
			commits.Add(1)
		}
	}
	h, err := s.MySQL(db)
	if err != nil {
		return err
	}
	defer h.Close()
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		tx, err := h.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				tx.Rollback()
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		commits.Add(1)
	}
}
