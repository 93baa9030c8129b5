// Package query is the `assign query` command: read-only SQL over a
// snapshot and the outputs of runs.
package query

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/analytics"
	"github.com/assign-dev/assign/atomicfs"
	"github.com/assign-dev/assign/cmd/assign/cmdutil"
)

// Options are the parsed flags of `assign query`.
type Options struct {
	Factory  *cmdutil.Factory
	SQL      string
	File     string
	Snapshot string
	Run      string
	Date     string
	Days     int
	Format   string
	Out      string
	MaxRows  int
	Threads  int
	// MemoryLimit is --memory-limit as given ("4GB"); Timeout --timeout.
	MemoryLimit string
	Timeout     time.Duration

	date        time.Time
	memoryLimit int64
}

// DefaultTimeout is --timeout's default: long enough for any view on a
// large snapshot, short enough that a query that never ends does end.
const DefaultTimeout = 10 * time.Minute

// minMemoryLimit is the smallest --memory-limit: below it DuckDB cannot
// open the snapshot and the views.
const minMemoryLimit = 256 << 20

// ShortageExample is the question the analysts' docs start from; the help
// and docs/ANALYSTS.md carry it verbatim and a test runs it.
const ShortageExample = `SELECT s.category, s.name AS snack, sum(d.demand) AS demand, sum(d.shortage) AS short_units
FROM latest.demand d JOIN snacks s USING (snack_id)
WHERE d.ship_on BETWEEN DATE '2026-03-02' AND DATE '2026-03-08' AND d.shortage > 0
GROUP BY ALL ORDER BY s.category, short_units DESC, snack`

// NewCmdQuery builds `assign query`.
func NewCmdQuery(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "query [SQL] [-f FILE]",
		Short: "Run read-only SQL over a snapshot and the latest run outputs",
		Long: `Run SQL (DuckDB dialect) over the current snapshot, or --snapshot NAME, and
the outputs of runs. The SQL comes from the argument, from -f FILE (- for
standard input), or from standard input when it is not a terminal. An
argument that starts with a "-- comment" line is SQL, not a flag.

What the SQL can read:
  snacks, users, stock, ratings, ...   the snapshot's tables, unqualified
  latest.boxes, latest.demand,         the outputs of the newest run of any mode
    latest.snack_summary,              (or of --run ID); latest.picks in run mode
    latest.short_boxes, latest.picks
  latest_preassign.*, latest_run.*     the newest preassign run, the newest 'run' run
  runs                                 every run: id, mode, snapshot, dates, counts,
                                       problem (why a damaged run is skipped)
  usable_stock                         usable units per snack and date over
                                       --date .. --date+--days-1 (min_shelf_days applied)
  user_eligibility                     per user: eligible snacks on --date, stock aside
  ratings_named                        latest rating per (user, snack) with names
  shortage_by_category                 shortage per category of the preassign run:
                                       --run's when it is a preassign, else the
                                       newest preassign (a 'run' has no shortage)
  query_params                         the date, days, policy and runs the views use
Parquet files under the home's runs folder can also be read by path, e.g.
read_parquet('<home>/runs/[0-9]*/demand.parquet', filename = true) for all runs.

Runs: a damaged run folder (a cut Parquet file, a manifest that is not
JSON) is skipped with a warning naming it. When latest.* was made on
another snapshot than the one queried, a warning says so, and a statement
that reads such a run together with this snapshot's tables (snacks,
usable_stock, ...) is refused, since it would pair one extract's ids with
another's names: add --snapshot with the run's snapshot. shortage_by_category
takes names from the run's own snapshot (and is refused when that snapshot
is gone).

The session only reads: every statement is checked before any runs. DuckDB
parses it, and every function it calls must be on assign's list of
functions that only read (enable_logging, checkpoint, query, write_log,
... are refused); only queries (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW,
SUMMARIZE, EXPLAIN, PRAGMA table_info) pass. Writes, ATTACH, COPY,
INSTALL/LOAD, SET, reading files outside the home's runs folder, and any
read by path while a symbolic link in runs/ leads outside it are refused
with a message naming what was refused.

Limits: a query works in --memory-limit of memory (sorts, joins and
aggregates spill beyond it to a folder of its own under the home's tmp/,
up to twice as much; the process as a whole stops at --memory-limit plus
1 GiB) and stops after --timeout. Either ends the query with one line
saying which limit and exit status 1.

Output: an aligned table on a terminal (at most --max-rows rows, with the
row count and time on stderr; control characters in values are shown
escaped, \x1b), CSV when standard output is not a terminal, or --format
csv|json|jsonl|markdown|parquet. --out FILE writes the file atomically and
picks the format from its extension; parquet needs --out. Every format
streams: memory does not grow with the result.
`,
		Example: `  # Which snacks will we be short of next week, and by how much, by category?
  assign query "` + ShortageExample + `"

  # The same per category, from the convenience view
  assign query "FROM shortage_by_category"

  # Users who cannot fill their box on 2026-03-02 even with unlimited stock
  assign query --date 2026-03-02 "SELECT * FROM user_eligibility WHERE ships AND eligible_snacks < box_size"

  # A SQL file, the result as Parquet
  assign query -f weekly.sql --out weekly.parquet

  # From standard input, as JSON lines
  echo "SELECT * FROM runs" | assign query --format jsonl

  # A comment first is fine; a big export with more memory and time
  assign query --memory-limit 8GB --timeout 1h --out boxes.csv "-- all boxes
  SELECT * FROM latest.boxes"`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.SQL = args[0]
			}
			if err := opts.validate(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			if err := queryRun(cmd.Context(), opts); err != nil {
				return &escapedError{err}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&opts.File, "file", "f", "", "read the SQL from this file (- for standard input)")
	fs.StringVar(&opts.Snapshot, "snapshot", "", "snapshot name (default: the current one)")
	fs.StringVar(&opts.Run, "run", "", "run id or run folder that latest.* shows (default: the newest run)")
	fs.StringVar(&opts.Date, "date", "", "date of usable_stock and user_eligibility, YYYY-MM-DD (default: the latest run's first date, else today)")
	fs.IntVar(&opts.Days, "days", 0, "dates usable_stock covers from --date (default: the latest run's horizon, else 7)")
	fs.StringVar(&opts.Format, "format", "", "output format: table, csv, json, jsonl, markdown or parquet (default: table on a terminal, csv otherwise, or --out's extension)")
	fs.StringVarP(&opts.Out, "out", "o", "", "write the result to this file instead of standard output")
	fs.IntVar(&opts.MaxRows, "max-rows", 1000, "rows the table format prints at most (0 = no limit)")
	fs.IntVar(&opts.Threads, "threads", 0, "DuckDB worker threads (default: all cores)")
	fs.StringVar(&opts.MemoryLimit, "memory-limit", "", fmt.Sprintf("memory for the query's work, e.g. 2GB; beyond it sorts and joins spill to the home's tmp folder, up to twice as much (default: a quarter of this machine's memory, %s)", cmdutil.HumanBytes(analytics.DefaultMemoryLimit())))
	fs.DurationVar(&opts.Timeout, "timeout", DefaultTimeout, "stop a statement that runs longer than this, e.g. 30s or 2h (0 = no limit)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(analytics.Formats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// formatForExt maps --out extensions to formats.
var formatForExt = map[string]string{
	".csv": analytics.FormatCSV, ".json": analytics.FormatJSON, ".jsonl": analytics.FormatJSONL,
	".ndjson": analytics.FormatJSONL, ".parquet": analytics.FormatParquet, ".md": analytics.FormatMarkdown,
	".txt": analytics.FormatTable,
}

func (o *Options) validate(cmd *cobra.Command) error {
	f := o.Factory
	switch {
	case o.File != "" && o.SQL != "":
		return cmdutil.FlagErrorf("give the SQL either as an argument or with -f, not both")
	case o.File == "-":
		b, err := io.ReadAll(f.IO.In)
		if err != nil {
			return fmt.Errorf("read SQL from standard input: %w", err)
		}
		o.SQL = string(b)
	case o.File != "":
		b, err := os.ReadFile(o.File)
		if err != nil {
			return cmdutil.FlagErrorf("-f %s: %v", o.File, errors.Unwrap(err))
		}
		o.SQL = string(b)
	case o.SQL == "" && !f.IO.IsStdinTTY() && f.IO.In != nil:
		b, err := io.ReadAll(f.IO.In)
		if err != nil {
			return fmt.Errorf("read SQL from standard input: %w", err)
		}
		o.SQL = string(b)
	}
	if strings.TrimSpace(o.SQL) == "" {
		return cmdutil.FlagErrorf("no SQL given: pass it as an argument, with -f FILE, or on standard input")
	}
	if o.Date != "" {
		d, err := cmdutil.ParseDateFlag("date", o.Date)
		if err != nil {
			return err
		}
		o.date = d
	}
	if err := cmdutil.CheckIntRange("days", o.Days, 0, 366); err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("max-rows", o.MaxRows, 0, 1<<30); err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("threads", o.Threads, 0, 1024); err != nil {
		return err
	}
	o.memoryLimit = analytics.DefaultMemoryLimit()
	if o.MemoryLimit != "" {
		n, err := cmdutil.ParseBytes(o.MemoryLimit)
		if err != nil {
			return cmdutil.FlagErrorf("--memory-limit %q: %v", o.MemoryLimit, err)
		}
		if n < minMemoryLimit {
			return cmdutil.FlagErrorf("--memory-limit %q: must be at least %s", o.MemoryLimit, cmdutil.HumanBytes(minMemoryLimit))
		}
		o.memoryLimit = n
	}
	if o.Timeout < 0 {
		return cmdutil.FlagErrorf("--timeout %s: must be 0 (no limit) or more", o.Timeout)
	}
	// A folder first: its name has no extension to pick a format from.
	if fi, err := os.Stat(o.Out); o.Out != "" && err == nil && fi.IsDir() {
		return cmdutil.FlagErrorf("--out %s is a folder; give a file name", o.Out)
	}
	if o.Format == "" {
		switch {
		case o.Out != "":
			o.Format = formatForExt[strings.ToLower(filepath.Ext(o.Out))]
			if o.Format == "" {
				return cmdutil.FlagErrorf("--out %s: cannot tell the format from the extension; add --format", o.Out)
			}
		case f.IO.IsStdoutTTY():
			o.Format = analytics.FormatTable
		default:
			o.Format = analytics.FormatCSV
		}
	}
	if err := cmdutil.CheckChoice("format", o.Format, analytics.Formats...); err != nil {
		return err
	}
	if o.Format == analytics.FormatParquet && o.Out == "" {
		return cmdutil.FlagErrorf("--format parquet needs --out FILE (Parquet is not for a terminal)")
	}
	if o.Out != "" {
		if fi, err := os.Stat(filepath.Dir(o.Out)); err != nil || !fi.IsDir() {
			return cmdutil.FlagErrorf("--out %s: folder %s does not exist", o.Out, filepath.Dir(o.Out))
		}
	}
	return nil
}

func queryRun(ctx context.Context, o *Options) error {
	f := o.Factory
	started := time.Now()
	home, err := f.Home()
	if err != nil {
		return err
	}
	// Memory DuckDB does not account for (a huge list built in one
	// expression) must not take the machine: cap the process too.
	restore := analytics.CapProcessMemory(o.memoryLimit + analytics.ProcessHeadroom)
	defer restore()

	var tmp string
	if o.Out != "" {
		// Every --out goes to a temporary file beside the target and is
		// renamed into place, so a reader never sees half a file; on any
		// error the temporary file goes.
		abs, aerr := filepath.Abs(o.Out)
		if aerr != nil {
			return aerr
		}
		tmp = atomicfs.TempPath(abs)
		defer os.Remove(tmp)
	}
	var writable []string
	if o.Format == analytics.FormatParquet {
		writable = []string{tmp}
	}
	sess, err := analytics.Open(ctx, home, analytics.Options{
		Snapshot: o.Snapshot, Run: o.Run, Date: o.date, Days: o.Days, Threads: o.Threads,
		WritablePaths: writable, Now: f.Now, MemoryLimit: o.memoryLimit,
	})
	if err != nil {
		return err
	}
	defer sess.Close()
	for _, w := range sess.Warnings {
		fmt.Fprintf(f.IO.ErrOut, "warning: %s\n", w)
	}
	stmts, err := sess.Check(o.SQL)
	if err != nil {
		return err
	}
	machine := o.Format != analytics.FormatTable && o.Format != analytics.FormatMarkdown
	if machine && len(stmts) > 1 {
		return cmdutil.FlagErrorf("--format %s writes one result, and the SQL holds %d statements: run them one at a time", o.Format, len(stmts))
	}

	var rows int64
	if o.Format == analytics.FormatParquet {
		qctx, cancel := analytics.WithTimeout(ctx, o.Timeout)
		defer cancel()
		if rows, err = sess.CopyParquet(qctx, stmts[0], tmp); err != nil {
			return o.limitHint(err)
		}
	} else {
		var out io.Writer = f.IO.Out
		var file *os.File
		if o.Out != "" {
			if file, err = os.Create(tmp); err != nil {
				return fmt.Errorf("write %s: %w", o.Out, err)
			}
			defer file.Close()
			out = file
		}
		for i, st := range stmts {
			if i > 0 {
				fmt.Fprintln(out)
			}
			res, err := sess.Run(ctx, st, out, analytics.RunOptions{Format: o.Format, MaxRows: o.MaxRows, Timeout: o.Timeout})
			if err != nil {
				if ctx.Err() != nil && o.Out == "" {
					return cmdutil.Interrupted("interrupted; the rows printed before it are not the whole result")
				}
				err = o.limitHint(err)
				if len(stmts) > 1 {
					return fmt.Errorf("statement %d: %w", i+1, err)
				}
				return err
			}
			rows = res.Rows
			if res.Truncated() {
				fmt.Fprintf(f.IO.ErrOut, "Showing the first %d of %d rows: raise --max-rows, or use --format csv or --out FILE for all of them.\n", res.Shown, res.Rows)
			}
			if len(stmts) > 1 && i < len(stmts)-1 {
				fmt.Fprintf(f.IO.ErrOut, "%s\n", rowCount(res.Rows))
			}
		}
		if file != nil {
			if err := file.Close(); err != nil {
				return fmt.Errorf("write %s: %w", o.Out, err)
			}
		}
	}
	if o.Out != "" {
		if err := atomicfs.Publish(tmp, o.Out); err != nil {
			return err
		}
		fmt.Fprintf(f.IO.ErrOut, "Wrote %s to %s in %.2fs\n", rowCount(rows), o.Out, time.Since(started).Seconds())
		return nil
	}
	if !machine || f.IO.IsStderrTTY() {
		fmt.Fprintf(f.IO.ErrOut, "%s in %.2fs\n", rowCount(rows), time.Since(started).Seconds())
	}
	return nil
}

// escapedError shows an error with its control characters escaped: DuckDB
// quotes values in its messages ("Could not convert string '...'"), and a
// value from an extract must not drive the terminal. Unwrap keeps the
// error's kind (exit codes) visible.
type escapedError struct{ err error }

func (e *escapedError) Error() string { return analytics.EscapeControl(e.err.Error()) }
func (e *escapedError) Unwrap() error { return e.err }

// limitHint names the flag that raises a limit a query ran into.
func (o *Options) limitHint(err error) error {
	var le *analytics.LimitError
	if !errors.As(err, &le) {
		return err
	}
	mem := "the default"
	if o.MemoryLimit != "" {
		mem = o.MemoryLimit
	}
	switch le.Limit {
	case "time":
		return fmt.Errorf("%w: raise --timeout (now %s; 0 for no limit), or narrow the query", err, o.Timeout)
	case "temp":
		return fmt.Errorf("%w: raise --memory-limit (now %s; a query may spill twice that to the home's tmp folder), or narrow the query", err, mem)
	}
	return fmt.Errorf("%w: raise --memory-limit (now %s), or narrow the query", err, mem)
}

func rowCount(n int64) string {
	if n == 1 {
		return "1 row"
	}
	return fmt.Sprintf("%d rows", n)
}
