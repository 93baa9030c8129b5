// Package shards is the `assign shards` command: a local engine for sharded
// jobs. It starts N processes of assign with the environment contract of a
// cluster engine, retries the ones that die, then merges their parts.
package shards

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	mergecmd "github.com/assign-dev/assign/cmd/assign/merge"
	"github.com/assign-dev/assign/cmd/assign/plancmd"
	"github.com/assign-dev/assign/cmd/assign/preassign"
	"github.com/assign-dev/assign/cmd/assign/run"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/localshards"
	"github.com/assign-dev/assign/merge"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/results"
)

// Options are the parsed flags of shards.
type Options struct {
	Factory   *cmdutil.Factory
	Local     int
	Parallel  int
	Retries   int
	Backoff   time.Duration
	Style     string
	Parts     string
	KeepParts bool
	OutDir    string
	Format    string
	NoSave    bool
	JSON      bool
	Top       int
	// Command is the sharded command and its flags (after "--").
	Command []string
	// Mode is the command's mode, set by validation.
	Mode engine.Mode
	// Exe and Env start the shard processes (tests run the test binary).
	Exe string
	Env []string
	// OnStart is passed to the runner (tests kill shards from it).
	OnStart func(index, attempt int, p *os.Process)
}

// NewCmdShards builds `assign shards`.
func NewCmdShards(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "shards --local N [flags] -- preassign|run FLAGS...",
		Short: "Run a preassign or run as N local shard processes, retry the ones that die, merge",
		Long: `Split a job by subscriber into N shards and run them here as N processes,
the way a cluster engine runs them: each process is 'assign preassign --shard
auto' (or run) told its index through the engine's environment variables
(--env: a Kubernetes Indexed Job's JOB_COMPLETION_INDEX, by default), each
writes its part folder, and a shard whose process dies is started again
after a backoff (--retries, like backoffLimitPerIndex). When every shard has
its part, the parts are merged into one run in the home, as 'assign merge'
does: for preassign the merged tables equal one machine's.

At most --parallel shards run at once (default: one per core); with
--parallel 1 a job whose whole does not fit in memory runs one slice at a
time. Each attempt's output goes to a log in the parts folder's .logs/.

The flags after -- are those of preassign or run, except --shard, --out,
--format and --json, which this command sets (give --out and --format here
for the merged tables).`,
		Example: `  # Four weeks of demand in 8 shards, at most 2 at once
  assign shards --local 8 --parallel 2 -- preassign --date 2026-03-02 --days 28

  # Imitate an AWS Batch array job, keep the parts, merged CSV for a spreadsheet
  assign shards --local 4 --env aws-batch --parts ./parts --out ./forecast --format csv -- \
      preassign --date 2026-03-02 --days 14`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash < 0 || dash > 0 || len(args) == 0 {
				return cmdutil.FlagErrorf("give the command to shard after --, e.g. assign shards --local 4 -- preassign --date 2026-03-02")
			}
			opts.Command = args
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&opts.Local, "local", 0, "number of shards, run as local processes (required)")
	fs.IntVar(&opts.Parallel, "parallel", 0, "shards running at once (default: the number of cores)")
	fs.IntVar(&opts.Retries, "retries", 3, "times a shard that died is started again")
	fs.DurationVar(&opts.Backoff, "backoff", time.Second, "wait before the first retry of a shard, doubled at each further one")
	fs.StringVar(&opts.Style, "env", localshards.StyleKubernetes, "environment contract to give the shards: "+strings.Join(localshards.Styles, ", "))
	fs.StringVar(&opts.Parts, "parts", "", "folder for the part folders (default: a new folder under <home>/parts, removed after the merge)")
	fs.BoolVar(&opts.KeepParts, "keep-parts", false, "keep the default parts folder after the merge")
	fs.StringVar(&opts.OutDir, "out", "", "also write the merged tables and manifest into this folder")
	fs.StringVar(&opts.Format, "format", results.FormatParquet, "format of the merged tables written to --out: parquet or csv")
	fs.BoolVar(&opts.NoSave, "no-save", false, "write the merged tables only to --out, not a run in the home")
	fs.BoolVar(&opts.JSON, "json", false, "print the shards' attempts and the merged manifest as JSON")
	fs.IntVar(&opts.Top, "top", 10, "snacks listed in the summary's shortage table")
	_ = cmd.RegisterFlagCompletionFunc("env", cobra.FixedCompletions(localshards.Styles, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"parquet", "csv"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// ownFlags are the sharded command's flags this command sets itself.
var ownFlags = []string{"--shard", "--shard-count", "--out", "--format", "--json", "--quota-from"}

func (o *Options) validate() error {
	if o.Local == 0 {
		return cmdutil.FlagErrorf("--local N is required: the number of shard processes (for a cluster, see the recipes in deploy/)")
	}
	if err := cmdutil.CheckIntRange("local", o.Local, 1, 9999); err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("parallel", o.Parallel, 0, 9999); err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("retries", o.Retries, 0, 100); err != nil {
		return err
	}
	if o.Backoff < 0 {
		return cmdutil.FlagErrorf("--backoff %s: must not be negative", o.Backoff)
	}
	if err := cmdutil.CheckChoice("env", o.Style, localshards.Styles...); err != nil {
		return err
	}
	if err := cmdutil.CheckChoice("format", o.Format, results.FormatParquet, results.FormatCSV); err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("top", o.Top, 0, 10000); err != nil {
		return err
	}
	if o.OutDir != "" {
		if err := cmdutil.CheckOutDir(o.OutDir); err != nil {
			return cmdutil.FlagErrorf("%v", err)
		}
	}
	if o.NoSave && o.OutDir == "" {
		return cmdutil.FlagErrorf("--no-save needs --out DIR: the merged tables must go somewhere")
	}
	for _, a := range o.Command[1:] {
		name, _, _ := strings.Cut(a, "=")
		if slices.Contains(ownFlags, name) {
			return cmdutil.FlagErrorf("%s after --: assign shards sets it for every shard (give --out and --format before --, for the merged tables)", name)
		}
	}
	// Validate the command's own flags now, once, rather than in N processes.
	var cmd *cobra.Command
	captured := false
	capture := func(po *plancmd.Options) error { o.Mode, captured = po.Mode, true; return nil }
	switch o.Command[0] {
	case "preassign":
		cmd = preassign.NewCmdPreassign(o.Factory, capture)
	case "run":
		cmd = run.NewCmdRun(o.Factory, capture)
	default:
		return cmdutil.FlagErrorf("%q after --: assign shards runs preassign or run", o.Command[0])
	}
	cmd.SetArgs(o.Command[1:])
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &cmdutil.FlagError{Err: err} })
	if err := cmd.Execute(); err != nil {
		return cmdutil.FlagErrorf("%s after --: %v", o.Command[0], err)
	}
	if !captured {
		return cmdutil.FlagErrorf("%s after --: give the command's flags, not --help", o.Command[0])
	}
	return nil
}

// runOnly are run's flags that preassign does not take, with whether they
// take a value.
var runOnly = map[string]bool{"--allocator": true}

// preassignOf is the preassign of the same job as the run command args.
func preassignOf(args []string) []string {
	out := []string{"preassign"}
	for i := 1; i < len(args); i++ {
		name, _, hasValue := strings.Cut(args[i], "=")
		if takes, ok := runOnly[name]; ok {
			if takes && !hasValue {
				i++
			}
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// report is what --json prints.
type report struct {
	Steps []step         `json:"steps"`
	Run   *plan.Manifest `json:"merged"`
}

type step struct {
	Command []string            `json:"command"`
	Parts   string              `json:"parts"`
	Shards  []localshards.Shard `json:"shards"`
}

// Run runs the shards and the merge.
func Run(ctx context.Context, o *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	f := o.Factory
	home, err := f.Home()
	if err != nil {
		return err
	}
	parts := o.Parts
	defaultParts := parts == ""
	if defaultParts {
		parts = filepath.Join(home.Dir, "parts", f.Now().UTC().Format("20060102T150405")+"-"+o.Mode.String()+"-"+randomTag())
	}
	parallel := o.Parallel
	if parallel == 0 {
		parallel = runtime.NumCPU()
	}
	var progress io.Writer
	if f.IO.IsStderrTTY() {
		progress = f.IO.ErrOut
	} else {
		progress = &logWriter{f: f}
	}
	rep := &report{}
	// runStep runs the shards of command into dir and merges them.
	runStep := func(command []string, dir string, mr merge.Request) (*merge.Outcome, error) {
		shards, err := localshards.Run(ctx, localshards.Options{
			Count: o.Local, Parallel: parallel, Retries: o.Retries, Backoff: o.Backoff, Style: o.Style,
			Exe: o.Exe, Env: o.Env, GlobalArgs: []string{"--home", home.Dir}, Args: command, PartsDir: dir,
			Progress: progress, OnStart: o.OnStart,
		})
		rep.Steps = append(rep.Steps, step{Command: command, Parts: dir, Shards: shards})
		if ctx.Err() != nil {
			return nil, cmdutil.Interrupted("interrupted; the shards were stopped, the parts that finished are in %s", dir)
		}
		if err != nil {
			return nil, fmt.Errorf("%w\nThe parts that finished are in %s; run the command again to redo the job", err, dir)
		}
		prog := f.NewProgress()
		mr.Parts = []string{dir}
		mr.Flags = map[string]any{"shards": o.Local, "command": command, "out": mr.OutDir, "format": mr.OutFormat, "env": o.Style}
		mr.Now, mr.Version, mr.Logger = f.Now, cmdutil.BuildVersion(), f.Logger
		mr.Stage = func(name string) { prog.Stage(name, 0) }
		out, err := merge.Execute(ctx, home, mr)
		prog.Done()
		if err != nil {
			return nil, fmt.Errorf("merge the parts in %s: %w", dir, err)
		}
		return out, nil
	}
	command := o.Command
	if o.Mode == engine.Assign {
		// Stock couples the shards of a run: first a sharded preassign of the
		// same job, whose per-shard demand splits every lot among them.
		pre, err := runStep(preassignOf(o.Command), filepath.Join(parts, "preassign"), merge.Request{})
		if err != nil {
			return err
		}
		command = append(append([]string{}, o.Command...), "--quota-from", pre.RunDir)
		parts = filepath.Join(parts, "run")
	}
	out, err := runStep(command, parts, merge.Request{OutDir: o.OutDir, OutFormat: o.Format, NoSave: o.NoSave})
	if err != nil {
		return err
	}
	rep.Run = out.Manifest
	if defaultParts && !o.KeepParts {
		root := parts
		if o.Mode == engine.Assign {
			root = filepath.Dir(parts)
		}
		if err := os.RemoveAll(root); err != nil {
			f.Logger.Warn("could not remove the parts folder", "dir", root, "err", err)
		}
	}
	if o.JSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		_, err := f.IO.Out.Write(append(b, '\n'))
		return err
	}
	for _, s := range rep.Steps {
		printShards(f.IO.Out, s)
	}
	mergecmd.PrintSummary(f.IO.Out, out, o.Top)
	return nil
}

func printShards(w io.Writer, s step) {
	fmt.Fprintf(w, "%s in %d shards:\n", strings.Join(s.Command, " "), len(s.Shards))
	var rows [][]any
	for _, sh := range s.Shards {
		last := sh.Attempts[len(sh.Attempts)-1]
		var failed []string
		for _, a := range sh.Attempts[:len(sh.Attempts)-1] {
			if a.Signal != "" {
				failed = append(failed, a.Signal)
			} else {
				failed = append(failed, fmt.Sprintf("exit %d", a.ExitCode))
			}
		}
		note := ""
		if len(failed) > 0 {
			note = "retried after " + strings.Join(failed, ", ")
		}
		rows = append(rows, []any{sh.Index, len(sh.Attempts), fmt.Sprintf("%.2fs", last.Seconds), cmdutil.HumanBytes(last.MaxRSS), note})
	}
	cmdutil.PrintTable(w, []string{"shard", "attempts", "wall", "peak RSS", "note"}, rows, "shard", "attempts", "wall", "peak RSS")
	fmt.Fprintln(w)
}

// logWriter turns progress lines into info logs when stderr is no terminal.
type logWriter struct{ f *cmdutil.Factory }

func (l *logWriter) Write(p []byte) (int, error) {
	l.f.Logger.Info(strings.TrimSpace(string(p)))
	return len(p), nil
}

func randomTag() string {
	return fmt.Sprintf("%d", os.Getpid())
}
