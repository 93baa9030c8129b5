package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Sample is one timed child process: its wall time, the CPU time it and its
// waited-for descendants used, and its peak resident set size, all as the
// kernel reports them to wait4 (syscall.Rusage), so nothing the harness
// itself does is counted.
type Sample struct {
	Wall time.Duration `json:"wall_ns"`
	User time.Duration `json:"user_ns"`
	Sys  time.Duration `json:"sys_ns"`
	// MaxRSS is the peak resident set size in bytes (Linux reports KiB).
	MaxRSS int64 `json:"max_rss_bytes"`
	// Load1 is the 1-minute load average just before the run started.
	Load1 float64 `json:"load1_before"`
	// IdleBefore is the share of CPU time the machine spent idle in the
	// seconds before the run, while the harness ran nothing.
	IdleBefore float64 `json:"idle_before"`
	// Started is when the run started (UTC).
	Started time.Time `json:"started"`
}

// CPU is user + sys time.
func (s Sample) CPU() time.Duration { return s.User + s.Sys }

// Command is one child process to time.
type Command struct {
	// Argv is the program and its arguments.
	Argv []string
	// Dir is the working directory; empty means the harness's.
	Dir string
	// Env is added to the harness's environment.
	Env []string
}

// String is the command line as a shell would show it.
func (c Command) String() string {
	parts := make([]string, len(c.Argv))
	for i, a := range c.Argv {
		if a == "" || strings.ContainsAny(a, " \t'\"$\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts[i] = a
	}
	return strings.Join(parts, " ")
}

// execOutput runs a short command and returns its trimmed stdout.
func execOutput(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	return strings.TrimSpace(string(out)), err
}

// tailBytes is how much of a failed child's stderr an error quotes.
const tailBytes = 2000

// launcherEnv marks a process started as the launcher (see Launch).
const launcherEnv = "ASSIGN_BENCH_LAUNCHER"

// Linux keeps a process's peak RSS across exec, and a child created by
// fork or vfork starts from its parent's peak: a command started directly
// by the harness (which may have generated an extract or compared outputs
// in memory) would report at least the harness's own peak. So every timed
// command is started by a launcher: a fresh, small copy of the harness
// binary that starts the command, waits for it with wait4 and reports its
// rusage on a pipe. The command inherits only the launcher's small peak.

// IsLauncher reports whether this process was started as a launcher; the
// benchmark binary's main calls Launch then, before anything else.
func IsLauncher() bool { return os.Getenv(launcherEnv) == "1" }

// launchReport is what the launcher writes on its report pipe.
type launchReport struct {
	WallNS int64  `json:"wall_ns"`
	UserNS int64  `json:"user_ns"`
	SysNS  int64  `json:"sys_ns"`
	MaxRSS int64  `json:"max_rss_kib"`
	Exit   int    `json:"exit"`
	Error  string `json:"error,omitempty"`
}

// Launch is the launcher: it runs args as a child with this process's
// stdout and stderr, waits for it, writes the child's wall time and rusage
// as JSON to file descriptor 3 and returns the exit code to exit with.
func Launch(args []string) int {
	report := os.NewFile(3, "report")
	write := func(r launchReport) {
		if report != nil {
			_ = json.NewEncoder(report).Encode(r)
			report.Close()
		}
	}
	if len(args) == 0 {
		write(launchReport{Exit: 2, Error: "launcher: no command given"})
		return 2
	}
	os.Unsetenv(launcherEnv)
	path, err := exec.LookPath(args[0])
	if err != nil {
		write(launchReport{Exit: 127, Error: err.Error()})
		return 127
	}
	// The command dies with the launcher (the harness kills the launcher
	// when interrupted); the death signal follows the thread that started
	// the command, so that thread stays locked to this goroutine.
	runtime.LockOSThread()
	start := time.Now()
	p, err := os.StartProcess(path, args, &os.ProcAttr{Files: []*os.File{nil, os.Stdout, os.Stderr},
		Sys: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}})
	if err != nil {
		write(launchReport{Exit: 127, Error: err.Error()})
		return 127
	}
	var st syscall.WaitStatus
	var ru syscall.Rusage
	for {
		_, err = syscall.Wait4(p.Pid, &st, 0, &ru)
		if err != syscall.EINTR {
			break
		}
	}
	wall := time.Since(start)
	if err != nil {
		write(launchReport{Exit: 127, Error: "wait4: " + err.Error()})
		return 127
	}
	code := st.ExitStatus()
	if st.Signaled() {
		code = 128 + int(st.Signal())
	}
	write(launchReport{WallNS: int64(wall), UserNS: ru.Utime.Nano(), SysNS: ru.Stime.Nano(), MaxRSS: int64(ru.Maxrss), Exit: code})
	return code
}

// Measure runs cmd as a child process (through a launcher, see Launch),
// waits for it and returns its sample. Its stdout is discarded and its
// stderr kept for the error message: a child that exits non-zero is an
// error quoting the end of its stderr.
func Measure(ctx context.Context, cmd Command) (Sample, error) {
	if len(cmd.Argv) == 0 {
		return Sample{}, errors.New("measure: empty command")
	}
	self, err := os.Executable()
	if err != nil {
		return Sample{}, fmt.Errorf("measure: find the harness binary to launch commands with: %w", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return Sample{}, fmt.Errorf("measure: %w", err)
	}
	defer pr.Close()
	c := exec.CommandContext(ctx, self, cmd.Argv...)
	c.Dir = cmd.Dir
	c.Env = append(append(os.Environ(), cmd.Env...), launcherEnv+"=1")
	c.ExtraFiles = []*os.File{pw}
	var stderr bytes.Buffer
	c.Stderr = &stderr
	load1, _ := LoadAverage()
	started := time.Now()
	if err := c.Start(); err != nil {
		pw.Close()
		return Sample{}, fmt.Errorf("measure: start the launcher: %w", err)
	}
	pw.Close()
	var rep launchReport
	decErr := json.NewDecoder(pr).Decode(&rep)
	waitErr := c.Wait()
	if ctx.Err() != nil {
		return Sample{}, fmt.Errorf("%s: interrupted", cmd.Argv[0])
	}
	if decErr != nil {
		return Sample{}, fmt.Errorf("measure %s: the launcher reported nothing (%v); is the harness binary calling harness.Launch?", cmd, waitErr)
	}
	if rep.Error != "" || rep.Exit != 0 {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > tailBytes {
			msg = "..." + msg[len(msg)-tailBytes:]
		}
		if rep.Error != "" {
			msg = rep.Error
		}
		if msg == "" {
			msg = "(no output on stderr)"
		}
		return Sample{}, fmt.Errorf("%s failed (exit %d): %s", cmd, rep.Exit, msg)
	}
	return Sample{
		Wall:    time.Duration(rep.WallNS),
		User:    time.Duration(rep.UserNS),
		Sys:     time.Duration(rep.SysNS),
		MaxRSS:  rep.MaxRSS * 1024,
		Load1:   load1,
		Started: started.UTC(),
	}, nil
}

// MedianOf returns the median of f over the samples, each figure on its own
// (the lower middle value for an even count).
func MedianOf(samples []Sample, f func(Sample) int64) int64 {
	if len(samples) == 0 {
		return 0
	}
	v := make([]int64, len(samples))
	for i, s := range samples {
		v[i] = f(s)
	}
	slices.Sort(v)
	return v[(len(v)-1)/2]
}
