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

	date time.Time
}

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
standard input), or from standard input when it is not a terminal.

What the SQL can read:
  snacks, users, stock, ratings, ...   the snapshot's tables, unqualified
  latest.boxes, latest.demand,         the outputs of the newest run of any mode
    latest.snack_summary,              (or of --run ID); latest.picks in run mode
    latest.short_boxes, latest.picks
  latest_preassign.*, latest_run.*     the newest preassign run, the newest 'run' run
  runs                                 every run: id, mode, snapshot, dates, counts
  usable_stock                         usable units per snack and date over
                                       --date .. --date+--days-1 (min_shelf_days applied)
  user_eligibility                     per user: eligible snacks on --date, stock aside
  ratings_named                        latest rating per (user, snack) with names
  shortage_by_category                 latest.demand's shortage per category
  query_params                         the date, days and policy the views use
Parquet files under the home's runs folder can also be read by path, e.g.
read_parquet('<home>/runs/[0-9]*/demand.parquet', filename = true) for all runs.

The session is read-only: every statement is checked before any runs, and
only queries (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE,
EXPLAIN, PRAGMA table_info) pass. Writes, ATTACH, COPY, INSTALL/LOAD, SET
and reading files outside the home's runs folder are refused with a message
naming what was refused.

Output: an aligned table on a terminal (at most --max-rows rows, with the row
count and time on stderr), CSV when standard output is not a terminal, or
--format csv|json|jsonl|markdown|parquet. --out FILE writes the file
atomically and picks the format from its extension; parquet needs --out.
Results stream: any size can go to csv, jsonl or parquet.`,
		Example: `  # Which snacks will we be short of next week, and by how much, by category?
  assign query "` + ShortageExample + `"

  # The same per category, from the convenience view
  assign query "FROM shortage_by_category"

  # Users who cannot fill their box on 2026-03-02 even with unlimited stock
  assign query --date 2026-03-02 "SELECT * FROM user_eligibility WHERE ships AND eligible_snacks < box_size"

  # A SQL file, the result as Parquet
  assign query -f weekly.sql --out weekly.parquet

  # From standard input, as JSON lines
  echo "SELECT * FROM runs" | assign query --format jsonl`,
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
			return queryRun(cmd.Context(), opts)
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
	var tmp string
	if o.Out != "" {
		// Every --out goes to a temporary file beside the target and is
		// renamed into place, so a reader never sees half a file.
		abs, err := filepath.Abs(o.Out)
		if err != nil {
			return err
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
		WritablePaths: writable, Now: f.Now,
	})
	if err != nil {
		return err
	}
	defer sess.Close()
	for _, n := range sess.Notes {
		fmt.Fprintf(f.IO.ErrOut, "note: %s\n", n)
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
		if rows, err = sess.CopyParquet(ctx, stmts[0], tmp); err != nil {
			return err
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
		maxRows := o.MaxRows
		if maxRows == 0 {
			maxRows = int(^uint(0) >> 1)
		}
		for i, st := range stmts {
			if i > 0 {
				fmt.Fprintln(out)
			}
			w, err := analytics.NewWriter(o.Format, out, maxRows)
			if err != nil {
				return err
			}
			if err := sess.Stream(ctx, st, w); err != nil {
				if ctx.Err() != nil && o.Out == "" {
					return cmdutil.Interrupted("interrupted; the rows printed before it are not the whole result")
				}
				if len(stmts) > 1 {
					return fmt.Errorf("statement %d: %w", i+1, err)
				}
				return err
			}
			n, err := w.Close()
			if err != nil {
				return fmt.Errorf("write the result: %w", err)
			}
			rows = n
			if shown, cut := analytics.Truncated(w); cut {
				fmt.Fprintf(f.IO.ErrOut, "Showing the first %d of %d rows: raise --max-rows, or use --format csv or --out FILE for all of them.\n", shown, n)
			}
			if len(stmts) > 1 && i < len(stmts)-1 {
				fmt.Fprintf(f.IO.ErrOut, "%s\n", rowCount(n))
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

func rowCount(n int64) string {
	if n == 1 {
		return "1 row"
	}
	return fmt.Sprintf("%d rows", n)
}
