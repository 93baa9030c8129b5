// Command docgen is `make docs`: it reruns the generated examples of the
// given markdown files (see package docgen) with today's build, in order,
// in one fresh folder whose ./assign-data is the home, writes their real
// output back into the files, and takes the report screenshot from the
// report those commands wrote.
//
//	go run -tags duckdb_arrow ./internal/docgen/cmd/docgen \
//	    -report-shot docs/img/report-top.png README.md docs/ANALYSTS.md
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/assign-dev/assign/atomicfs"
	"github.com/assign-dev/assign/internal/docgen"
	"github.com/assign-dev/assign/internal/headless"
)

func main() {
	shot := flag.String("report-shot", "", "write a screenshot of the top of the newest report the examples wrote to this PNG file")
	keep := flag.Bool("keep", false, "keep the folder the examples ran in (its path is printed)")
	flag.Parse()
	if err := run(*shot, *keep, flag.Args()); err != nil {
		fmt.Fprintf(os.Stderr, "docgen: %v\n", err)
		os.Exit(1)
	}
}

func run(shot string, keep bool, files []string) error {
	if len(files) == 0 {
		return fmt.Errorf("name the markdown files to regenerate")
	}
	var docs []*docgen.Doc
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return err
		}
		d, err := docgen.ReadFile(abs)
		if err != nil {
			return err
		}
		docs = append(docs, d)
	}
	if shot != "" {
		abs, err := filepath.Abs(shot)
		if err != nil {
			return err
		}
		shot = abs
	}
	work, err := os.MkdirTemp("", "assign-docs-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintf(os.Stderr, "docgen: the examples run in %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	if err := os.Chdir(work); err != nil {
		return err
	}
	os.Unsetenv("ASSIGN_HOME")
	ctx := context.Background()
	for _, d := range docs {
		start := time.Now()
		if err := d.Generate(ctx); err != nil {
			return err
		}
		n := 0
		for _, b := range d.Blocks {
			n += len(b.Commands)
		}
		if err := atomicfs.WriteFile(d.Path, d.Render()); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "docgen: %s: %d blocks, %d commands in %.1fs\n", d.Path, len(d.Blocks), n, time.Since(start).Seconds())
	}
	if shot != "" {
		return screenshot(work, shot)
	}
	return nil
}

// screenshot takes the top of the newest report.html under work/reports
// in headless Chromium, 1400 px wide, as a reader's window shows it.
func screenshot(work, dest string) error {
	pages, _ := filepath.Glob(filepath.Join(work, "reports", "*", "report.html"))
	if len(pages) == 0 {
		return fmt.Errorf("-report-shot: the examples wrote no report under %s/reports", work)
	}
	sort.Strings(pages)
	page := pages[len(pages)-1]
	bin, err := headless.Find()
	if err != nil {
		return err
	}
	tmp := filepath.Join(work, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--force-device-scale-factor=1", "--user-data-dir="+filepath.Join(work, "chromium-profile"),
		"--window-size=1400,1100", "--virtual-time-budget=5000", "--screenshot="+tmp, "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("chromium: %v\n%s", err, out)
	}
	b, err := os.ReadFile(tmp)
	if err != nil {
		return err
	}
	if err := atomicfs.WriteFile(dest, b); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "docgen: %s from %s\n", dest, page)
	return nil
}
