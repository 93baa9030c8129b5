// Command scalegen writes a quick SQL-made extract of a SPEC scale for
// measuring `assign load` until `assign gen` exists:
//
//	go run -tags duckdb_arrow ./internal/extractfixtures/scalegen -scale medium -format parquet -out /tmp/medium-parquet
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/internal/extractfixtures"
)

func main() {
	scale := flag.String("scale", "small", "tiny, small, medium or large")
	format := flag.String("format", "parquet", "csv, parquet, jsonl or arrow")
	out := flag.String("out", "", "folder to write (required)")
	flag.Parse()
	s, ok := extractfixtures.Scales[*scale]
	if *out == "" || !ok {
		fmt.Fprintln(os.Stderr, "scalegen: -out is required and -scale must be tiny, small, medium or large")
		os.Exit(2)
	}
	ctx := context.Background()
	db, err := duck.OpenMemory(ctx, duck.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "scalegen:", err)
		os.Exit(1)
	}
	defer db.Close()
	t0 := time.Now()
	if err := extractfixtures.Generate(ctx, db, *out, s, *format); err != nil {
		fmt.Fprintln(os.Stderr, "scalegen:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s extract (%s) to %s in %s\n", *scale, *format, *out, time.Since(t0).Round(time.Millisecond))
}
