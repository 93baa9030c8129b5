// Package synth generates seeded synthetic nightly extracts (SPEC sections 2
// and 6): one source per table, realistic in shape, byte-identical for the
// same options on any thread count.
//
// Snacks, tags and stock come from one random stream of the seed; every
// user's rows (users, user_ng, user_prefs, deliveries, ratings, requests,
// skips) come from a stream seeded by (seed, user_id) alone, so users are
// generated in parallel chunks and written in user order. The large tables
// are streamed as Arrow record batches into DuckDB's COPY (Parquet, CSV,
// JSON lines) or arrow-go's IPC file writer, so memory stays bounded at any
// scale.
package synth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/assign-dev/assign/atomicfs"
)

// Output formats.
const (
	FormatParquet = "parquet"
	FormatCSV     = "csv"
	FormatJSONL   = "jsonl"
	FormatArrow   = "arrow"
)

// Formats lists the output formats; the first is the default.
var Formats = []string{FormatParquet, FormatCSV, FormatJSONL, FormatArrow}

// DefaultAsOf is the extract date used when none is given (a Monday). The
// generator never reads the clock, so an extract depends on its options only.
var DefaultAsOf = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// MaxSplit bounds --split: more part files than this only slows readers.
const MaxSplit = 1024

// ErrOutNotEmpty is returned when the output folder already holds files and
// Force is not set.
var ErrOutNotEmpty = errors.New("output folder is not empty")

// Options says what to generate and where.
type Options struct {
	// Scale is the size; see Scales and LookupScale.
	Scale Scale
	// Seed selects the random streams; the same seed (with the same scale,
	// as-of, format and split) gives byte-identical files.
	Seed int64
	// AsOf is the extract date: deliveries, ratings and requests lie
	// strictly before it, upcoming ship dates mostly on or after it. The
	// zero value means DefaultAsOf. Only the calendar date counts.
	AsOf time.Time
	// Format is one of Formats; empty means parquet.
	Format string
	// Split > 0 writes deliveries and ratings as folders of Split part
	// files each (split by user id range) instead of one file.
	Split int
	// OutDir is the extract folder to create.
	OutDir string
	// Force allows a non-empty OutDir: each table's existing sources (any
	// format, file or folder) are replaced; other files are left alone.
	Force bool
	// Threads is the number of generating goroutines; 0 means all cores.
	// It changes speed only, never the output.
	Threads int
	// Progress, when set, is called from one goroutine with the number of
	// users written so far and the total.
	Progress func(done, total int)
	// StockFactor scales the units of every stock lot (rounded up; 0 means
	// 1): below 1 makes scarce-stock scenarios, above 1 plentiful ones. The
	// other tables do not change.
	StockFactor float64
}

// TableSummary describes one written table.
type TableSummary struct {
	Name  string
	Rows  int64
	Bytes int64
	// Files is 1, or the number of part files of a split table.
	Files int
	// Path is the file or folder written, inside the output folder.
	Path string
}

// Summary describes a finished extract.
type Summary struct {
	Dir     string
	Scale   string
	Seed    int64
	AsOf    time.Time
	Format  string
	Tables  []TableSummary
	Elapsed time.Duration
	// StockFactor is the factor applied to stock lots (0 or 1: none).
	StockFactor float64
}

// Rows is the total number of rows written.
func (s Summary) Rows() int64 {
	var n int64
	for _, t := range s.Tables {
		n += t.Rows
	}
	return n
}

// Bytes is the total size of the files written.
func (s Summary) Bytes() int64 {
	var n int64
	for _, t := range s.Tables {
		n += t.Bytes
	}
	return n
}

// Table returns the summary of the named table.
func (s Summary) Table(name string) (TableSummary, bool) {
	for _, t := range s.Tables {
		if t.Name == name {
			return t, true
		}
	}
	return TableSummary{}, false
}

// Validate checks the options and fills defaults.
func (o *Options) Validate() error {
	if o.Format == "" {
		o.Format = FormatParquet
	}
	if !validFormat(o.Format) {
		return fmt.Errorf("unknown format %q: use one of %v", o.Format, Formats)
	}
	if o.Scale.Users <= 0 || o.Scale.Snacks <= 0 || o.Scale.Categories < 1 || o.Scale.Categories > len(categoryNames) {
		return fmt.Errorf("scale %q is not usable: pick one of %v", o.Scale.Name, ScaleNames())
	}
	if o.Scale.Snacks < o.Scale.Categories {
		return fmt.Errorf("scale %q has fewer snacks than categories", o.Scale.Name)
	}
	if o.Split < 0 || o.Split > MaxSplit {
		return fmt.Errorf("split %d: must be between 0 (one file per table) and %d", o.Split, MaxSplit)
	}
	if o.OutDir == "" {
		return errors.New("no output folder given")
	}
	if o.AsOf.IsZero() {
		o.AsOf = DefaultAsOf
	}
	y, m, d := o.AsOf.Date()
	o.AsOf = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if y < 1975 || y > 2200 {
		return fmt.Errorf("as-of date %s: must lie between 1975 and 2200", o.AsOf.Format("2006-01-02"))
	}
	if o.Threads <= 0 {
		o.Threads = runtime.NumCPU()
	}
	return nil
}

func validFormat(f string) bool {
	for _, x := range Formats {
		if f == x {
			return true
		}
	}
	return false
}

// Generate writes an extract into opt.OutDir. Files are written into a
// hidden sibling folder and moved into place only when every table is
// complete, so an interrupted run never leaves a partial extract behind
// under the output name. The context cancels the run.
func Generate(ctx context.Context, opt Options) (Summary, error) {
	start := time.Now()
	if err := opt.Validate(); err != nil {
		return Summary{}, err
	}
	out, err := filepath.Abs(opt.OutDir)
	if err != nil {
		return Summary{}, fmt.Errorf("output folder %s: %w", opt.OutDir, err)
	}
	if err := checkOutDir(out, opt.Force); err != nil {
		return Summary{}, err
	}
	d, err := atomicfs.NewDir(out)
	if err != nil {
		return Summary{}, fmt.Errorf("output folder %s: cannot create a working folder beside it: %w", out, err)
	}
	defer d.Abort()
	tmp := d.Path

	tables, err := write(ctx, opt, tmp)
	if err != nil {
		return Summary{}, err
	}
	for i := range tables {
		if tables[i].Bytes, err = sizeOf(filepath.Join(tmp, tables[i].Path)); err != nil {
			return Summary{}, fmt.Errorf("measure %s: %w", tables[i].Path, err)
		}
	}
	if err := install(d, out, opt.Force); err != nil {
		return Summary{}, err
	}
	return Summary{
		Dir: out, Scale: opt.Scale.Name, Seed: opt.Seed, AsOf: opt.AsOf, Format: opt.Format,
		Tables: tables, Elapsed: time.Since(start), StockFactor: opt.StockFactor,
	}, nil
}

// checkOutDir refuses an existing non-empty folder (or a file) unless force.
func checkOutDir(out string, force bool) error {
	fi, err := os.Stat(out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("output folder %s: %w", out, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("output folder %s is a file", out)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("output folder %s: %w", out, err)
	}
	if len(entries) > 0 && !force {
		return fmt.Errorf("%w: %s holds %d entries", ErrOutNotEmpty, out, len(entries))
	}
	return nil
}

// install moves the finished extract from its working folder to out: the
// whole folder in one rename when out is missing or empty, else (force)
// table by table, each table's older sources removed first so exactly one
// source per table remains, and files of out that are not tables kept.
func install(d *atomicfs.Dir, out string, force bool) error {
	if err := checkOutDir(out, force); err != nil {
		return err
	}
	entries, err := os.ReadDir(out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return d.Publish(false)
	case err != nil:
		return fmt.Errorf("output folder %s: %w", out, err)
	case len(entries) == 0:
		return d.Publish(true)
	}
	if err := atomicfs.SyncTree(d.Path); err != nil {
		return fmt.Errorf("output folder %s: %w", out, err)
	}
	for _, t := range Tables {
		for _, ext := range append([]string{""}, extensions()...) {
			if err := os.RemoveAll(filepath.Join(out, t+ext)); err != nil {
				return fmt.Errorf("replace %s in %s: %w", t, out, err)
			}
		}
	}
	news, err := os.ReadDir(d.Path)
	if err != nil {
		return fmt.Errorf("read working folder %s: %w", d.Path, err)
	}
	for _, e := range news {
		if err := os.Rename(filepath.Join(d.Path, e.Name()), filepath.Join(out, e.Name())); err != nil {
			return fmt.Errorf("move %s into %s: %w", e.Name(), out, err)
		}
	}
	return atomicfs.SyncDir(out)
}

func extensions() []string {
	var exts []string
	for _, f := range Formats {
		exts = append(exts, "."+f)
	}
	return exts
}

// sizeOf is the size of a file, or the total size of the files in a folder.
func sizeOf(path string) (int64, error) {
	var n int64
	err := filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	return n, err
}
