package gen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/cmd/assign/gen"
	"github.com/assign-dev/assign/cmd/assign/root"
	"github.com/assign-dev/assign/synth"
)

// parse runs the command's flag handling with a capturing run function.
func parse(t *testing.T, args ...string) (*gen.Options, error) {
	t.Helper()
	ios, _, _, _ := cmdutil.Test()
	f := cmdutil.New(ios)
	var got *gen.Options
	cmd := gen.NewCmdGen(f, func(o *gen.Options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	return got, err
}

func TestFlagDefaults(t *testing.T) {
	o, err := parse(t, "--out", "x")
	if err != nil {
		t.Fatal(err)
	}
	if o.Scale.Name != "small" || o.Seed != 1 || o.Format != synth.FormatParquet || o.Split != 0 || o.Force ||
		!o.AsOf.Equal(synth.DefaultAsOf) || o.OutDir != "x" {
		t.Errorf("defaults: %+v", o)
	}
	o, err = parse(t, "--out", "y", "--scale", "MEDIUM", "--seed", "-9", "--format", "jsonl", "--split", "4", "--as-of", "2026-06-01", "--force")
	if err != nil {
		t.Fatal(err)
	}
	if o.Scale.Name != "medium" || o.Seed != -9 || o.Format != "jsonl" || o.Split != 4 || !o.Force ||
		!o.AsOf.Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("parsed: %+v", o)
	}
}

func TestFlagErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--out", "x", "--scale", "huge"}, `--scale "huge": must be one of small, medium, large`},
		{[]string{"--out", "x", "--format", "xlsx"}, `--format "xlsx"`},
		{[]string{"--out", "x", "--split", "-1"}, "--split -1"},
		{[]string{"--out", "x", "--split", "5000"}, "--split 5000"},
		{[]string{"--out", "x", "--as-of", "2026-3-2"}, "--as-of"},
		{[]string{"--out", "x", "--as-of", "1800-01-01"}, "--as-of"},
		{[]string{"--out", " "}, "--out"},
		{[]string{"--out", "x", "--stock-factor", "0"}, "--stock-factor 0: must lie between 0.01 and 100"},
		{[]string{"--out", "x", "--stock-factor", "1000"}, "--stock-factor 1000"},
		{[]string{"--out", "x", "--stock-factor", "NaN"}, "--stock-factor NaN"},
		{[]string{"--out", "x", "extra"}, "unknown command"},
		{[]string{}, `required flag(s) "out"`},
	}
	for _, c := range cases {
		_, err := parse(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want an error containing %q", c.args, err, c.want)
		}
	}
}

// run executes assign in-process and returns exit code, stdout, stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	f := cmdutil.New(ios)
	f.HomeDir = func() string { return t.TempDir() }
	code := root.MainWith(f, args)
	return code, out.String(), errOut.String()
}

func TestGenWritesExtractAndSummary(t *testing.T) {
	out := filepath.Join(t.TempDir(), "extract")
	code, stdout, stderr := run(t, "gen", "--scale", "tiny", "--seed", "5", "--format", "csv", "--split", "2", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Generated a tiny extract (seed 5, as of 2026-03-02, csv)", "deliveries", "deliveries/ (2 files)", "users.csv", "total"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if stderr != "" {
		t.Errorf("stderr not empty off a terminal: %q", stderr)
	}
	for _, p := range []string{"snacks.csv", "stock.csv", "deliveries/part-0000.csv", "deliveries/part-0001.csv", "ratings/part-0001.csv"} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}

	// A second run into the same folder is a usage error until --force.
	code, _, stderr = run(t, "gen", "--scale", "tiny", "--out", out)
	if code != cmdutil.ExitUsage || !strings.Contains(stderr, "not empty") || !strings.Contains(stderr, "--force") {
		t.Errorf("non-empty --out: exit %d, stderr %q; want exit 2 naming --force", code, stderr)
	}
	code, _, stderr = run(t, "gen", "--scale", "tiny", "--out", out, "--force")
	if code != 0 {
		t.Fatalf("--force: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "deliveries")); err == nil {
		t.Error("--force left the old deliveries/ folder beside deliveries.parquet")
	}
	if _, err := os.Stat(filepath.Join(out, "deliveries.parquet")); err != nil {
		t.Error(err)
	}
}

func TestBadFlagExitsWithUsage(t *testing.T) {
	code, _, stderr := run(t, "gen", "--out", t.TempDir(), "--format", "xlsx")
	if code != cmdutil.ExitUsage || !strings.Contains(stderr, "--format") || !strings.Contains(stderr, "assign gen --help") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
