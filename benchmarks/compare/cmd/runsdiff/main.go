// Command runsdiff compares two run folders holding the SPEC section 5 CSV
// tables (boxes, demand, snack_summary, short_boxes) and prints every
// row-level difference. It exits 0 when the runs agree, 1 when they differ
// and 2 when a folder cannot be read or the arguments are wrong.
//
// Example, checking the engine against the naive reference:
//
//	go run -tags duckdb_arrow ./benchmarks/compare/cmd/runsdiff /tmp/naive-run /tmp/engine-run
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/assign-dev/assign/benchmarks/compare"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("runsdiff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tol := fs.Float64("tol", 1e-9, "absolute tolerance for DOUBLE columns (boxes.score)")
	maxLines := fs.Int("max", 50, "print at most this many differences (0: all)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: runsdiff [--tol 1e-9] [--max 50] DIR_A DIR_B

Compares boxes.csv, demand.csv, snack_summary.csv and short_boxes.csv of two
run folders by key; DIR_A is taken as "want" and DIR_B as "got".
Exit 0: no differences; 1: differences; 2: unreadable folder or bad usage.

example:
  runsdiff /tmp/naive-run /tmp/engine-run

flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(stderr, "runsdiff: give exactly two run folders, DIR_A and DIR_B (see --help)")
		return 2
	}
	if *tol < 0 {
		fmt.Fprintf(stderr, "runsdiff: --tol is %v; use a tolerance >= 0\n", *tol)
		return 2
	}
	diffs, err := compare.CompareDirs(fs.Arg(0), fs.Arg(1), *tol)
	if err != nil {
		fmt.Fprintf(stderr, "runsdiff: %v\n", err)
		return 2
	}
	fmt.Fprint(stdout, compare.Report(diffs, *maxLines))
	if len(diffs) > 0 {
		return 1
	}
	return 0
}
