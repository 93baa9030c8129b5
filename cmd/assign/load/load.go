// Package load is the `assign load` command: validate an extract folder and
// write it as a new snapshot.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/loaders/dbsource"
	"github.com/assign-dev/assign/store"
)

// memoryLimitRE accepts the sizes DuckDB's memory_limit takes.
var memoryLimitRE = regexp.MustCompile(`^(?i)[0-9]+(\.[0-9]+)? ?(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$`)

// Options are the parsed arguments of load.
type Options struct {
	Factory    *cmdutil.Factory
	Dir        string
	RejectFile string
	Name       string
	NoSwitch   bool
	// SkipUnchanged loads nothing when the extract equals the current
	// snapshot's (same content checksum).
	SkipUnchanged bool
	Threads       int
	MemoryLimit   string
	// Timeout bounds the whole load (0: none).
	Timeout time.Duration

	// Database sources (DIR is a mysql:// or postgres:// URL).
	PasswordFile string
	MapFile      string
	Parallel     int
	TimeZone     string
}

// NewCmdLoad builds `assign load`. runF, when set, replaces the run function
// (flag tests).
func NewCmdLoad(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "load DIR | mysql://USER@HOST[:PORT]/DB | postgres://USER@HOST[:PORT]/DB",
		Short: "Validate an extract folder (or a database) and write it as a new snapshot",
		Long: `Read the extract in DIR, check every rule of the input contract, and write
it as a new immutable snapshot in the data home, which becomes current.

DIR holds one source per table: <table>.csv (with a header row), .parquet,
.jsonl or .arrow (Arrow IPC file), or a folder <table>/ of such files.
snacks, users and stock are required; other tables may be absent (empty).
Column names match case-insensitively, in any order; extra columns are kept.

Instead of a folder, a MySQL/MariaDB or PostgreSQL database can be read
directly: mysql://USER@HOST[:PORT]/DB, postgres://USER@HOST[:PORT]/DB
(also postgresql://, with ?sslmode=... and the other TLS parameters). All
tables are read inside one consistent snapshot of the database (read only),
with the same rules; a row at fault is named by its source table and
primary key. By default each table and column is read under its contract
name; --map FILE (TOML) maps them to other tables, columns or a SELECT.
Only the mapped columns are read (list more under keep in the map):

  [ratings]
  table   = "reviews"
  columns = { user_id = "member_id", snack_id = "item_no", rating = "stars", rated_at = "created" }
  keep    = ["channel"]
  [requests]
  query   = "SELECT wish_id, member_id AS user_id, item_no AS snack_id, wished AS requested_at FROM wishes"
  key     = ["wish_id"]

Zoned values (MySQL TIMESTAMP, PostgreSQL timestamptz) are taken in
--time-zone (default UTC); DATETIME and timestamp without time zone as
written.

The password: give it in MYSQL_PWD / PGPASSWORD or --password-file FILE.
A password written in the URL works too, but the command line (and so the
URL) is visible to every user of the machine in ps; assign itself never
prints, logs or records it.

Without --reject-file, any invalid row fails the load and nothing changes.
With it, invalid rows (and rows referencing them) are written to that CSV
file with their table, file, line or row, column, value and rule, and the
rest is loaded. A load that fails or is interrupted leaves the current
snapshot untouched.

Every load records a checksum of the extract's content in the snapshot and
says when an existing snapshot was loaded from the same content. With
--skip-unchanged, an extract whose checksum equals the current snapshot's
is not loaded again: the command names that snapshot and exits 0.`,
		Example: `  # Load last night's extract and make it current
  assign load ./extract-2026-11-21

  # Set invalid rows aside instead of failing
  assign load ./extract-2026-11-21 --reject-file rejects.csv

  # Load under a chosen name without switching to it yet
  assign load ./extract-2026-11-21 --name nightly-1121 --no-switch
  assign snapshots use nightly-1121

  # Straight from a PostgreSQL read replica, password from a file
  assign load postgres://assign@replica.internal/shop --password-file /run/secrets/pg

  # From MariaDB with the password in the environment and a table mapping
  MYSQL_PWD=... assign load mysql://assign@db.internal:3306/shop --map shop-map.toml

  # In a nightly job: load only when the extract changed since the last load
  assign load /exports/latest --skip-unchanged`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			isDB := dbsource.IsURL(opts.Dir)
			if !isDB {
				for _, fl := range []string{"password-file", "map", "parallel", "time-zone"} {
					if cmd.Flags().Changed(fl) {
						return cmdutil.FlagErrorf("--%s is for a database source (mysql:// or postgres://), not a folder", fl)
					}
				}
			}
			if isDB && opts.SkipUnchanged {
				return cmdutil.FlagErrorf("--skip-unchanged is for an extract folder: a database source has no content checksum (reading it twice to compute one would double the load)")
			}
			if err := cmdutil.CheckIntRange("parallel", opts.Parallel, 1, 16); err != nil {
				return err
			}
			if opts.Timeout < 0 {
				return cmdutil.FlagErrorf("--timeout %s: want a positive duration such as 30m", opts.Timeout)
			}
			if _, err := time.LoadLocation(opts.TimeZone); err != nil || opts.TimeZone == "" || strings.EqualFold(opts.TimeZone, "local") {
				return cmdutil.FlagErrorf("--time-zone %q: want an IANA time zone name such as UTC or Asia/Tokyo", opts.TimeZone)
			}
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
	fs.BoolVar(&opts.SkipUnchanged, "skip-unchanged", false, "load nothing (exit 0) when the extract's content equals the current snapshot's")
	fs.IntVar(&opts.Threads, "threads", 0, "DuckDB worker threads (default: all cores)")
	fs.StringVar(&opts.MemoryLimit, "memory-limit", loaders.DefaultMemoryLimit, "DuckDB memory limit; beyond it the load spills to the home's tmp folder")
	fs.DurationVar(&opts.Timeout, "timeout", 0, "give up when the load takes longer than this (e.g. 30m); nothing changes")
	fs.StringVar(&opts.PasswordFile, "password-file", "", "database source: read the password from this file (one line)")
	fs.StringVar(&opts.MapFile, "map", "", "database source: TOML file mapping tables and columns to the database's own")
	fs.IntVar(&opts.Parallel, "parallel", dbsource.DefaultParallel, "database source: connections reading large tables at once (1..16)")
	fs.StringVar(&opts.TimeZone, "time-zone", "UTC", "database source: time zone of MySQL TIMESTAMP and timestamptz values")
	return cmd
}

func loadRun(ctx context.Context, o *Options) error {
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	f := o.Factory
	home, err := f.Home()
	if err != nil {
		return err
	}
	var ex *loaders.Extract
	if dbsource.IsURL(o.Dir) {
		src, err := openSource(ctx, o)
		if err != nil {
			return timeoutErr(ctx, o, err)
		}
		defer src.Close()
		ex = src.Extract
	}
	prog := f.NewProgress()
	current := ""
	res, err := loaders.Load(ctx, loaders.Options{
		Dir: o.Dir, Extract: ex, Home: home, Name: o.Name, NoSwitch: o.NoSwitch, RejectFile: o.RejectFile, SkipUnchanged: o.SkipUnchanged,
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
	if errors.Is(err, store.ErrSnapshotExists) {
		return fmt.Errorf("%w: choose another --name, or remove it first with 'assign snapshots rm NAME'", err)
	}
	if err != nil {
		return timeoutErr(ctx, o, err)
	}
	if res.Unchanged {
		fmt.Fprintf(f.IO.Out, "Skipped: the extract is unchanged since snapshot %s (checksum %s), which stays current\n", res.Snapshot, res.Checksum)
		return nil
	}
	for _, n := range res.Notes {
		fmt.Fprintf(f.IO.ErrOut, "note: %s\n", n)
	}
	printSummary(f.IO.Out, res)
	if ex != nil {
		fmt.Fprintf(f.IO.Out, "\nRead from %s in one consistent snapshot (time zone of zoned values: %s).\n", ex.Meta["source_url"], ex.Meta["source_time_zone"])
	}
	return nil
}

// openSource connects to the database named by o.Dir and describes every
// table; errors never carry the password.
func openSource(ctx context.Context, o *Options) (*dbsource.Source, error) {
	t, err := dbsource.ParseURL(o.Dir)
	if err != nil {
		return nil, err
	}
	if err := t.ResolvePassword(o.PasswordFile, os.Getenv); err != nil {
		return nil, err
	}
	var m dbsource.Map
	if o.MapFile != "" {
		if m, err = dbsource.ReadMap(o.MapFile); err != nil {
			return nil, err
		}
	}
	zone, _ := time.LoadLocation(o.TimeZone)
	if o.TimeZone == "UTC" {
		zone = nil
	}
	connect := 15 * time.Second
	if o.Timeout > 0 && o.Timeout < connect {
		connect = o.Timeout
	}
	o.Factory.Logger.Debug("reading a database source", "url", t.Redacted(), "parallel", o.Parallel)
	return dbsource.Open(ctx, dbsource.Config{Target: t, Map: m, Parallel: o.Parallel, Zone: zone, ConnectTimeout: connect, Logger: o.Factory.Logger})
}

// timeoutErr words a load stopped by --timeout.
func timeoutErr(ctx context.Context, o *Options, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("the load did not finish within --timeout %s and was stopped: the home is unchanged", o.Timeout)
	}
	return err
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
		// Rows referring to a rejected row are counted apart: two bad users
		// rows must not read as hundreds of defects.
		if res.Rejected == 0 {
			fmt.Fprintf(w, "\nNo row rejected; %s holds only its header row\n", res.RejectFile)
			return
		}
		values, rows := res.Violations-res.CascadeViolations, res.Rejected-res.CascadeRows
		fmt.Fprintf(w, "\nRejected %d %s, written to %s: %d %s with %d invalid %s", res.Rejected, pl(res.Rejected, "row", "rows"),
			res.RejectFile, rows, pl(rows, "row", "rows"), values, pl(values, "value", "values"))
		if res.CascadeRows > 0 {
			fmt.Fprintf(w, ", and %d %s referring to rejected rows", res.CascadeRows, pl(res.CascadeRows, "row", "rows"))
		}
		fmt.Fprintln(w)
	}
}

func pl(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
