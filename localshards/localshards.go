// Package localshards runs the shards of a job as local processes, the way
// the engines operations already use run them (a Kubernetes Indexed Job, an
// AWS Batch array job, a Cloud Run job): N processes of the assign binary,
// each told its index through the same environment variables, each retried
// with backoff when it dies, at most Parallel at a time. It is the engine of
// `assign shards --local N` and of the tests that kill shards.
package localshards

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/assign-dev/assign/shard"
)

// Environment contracts a local run can imitate.
const (
	StyleKubernetes = "kubernetes" // JOB_COMPLETION_INDEX + ASSIGN_SHARD_COUNT
	StyleAWSBatch   = "aws-batch"  // AWS_BATCH_JOB_ARRAY_INDEX/_SIZE/_ATTEMPT
	StyleCloudRun   = "cloud-run"  // CLOUD_RUN_TASK_INDEX/_COUNT/_ATTEMPT
	StyleAssign     = "assign"     // ASSIGN_SHARD_INDEX/_COUNT/_ATTEMPT
)

// Styles lists the environment contracts, the default first.
var Styles = []string{StyleKubernetes, StyleAWSBatch, StyleCloudRun, StyleAssign}

// Options configure one sharded step: N processes of
// `Exe GlobalArgs... Args... --shard auto --out PartsDir`.
type Options struct {
	Count    int
	Parallel int // processes at once; 0 means Count
	// Retries is how many times a shard that failed is started again
	// (Kubernetes' backoffLimitPerIndex); Backoff the wait before the first
	// retry, doubled at each further one.
	Retries int
	Backoff time.Duration
	// Exe is the assign binary; empty means this executable.
	Exe string
	// Env is added to every child's environment (after this process's,
	// from which every shard variable is removed).
	Env   []string
	Style string
	// GlobalArgs come before the command (--home, --log-level); Args are
	// the command and its flags (preassign --date ...).
	GlobalArgs []string
	Args       []string
	PartsDir   string
	// LogDir receives one log file per attempt (stdout and stderr).
	LogDir string
	// Progress, when set, receives one line per event.
	Progress io.Writer
	// OnStart, when set, is called when an attempt's process has started
	// (tests kill processes from it).
	OnStart func(index, attempt int, p *os.Process)
}

// Attempt is one process of a shard.
type Attempt struct {
	Number int           `json:"attempt"`
	Wall   time.Duration `json:"-"`
	// Seconds is Wall in seconds.
	Seconds float64 `json:"seconds"`
	// MaxRSS is the process's peak resident set size, in bytes.
	MaxRSS   int64  `json:"max_rss_bytes"`
	ExitCode int    `json:"exit_code"`
	Signal   string `json:"signal,omitempty"`
	Log      string `json:"log"`
	OK       bool   `json:"ok"`
}

// Shard is what happened to one shard index.
type Shard struct {
	Index    int       `json:"index"`
	Attempts []Attempt `json:"attempts"`
}

// OK reports whether the shard's last attempt succeeded.
func (s *Shard) OK() bool { return len(s.Attempts) > 0 && s.Attempts[len(s.Attempts)-1].OK }

// shardVars are removed from the children's inherited environment, so a
// runner started inside an engine's job does not pass its own index down.
var shardVars = []string{shard.EnvShard, shard.EnvIndex, shard.EnvCount, shard.EnvK8sIndex, shard.EnvBatchIndex,
	shard.EnvBatchSize, shard.EnvCloudRunIndex, shard.EnvCloudRunCount, "AWS_BATCH_JOB_ATTEMPT", "CLOUD_RUN_TASK_ATTEMPT", "ASSIGN_SHARD_ATTEMPT"}

// StyleEnv returns the variables an engine of style sets for shard index of
// n, attempt (1-based).
func StyleEnv(style string, index, n, attempt int) ([]string, error) {
	i, c, a := strconv.Itoa(index), strconv.Itoa(n), strconv.Itoa(attempt)
	switch style {
	case StyleKubernetes, "":
		return []string{shard.EnvK8sIndex + "=" + i, shard.EnvCount + "=" + c}, nil
	case StyleAWSBatch:
		return []string{shard.EnvBatchIndex + "=" + i, shard.EnvBatchSize + "=" + c, "AWS_BATCH_JOB_ATTEMPT=" + a}, nil
	case StyleCloudRun:
		return []string{shard.EnvCloudRunIndex + "=" + i, shard.EnvCloudRunCount + "=" + c, "CLOUD_RUN_TASK_ATTEMPT=" + strconv.Itoa(attempt-1)}, nil
	case StyleAssign:
		return []string{shard.EnvIndex + "=" + i, shard.EnvCount + "=" + c, "ASSIGN_SHARD_ATTEMPT=" + a}, nil
	}
	return nil, fmt.Errorf("unknown environment style %q: use one of %s", style, strings.Join(Styles, ", "))
}

// Run runs every shard to success or until one has failed Retries+1 times.
// On failure the error names the shard, how it ended and its log's last
// lines; shards already running are waited for, no new ones start.
func Run(ctx context.Context, o Options) ([]Shard, error) {
	if o.Count < 1 || o.Count > shard.MaxCount {
		return nil, fmt.Errorf("shard count %d: must be between 1 and %d", o.Count, shard.MaxCount)
	}
	if _, err := StyleEnv(o.Style, 0, 1, 1); err != nil {
		return nil, err
	}
	if o.Parallel <= 0 || o.Parallel > o.Count {
		o.Parallel = o.Count
	}
	if o.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the assign binary to start shards: %w", err)
		}
		o.Exe = exe
	}
	if o.LogDir == "" {
		o.LogDir = filepath.Join(o.PartsDir, ".logs")
	}
	if err := os.MkdirAll(o.LogDir, 0o755); err != nil {
		return nil, fmt.Errorf("create shard log folder: %w", err)
	}
	base := inheritedEnv()

	shards := make([]Shard, o.Count)
	for i := range shards {
		shards[i].Index = i
	}
	type job struct{ index, attempt int }
	queue := make(chan job, o.Count)
	for i := 0; i < o.Count; i++ {
		queue <- job{i, 1}
	}
	var (
		mu       sync.Mutex
		pending  = o.Count // shards not yet succeeded or given up
		failed   error
		wg       sync.WaitGroup
		finished = make(chan struct{})
	)
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			mu.Lock()
			fmt.Fprintf(o.Progress, format+"\n", args...)
			mu.Unlock()
		}
	}
	done := func() {
		pending--
		if pending == 0 {
			close(finished)
		}
	}
	for w := 0; w < o.Parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var j job
				select {
				case <-finished:
					return
				case <-ctx.Done():
					return
				case j = <-queue:
				}
				mu.Lock()
				stop := failed != nil
				mu.Unlock()
				if stop {
					mu.Lock()
					done()
					mu.Unlock()
					continue
				}
				progress("shard %d/%d: attempt %d started", j.index, o.Count, j.attempt)
				a := runAttempt(ctx, o, base, j.index, j.attempt)
				mu.Lock()
				shards[j.index].Attempts = append(shards[j.index].Attempts, a)
				mu.Unlock()
				switch {
				case a.OK:
					progress("shard %d/%d: done in %.1fs, peak RSS %.0f MiB", j.index, o.Count, a.Seconds, float64(a.MaxRSS)/(1<<20))
					mu.Lock()
					done()
					mu.Unlock()
				case ctx.Err() != nil:
					return
				case j.attempt <= o.Retries:
					wait := o.Backoff << (j.attempt - 1)
					progress("shard %d/%d: attempt %d %s; retrying in %s", j.index, o.Count, j.attempt, ending(a), wait)
					go func(j job) {
						select {
						case <-time.After(wait):
						case <-ctx.Done():
						}
						queue <- job{j.index, j.attempt + 1}
					}(j)
				default:
					progress("shard %d/%d: attempt %d %s; no retries left", j.index, o.Count, j.attempt, ending(a))
					mu.Lock()
					if failed == nil {
						failed = fmt.Errorf("shard %d of %d failed %d times; the last attempt %s:\n%s(log: %s)", j.index, o.Count, j.attempt, ending(a), logTail(a.Log, 8), a.Log)
					}
					done()
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return shards, err
	}
	return shards, failed
}

func runAttempt(ctx context.Context, o Options, base []string, index, attempt int) Attempt {
	a := Attempt{Number: attempt, ExitCode: -1}
	a.Log = filepath.Join(o.LogDir, fmt.Sprintf("%s.attempt-%d.log", shard.Spec{Index: index, Count: o.Count}.PartName(), attempt))
	logf, err := os.Create(a.Log)
	if err != nil {
		a.Signal = "not started: " + err.Error()
		return a
	}
	defer logf.Close()
	env, _ := StyleEnv(o.Style, index, o.Count, attempt)
	args := append(append(append([]string{}, o.GlobalArgs...), o.Args...), "--shard", "auto", "--out", o.PartsDir)
	cmd := exec.Command(o.Exe, args...)
	cmd.Env = append(append(append([]string{}, base...), o.Env...), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so a Ctrl-C of the runner reaches the shards
	// through the runner (which kills them), not twice.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(logf, "start %s: %v\n", o.Exe, err)
		a.Signal = "not started: " + err.Error()
		return a
	}
	if o.OnStart != nil {
		o.OnStart(index, attempt, cmd.Process)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case err = <-waited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			err = <-waited
		}
	}
	a.Wall = time.Since(start)
	a.Seconds = a.Wall.Seconds()
	if st := cmd.ProcessState; st != nil {
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			a.MaxRSS = ru.Maxrss * 1024
		}
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			a.Signal = ws.Signal().String()
		} else {
			a.ExitCode = st.ExitCode()
		}
	}
	a.OK = err == nil
	return a
}

func ending(a Attempt) string {
	switch {
	case a.Signal != "":
		return "was ended by " + a.Signal
	case a.ExitCode >= 0:
		return fmt.Sprintf("exited with status %d", a.ExitCode)
	}
	return "failed"
}

func inheritedEnv() []string {
	drop := map[string]bool{}
	for _, v := range shardVars {
		drop[v] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	return env
}

// logTail returns the last n lines of a log file, each indented.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var s strings.Builder
	for _, l := range lines {
		if len(l) > 0 {
			s.WriteString("    " + string(l) + "\n")
		}
	}
	return s.String()
}
