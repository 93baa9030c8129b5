// Package root builds the assign command tree and maps errors to exit codes.
package root

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/store"
)

// Main runs assign with args and the given streams and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ios := cmdutil.System(stdin, stdout, stderr)
	return MainWith(cmdutil.New(ios), args)
}

// MainWith runs assign on a prepared factory (tests inject streams, clock, home).
func MainWith(f *cmdutil.Factory, args []string) int {
	return MainContext(context.Background(), f, args)
}

// MainContext runs assign under ctx. This is the one place that listens for
// Ctrl-C (SIGINT) and SIGTERM: the first one cancels the context every
// command runs under, and the command's error becomes one line and exit
// code 130 (143 after SIGTERM). A second signal kills the process at once,
// which is safe too: every writer publishes by rename.
func MainContext(ctx context.Context, f *cmdutil.Factory, args []string) (code int) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore the default action for a second signal
	}()
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(f.IO.ErrOut, "assign: internal error: %v\n", r)
			fmt.Fprintf(f.IO.ErrOut, "This is a bug in assign %s. Please report it with the command you ran and this trace:\n%s", cmdutil.BuildVersion(), debug.Stack())
			code = cmdutil.ExitInternal
		}
	}()
	cmd := NewCmdRoot(f)
	cmd.SetArgs(commentArgsLast(args))
	cmd.SetIn(f.IO.In)
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	executed, err := cmd.ExecuteContextC(ctx)
	if err == nil {
		return cmdutil.ExitOK
	}
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return reportInterrupt(f, ctx, err)
	}
	return reportError(f, executed, err)
}

// reportInterrupt prints the one line of an interrupted command. Whatever
// the command was doing (a DuckDB query, a file copy) surfaced the
// cancellation in its own words; the user needs only to know it stopped and
// what it left.
func reportInterrupt(f *cmdutil.Factory, ctx context.Context, err error) int {
	msg := "interrupted; nothing was written"
	var ie *cmdutil.InterruptedError
	if errors.As(err, &ie) {
		msg = ie.Msg
	}
	fmt.Fprintf(f.IO.ErrOut, "assign: %s\n", msg)
	if cause := context.Cause(ctx); cause != nil && strings.HasPrefix(cause.Error(), syscall.SIGTERM.String()+" ") {
		return cmdutil.ExitTerminated
	}
	return cmdutil.ExitInterrupted
}

// commentArgsLast moves arguments that start with an SQL line comment
// ("-- weekly\nSELECT ...") after a "--", so they are read as arguments,
// not as a flag: no flag name holds white space. Arguments after an
// existing "--" stay where they are.
func commentArgsLast(args []string) []string {
	var keep, moved []string
	for i, a := range args {
		if a == "--" {
			if moved == nil {
				return args
			}
			keep = append(keep, args[i:]...)
			return append(keep, moved...)
		}
		if len(a) > 2 && strings.HasPrefix(a, "--") && strings.ContainsRune(" \t\r\n", rune(a[2])) {
			moved = append(moved, a)
			continue
		}
		keep = append(keep, a)
	}
	if moved == nil {
		return args
	}
	return append(append(keep, "--"), moved...)
}

func reportError(f *cmdutil.Factory, cmd *cobra.Command, err error) int {
	var exitErr *cmdutil.ExitError
	if errors.As(err, &exitErr) {
		if exitErr.Err != nil {
			fmt.Fprintf(f.IO.ErrOut, "assign: %s\n", exitErr.Err)
		}
		return exitErr.Code
	}
	if errors.Is(err, cmdutil.ErrSilent) {
		return cmdutil.ExitFailure
	}
	if damaged, ok := duck.AsDamaged(err); ok {
		fmt.Fprintf(f.IO.ErrOut, "assign: %s\n", damagedMessage(damaged))
		return cmdutil.ExitFailure
	}
	var noShip *plan.NoShipmentsError
	if errors.As(err, &noShip) {
		fmt.Fprintf(f.IO.ErrOut, "assign: %s\n", err)
		return cmdutil.ExitNoShipments
	}
	var flagErr *cmdutil.FlagError
	if errors.As(err, &flagErr) || isCobraUsageError(err) {
		fmt.Fprintf(f.IO.ErrOut, "assign: %s\n", err)
		if cmd != nil {
			fmt.Fprintf(f.IO.ErrOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
		return cmdutil.ExitUsage
	}
	if path, full := cmdutil.DiskFull(err); full {
		// Name the folder the user knows, not the temporary one inside it.
		dir := filepath.Dir(path)
		for strings.HasPrefix(filepath.Base(dir), ".tmp-") {
			dir = filepath.Dir(dir)
		}
		if path == "" {
			fmt.Fprintf(f.IO.ErrOut, "assign: no space left on device: the disk is full; free space and run the command again\n")
		} else {
			fmt.Fprintf(f.IO.ErrOut, "assign: no space left on device: the file system holding %s is full; free space there (df -h %s) and run the command again\n", dir, dir)
		}
		return cmdutil.ExitFailure
	}
	fmt.Fprintf(f.IO.ErrOut, "assign: %s\n", err)
	return cmdutil.ExitFailure
}

// damagedMessage names the snapshot a damaged database file is, and says
// what to do: the file cannot be repaired, only replaced.
func damagedMessage(e *duck.DamagedError) string {
	name, isSnapshot := strings.CutSuffix(filepath.Base(e.Path), ".duckdb")
	if e.Path == "" {
		return fmt.Sprintf("a database file is damaged (%s); check the snapshots with 'assign snapshots verify', and load the extract of a damaged one again", e.Damage)
	}
	if !isSnapshot || filepath.Base(filepath.Dir(e.Path)) != "snapshots" {
		return e.Error()
	}
	return fmt.Sprintf("snapshot %s is damaged (%s: %s); make another snapshot current with 'assign snapshots use NAME' or load its extract again, and check the others with 'assign snapshots verify'", name, e.Path, e.Damage)
}

// parseErrorRE matches pflag's message for a value of the wrong kind, which
// ends in Go's strconv wording.
var parseErrorRE = regexp.MustCompile(`^(invalid argument ".*" for ".*" flag): strconv\.Parse(Int|Uint|Float|Bool): parsing ".*": (invalid syntax|value out of range)$`)

// plainParseError says what a flag wants instead of strconv's wording:
// 'invalid argument "x" for "--seed" flag: want an integer'.
func plainParseError(err error) error {
	m := parseErrorRE.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	want := map[string]string{"Int": "want an integer", "Uint": "want a whole number, 0 or more", "Float": "want a number", "Bool": "want true or false"}[m[2]]
	if m[3] == "value out of range" {
		want = "the number is out of range"
	}
	return fmt.Errorf("%s: %s", m[1], want)
}

// isCobraUsageError recognises cobra's own argument and flag errors, which
// are plain errors.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "requires at most", "requires exactly", "required flag", "if any flags in the group"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, "flag: "+p) {
			return true
		}
	}
	return false
}

// NewCmdRoot builds the command tree.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	var homeFlag, logLevel string
	cmd := &cobra.Command{
		Use:   "assign <command>",
		Short: "Plan snack-subscription boxes: demand forecast and stock-aware assignment",
		Long: `assign plans snack-subscription boxes on one machine in seconds.

It loads nightly extracts into immutable DuckDB snapshots, forecasts the
units of every snack the boxes of a ship date need (preassign), assigns each
subscriber's box under stock limits (run), explains any single box, and lets
analysts query snapshots and run results with SQL.`,
		Example: `  # Try it on generated data
  assign demo

  # Load last night's extract, then forecast four weeks of demand
  assign load ./extract-2026-11-21
  assign preassign --date 2026-11-23 --days 28

  # Why did user 42 get this box?
  assign explain --user 42 --date 2026-11-23`,
		Version:       cmdutil.BuildVersion(),
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if homeFlag != "" {
				h := homeFlag
				f.HomeDir = func() string { return h }
			}
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return cmdutil.FlagErrorf("--log-level %q: must be one of debug, info, warn, error", logLevel)
			}
			f.Logger = slog.New(slog.NewTextHandler(f.IO.ErrOut, &slog.HandlerOptions{Level: lvl}))
			f.Logger.Debug("start", "command", cmd.CommandPath(), "pid", os.Getpid())
			return nil
		},
	}
	cmd.SetVersionTemplate("assign {{.Version}}\n")
	cmd.PersistentFlags().StringVar(&homeFlag, "home", "", "data home folder (default $"+store.EnvHome+" or "+store.DefaultHome+")")
	cmd.PersistentFlags().StringVar(&logLevel, "log-level", "warn", "log detail on stderr: debug, info, warn or error")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &cmdutil.FlagError{Err: plainParseError(err)}
	})

	for _, sub := range subcommands(f) {
		cmd.AddCommand(sub)
	}
	return cmd
}
