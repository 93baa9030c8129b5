package shards_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/cmd/assign/root"
	"github.com/assign-dev/assign/cmd/assign/shards"
	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/internal/testhome"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/store"
	"github.com/assign-dev/assign/synth"
)

// TestMain lets the tests start the test binary itself as assign
// (ASSIGN_TEST_MAIN=1): the runner needs real processes to start and kill.
func TestMain(m *testing.M) {
	if os.Getenv("ASSIGN_TEST_MAIN") == "1" {
		os.Exit(root.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const date = "2026-03-02"

func newHome(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	home := filepath.Join(t.TempDir(), "home")
	h, err := store.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := synth.LookupScale("tiny")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "extract")
	if _, err := synth.Generate(ctx, synth.Options{Scale: sc, Seed: 11, Format: synth.FormatParquet, OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := loaders.Load(ctx, loaders.Options{Dir: dir, Home: h}); err != nil {
		t.Fatal(err)
	}
	return home
}

func assign(t *testing.T, home string, args ...string) (int, string, string) {
	t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	f := cmdutil.New(ios)
	f.HomeDir = func() string { return home }
	code := root.MainWith(f, args)
	return code, out.String(), errOut.String()
}

// shardsCmd runs `assign shards args...` in-process, its shards as child
// processes of the test binary; onStart sees every attempt start.
func shardsCmd(t *testing.T, home string, onStart func(index, attempt int, p *os.Process), args ...string) (*shards.Options, string, error) {
	t.Helper()
	ios, _, out, _ := cmdutil.Test()
	f := cmdutil.New(ios)
	f.HomeDir = func() string { return home }
	var opts *shards.Options
	cmd := shards.NewCmdShards(f, func(o *shards.Options) error {
		opts = o
		o.Exe, o.Env, o.OnStart = os.Args[0], []string{"ASSIGN_TEST_MAIN=1"}, onStart
		return shards.Run(context.Background(), o)
	})
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(out)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	return opts, out.String(), err
}

func sameCSV(t *testing.T, want, got string) {
	t.Helper()
	for _, name := range []string{"boxes", "demand", "snack_summary", "short_boxes"} {
		a, err := os.ReadFile(filepath.Join(want, name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(got, name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s.csv of the sharded job differs from one machine's", name)
		}
	}
}

// TestKilledShardIsRetried: a shard killed with SIGKILL in the middle of its
// work is started again, and the merged output equals one machine's.
func TestKilledShardIsRetried(t *testing.T) {
	home := newHome(t)
	job := []string{"preassign", "--date", date, "--days", "21", "--threads", "1"}
	want := filepath.Join(t.TempDir(), "single")
	if code, _, errOut := assign(t, home, append(job, "--out", want, "--format", "csv")...); code != 0 {
		t.Fatal(errOut)
	}
	// How long one shard takes here, to kill the next one halfway.
	start := time.Now()
	if code, _, errOut := assign(t, home, append(job, "--shard", "0/3", "--out", filepath.Join(t.TempDir(), "probe"))...); code != 0 {
		t.Fatal(errOut)
	}
	full := time.Since(start)
	for try, delay := 0, full/2; try < 4; try, delay = try+1, delay/2 {
		got := filepath.Join(t.TempDir(), "merged")
		parts := filepath.Join(t.TempDir(), "parts")
		killed := false
		onStart := func(index, attempt int, p *os.Process) {
			if index == 1 && attempt == 1 {
				// The process has just started: wait into its work, then kill -9.
				time.Sleep(delay)
				killed = p.Signal(syscall.SIGKILL) == nil
			}
		}
		_, out, err := shardsCmd(t, home, onStart, "--local", "3", "--parallel", "2", "--retries", "2", "--backoff", "10ms",
			"--parts", parts, "--out", got, "--format", "csv", "--", "preassign", "--date", date, "--days", "21", "--threads", "1")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !killed {
			t.Logf("shard 1 finished within %s, before the kill; trying again with half the delay", delay)
			continue
		}
		if !strings.Contains(out, "retried after killed") {
			t.Errorf("the summary does not show shard 1 retried after SIGKILL:\n%s", out)
		}
		logs, _ := filepath.Glob(filepath.Join(parts, ".logs", "part-0001-of-0003.attempt-*.log"))
		if len(logs) != 2 {
			t.Errorf("shard 1 has %d attempt logs, want 2", len(logs))
		}
		if left, _ := filepath.Glob(filepath.Join(parts, ".tmp-*")); len(left) != 0 {
			t.Errorf("the merge left the killed attempt's folder: %v", left)
		}
		sameCSV(t, want, got)
		return
	}
	t.Fatal("never managed to kill shard 1 before it finished")
}

// TestEnvironmentContracts: the shards find their index in each engine's
// variables, and the merged output equals one machine's.
func TestEnvironmentContracts(t *testing.T) {
	home := newHome(t)
	want := filepath.Join(t.TempDir(), "single")
	if code, _, errOut := assign(t, home, "preassign", "--date", date, "--days", "7", "--out", want, "--format", "csv"); code != 0 {
		t.Fatal(errOut)
	}
	for _, style := range []string{"aws-batch", "cloud-run", "assign"} {
		t.Run(style, func(t *testing.T) {
			got := filepath.Join(t.TempDir(), "merged")
			_, out, err := shardsCmd(t, home, nil, "--local", "2", "--env", style, "--out", got, "--format", "csv",
				"--", "preassign", "--date", date, "--days", "7", "--threads", "1")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			sameCSV(t, want, got)
		})
	}
	// The default parts folder under the home is gone after the merge.
	if left, _ := filepath.Glob(filepath.Join(home, "parts", "*")); len(left) != 0 {
		t.Errorf("parts folders left in the home: %v", left)
	}
}

// TestShardThatKeepsFailing: a shard failing every attempt ends the job
// with its error and no merged run.
func TestShardThatKeepsFailing(t *testing.T) {
	home := newHome(t)
	_, _, err := shardsCmd(t, home, nil, "--local", "2", "--retries", "1", "--backoff", "1ms",
		"--", "preassign", "--date", date, "--snapshot", "snap-nope")
	if err == nil {
		t.Fatal("succeeded; want the shards' failure")
	}
	for _, w := range []string{"failed 2 times", "exited with status 1", `snapshot "snap-nope" not found`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	runs, _ := filepath.Glob(filepath.Join(home, "runs", "*"))
	if len(runs) != 0 {
		t.Errorf("runs written: %v", runs)
	}
}

// TestFlags: the command's own flags and those of the sharded command are
// checked before any process starts.
func TestFlags(t *testing.T) {
	home := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--", "preassign", "--date", date}, "--local N is required"},
		{[]string{"--local", "2"}, "give the command to shard after --"},
		{[]string{"--local", "2", "--", "load", "x"}, `"load" after --: assign shards runs preassign or run`},
		{[]string{"--local", "2", "--", "preassign", "--date", date, "--out", "x"}, "--out after --: assign shards sets it"},
		{[]string{"--local", "2", "--", "preassign", "--date", date, "--shard=1/2"}, "--shard after --"},
		{[]string{"--local", "2", "--", "preassign", "--date", "2026-13-01"}, `preassign after --: --date "2026-13-01"`},
		{[]string{"--local", "2", "--", "preassign"}, `required flag(s) "date" not set`},
		{[]string{"--local", "2", "--env", "slurm", "--", "preassign", "--date", date}, `--env "slurm"`},
		{[]string{"--local", "0", "--", "preassign", "--date", date}, "--local N is required"},
		{[]string{"--local", "2", "--no-save", "--", "preassign", "--date", date}, "--no-save needs --out"},
		{[]string{"--local", "2", "--", "run", "--date", date, "--quota-from", "x"}, "--quota-from after --: assign shards sets it"},
	}
	for _, c := range cases {
		code, _, errOut := assign(t, home, append([]string{"shards"}, c.args...)...)
		if code != cmdutil.ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("shards %v: exit %d, %q; want exit %d saying %q", c.args, code, errOut, cmdutil.ExitUsage, c.want)
		}
	}
}

// TestRunJob: a stock-aware run in shards (a sharded preassign for the
// quota, the run shards, the merge with its final pass) passes the checker.
func TestRunJob(t *testing.T) {
	home := newHome(t)
	_, out, err := shardsCmd(t, home, nil, "--local", "2", "--", "run", "--date", date, "--days", "14", "--min-shelf-days", "150", "--threads", "1")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, w := range []string{"preassign --date 2026-03-02 --days 14 --min-shelf-days 150 --threads 1 in 2 shards", "--quota-from", "Final pass:"} {
		if !strings.Contains(out, w) {
			t.Errorf("the summary does not say %q:\n%s", w, out)
		}
	}
	if code, stdout, errOut := assign(t, home, "check", "latest"); code != 0 || !strings.Contains(stdout, "All rules hold") {
		t.Fatalf("check latest: exit %d\n%s%s", code, stdout, errOut)
	}
}

// TestRunShardFlags: a run shard needs --quota-from, and --quota-from needs
// a shard.
func TestRunShardFlags(t *testing.T) {
	home := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--date", date, "--shard", "0/2", "--out", "x"}, "--shard 0/2 of a run needs --quota-from RUN"},
		{[]string{"run", "--date", date, "--quota-from", "x"}, "--quota-from is for the shards of a run"},
		{[]string{"preassign", "--date", date, "--shard", "0/2"}, "--shard 0/2 writes a part folder: give --out DIR"},
		{[]string{"preassign", "--date", date, "--shard", "2/2", "--out", "x"}, "the shard index must be between 0 and 1"},
		{[]string{"preassign", "--date", date, "--shard", "0/2", "--out", "x", "--format", "csv"}, "a shard's part is always Parquet"},
		{[]string{"preassign", "--date", date, "--memory-limit", "lots"}, `--memory-limit "lots": want a size such as 4GB`},
	} {
		code, _, errOut := assign(t, home, c.args...)
		if code != cmdutil.ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want exit %d saying %q", c.args, code, errOut, cmdutil.ExitUsage, c.want)
		}
	}
}

// TestExtractsNotMadeByGen: extracts that assign gen did not make, loaded as
// a user would (the loader's hand-written extract, and one written by the
// test-home SQL generator, a different generator, exported to Parquet),
// planned in 3 local shards, give one machine's tables.
func TestExtractsNotMadeByGen(t *testing.T) {
	ctx := context.Background()
	exported := filepath.Join(t.TempDir(), "exported")
	db := filepath.Join(t.TempDir(), "src.duckdb")
	if err := testhome.Fill(ctx, db, testhome.Size{Users: 1500, Snacks: 50, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	src, err := duck.OpenFile(ctx, db, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(exported, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []string{"snacks", "snack_tags", "users", "skips", "user_ng", "user_prefs", "deliveries", "ratings", "requests", "stock"} {
		if _, err := src.Exec(ctx, fmt.Sprintf("COPY %s TO '%s' (FORMAT parquet)", tbl, filepath.Join(exported, tbl+".parquet"))); err != nil {
			t.Fatal(err)
		}
	}
	src.Close()
	for name, dir := range map[string]string{"hand-written": "../../../loaders/testdata/extracts/base", "test-home SQL": exported} {
		t.Run(name, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "home")
			if code, _, errOut := assign(t, home, "load", dir); code != 0 {
				t.Fatal(errOut)
			}
			want := filepath.Join(t.TempDir(), "single")
			if code, _, errOut := assign(t, home, "preassign", "--date", date, "--days", "28", "--out", want, "--format", "csv"); code != 0 {
				t.Fatal(errOut)
			}
			got := filepath.Join(t.TempDir(), "merged")
			_, out, err := shardsCmd(t, home, nil, "--local", "3", "--out", got, "--format", "csv", "--", "preassign", "--date", date, "--days", "28")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			sameCSV(t, want, got)
			b, _ := os.ReadFile(filepath.Join(want, "boxes.csv"))
			if bytes.Count(b, []byte("\n")) < 4 {
				t.Fatalf("one machine's boxes.csv has %d lines: the extract plans too little to compare", bytes.Count(b, []byte("\n")))
			}
		})
	}
}

// TestInterrupt: Ctrl-C of assign shards stops its shard processes and
// exits 130 saying where the finished parts are.
func TestInterrupt(t *testing.T) {
	home := newHome(t)
	parts := filepath.Join(t.TempDir(), "parts-interrupt")
	cmd := exec.Command(os.Args[0], "--home", home, "shards", "--local", "2", "--parts", parts, "--",
		"preassign", "--date", date, "--days", "28", "--threads", "1")
	cmd.Env = append(os.Environ(), "ASSIGN_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if logs, _ := filepath.Glob(filepath.Join(parts, ".logs", "*.log")); len(logs) == 2 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the shards did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != cmdutil.ExitInterrupted {
		t.Fatalf("exit %v, want %d; stderr:\n%s", err, cmdutil.ExitInterrupted, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted; the shards were stopped, the parts that finished are in "+parts) {
		t.Errorf("stderr does not say so:\n%s", stderr.String())
	}
	// No shard process outlives the runner.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(parts)) {
			t.Errorf("a shard still runs: %s", bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		}
	}
}
