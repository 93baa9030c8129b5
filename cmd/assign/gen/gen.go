// Package gen is the `assign gen` command: a seeded synthetic extract.
package gen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/synth"
)

// Options are the flags of `assign gen`.
type Options struct {
	Factory *cmdutil.Factory

	ScaleName string
	Seed      int64
	AsOfText  string
	Format    string
	Split     int
	OutDir    string
	Force     bool
	Threads   int
	// StockFactor scales every lot's units (scarce-stock scenarios).
	StockFactor float64

	// Filled by Validate.
	Scale synth.Scale
	AsOf  time.Time
}

// NewCmdGen builds `assign gen`. runF replaces the run function in tests.
func NewCmdGen(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "gen --out DIR [--scale small|medium|large] [--seed N]",
		Short: "Generate a seeded synthetic nightly extract",
		Long: fmt.Sprintf(`Write a synthetic nightly extract into DIR: one file per table of SPEC
section 2 (snacks, snack_tags, users, skips, user_ng, user_prefs, deliveries,
ratings, requests, stock), ready for 'assign load DIR'.

The data is realistic in shape: about 85%% of users active, cadence 14 or 28
days, boxes of 6 to 10 (8 most common), Zipf-like popularity tilted by each
user's latent taste per category, ratings that follow that taste, a few
percent of users with requests and skips, and stock lots that cover most of
the next four weeks while popular snacks run short. --stock-factor scales
every lot's units (rounded up) and changes nothing else, for scarce-stock
scenarios (0.5: half the stock).

The extract describes the business as of --as-of (default %s): past
deliveries, ratings and requests lie before it, upcoming ship dates on or
after it. The same seed, scale, as-of, format and split give byte-identical
files on any machine and thread count; the clock is never read.

Scales:
%s
Files are written into a hidden folder beside DIR and moved into place when
complete, so an interrupted gen leaves no partial extract under DIR. A
non-empty DIR is refused unless --force, which replaces each table's
existing files (of any format) and leaves other files alone.`, synth.DefaultAsOf.Format(cmdutil.DateLayout), scaleTable()),
		Example: `  # The small extract the demo uses, as Parquet
  assign gen --scale small --seed 1 --out ./extract

  # Medium, as CSV, deliveries and ratings split into 8 files each
  assign gen --scale medium --seed 7 --format csv --split 8 --out ./extract-medium

  # Medium with half the usual stock: a scarce-stock scenario
  assign gen --scale medium --stock-factor 0.5 --out ./extract-scarce

  # The extract of another night, overwriting the previous one
  assign gen --scale small --as-of 2026-06-01 --out ./extract --force`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return genRun(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.ScaleName, "scale", "small", "extract size: "+strings.Join(synth.ScaleNames(), ", "))
	fs.Int64Var(&opts.Seed, "seed", 1, "random seed; the same seed gives the same files")
	fs.StringVar(&opts.AsOfText, "as-of", synth.DefaultAsOf.Format(cmdutil.DateLayout), "extract date YYYY-MM-DD: history before it, ship dates from it")
	fs.StringVar(&opts.Format, "format", synth.FormatParquet, "file format: "+strings.Join(synth.Formats, ", "))
	fs.IntVar(&opts.Split, "split", 0, "write deliveries and ratings as folders of N part files (0: one file each)")
	fs.StringVar(&opts.OutDir, "out", "", "extract folder to create (required)")
	fs.BoolVar(&opts.Force, "force", false, "write into a non-empty folder, replacing its table files")
	fs.IntVar(&opts.Threads, "threads", 0, "generating threads (0: all cores); never changes the output")
	fs.Float64Var(&opts.StockFactor, "stock-factor", 1, "scale every stock lot's units by this factor (0.01..100, rounded up): below 1 for scarce-stock scenarios")
	_ = cmd.MarkFlagRequired("out")
	_ = cmd.RegisterFlagCompletionFunc("scale", cobra.FixedCompletions(synth.ScaleNames(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(synth.Formats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagDirname("out")
	return cmd
}

func scaleTable() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %-7s %10s %7s %13s %12s %11s\n", "scale", "users", "snacks", "deliveries", "ratings", "stock lots")
	for _, s := range synth.Scales {
		if s.Hidden {
			continue
		}
		fmt.Fprintf(&b, "  %-7s %10s %7s %13s %12s %11s\n", s.Name, count(int64(s.Users)), count(int64(s.Snacks)),
			"~"+count(s.Deliveries), "~"+count(s.Ratings), "~"+count(int64(s.StockLots)))
	}
	return b.String()
}

// Validate checks the flags and resolves the scale and date.
func (o *Options) Validate() error {
	sc, err := synth.LookupScale(o.ScaleName)
	if err != nil {
		return cmdutil.FlagErrorf("--scale %q: must be one of %s", o.ScaleName, strings.Join(synth.ScaleNames(), ", "))
	}
	o.Scale = sc
	if err := cmdutil.CheckChoice("format", o.Format, synth.Formats...); err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("split", o.Split, 0, synth.MaxSplit); err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("threads", o.Threads, 0, 1024); err != nil {
		return err
	}
	if !(o.StockFactor >= 0.01 && o.StockFactor <= 100) {
		return cmdutil.FlagErrorf("--stock-factor %v: must lie between 0.01 and 100 (1 is the generator's usual stock)", o.StockFactor)
	}
	if o.AsOf, err = cmdutil.ParseDateFlag("as-of", o.AsOfText); err != nil {
		return err
	}
	if y := o.AsOf.Year(); y < 1975 || y > 2200 {
		return cmdutil.FlagErrorf("--as-of %s: must lie between 1975 and 2200", o.AsOfText)
	}
	if strings.TrimSpace(o.OutDir) == "" {
		return cmdutil.FlagErrorf("--out: give the folder to write the extract into")
	}
	if err := cmdutil.CheckOutDir(o.OutDir); err != nil {
		return cmdutil.FlagErrorf("%v", err)
	}
	return nil
}

func genRun(ctx context.Context, o *Options) error {
	f := o.Factory
	prog := f.NewProgress()
	prog.Stage("generating users", int64(o.Scale.Users))
	f.Logger.Info("generating extract", "scale", o.Scale.Name, "seed", o.Seed, "as_of", o.AsOfText, "format", o.Format, "out", o.OutDir)
	sum, err := synth.Generate(ctx, synth.Options{
		Scale: o.Scale, Seed: o.Seed, AsOf: o.AsOf, Format: o.Format, Split: o.Split,
		OutDir: o.OutDir, Force: o.Force, Threads: o.Threads, Progress: prog.Set, StockFactor: o.StockFactor,
	})
	prog.Done()
	if errors.Is(err, synth.ErrOutNotEmpty) {
		return cmdutil.FlagErrorf("--out %s: %w; pick an empty or new folder, or pass --force to replace its table files", o.OutDir, err)
	}
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	PrintSummary(f.IO.Out, sum)
	return nil
}

// PrintSummary writes what was generated: the options, then rows and bytes
// per table.
func PrintSummary(w io.Writer, s synth.Summary) {
	stock := ""
	if s.StockFactor != 0 && s.StockFactor != 1 {
		stock = fmt.Sprintf(", stock x%g", s.StockFactor)
	}
	fmt.Fprintf(w, "Generated a %s extract (seed %d, as of %s, %s%s) in %s in %s.\n\n",
		s.Scale, s.Seed, s.AsOf.Format(cmdutil.DateLayout), s.Format, stock, s.Dir, s.Elapsed.Round(10*time.Millisecond))
	rows := make([][]any, 0, len(s.Tables)+1)
	for _, t := range s.Tables {
		path := t.Path
		if t.Files > 1 {
			path = fmt.Sprintf("%s/ (%d files)", t.Path, t.Files)
		}
		rows = append(rows, []any{t.Name, count(t.Rows), cmdutil.HumanBytes(t.Bytes), path})
	}
	rows = append(rows, []any{"total", count(s.Rows()), cmdutil.HumanBytes(s.Bytes()), ""})
	cmdutil.PrintTable(w, []string{"table", "rows", "size", "path"}, rows, "rows", "size")
}

// count formats n with thousands separators.
func count(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
