// Package snapshots is the `assign snapshots` command: list the snapshots of
// the data home, switch the current one, and delete old ones.
package snapshots

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/loaders"
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
		Short: "List snapshots; switch the current one (use) or delete old ones (gc)",
		Long: `List the snapshots of the data home, oldest first: name, when it was loaded,
file size, row counts of the main tables, and which one is current.

Every command reads the current snapshot unless given --snapshot.`,
		Example: `  assign snapshots
  assign snapshots --format json
  assign snapshots use snap-20261121-020000
  assign snapshots gc --keep 7`,
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
	cmd.AddCommand(NewCmdUse(f, nil), NewCmdGC(f, nil))
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
}

// NewCmdGC builds `assign snapshots gc --keep N`.
func NewCmdGC(f *cmdutil.Factory, runF func(*GCOptions) error) *cobra.Command {
	opts := &GCOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "gc --keep N",
		Short: "Delete all but the newest N snapshots and leftovers of killed loads",
		Long: `Delete every snapshot but the newest N (by when its load finished); the
current snapshot is never deleted, even when older. Also delete the
temporary files of loads that were killed, unless a load is running now
(its temporary file would be among them).`,
		Example: `  # Keep a week of nightly snapshots
  assign snapshots gc --keep 7`,
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
	_ = cmd.MarkFlagRequired("keep")
	return cmd
}

func gcRun(o *GCOptions) error {
	home, err := o.Factory.Home()
	if err != nil {
		return err
	}
	res, err := home.GCSnapshots(o.Keep)
	if err != nil {
		return err
	}
	w := o.Factory.IO.Out
	for _, s := range res.Removed {
		fmt.Fprintf(w, "deleted snapshot %s (%s)\n", s.Name, cmdutil.HumanBytes(s.Size))
	}
	for _, p := range res.Temporaries {
		fmt.Fprintf(w, "deleted leftover %s\n", p)
	}
	if res.LoadRunning {
		fmt.Fprintln(o.Factory.IO.ErrOut, "note: a load is running, so its temporary files and those of killed loads were left; run gc again after it")
	}
	fmt.Fprintf(w, "Freed %s: %d %s deleted, %d %s left over by killed loads\n", cmdutil.HumanBytes(res.Freed),
		len(res.Removed), pl(len(res.Removed), "snapshot", "snapshots"), len(res.Temporaries), pl(len(res.Temporaries), "file", "files"))
	return nil
}

func pl(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
