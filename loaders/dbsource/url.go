// Package dbsource reads the extract tables straight from a MySQL/MariaDB
// or PostgreSQL database, inside one consistent snapshot, and hands them to
// the loader as Arrow record batches (loaders.Feed), so they go through the
// same rules, reject file and atomic publication as files.
//
// Reading: one read-only REPEATABLE READ transaction per connection, every
// connection on the same snapshot (PostgreSQL: pg_export_snapshot; MySQL:
// the tables read-locked for the instant the connections start their
// consistent snapshots). Large tables are read by several connections in
// ranges (PostgreSQL: block ranges of the heap, TID range scans; MySQL:
// ranges of an integer primary key), merged in a fixed order so the staged
// row order is the same on every load of the same data. PostgreSQL rows
// come as binary COPY, MySQL rows over the text protocol; both are decoded
// in Go straight into Arrow builders.
package dbsource

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Kind is the database flavour of a source URL.
type Kind string

// The supported databases.
const (
	MySQL    Kind = "mysql"
	Postgres Kind = "postgres"
)

// Title is the product name used in messages.
func (k Kind) Title() string {
	if k == MySQL {
		return "MySQL/MariaDB"
	}
	return "PostgreSQL"
}

// Target is a parsed source URL. Password never leaves this struct except
// into the driver's configuration.
type Target struct {
	Kind     Kind
	User     string
	Password string
	Host     string
	Port     int
	Database string
	Params   url.Values
}

// IsURL reports whether a load argument names a database rather than a
// folder.
func IsURL(arg string) bool {
	low := strings.ToLower(arg)
	for _, p := range []string{"mysql://", "mariadb://", "postgres://", "postgresql://"} {
		if strings.HasPrefix(low, p) {
			return true
		}
	}
	return false
}

// ParseURL parses mysql://USER[:PASS]@HOST[:PORT]/DB or
// postgres[ql]://USER[:PASS]@HOST[:PORT]/DB[?sslmode=...]. Errors never
// repeat the URL (it may hold a password).
func ParseURL(s string) (*Target, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url's error quotes the whole URL, password included.
		return nil, errors.New("the source URL cannot be parsed: write it as mysql://USER@HOST[:PORT]/DB or postgres://USER@HOST[:PORT]/DB (percent-encode special characters)")
	}
	t := &Target{Params: u.Query()}
	switch strings.ToLower(u.Scheme) {
	case "mysql", "mariadb":
		t.Kind, t.Port = MySQL, 3306
	case "postgres", "postgresql":
		t.Kind, t.Port = Postgres, 5432
	default:
		return nil, fmt.Errorf("source URL scheme %q is not supported: use mysql:// or postgres://", u.Scheme)
	}
	if u.User != nil {
		t.User = u.User.Username()
		t.Password, _ = u.User.Password()
	}
	if t.User == "" {
		return nil, fmt.Errorf("the source URL names no user: write %s://USER@HOST/DB", u.Scheme)
	}
	host := u.Host
	if host == "" {
		return nil, fmt.Errorf("the source URL names no host: write %s://USER@HOST/DB", u.Scheme)
	}
	if h, p, err := net.SplitHostPort(host); err == nil {
		n, perr := strconv.Atoi(p)
		if perr != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("the source URL's port %q is not a port number", p)
		}
		t.Host, t.Port = h, n
	} else {
		t.Host = strings.Trim(host, "[]")
	}
	t.Database = strings.TrimPrefix(u.Path, "/")
	if t.Database == "" || strings.Contains(t.Database, "/") {
		return nil, fmt.Errorf("the source URL names no database: write %s://USER@HOST[:PORT]/DB", u.Scheme)
	}
	if t.Kind == MySQL {
		for k := range t.Params {
			return nil, fmt.Errorf("the MySQL source URL takes no parameters (%s): assign sets what it needs", k)
		}
	} else {
		for k := range t.Params {
			switch k {
			case "sslmode", "sslrootcert", "sslcert", "sslkey", "sslsni", "connect_timeout", "application_name", "target_session_attrs":
			default:
				return nil, fmt.Errorf("the PostgreSQL source URL parameter %s is not supported (use sslmode, sslrootcert, sslcert, sslkey, sslsni, connect_timeout, application_name or target_session_attrs)", k)
			}
		}
	}
	return t, nil
}

// Address is host:port as dialled.
func (t *Target) Address() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// Redacted is the URL without its password, for messages, logs and the
// snapshot's metadata.
func (t *Target) Redacted() string {
	u := url.URL{Scheme: string(t.Kind), User: url.User(t.User), Host: t.Address(), Path: "/" + t.Database}
	if t.Kind == MySQL {
		u.Scheme = "mysql"
	}
	if len(t.Params) > 0 {
		u.RawQuery = t.Params.Encode()
	}
	return u.String()
}

// ResolvePassword settles where the password comes from: the URL, then
// --password-file, then MYSQL_PWD or PGPASSWORD. Giving it in both the URL
// and a file is an error (which one was meant?). No password at all is
// allowed (trust or socket-less setups); the server then says whether it
// wants one.
func (t *Target) ResolvePassword(passwordFile string, getenv func(string) string) error {
	if passwordFile != "" {
		if t.Password != "" {
			return errors.New("the password is given both in the URL and by --password-file: keep one (the file keeps it out of ps and shell history)")
		}
		b, err := os.ReadFile(passwordFile)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return fmt.Errorf("cannot read --password-file %s: %v", passwordFile, err)
		}
		pw := strings.TrimRight(string(b), "\r\n")
		if strings.ContainsAny(pw, "\r\n") {
			return fmt.Errorf("--password-file %s holds more than one line: it must hold the password alone", passwordFile)
		}
		t.Password = pw
		return nil
	}
	if t.Password != "" {
		return nil
	}
	env := "PGPASSWORD"
	if t.Kind == MySQL {
		env = "MYSQL_PWD"
	}
	t.Password = getenv(env)
	return nil
}

// scrub removes the password from a driver message, in case a driver ever
// quotes it back.
func (t *Target) scrub(msg string) string {
	if t.Password == "" || len(t.Password) < 3 {
		return msg
	}
	return strings.ReplaceAll(msg, t.Password, "********")
}
