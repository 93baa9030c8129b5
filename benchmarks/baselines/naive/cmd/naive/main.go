// Command naive runs the naive reference implementation of SPEC section 4
// (package benchmarks/baselines/naive) over a snapshot file and writes the
// four output tables as CSV, for diffing against assign's engine with
// runsdiff and for timing as benchmark baseline (b).
//
// Example:
//
//	go run -tags duckdb_arrow ./benchmarks/baselines/naive/cmd/naive \
//	    --snapshot assign-data/snapshots/X.duckdb --date 2026-12-01 --days 28 \
//	    --mode preassign --out /tmp/naive-run
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/assign-dev/assign/benchmarks/baselines/naive"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, runs the baseline and returns the exit code: 0 done,
// 1 the run failed, 2 bad flags.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("naive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: naive --snapshot FILE.duckdb --date YYYY-MM-DD --days H --mode preassign|run --out DIR [policy flags]

Runs the per-user reference implementation of SPEC section 4 and writes
boxes.csv, demand.csv, snack_summary.csv and short_boxes.csv into DIR.

example:
  naive --snapshot snap.duckdb --date 2026-12-01 --days 28 --mode run --out /tmp/naive

flags:`)
		fs.PrintDefaults()
	}
	p := naive.DefaultPolicy()
	snapshot := fs.String("snapshot", "", "snapshot DuckDB `file` (opened read-only)")
	date := fs.String("date", "", "first ship date D0, YYYY-MM-DD")
	days := fs.Int("days", 1, "horizon length H in days (dates D0 .. D0+H-1)")
	mode := fs.String("mode", "preassign", "preassign or run")
	out := fs.String("out", "", "output `folder` for the CSV tables")
	threads := fs.Int("threads", 0, "DuckDB threads (0: all cores)")
	fs.IntVar(&p.MaxPerCategory, "max-per-category", p.MaxPerCategory, "at most this many snacks of one category in a box")
	fs.BoolVar(&p.FillIgnoringCaps, "fill-ignoring-caps", p.FillIgnoringCaps, "fill a short box ignoring the category cap")
	fs.IntVar(&p.RepeatWindowDays, "repeat-window-days", p.RepeatWindowDays, "a delivery on a day > D - window blocks the snack on D")
	fs.IntVar(&p.NeverAgainRating, "never-again-rating", p.NeverAgainRating, "a latest rating <= this blocks the snack forever")
	fs.IntVar(&p.NewSnackDays, "new-snack-days", p.NewSnackDays, "a snack is new on D if 0 <= D - launched_on < this")
	fs.IntVar(&p.MinShelfDays, "min-shelf-days", p.MinShelfDays, "a lot is usable on D if best_before >= D + this")
	fs.Float64Var(&p.PriorWeight, "prior-weight", p.PriorWeight, "popularity shrinkage m (> 0)")
	fs.Float64Var(&p.WPopularity, "w-popularity", p.WPopularity, "score weight of popularity")
	fs.Float64Var(&p.WPreference, "w-preference", p.WPreference, "score weight of preference")
	fs.Float64Var(&p.WAffinity, "w-affinity", p.WAffinity, "score weight of affinity")
	fs.Float64Var(&p.WNovelty, "w-novelty", p.WNovelty, "score weight of novelty")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	usage := func(msg string) int {
		fmt.Fprintf(stderr, "naive: %s\n", msg)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usage(fmt.Sprintf("unexpected argument %q; every input is a flag (see --help)", fs.Arg(0)))
	case *snapshot == "":
		return usage("--snapshot is required; pass the snapshot .duckdb file")
	case *date == "":
		return usage("--date is required; pass the first ship date as YYYY-MM-DD")
	case *out == "":
		return usage("--out is required; pass the folder for the CSV tables")
	}
	d0, err := naive.ParseDay(*date)
	if err != nil {
		return usage(fmt.Sprintf("--date: %v", err))
	}
	if _, err := os.Stat(*snapshot); err != nil {
		return usage(fmt.Sprintf("--snapshot %s cannot be read: %v", *snapshot, err))
	}
	res, err := naive.Run(ctx, naive.Options{
		Snapshot: *snapshot, Start: d0, Days: *days, Mode: naive.Mode(*mode), Policy: p, Threads: *threads,
	})
	if err != nil {
		fmt.Fprintf(stderr, "naive: %v\n", err)
		return 1
	}
	if err := res.WriteCSV(*out); err != nil {
		fmt.Fprintf(stderr, "naive: %v\n", err)
		return 1
	}
	short := 0
	for _, dc := range res.Dates {
		short += dc.Short
	}
	fmt.Fprintf(stdout, "naive %s %s +%d days: %d box lines, %d short boxes, %d per-user queries, %s; tables in %s\n",
		res.Mode, res.Start, res.Days, len(res.Boxes), short, res.Queries, res.Elapsed.Round(1e6), *out)
	return 0
}
