package load_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/internal/dbtest"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/store"
	"github.com/assign-dev/assign/synth"
)

const dbPW = "Pw-only-in-env-8923"

// pgExtractDB puts a tiny generated extract into a fresh PostgreSQL
// database readable by role reader.
func pgExtractDB(t *testing.T) (*dbtest.Server, string) {
	t.Helper()
	ctx := context.Background()
	s := dbtest.Postgres(t)
	dir := filepath.Join(t.TempDir(), "tiny")
	sc, _ := synth.LookupScale("tiny")
	if _, err := synth.Generate(ctx, synth.Options{Scale: sc, Seed: 5, Format: "csv", OutDir: dir, Threads: 2}); err != nil {
		t.Fatal(err)
	}
	db := "cmdload"
	if err := s.CreatePostgresDB(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportPostgres(ctx, db, dir, dbtest.PostgresSchema); err != nil {
		t.Fatal(err)
	}
	_ = s.Exec(ctx, "postgres", "CREATE ROLE reader LOGIN PASSWORD '"+dbPW+"'")
	if err := s.Exec(ctx, db, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader"); err != nil {
		t.Fatal(err)
	}
	return s, db
}

// TestLoadFromPostgres runs `assign load postgres://...` as a user would:
// the password from PGPASSWORD, from a file, or in the URL, and never in
// what assign prints or records; --timeout and Ctrl-C stop it cleanly.
func TestLoadFromPostgres(t *testing.T) {
	s, db := pgExtractDB(t)
	home := t.TempDir()
	url := fmt.Sprintf("postgres://reader@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)

	t.Setenv("PGPASSWORD", dbPW)
	r := assign(t, home, false, "--log-level", "debug", "load", url)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	for _, want := range []string{"Loaded snapshot snap-20260301-020000 (now current)", "│ users      │", "│ postgres"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.out)
		}
	}
	h, _ := store.Open(home)
	meta, err := loaders.ReadMeta(context.Background(), h.SnapshotPath("snap-20260301-020000"))
	if err != nil {
		t.Fatal(err)
	}
	if meta.Meta["source_url"] != url || meta.Meta["source_kind"] != "postgres" || meta.Meta["source_time_zone"] != "UTC" {
		t.Errorf("meta %v", meta.Meta)
	}
	noPassword(t, r, home)

	// The password in a file, and in the URL (where ps shows it: the help
	// says so) with the environment unset.
	t.Setenv("PGPASSWORD", "")
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte(dbPW+"\n"), 0o600)
	if r := assign(t, home, false, "load", url, "--password-file", pwFile, "--no-switch"); r.code != 0 {
		t.Fatalf("--password-file: exit %d: %s", r.code, r.errOut)
	}
	inURL := strings.Replace(url, "reader@", "reader:"+dbPW+"@", 1)
	r = assign(t, home, false, "--log-level", "debug", "load", inURL, "--no-switch")
	if r.code != 0 {
		t.Fatalf("password in the URL: exit %d: %s", r.code, r.errOut)
	}
	noPassword(t, r, home)
	r = assign(t, home, false, "load", strings.Replace(url, "reader@", "reader:wrong@", 1))
	if r.code != cmdutil.ExitFailure || !strings.Contains(r.errOut, "refused the password of user reader (authentication failed)") || strings.Contains(r.errOut, "wrong") {
		t.Errorf("wrong password: exit %d: %s", r.code, r.errOut)
	}

	// Flags for databases only, on a folder.
	if r := assign(t, home, false, "load", t.TempDir(), "--map", "m.toml"); r.code != cmdutil.ExitUsage || !strings.Contains(r.errOut, "--map is for a database source") {
		t.Errorf("--map on a folder: exit %d: %s", r.code, r.errOut)
	}

	// --timeout: a read that takes longer stops with one line.
	t.Setenv("PGPASSWORD", dbPW)
	slow := filepath.Join(t.TempDir(), "slow.toml")
	os.WriteFile(slow, []byte("[deliveries]\nquery = \"SELECT d.* FROM deliveries d, (SELECT pg_sleep(20)) AS z\"\n"), 0o644)
	t0 := time.Now()
	r = assign(t, home, false, "load", url, "--map", slow, "--timeout", "2s")
	if r.code != cmdutil.ExitFailure || !strings.Contains(r.errOut, "assign: the load did not finish within --timeout 2s and was stopped: the home is unchanged") || time.Since(t0) > 15*time.Second {
		t.Errorf("--timeout: exit %d after %s: %s", r.code, time.Since(t0), r.errOut)
	}
	if cur, _ := h.Current(); cur != "snap-20260301-020000" {
		t.Errorf("current %s", cur)
	}

	// Ctrl-C: SIGINT to a real process in the middle of the read.
	cmd := exec.Command(os.Args[0], "--home", home, "load", url, "--map", slow)
	cmd.Env = append(os.Environ(), "ASSIGN_TEST_MAIN=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.QueryInt(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%pg_sleep(20)%'") == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the read never started: %s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	if cmd.ProcessState.ExitCode() != 130 || !strings.Contains(out.String(), "assign: interrupted; nothing was written") {
		t.Errorf("Ctrl-C: %v: %s", err, out.String())
	}
	if cur, _ := h.Current(); cur != "snap-20260301-020000" {
		t.Errorf("current %s", cur)
	}
	checkHome(t, h, "snap-20260301-020000")
}

// noPassword fails when the password shows in the output or in any file
// of the home.
func noPassword(t *testing.T, r run, home string) {
	t.Helper()
	if strings.Contains(r.out+r.errOut, dbPW) {
		t.Errorf("the password shows in the output:\n%s\n%s", r.out, r.errOut)
	}
	filepath.Walk(home, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), dbPW) {
				t.Errorf("the password is in %s", p)
			}
		}
		return nil
	})
}
