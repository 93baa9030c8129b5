// Command dbbench measures `assign load` from a database (make bench-db):
// it generates a synthetic extract (medium by default) as CSV and Parquet,
// starts throwaway PostgreSQL and MariaDB servers on loopback, imports the
// CSV into each with the server's bulk load (COPY, LOAD DATA), then times
// the built binary loading the Parquet folder, the PostgreSQL database and
// the MariaDB database into new snapshots, several times each, side by
// side. It prints median wall time, rows per second overall and per table,
// and peak RSS, as Markdown for benchmarks/RESULTS.md.
//
// Heavy: run it under the shared lock, e.g.
//
//	flock /work/coord/heavy.lock make bench-db
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/assign-dev/assign/internal/dbtest"
	"github.com/assign-dev/assign/loaders"
	"github.com/assign-dev/assign/synth"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dbbench:", err)
		os.Exit(1)
	}
}

type measure struct {
	wall   time.Duration
	rss    int64 // KiB
	tables map[string]time.Duration
	rows   map[string]int64
}

var (
	tableLoaded = regexp.MustCompile(`msg="table loaded" table=(\w+) elapsed=(\S+)`)
	fileStaged  = regexp.MustCompile(`msg="file staged" file=.* rows=(\d+) `)
)

func run() error {
	scale := flag.String("scale", "medium", "synthetic scale: tiny, small, medium")
	runs := flag.Int("runs", 3, "loads per source (the median is reported)")
	parallel := flag.Int("parallel", 2, "assign load --parallel")
	bin := flag.String("bin", "bin/assign", "the assign binary")
	work := flag.String("work", filepath.Join(os.TempDir(), "assign-dbbench"), "folder for the extracts (kept between runs) and homes")
	which := flag.String("sources", "parquet,postgres,mysql", "sources to time")
	flag.Parse()
	ctx := context.Background()
	if _, err := os.Stat(*bin); err != nil {
		return fmt.Errorf("%s not found: run make build first", *bin)
	}
	sc, err := synth.LookupScale(*scale)
	if err != nil {
		return err
	}
	csvDir := filepath.Join(*work, *scale+"-csv")
	pqDir := filepath.Join(*work, *scale+"-parquet")
	for dir, format := range map[string]string{csvDir: "csv", pqDir: "parquet"} {
		if _, err := os.Stat(filepath.Join(dir, "users."+format)); err == nil {
			continue
		}
		fmt.Fprintf(os.Stderr, "generating %s %s into %s\n", *scale, format, dir)
		if _, err := synth.Generate(ctx, synth.Options{Scale: sc, Seed: 42, Format: format, OutDir: dir, Force: true}); err != nil {
			return err
		}
	}
	sources := map[string]string{"parquet": pqDir}
	env := map[string][]string{"parquet": nil}
	want := strings.Split(*which, ",")
	if slices.Contains(want, "postgres") {
		s, err := dbtest.StartPostgres("1GB")
		if err != nil {
			return err
		}
		defer s.Close()
		t0 := time.Now()
		if err := s.CreatePostgresDB(ctx, "bench"); err != nil {
			return err
		}
		if err := s.ImportPostgres(ctx, "bench", csvDir, dbtest.PostgresSchema); err != nil {
			return err
		}
		_ = s.Exec(ctx, "postgres", "VACUUM")
		fmt.Fprintf(os.Stderr, "PostgreSQL: imported with COPY in %s\n", time.Since(t0).Round(time.Second))
		sources["postgres"] = fmt.Sprintf("postgres://%s@127.0.0.1:%d/bench?sslmode=disable", s.Admin, s.Port)
		env["postgres"] = []string{"PGPASSWORD=" + s.AdminPassword}
	}
	if slices.Contains(want, "mysql") {
		s, err := dbtest.StartMariaDB("1G")
		if err != nil {
			return err
		}
		defer s.Close()
		t0 := time.Now()
		if err := s.CreateMariaDB(ctx, "bench"); err != nil {
			return err
		}
		if err := s.ImportMariaDB(ctx, "bench", csvDir, dbtest.MariaDBSchema); err != nil {
			return err
		}
		if err := s.Exec(ctx, "", "CREATE USER IF NOT EXISTS 'bench'@'%' IDENTIFIED BY 'bench-pw'", "GRANT SELECT, LOCK TABLES ON bench.* TO 'bench'@'%'"); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "MariaDB: imported with LOAD DATA in %s\n", time.Since(t0).Round(time.Second))
		sources["mysql"] = fmt.Sprintf("mysql://bench@127.0.0.1:%d/bench", s.Port)
		env["mysql"] = []string{"MYSQL_PWD=bench-pw"}
	}
	results := map[string][]measure{}
	for i := 0; i < *runs; i++ {
		for _, name := range []string{"parquet", "postgres", "mysql"} {
			src, ok := sources[name]
			if !ok || !slices.Contains(want, name) {
				continue
			}
			home := filepath.Join(*work, "home-"+name)
			os.RemoveAll(home)
			args := []string{"--home", home, "--log-level", "debug", "load", src}
			if name != "parquet" {
				args = append(args, "--parallel", strconv.Itoa(*parallel))
			}
			m, err := timeLoad(*bin, args, env[name])
			os.RemoveAll(home)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			fmt.Fprintf(os.Stderr, "run %d %-8s %6.2fs  %5d MiB\n", i+1, name, m.wall.Seconds(), m.rss/1024)
			results[name] = append(results[name], m)
		}
	}
	report(os.Stdout, *scale, *runs, *parallel, results)
	return nil
}

func timeLoad(bin string, args, env []string) (measure, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = nil
	t0 := time.Now()
	err := cmd.Run()
	m := measure{wall: time.Since(t0), tables: map[string]time.Duration{}, rows: map[string]int64{}}
	if err != nil {
		return m, fmt.Errorf("%v: %s", err, lastLines(stderr.String(), 5))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.rss = ru.Maxrss
	}
	// Rows come from "file staged" lines, which follow the table's
	// "reading" line (databases) or precede its "table loaded" line.
	var pending int64
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if f := fileStaged.FindStringSubmatch(line); f != nil {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			pending += n
		}
		if f := tableLoaded.FindStringSubmatch(line); f != nil {
			d, _ := time.ParseDuration(f[2])
			m.tables[f[1]] = d
			m.rows[f[1]] = pending
			pending = 0
		}
	}
	return m, nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func report(w *os.File, scale string, runs, parallel int, res map[string][]measure) {
	names := []string{}
	for _, n := range []string{"parquet", "postgres", "mysql"} {
		if len(res[n]) > 0 {
			names = append(names, n)
		}
	}
	host, _ := os.Hostname()
	fmt.Fprintf(w, "\n### Load from a database: %s, %s (%d cores, %s), median of %d, --parallel %d\n\n", scale, time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), host, runs, parallel)
	fmt.Fprintln(w, "| source | wall (median) | rows | rows/s | peak RSS (max) | vs Parquet |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: |")
	var pq time.Duration
	for _, n := range names {
		var walls []time.Duration
		var rss, rows int64
		for _, m := range res[n] {
			walls = append(walls, m.wall)
			rss = max(rss, m.rss)
		}
		for _, r := range res[n][0].rows {
			rows += r
		}
		med := median(walls)
		if n == "parquet" {
			pq = med
		}
		ratio := "-"
		if pq > 0 {
			ratio = fmt.Sprintf("%.2fx", med.Seconds()/pq.Seconds())
		}
		fmt.Fprintf(w, "| %s | %.2f s | %d | %.2f M | %d MiB | %s |\n", n, med.Seconds(), rows, float64(rows)/med.Seconds()/1e6, rss/1024, ratio)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Per table (median seconds from the loader's own timing: read, validate, copy; rows/s):\n\n")
	hdr := "| table | rows |"
	sep := "| --- | ---: |"
	for _, n := range names {
		hdr += " " + n + " s | " + n + " rows/s |"
		sep += " ---: | ---: |"
	}
	fmt.Fprintln(w, hdr)
	fmt.Fprintln(w, sep)
	var tables []string
	for _, t := range loaders.Tables {
		tables = append(tables, t.Name)
	}
	for _, t := range tables {
		rows := res[names[0]][0].rows[t]
		line := fmt.Sprintf("| %s | %d |", t, rows)
		for _, n := range names {
			var ds []time.Duration
			for _, m := range res[n] {
				ds = append(ds, m.tables[t])
			}
			d := median(ds)
			rate := "-"
			if d > 0 && rows > 0 {
				rate = fmt.Sprintf("%.2f M", float64(rows)/d.Seconds()/1e6)
			}
			line += fmt.Sprintf(" %.2f | %s |", d.Seconds(), rate)
		}
		fmt.Fprintln(w, line)
	}
}
