// Package load is the `assign load` command: validate an extract folder and
// write it as a new snapshot.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/store"
)

// memoryLimitRE accepts the sizes DuckDB's memory_limit takes.
var memoryLimitRE = regexp.MustCompile(`^(?i)[0-9]+(\.[0-9]+)? ?(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$`)

// Options are the parsed arguments of load.
type Options struct {
	Factory     *cmdutil.Factory
	Dir         string
	RejectFile  string
	Name        string
	NoSwitch    bool
	Threads     int
	MemoryLimit string
}

// NewCmdLoad builds `assign load`. runF, when set, replaces the run function
// (flag tests).
func NewCmdLoad(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "load DIR",
		Short: "Validate an extract folder and write it as a new snapshot",
		Long: `Read the extract in DIR, check every rule of the input contract, and write
it as a new immutable snapshot in the data home, which becomes current.

DIR holds one source per table: <table>.csv (with a header row), .parquet,
.jsonl or .arrow (Arrow IPC file), or a folder <table>/ of such files.
snacks, users and stock are required; other tables may be absent (empty).
Column names match case-insensitively, in any order; extra columns are kept.

Without --reject-file, any invalid row fails the load and nothing changes.
With it, invalid rows (and rows referencing them) are written to that CSV
file with their table, file, line or row, column, value and rule, and the
rest is loaded. A load that fails or is interrupted leaves the current
snapshot untouched.`,
		Example: `  # Load last night's extract and make it current
  assign load ./extract-2026-11-21

  # Set invalid rows aside instead of failing
  assign load ./extract-2026-11-21 --reject-file rejects.csv

  # Load under a chosen name without switching to it yet
  assign load ./extract-2026-11-21 --name nightly-1121 --no-switch
  assign snapshots use nightly-1121`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if opts.Name != "" {
				if err := store.ValidName(opts.Name); err != nil {
					return cmdutil.FlagErrorf("--name: %v", err)
				}
			}
			if err := cmdutil.CheckIntRange("threads", opts.Threads, 0, 1024); err != nil {
				return err
			}
			if !memoryLimitRE.MatchString(opts.MemoryLimit) {
				return cmdutil.FlagErrorf("--memory-limit %q: want a size such as 4GB, 512MB or 2GiB", opts.MemoryLimit)
			}
			if runF != nil {
				return runF(opts)
			}
			return loadRun(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.RejectFile, "reject-file", "", "write invalid rows to this CSV file and load the rest")
	fs.StringVar(&opts.Name, "name", "", "snapshot name (default: snap-<UTC time>)")
	fs.BoolVar(&opts.NoSwitch, "no-switch", false, "write the snapshot but keep the current one current")
	fs.IntVar(&opts.Threads, "threads", 0, "DuckDB worker threads (default: all cores)")
	fs.StringVar(&opts.MemoryLimit, "memory-limit", loaders.DefaultMemoryLimit, "DuckDB memory limit; beyond it the load spills to the home's tmp folder")
	return cmd
}

func loadRun(ctx context.Context, o *Options) error {
	f := o.Factory
	home, err := f.Home()
	if err != nil {
		return err
	}
	prog := f.NewProgress()
	current := ""
	res, err := loaders.Load(ctx, loaders.Options{
		Dir: o.Dir, Home: home, Name: o.Name, NoSwitch: o.NoSwitch, RejectFile: o.RejectFile,
		Now: f.Now, Version: cmdutil.BuildVersion(), Threads: o.Threads, MemoryLimit: o.MemoryLimit,
		Logger: f.Logger,
		Progress: func(table string, done, total int) {
			if table != current {
				current = table
				prog.Stage(table, int64(total))
			}
			prog.Set(done, total)
		},
	})
	prog.Done()
	var verr *loaders.ValidationError
	if errors.As(err, &verr) {
		PrintViolations(f.IO.ErrOut, verr)
		return err
	}
	if err != nil {
		return err
	}
	for _, n := range res.Notes {
		fmt.Fprintf(f.IO.ErrOut, "note: %s\n", n)
	}
	printSummary(f.IO.Out, res)
	return nil
}

// PrintViolations writes the shown violations one per line, then how many
// more there are.
func PrintViolations(w io.Writer, e *loaders.ValidationError) {
	for _, v := range e.Shown {
		fmt.Fprintln(w, v.String())
	}
	if more := e.More(); more > 0 {
		fmt.Fprintf(w, "... and %d more\n", more)
	}
}

func printSummary(w io.Writer, res *loaders.Result) {
	state := "now current"
	if !res.Current {
		state = "not current: switch with 'assign snapshots use " + res.Snapshot + "'"
	}
	fmt.Fprintf(w, "Loaded snapshot %s (%s) in %s\n\n", res.Snapshot, state, res.Elapsed.Round(100*time.Millisecond))
	var rows [][]any
	var absent []string
	for _, t := range res.Tables {
		if t.Absent {
			rows = append(rows, []any{t.Table, 0, "-", "(absent)", "-"})
			absent = append(absent, t.Table)
			continue
		}
		src := t.Source
		if t.Files != 1 || strings.HasSuffix(src, "/") {
			src = fmt.Sprintf("%s (%d files)", src, t.Files)
		}
		rows = append(rows, []any{t.Table, t.Rows, t.Rejected, src, t.Format})
	}
	cmdutil.PrintTable(w, []string{"table", "rows", "rejected", "source", "format"}, rows, "rows", "rejected")
	if len(absent) > 0 {
		fmt.Fprintf(w, "\nAbsent optional tables, loaded empty: %s\n", strings.Join(absent, ", "))
	}
	if res.RejectFile != "" {
		fmt.Fprintf(w, "\nRejected %d %s (%d %s) written to %s\n", res.Rejected, pl(res.Rejected, "row", "rows"),
			res.Violations, pl(res.Violations, "violation", "violations"), res.RejectFile)
	}
}

func pl(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
