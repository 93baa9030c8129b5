package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/synth"
)

// The test binary doubles as the launcher (as the bench binary does) and as
// a child that allocates a given amount of memory, so Measure is tested on
// real processes.
const childEnv = "HARNESS_TEST_CHILD"

func TestMain(m *testing.M) {
	if IsLauncher() {
		os.Exit(Launch(os.Args[1:]))
	}
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(child(spec))
	}
	os.Exit(m.Run())
}

// child allocates and touches "mb" MiB, then exits with "code" after
// writing "msg" to stderr; the spec is "mb,code,msg".
func child(spec string) int {
	parts := strings.SplitN(spec, ",", 3)
	mb, _ := strconv.Atoi(parts[0])
	code, _ := strconv.Atoi(parts[1])
	buf := make([]byte, mb<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	runtime.KeepAlive(buf)
	if len(parts) > 2 && parts[2] != "" {
		fmt.Fprintln(os.Stderr, parts[2])
	}
	return code
}

func childCommand(t *testing.T, spec string) Command {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Command{Argv: []string{self, "-test.run=^$"}, Env: []string{childEnv + "=" + spec}}
}

var sink []byte

func TestMeasureReportsTheChildsOwnPeakRSS(t *testing.T) {
	// Make the harness itself big first: a child started directly would
	// inherit this peak; through the launcher it must not.
	sink = make([]byte, 400<<20)
	for i := 0; i < len(sink); i += 4096 {
		sink[i] = 1
	}
	defer func() { sink = nil }()
	ctx := context.Background()

	small, err := Measure(ctx, childCommand(t, "1,0,"))
	if err != nil {
		t.Fatal(err)
	}
	if small.MaxRSS > 200<<20 {
		t.Errorf("a child touching 1 MiB reports a peak RSS of %s: the harness's own 400 MiB leaked into it", HumanBytes(small.MaxRSS))
	}
	big, err := Measure(ctx, childCommand(t, "300,0,"))
	if err != nil {
		t.Fatal(err)
	}
	if big.MaxRSS < 300<<20 || big.MaxRSS > 600<<20 {
		t.Errorf("a child touching 300 MiB reports a peak RSS of %s", HumanBytes(big.MaxRSS))
	}
	if big.Wall <= 0 || big.CPU() <= 0 {
		t.Errorf("wall %v, cpu %v: want both > 0", big.Wall, big.CPU())
	}
	if big.CPU() > big.Wall*time.Duration(runtime.NumCPU())+time.Second {
		t.Errorf("cpu %v exceeds wall %v times %d cores", big.CPU(), big.Wall, runtime.NumCPU())
	}
}

func TestMeasureFailureQuotesStderr(t *testing.T) {
	_, err := Measure(context.Background(), childCommand(t, "1,3,snapshot xyz cannot be read"))
	if err == nil {
		t.Fatal("a child exiting 3 measured without error")
	}
	for _, want := range []string{"exit 3", "snapshot xyz cannot be read"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	_, err = Measure(context.Background(), Command{Argv: []string{filepath.Join(t.TempDir(), "no-such-binary")}})
	if err == nil || !strings.Contains(err.Error(), "no-such-binary") {
		t.Errorf("missing binary: error %v, want one naming it", err)
	}
}

func TestMedianOf(t *testing.T) {
	s := []Sample{{Wall: 3}, {Wall: 1}, {Wall: 2}}
	if got := MedianOf(s, func(s Sample) int64 { return int64(s.Wall) }); got != 2 {
		t.Errorf("median of 3,1,2 = %d", got)
	}
	s = append(s, Sample{Wall: 10})
	if got := MedianOf(s, func(s Sample) int64 { return int64(s.Wall) }); got != 2 {
		t.Errorf("lower median of 1,2,3,10 = %d, want 2", got)
	}
	if got := MedianOf(nil, func(s Sample) int64 { return 1 }); got != 0 {
		t.Errorf("median of nothing = %d", got)
	}
}

func secondsSample(wall, cpu float64, rss int64) Sample {
	return Sample{Wall: time.Duration(wall * float64(time.Second)), User: time.Duration(cpu * float64(time.Second)), MaxRSS: rss}
}

func TestEstimatesExtrapolateByShippingUsers(t *testing.T) {
	ship := shipCounts{0, 100, 0, 300, 200, 400}
	a, b, ok := ship.firstDays()
	if !ok || a != 2 || b != 4 {
		t.Fatalf("firstDays = %d, %d, %v; want 2, 4, true", a, b, ok)
	}
	rs := []*Result{
		{Op: OpPreassign, Impl: ImplNaive, Days: 2, Subset: true, Samples: []Sample{secondsSample(11, 10, 100)}},
		{Op: OpPreassign, Impl: ImplNaive, Days: 4, Subset: true, Samples: []Sample{secondsSample(41, 40, 300)}},
	}
	est := estimates(rs, ship, 6)
	if len(est) != 1 {
		t.Fatalf("%d estimates, want 1", len(est))
	}
	e := est[0]
	// 300 more users cost 30 s, so 0.1 s per user; 1000 users in all, 900 beyond the first date.
	if got, want := e.Wall(), 11*time.Second+90*time.Second; got != want {
		t.Errorf("wall estimate %v, want %v", got, want)
	}
	if got, want := e.CPU(), 10*time.Second+90*time.Second; got != want {
		t.Errorf("cpu estimate %v, want %v", got, want)
	}
	if e.MaxRSS() != 300 || e.Days != 6 || e.Subset || e.Estimate == nil || !strings.Contains(e.Estimate.Method, "extrapolated") {
		t.Errorf("estimate %+v", e)
	}
}

func TestRatiosOnlyForEqualOutputs(t *testing.T) {
	rep := &Report{Scales: []*ScaleReport{{
		Scale: "small",
		Equality: []Equality{
			{Impl: ImplSQLOnly, Equal: true},
			{Impl: ImplNaive, Equal: false, Diffs: 7},
		},
		Results: []*Result{
			{Op: OpPreassign, Impl: ImplAssign, Days: 28, Samples: []Sample{secondsSample(2, 3, 1<<20)}},
			{Op: OpPreassign, Impl: ImplSQLOnly, Days: 28, Samples: []Sample{secondsSample(20, 24, 1<<20)}},
			{Op: OpPreassign, Impl: ImplNaive, Days: 28, Samples: []Sample{secondsSample(200, 300, 1<<20)}},
		},
	}}}
	rs := rows(rep)
	if len(rs) != 3 {
		t.Fatalf("%d rows, want 3", len(rs))
	}
	if rs[1].wallRatio != "10.0x" || rs[1].cpuRatio != "8.0x" {
		t.Errorf("sqlonly ratios %q, %q; want 10.0x, 8.0x", rs[1].wallRatio, rs[1].cpuRatio)
	}
	if rs[2].wallRatio != "" || !strings.Contains(rs[2].note, "OUTPUT DIFFERS") {
		t.Errorf("naive row %+v: want no ratio and a note that its output differs", rs[2])
	}
	md := Markdown(rep, "benchmarks/results/x.json")
	for _, want := range []string{"| scale | operation |", "| small | preassign | sqlonly (a) |", "10.0x", "OUTPUT DIFFERS", "`benchmarks/results/x.json`"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestDescribeMachine(t *testing.T) {
	m := DescribeMachine()
	if m.Cores != runtime.NumCPU() || m.GoVersion == "" {
		t.Errorf("machine %+v", m)
	}
	if runtime.GOOS == "linux" && (m.MemTotal <= 0 || m.CPUModel == "") {
		t.Errorf("machine %+v: want memory and CPU model from /proc", m)
	}
	if _, err := IdleFraction(context.Background(), 100*time.Millisecond); err != nil {
		t.Error(err)
	}
}

// TestRunTiny runs the whole harness on the tiny scale with real binaries:
// generation, load, output checks against both baselines, timing and the
// report. It builds assign and the baselines, so it is skipped in -short.
func TestRunTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three binaries and runs each")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "assign")
	build := exec.Command("go", "build", "-tags", "duckdb_arrow", "-o", bin, "./cmd/assign")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build assign: %v\n%s", err, out)
	}
	var log strings.Builder
	opt := Options{
		RepoRoot: root, Assign: bin, Go: "go", CacheDir: t.TempDir(), Scales: []string{"tiny"}, Seed: 3,
		Date: synth.DefaultAsOf, Days: 7, Runs: 2, Ops: []string{OpLoadParquet, OpPreassign}, Baselines: true,
		SQLOnlyScales: []string{"tiny"}, NaiveSubsetScales: []string{"tiny"}, Log: &log,
	}
	rep, err := Run(context.Background(), opt, "bench --scales tiny")
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log.String())
	}
	sr := rep.Scales[0]
	if len(sr.Equality) != 2 {
		t.Fatalf("%d output checks, want sqlonly and naive: %+v", len(sr.Equality), sr.Equality)
	}
	for _, e := range sr.Equality {
		if !e.Equal {
			t.Errorf("%s differs from assign on %s:\n%s", e.Impl, e.Against, e.Report)
		}
	}
	var est int
	for _, r := range sr.Results {
		if r.Estimate != nil {
			est++
			continue
		}
		if len(r.Samples) != 2 {
			t.Errorf("%s %s: %d samples, want 2", r.Op, r.Impl, len(r.Samples))
		}
		for _, s := range r.Samples {
			if s.Wall <= 0 || s.MaxRSS <= 0 {
				t.Errorf("%s %s: sample %+v", r.Op, r.Impl, s)
			}
		}
	}
	if est != 1 {
		t.Errorf("%d estimates, want the naive one", est)
	}
	// A second run reuses the cache: no generation, no load. It also
	// times only preassign at tiny (OpsAt), once more at one thread
	// (ScalingAt), as --targets does at large and medium.
	log.Reset()
	opt.Runs, opt.Baselines = 1, false
	opt.OpsAt = map[string][]string{"tiny": {OpPreassign}}
	opt.ScalingAt = map[string][]int{"tiny": {1}}
	rep2, err := Run(context.Background(), opt, "bench --scales tiny")
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, r := range rep2.Scales[0].Results {
		cases = append(cases, fmt.Sprintf("%s/%d", r.Op, r.Threads))
	}
	if got := strings.Join(cases, " "); got != "preassign/0 preassign/1" {
		t.Errorf("timed %s, want preassign/0 preassign/1", got)
	}
	if strings.Contains(log.String(), "generating") || !strings.Contains(log.String(), "reusing the loaded home") {
		t.Errorf("second run did not reuse the cache:\n%s", log.String())
	}
	md := filepath.Join(t.TempDir(), "RESULTS.md")
	if err := AppendMarkdown(md, rep, ""); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(md)
	if !strings.HasPrefix(string(b), "# Benchmark results") || !strings.Contains(string(b), "| tiny | preassign | assign |") {
		t.Errorf("RESULTS.md:\n%s", b)
	}
}
