// Package dbtest starts throwaway MariaDB and PostgreSQL servers for tests:
// each on 127.0.0.1 on a free port, with a data folder under the system's
// temporary folder, run as an unprivileged user when the tests run as root
// (PostgreSQL refuses root), and stopped by Stop.
//
// A test asking for a server whose binaries are missing is skipped with a
// message naming the package to install, unless ASSIGN_REQUIRE_DB is set
// (CI sets it), when it fails instead.
package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// Server is a running database server.
type Server struct {
	Kind  string // "mysql" or "postgres"
	Port  int
	Dir   string
	Admin string // superuser
	// AdminPassword is the superuser's password (PostgreSQL; MariaDB's root
	// logs in over the socket without one).
	AdminPassword string
	Socket        string
	cmd           *exec.Cmd
	done          chan struct{}
	err           error
}

var (
	mu      sync.Mutex
	servers = map[string]*Server{}
	failed  = map[string]error{}
)

// Required reports whether a missing server fails the tests.
func Required() bool { return os.Getenv("ASSIGN_REQUIRE_DB") != "" }

func need(tb testing.TB, what, pkg string) {
	tb.Helper()
	if Required() {
		tb.Fatalf("%s is not installed and ASSIGN_REQUIRE_DB is set: apt-get install -y %s", what, pkg)
	}
	tb.Skipf("%s is not installed: apt-get install -y %s (set ASSIGN_REQUIRE_DB=1 to fail instead of skipping)", what, pkg)
}

// Postgres returns the package's PostgreSQL server, starting it on first use.
func Postgres(tb testing.TB) *Server {
	tb.Helper()
	bin := pgBin()
	if bin == "" {
		need(tb, "PostgreSQL", "postgresql")
	}
	return get(tb, "postgres", func() (*Server, error) { return startPostgres(bin, "128MB") })
}

// StartPostgres starts a PostgreSQL server outside a test (the benchmark)
// with shared_buffers of the given size; Close stops it.
func StartPostgres(sharedBuffers string) (*Server, error) {
	bin := pgBin()
	if bin == "" {
		return nil, errors.New("PostgreSQL is not installed: apt-get install -y postgresql")
	}
	return startPostgres(bin, sharedBuffers)
}

// StartMariaDB starts a MariaDB server outside a test (the benchmark) with
// an InnoDB buffer pool of the given size; Close stops it.
func StartMariaDB(bufferPool string) (*Server, error) {
	if _, err := exec.LookPath("mariadbd"); err != nil {
		if _, err := os.Stat("/usr/sbin/mariadbd"); err != nil {
			return nil, errors.New("MariaDB is not installed: apt-get install -y mariadb-server")
		}
	}
	return startMariaDB(bufferPool)
}

// Close stops a server started with StartPostgres or StartMariaDB and
// removes its data folder.
func (s *Server) Close() { s.stop() }

// MariaDB returns the package's MariaDB server, starting it on first use.
func MariaDB(tb testing.TB) *Server {
	tb.Helper()
	if _, err := exec.LookPath("mariadbd"); err != nil {
		if _, err := os.Stat("/usr/sbin/mariadbd"); err != nil {
			need(tb, "MariaDB", "mariadb-server")
		}
	}
	return get(tb, "mysql", func() (*Server, error) { return startMariaDB("256M") })
}

func get(tb testing.TB, kind string, start func() (*Server, error)) *Server {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if s := servers[kind]; s != nil {
		return s
	}
	if err := failed[kind]; err != nil {
		tb.Fatalf("%s did not start earlier: %v", kind, err)
	}
	s, err := start()
	if err != nil {
		failed[kind] = err
		tb.Fatalf("start %s: %v", kind, err)
	}
	servers[kind] = s
	return s
}

// Stop stops every server started and removes its data folder. Call it
// from TestMain after m.Run.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	for k, s := range servers {
		s.stop()
		delete(servers, k)
	}
}

func pgBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// runAs is the user servers run as: nobody when the tests run as root.
func runAs() (*user.User, bool) {
	if os.Geteuid() != 0 {
		return nil, false
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, false
	}
	return u, true
}

// command builds a server command, as the unprivileged user when root.
func command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	if u, ok := runAs(); ok {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, Setpgid: true}
		cmd.Env = append(os.Environ(), "HOME="+os.TempDir())
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	return cmd
}

// dataDir makes a folder the server's user owns.
func dataDir(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	if u, ok := runAs(); ok {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func (s *Server) start(cmd *exec.Cmd, logPath string) error {
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() {
		s.err = cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	return nil
}

// stop ends the server (its process group: the server and its workers)
// and removes the data folder.
func (s *Server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	}
	os.RemoveAll(s.Dir)
}

// Kill stops the server abruptly (SIGKILL): a lost connection for the
// clients. The server cannot be used afterwards.
func (s *Server) Kill() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	mu.Lock()
	for k, v := range servers {
		if v == s {
			delete(servers, k)
			failed[k] = errors.New("killed by a test")
		}
	}
	mu.Unlock()
	os.RemoveAll(s.Dir)
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "server.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

func run(cmd *exec.Cmd) error {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return nil
}

func startPostgres(bin, sharedBuffers string) (*Server, error) {
	dir, err := dataDir("assign-pg-")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Kind: "postgres", Port: port, Dir: dir, Admin: "postgres", AdminPassword: "admin-pw", Socket: dir}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(s.AdminPassword+"\n"), 0o644); err != nil {
		return nil, err
	}
	initdb := command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres", "--pwfile", pw,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
	if err := run(initdb); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := command(filepath.Join(bin, "postgres"), "-D", filepath.Join(dir, "data"), "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=40", "-c", "shared_buffers="+sharedBuffers, "-c", "max_wal_size=4GB", "-c", "log_min_messages=warning")
	if err := s.start(cmd, filepath.Join(dir, "server.log")); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		db, err := s.Postgres(context.Background(), "postgres")
		if err == nil {
			db.Close(context.Background())
			return s, nil
		}
		select {
		case <-s.done:
			defer os.RemoveAll(dir)
			return nil, fmt.Errorf("postgres exited: %v\n%s", s.err, s.logTail())
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("postgres did not accept connections in 30s: %v\n%s", err, s.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Postgres connects as the superuser to database db over TCP.
func (s *Server) Postgres(ctx context.Context, db string) (*pgx.Conn, error) {
	return pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", s.Admin, s.AdminPassword, s.Port, db))
}

func startMariaDB(bufferPool string) (*Server, error) {
	dir, err := dataDir("assign-mariadb-")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Kind: "mysql", Port: port, Dir: dir, Admin: "root", Socket: filepath.Join(dir, "mysqld.sock")}
	args := []string{"--no-defaults", "--datadir=" + filepath.Join(dir, "data"), "--auth-root-authentication-method=normal", "--skip-test-db"}
	if u, ok := runAs(); ok {
		args = append(args, "--user="+u.Username)
	}
	if err := run(command("mariadb-install-db", args...)); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := command("mariadbd", "--no-defaults", "--datadir="+filepath.Join(dir, "data"), "--port="+strconv.Itoa(port),
		"--bind-address=127.0.0.1", "--socket="+s.Socket, "--pid-file="+filepath.Join(dir, "mysqld.pid"),
		"--skip-log-bin", "--skip-name-resolve", "--local-infile=1", "--innodb-buffer-pool-size="+bufferPool,
		"--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0", "--innodb-log-file-size=256M",
		"--max-connections=60", "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
		"--log-error="+filepath.Join(dir, "server.log"))
	if u, ok := runAs(); ok {
		cmd.Args = append(cmd.Args, "--user="+u.Username)
	}
	if err := s.start(cmd, filepath.Join(dir, "stdout.log")); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, err := s.MySQL("")
		if err == nil {
			err = db.Ping()
			db.Close()
			if err == nil {
				return s, nil
			}
		}
		select {
		case <-s.done:
			defer os.RemoveAll(dir)
			return nil, fmt.Errorf("mariadbd exited: %v\n%s", s.err, s.logTail())
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("mariadbd did not accept connections in 60s: %v\n%s", err, s.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// MySQL opens the superuser's handle (over the socket) on database db
// ("" for none), with LOAD DATA LOCAL allowed for registered files.
func (s *Server) MySQL(db string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User = s.Admin
	cfg.Net, cfg.Addr, cfg.DBName = "unix", s.Socket, db
	cfg.MultiStatements = true
	cfg.AllowAllFiles = true
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}
