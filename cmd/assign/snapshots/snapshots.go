// Package snapshots is the `assign snapshots` command: list the snapshots of
// the data home, switch the current one, and delete old ones.
package snapshots

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/store"
)

// mainTables are the tables the aligned listing shows row counts of; csv
// and json list every table.
var mainTables = []string{"snacks", "users", "stock", "deliveries", "ratings"}

// ListOptions are the parsed flags of `assign snapshots`.
type ListOptions struct {
	Factory *cmdutil.Factory
	Format  string
}

// NewCmdSnapshots builds `assign snapshots` with its use and gc subcommands.
func NewCmdSnapshots(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "snapshots",
		Short: "List snapshots; switch the current one (use), delete old ones (gc, rm), check them (verify)",
		Long: `List the snapshots of the data home, oldest first: name, when it was loaded,
file size, row counts of the main tables, and which one is current.

Every command reads the current snapshot unless given --snapshot.`,
		Example: `  assign snapshots
  assign snapshots --format json
  assign snapshots use snap-20261121-020000
  assign snapshots gc --keep 7 --dry-run
  assign snapshots rm snap-20261101-020000
  assign snapshots verify`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.CheckChoice("format", opts.Format, "table", "csv", "json"); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "table", "output format: table, csv or json")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"table", "csv", "json"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.AddCommand(NewCmdUse(f, nil), NewCmdGC(f, nil), NewCmdRm(f, nil), NewCmdVerify(f, nil))
	return cmd
}

// entry is one listed snapshot.
type entry struct {
	Name      string           `json:"name"`
	CreatedAt string           `json:"created_at"`
	SizeBytes int64            `json:"size_bytes"`
	Current   bool             `json:"current"`
	SourceDir string           `json:"source_dir,omitempty"`
	Rows      map[string]int64 `json:"rows"`
	Rejected  int64            `json:"rows_rejected"`
	Absent    []string         `json:"absent_tables"`
	Error     string           `json:"error,omitempty"`
}

func listRun(ctx context.Context, o *ListOptions) error {
	f := o.Factory
	home, err := f.Home()
	if err != nil {
		return err
	}
	snaps, err := home.ListSnapshots()
	if err != nil {
		return err
	}
	entries := make([]entry, 0, len(snaps))
	for _, s := range snaps {
		e := entry{Name: s.Name, SizeBytes: s.Size, Current: s.Current, Rows: map[string]int64{}, Absent: []string{},
			CreatedAt: s.ModTime.UTC().Format(time.RFC3339)}
		m, err := loaders.ReadMeta(ctx, s.Path)
		if err != nil {
			e.Error = err.Error()
			f.Logger.Warn("cannot read snapshot metadata", "snapshot", s.Name, "err", err)
		} else {
			if !m.CreatedAt.IsZero() {
				e.CreatedAt = m.CreatedAt.UTC().Format(time.RFC3339)
			}
			e.SourceDir = m.Meta["source_dir"]
			for _, t := range m.Tables {
				e.Rows[t.Table] = t.Rows
				e.Rejected += t.Rejected
				if t.Absent {
					e.Absent = append(e.Absent, t.Table)
				}
			}
		}
		entries = append(entries, e)
	}
	w := f.IO.Out
	switch o.Format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(entries)
	case "csv":
		return writeCSV(w, entries)
	}
	if len(entries) == 0 {
		fmt.Fprintln(w, "No snapshots yet: run 'assign load DIR' (or 'assign demo') first.")
		return nil
	}
	header := append([]string{"name", "created", "size"}, mainTables...)
	header = append(header, "current")
	var rows [][]any
	for _, e := range entries {
		r := []any{e.Name, e.CreatedAt, cmdutil.HumanBytes(e.SizeBytes)}
		for _, t := range mainTables {
			if n, ok := e.Rows[t]; ok {
				r = append(r, n)
			} else {
				r = append(r, "?")
			}
		}
		cur := ""
		if e.Current {
			cur = "*"
		}
		rows = append(rows, append(r, cur))
	}
	cmdutil.PrintTable(w, header, rows, append([]string{"size"}, mainTables...)...)
	return nil
}

func writeCSV(w io.Writer, entries []entry) error {
	cw := csv.NewWriter(w)
	header := []string{"name", "created_at", "size_bytes", "current"}
	for _, t := range loaders.Tables {
		header = append(header, t.Name)
	}
	header = append(header, "rows_rejected", "error")
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, e := range entries {
		r := []string{e.Name, e.CreatedAt, strconv.FormatInt(e.SizeBytes, 10), strconv.FormatBool(e.Current)}
		for _, t := range loaders.Tables {
			if n, ok := e.Rows[t.Name]; ok {
				r = append(r, strconv.FormatInt(n, 10))
			} else {
				r = append(r, "")
			}
		}
		r = append(r, strconv.FormatInt(e.Rejected, 10), e.Error)
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// UseOptions are the parsed arguments of `assign snapshots use`.
type UseOptions struct {
	Factory *cmdutil.Factory
	Name    string
}

// NewCmdUse builds `assign snapshots use NAME`.
func NewCmdUse(f *cmdutil.Factory, runF func(*UseOptions) error) *cobra.Command {
	opts := &UseOptions{Factory: f}
	return &cobra.Command{
		Use:   "use NAME",
		Short: "Make a snapshot the current one",
		Long: `Make the named snapshot current: every later command reads it unless given
--snapshot. The switch is one atomic rename; commands already running keep
the snapshot they opened.`,
		Example: `  assign snapshots use snap-20261121-020000`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return useRun(opts)
		},
	}
}

func useRun(o *UseOptions) error {
	home, err := o.Factory.Home()
	if err != nil {
		return err
	}
	if err := home.SetCurrent(o.Name); err != nil {
		return err
	}
	fmt.Fprintf(o.Factory.IO.Out, "Current snapshot is now %s\n", o.Name)
	return nil
}

// GCOptions are the parsed flags of `assign snapshots gc`.
type GCOptions struct {
	Factory *cmdutil.Factory
	Keep    int
	DryRun  bool
	Force   bool
}

// NewCmdGC builds `assign snapshots gc --keep N`.
func NewCmdGC(f *cmdutil.Factory, runF func(*GCOptions) error) *cobra.Command {
	opts := &GCOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "gc --keep N",
		Short: "Delete all but the newest N snapshots and leftovers of killed loads and queries",
		Long: `Delete every snapshot but the newest N (by when its load finished). Never
deleted: the current snapshot, even when older, and, unless --force, a
snapshot that runs were made from (checking a run needs its snapshot).
Also delete the temporary files of loads that were killed, unless a load
is running now (its temporary file would be among them), and the spill
folders (tmp/query-PID-*) of queries whose process is gone from this
machine, as after a kill -9.

A load that finishes while gc runs waits for it, and its snapshot is
current before gc can see it: gc never deletes a snapshot being published.
--dry-run lists what would be deleted and deletes nothing.`,
		Example: `  # What would keeping a week of nightly snapshots delete?
  assign snapshots gc --keep 7 --dry-run

  # Keep a week of nightly snapshots
  assign snapshots gc --keep 7

  # Delete every old snapshot, also those runs were made from
  assign snapshots gc --keep 0 --force`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.CheckIntRange("keep", opts.Keep, 0, 1_000_000); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return gcRun(opts)
		},
	}
	cmd.Flags().IntVar(&opts.Keep, "keep", 0, "number of newest snapshots to keep (required)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "list what would be deleted; delete nothing")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "also delete old snapshots that runs were made from")
	_ = cmd.MarkFlagRequired("keep")
	return cmd
}

func gcRun(o *GCOptions) error {
	home, err := o.Factory.Home()
	if err != nil {
		return err
	}
	res, err := home.GCSnapshots(store.GCOptions{Keep: o.Keep, DryRun: o.DryRun, Force: o.Force})
	if err != nil {
		return err
	}
	w, errOut := o.Factory.IO.Out, o.Factory.IO.ErrOut
	verb := "deleted"
	if res.DryRun {
		verb = "would delete"
	}
	for _, s := range res.Removed {
		fmt.Fprintf(w, "%s snapshot %s (%s)%s\n", verb, s.Name, cmdutil.HumanBytes(s.Size), usedBy(s.Runs))
	}
	for _, p := range res.Temporaries {
		fmt.Fprintf(w, "%s leftover %s\n", verb, p)
	}
	for _, s := range res.Referenced {
		fmt.Fprintf(w, "kept snapshot %s (%s)%s; --force deletes it too\n", s.Name, cmdutil.HumanBytes(s.Size), usedBy(s.Runs))
	}
	for _, id := range res.UnreadableRuns {
		fmt.Fprintf(errOut, "note: run %s has no readable manifest, so the snapshot it was made from is not known and not kept for it\n", id)
	}
	if res.LoadRunning {
		fmt.Fprintln(errOut, "note: a load is running, so its temporary files and those of killed loads were left; run gc again after it")
	}
	counts := fmt.Sprintf("%d %s, %d %s left over by killed loads or queries", len(res.Removed), pl(len(res.Removed), "snapshot", "snapshots"),
		len(res.Temporaries), pl(len(res.Temporaries), "file", "files"))
	if res.DryRun {
		fmt.Fprintf(w, "Dry run: would free %s: %s; nothing was deleted\n", cmdutil.HumanBytes(res.Freed), counts)
	} else {
		fmt.Fprintf(w, "Freed %s: %s deleted\n", cmdutil.HumanBytes(res.Freed), counts)
	}
	return nil
}

// usedBy says which runs were made from a snapshot: ", used by 2 runs
// (A, B)", or "".
func usedBy(runs []string) string {
	switch {
	case len(runs) == 0:
		return ""
	case len(runs) <= 3:
		return fmt.Sprintf(", used by %d %s (%s)", len(runs), pl(len(runs), "run", "runs"), strings.Join(runs, ", "))
	default:
		return fmt.Sprintf(", used by %d runs (%s and %d more)", len(runs), strings.Join(runs[:3], ", "), len(runs)-3)
	}
}

// RmOptions are the parsed arguments of `assign snapshots rm`.
type RmOptions struct {
	Factory *cmdutil.Factory
	Names   []string
	Force   bool
}

// NewCmdRm builds `assign snapshots rm NAME...`.
func NewCmdRm(f *cmdutil.Factory, runF func(*RmOptions) error) *cobra.Command {
	opts := &RmOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "rm NAME...",
		Short: "Delete the named snapshots",
		Long: `Delete the named snapshots. The current snapshot is refused (make another
current first with 'assign snapshots use'), and so, unless --force, is a
snapshot that runs were made from: checking a run needs its snapshot.
Names are checked before anything is deleted.`,
		Example: `  assign snapshots rm snap-20261101-020000
  assign snapshots rm snap-20261101-020000 snap-20261102-020000 --force`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if runF != nil {
				return runF(opts)
			}
			return rmRun(opts)
		},
		ValidArgsFunction: completeSnapshotNames(f),
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "delete a snapshot even when runs were made from it")
	return cmd
}

func rmRun(o *RmOptions) error {
	home, err := o.Factory.Home()
	if err != nil {
		return err
	}
	removed, err := home.RemoveSnapshots(o.Names, o.Force)
	var inUse *store.InUseError
	if errors.As(err, &inUse) {
		return fmt.Errorf("%w; pass --force to delete it anyway", err)
	}
	if err != nil {
		return err
	}
	var freed int64
	for _, s := range removed {
		freed += s.Size
		fmt.Fprintf(o.Factory.IO.Out, "deleted snapshot %s (%s)%s\n", s.Name, cmdutil.HumanBytes(s.Size), usedBy(s.Runs))
	}
	if len(removed) > 1 {
		fmt.Fprintf(o.Factory.IO.Out, "Freed %s: %d snapshots deleted\n", cmdutil.HumanBytes(freed), len(removed))
	}
	return nil
}

// completeSnapshotNames completes the names of the home's snapshots.
func completeSnapshotNames(f *cmdutil.Factory) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		home, err := f.Home()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		snaps, _ := home.ListSnapshots()
		var names []string
		for _, s := range snaps {
			names = append(names, s.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

func pl(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// VerifyOptions are the parsed arguments of `assign snapshots verify`.
type VerifyOptions struct {
	Factory *cmdutil.Factory
	Names   []string
	Format  string
}

// NewCmdVerify builds `assign snapshots verify [NAME...]`.
func NewCmdVerify(f *cmdutil.Factory, runF func(*VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "verify [NAME...]",
		Short: "Check that snapshots are whole: every table reads, row counts match the load's",
		Long: `Open each named snapshot (every snapshot when none is named) read-only and
read every value of every table, so that DuckDB checks the checksum of
every block, then compare each extract table's row count with the count the
load recorded. A snapshot cut short or overwritten (a disk fault, a copy that
did not finish) is reported as damaged: it cannot be repaired, only replaced
by loading its extract again.

Exit status: 0 when every snapshot checked is whole; 1 when one is not (one
line on stderr names them).`,
		Example: `  # Check every snapshot of the home
  assign snapshots verify

  # Check one, as JSON for a monitoring script
  assign snapshots verify snap-20261121-020000 --format json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if err := cmdutil.CheckChoice("format", opts.Format, "table", "csv", "json"); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return verifyRun(cmd.Context(), opts)
		},
		ValidArgsFunction: completeSnapshotNames(f),
	}
	cmd.Flags().StringVar(&opts.Format, "format", "table", "output format: table, csv or json")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"table", "csv", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// verified is one verified snapshot.
type verified struct {
	Name    string `json:"snapshot"`
	Current bool   `json:"current"`
	*loaders.Verification
}

func verifyRun(ctx context.Context, o *VerifyOptions) error {
	f := o.Factory
	home, err := f.Home()
	if err != nil {
		return err
	}
	snaps, err := home.ListSnapshots()
	if err != nil {
		return err
	}
	var chosen []store.SnapshotInfo
	if len(o.Names) == 0 {
		chosen = snaps
		if len(chosen) == 0 {
			fmt.Fprintln(f.IO.ErrOut, "No snapshots yet: run 'assign load DIR' (or 'assign demo') first.")
			return nil
		}
	}
	for _, n := range o.Names {
		if err := store.ValidName(n); err != nil {
			return err
		}
		i := slices.IndexFunc(snaps, func(s store.SnapshotInfo) bool { return s.Name == n })
		if i < 0 {
			return fmt.Errorf("snapshot %q not found in %s: see 'assign snapshots' for the list", n, home.SnapshotsDir())
		}
		chosen = append(chosen, snaps[i])
	}
	prog := f.NewProgress()
	var out []verified
	var bad []string
	for i, s := range chosen {
		prog.Stage("verifying "+s.Name, int64(len(chosen)))
		prog.Set(i, len(chosen))
		v, err := loaders.Verify(ctx, s.Path)
		if err != nil {
			prog.Done()
			return err
		}
		out = append(out, verified{Name: s.Name, Current: s.Current, Verification: v})
		if v.Problem != "" {
			bad = append(bad, fmt.Sprintf("%s (%s)", s.Name, v.Problem))
		}
	}
	prog.Done()
	w := f.IO.Out
	switch o.Format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"snapshot", "current", "tables", "rows", "damaged", "problem"})
		for _, v := range out {
			_ = cw.Write([]string{v.Name, strconv.FormatBool(v.Current), strconv.Itoa(len(v.Tables)), strconv.FormatInt(v.Rows, 10), strconv.FormatBool(v.Damaged), v.Problem})
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	default:
		var rows [][]any
		for _, v := range out {
			result := "ok"
			if v.Problem != "" {
				result = v.Problem
			}
			cur := ""
			if v.Current {
				cur = "*"
			}
			rows = append(rows, []any{v.Name, cur, len(v.Tables), v.Rows, result})
		}
		cmdutil.PrintTable(w, []string{"snapshot", "current", "tables", "rows", "result"}, rows, "tables", "rows")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d of %d %s %s not whole: %s; load the extract of a damaged snapshot again, or make another current with 'assign snapshots use NAME'",
			len(bad), len(out), pl(len(out), "snapshot", "snapshots"), pl(len(bad), "is", "are"), strings.Join(bad, ", "))
	}
	return nil
}
