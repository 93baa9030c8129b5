package harness

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
)

// estimates extrapolates the naive baseline's horizon from its two subset
// measurements (the horizon through the first and through the second ship
// date). Its work is a loop over shipping users with the same queries for
// each, so time is taken as fixed + per-user cost:
//
//	t(H) = t(a) + (U(H) - U(a)) * (t(b) - t(a)) / (U(b) - U(a))
//
// with U(d) the shipping users of the first d days. Peak RSS is the larger
// of the subset medians.
func estimates(results []*Result, ship shipCounts, days int) []*Result {
	type key struct {
		impl    string
		threads int
	}
	subsets := map[key][]*Result{}
	var order []key
	for _, r := range results {
		if !r.Subset {
			continue
		}
		k := key{r.Impl, r.Threads}
		if subsets[k] == nil {
			order = append(order, k)
		}
		subsets[k] = append(subsets[k], r)
	}
	var out []*Result
	for _, k := range order {
		rs := subsets[k]
		if len(rs) != 2 || len(rs[0].Samples) == 0 || len(rs[1].Samples) == 0 {
			continue
		}
		a, b := rs[0], rs[1]
		if a.Days > b.Days {
			a, b = b, a
		}
		ua, ub, uh := ship.upTo(a.Days), ship.upTo(b.Days), ship.total()
		if ub <= ua {
			continue
		}
		ext := func(ta, tb time.Duration) time.Duration {
			per := float64(tb-ta) / float64(ub-ua)
			if per < 0 { // noise: no measurable per-user cost
				per = 0
			}
			return ta + time.Duration(per*float64(uh-ua))
		}
		out = append(out, &Result{
			Op: a.Op, Impl: a.Impl, Threads: a.Threads, Days: days, Command: a.Command + " (extrapolated)",
			Estimate: &Estimate{
				Wall:   ext(a.Wall(), b.Wall()),
				CPU:    ext(a.CPU(), b.CPU()),
				MaxRSS: max(a.MaxRSS(), b.MaxRSS()),
				Method: fmt.Sprintf("extrapolated from --days %d (%d shipping users) and --days %d (%d) to %d shipping users: t(%d) + (U - %d) * (t(%d) - t(%d)) / %d; peak RSS is the subsets' larger",
					a.Days, ua, b.Days, ub, uh, a.Days, ua, b.Days, a.Days, ub-ua),
			},
		})
	}
	return out
}

// row is one line of the results table.
type row struct {
	scale, op, impl, threads, days, runs string
	wall, cpu, rss                       string
	wallRatio, cpuRatio                  string
	note                                 string
}

// rows builds the table lines of a report: per scale, per operation, assign
// first, then the baselines with their ratios to assign (baseline / assign,
// same operation and thread count), which are left out when a baseline's
// output differs from assign's.
func rows(rep *Report) []row {
	var out []row
	for _, sr := range rep.Scales {
		equal := map[string]*Equality{}
		for i := range sr.Equality {
			e := &sr.Equality[i]
			if prev := equal[e.Impl]; prev == nil || prev.Equal {
				equal[e.Impl] = e
			}
		}
		for _, r := range sr.Results {
			x := row{scale: sr.Scale, op: r.Op, impl: r.Impl, threads: threadsLabel(r.Threads), days: fmt.Sprint(r.Days),
				runs: fmt.Sprint(len(r.Samples)), wall: secs(r.Wall()), cpu: secs(r.CPU()), rss: HumanBytes(r.MaxRSS())}
			if r.Op == OpLoadParquet || r.Op == OpLoadCSV {
				x.days = "-"
			}
			var notes []string
			if r.Estimate != nil {
				x.runs = "-"
				x.wall, x.cpu, x.rss = "~"+x.wall, "~"+x.cpu, "~"+x.rss
				notes = append(notes, "extrapolated, not measured")
			}
			if r.Subset {
				notes = append(notes, "subset run (feeds the extrapolation)")
			}
			if r.Busy > 0 {
				notes = append(notes, fmt.Sprintf("%d of %d runs on a busy machine", r.Busy, len(r.Samples)))
			}
			if r.Impl != ImplAssign && !r.Subset {
				base := find(sr.Results, r.Op, ImplAssign, r.Threads, r.Days)
				eq := equal[r.Impl]
				switch {
				case eq == nil:
					notes = append(notes, "output not checked: no ratio")
				case !eq.Equal:
					notes = append(notes, fmt.Sprintf("OUTPUT DIFFERS (%d differences): no ratio", eq.Diffs))
				case base != nil && base.Wall() > 0 && base.CPU() > 0:
					x.wallRatio = fmt.Sprintf("%.1fx", r.Wall().Seconds()/base.Wall().Seconds())
					x.cpuRatio = fmt.Sprintf("%.1fx", r.CPU().Seconds()/base.CPU().Seconds())
					if r.Estimate != nil {
						x.wallRatio, x.cpuRatio = "~"+x.wallRatio, "~"+x.cpuRatio
					}
				}
			}
			x.note = strings.Join(notes, "; ")
			out = append(out, x)
		}
	}
	return out
}

func find(rs []*Result, op, impl string, threads, days int) *Result {
	for _, r := range rs {
		if r.Op == op && r.Impl == impl && r.Threads == threads && r.Days == days && !r.Subset {
			return r
		}
	}
	return nil
}

func secs(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s >= 100:
		return fmt.Sprintf("%.0f s", s)
	case s >= 10:
		return fmt.Sprintf("%.1f s", s)
	}
	return fmt.Sprintf("%.2f s", s)
}

var header = []string{"scale", "operation", "implementation", "threads", "days", "runs", "wall (median)", "user+sys (median)",
	"peak RSS (median)", "wall ratio", "CPU ratio", "note"}

func (r row) cells() table.Row {
	return table.Row{r.scale, r.op, r.impl, r.threads, r.days, r.runs, r.wall, r.cpu, r.rss, r.wallRatio, r.cpuRatio, r.note}
}

func newTable(rep *Report) table.Writer {
	t := table.NewWriter()
	hr := table.Row{}
	for _, h := range header {
		hr = append(hr, h)
	}
	t.AppendHeader(hr)
	var cfg []table.ColumnConfig
	for _, h := range []string{"days", "runs", "wall (median)", "user+sys (median)", "peak RSS (median)", "wall ratio", "CPU ratio"} {
		cfg = append(cfg, table.ColumnConfig{Name: h, Align: text.AlignRight, AlignHeader: text.AlignRight})
	}
	t.SetColumnConfigs(cfg)
	for _, r := range rows(rep) {
		t.AppendRow(r.cells())
	}
	return t
}

// PrintTable writes the results as an aligned text table, then the thread
// scaling, output checks and skips.
func PrintTable(w io.Writer, rep *Report) {
	t := newTable(rep)
	t.SetStyle(table.StyleLight)
	t.Style().Format.Header = text.FormatDefault
	t.SetOutputMirror(w)
	t.Render()
	fmt.Fprintln(w, "Ratios are baseline / assign (same operation, threads and horizon); higher means assign is faster.")
	for _, l := range notes(rep) {
		fmt.Fprintln(w, l)
	}
	if tr := Targets(rep); anyMeasured(tr) {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Targets of issue 13 (make bench-targets measures every row):")
		t := targetTable(tr)
		t.SetStyle(table.StyleLight)
		t.Style().Format.Header = text.FormatDefault
		t.SetOutputMirror(w)
		t.Render()
	}
}

func targetTable(rows []TargetRow) table.Writer {
	t := table.NewWriter()
	t.AppendHeader(table.Row{"target", "measured", "holds"})
	for _, r := range rows {
		t.AppendRow(table.Row{r.Target, r.Measured, r.Holds})
	}
	return t
}

// notes are the lines that follow the table: thread scaling, output
// checks, skips and estimate methods.
func notes(rep *Report) []string {
	var out []string
	for _, sr := range rep.Scales {
		seen := map[string]bool{}
		for _, r := range sr.Results {
			if r.Estimate != nil || r.Subset {
				continue
			}
			k := r.Op + "\x00" + r.Impl
			if seen[k] {
				continue
			}
			seen[k] = true
			var same []*Result
			for _, o := range sr.Results {
				if o.Op == r.Op && o.Impl == r.Impl && o.Estimate == nil && !o.Subset && o.Days == r.Days {
					same = append(same, o)
				}
			}
			if len(same) < 2 {
				continue
			}
			slices.SortFunc(same, func(a, b *Result) int { return a.Threads - b.Threads })
			first := same[0]
			for _, o := range same[1:] {
				out = append(out, fmt.Sprintf("%s %s %s: threads %s -> %s: wall %s -> %s (speedup %.2fx), user+sys %s -> %s",
					sr.Scale, r.Op, r.Impl, threadsLabel(first.Threads), threadsLabel(o.Threads), secs(first.Wall()), secs(o.Wall()),
					first.Wall().Seconds()/o.Wall().Seconds(), secs(first.CPU()), secs(o.CPU())))
			}
		}
		for _, e := range sr.Equality {
			verdict := "equals"
			if !e.Equal {
				verdict = fmt.Sprintf("DIFFERS from (%d differences)", e.Diffs)
			}
			out = append(out, fmt.Sprintf("%s: output check: %s %s assign's on %s", sr.Scale, e.Impl, verdict, e.Against))
		}
		for _, s := range sr.Skipped {
			out = append(out, fmt.Sprintf("%s: %s %s skipped: %s", sr.Scale, s.Op, s.Impl, s.Reason))
		}
		for _, r := range sr.Results {
			if r.Estimate != nil {
				out = append(out, fmt.Sprintf("%s: %s %s threads=%s is %s", sr.Scale, r.Op, r.Impl, threadsLabel(r.Threads), r.Estimate.Method))
			}
		}
	}
	return out
}

// Markdown renders the report as a RESULTS.md section.
func Markdown(rep *Report, jsonPath string) string {
	var b strings.Builder
	var names []string
	for _, sr := range rep.Scales {
		names = append(names, sr.Scale)
	}
	fmt.Fprintf(&b, "## Run of %s (%s)\n\n", rep.Started.Format("2006-01-02 15:04 MST"), strings.Join(names, ", "))
	fmt.Fprintf(&b, "- Command: `%s`\n", rep.Command)
	fmt.Fprintf(&b, "- Machine: %s\n", rep.Machine)
	idle := idleSummary(rep)
	fmt.Fprintf(&b, "- Load: 1-minute load average %.2f before, %.2f after; %s\n", rep.LoadBefore, rep.LoadAfter, idle)
	fmt.Fprintf(&b, "- assign: `%s` (%s); D0 %s, horizon %d days, seed %d, %d runs per command (median reported), %s\n",
		rep.Options.Assign, orUnknown(rep.Options.Version), rep.Options.Date, rep.Options.Days, rep.Options.Seed, rep.Options.Runs,
		rep.Finished.Sub(rep.Started).Round(time.Second))
	if len(rep.Options.PolicyFlags) > 0 {
		fmt.Fprintf(&b, "- Policy flags of every planning command: `%s`\n", strings.Join(rep.Options.PolicyFlags, " "))
	}
	if jsonPath != "" {
		fmt.Fprintf(&b, "- Every run: `%s`\n", jsonPath)
	}
	for _, sr := range rep.Scales {
		fmt.Fprintf(&b, "- %s: %d users, %d snacks, %d deliveries, %d ratings, %d stock lots\n", sr.Scale, sr.Users, sr.Snacks,
			sr.Rows["deliveries"], sr.Rows["ratings"], sr.Rows["stock"])
	}
	b.WriteString("\n")
	t := newTable(rep)
	b.WriteString(t.RenderMarkdown())
	b.WriteString("\n\nRatios are baseline / assign (same operation, threads and horizon); higher means assign is faster. ")
	b.WriteString("`~` marks extrapolated figures, not measurements.\n\n")
	for _, l := range notes(rep) {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	b.WriteString("\n")
	if tr := Targets(rep); anyMeasured(tr) {
		b.WriteString("Targets of issue 13:\n\n")
		b.WriteString(targetTable(tr).RenderMarkdown())
		b.WriteString("\n\n")
	}
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "version unknown"
	}
	return s
}

func idleSummary(rep *Report) string {
	var idle []float64
	for _, sr := range rep.Scales {
		for _, r := range sr.Results {
			for _, s := range r.Samples {
				idle = append(idle, s.IdleBefore)
			}
		}
	}
	if len(idle) == 0 {
		return "no runs"
	}
	slices.Sort(idle)
	return fmt.Sprintf("CPU idle in the 3 s before each run: min %.0f%%, median %.0f%%", idle[0]*100, idle[(len(idle)-1)/2]*100)
}

// AppendMarkdown appends the report's section to the markdown file at path,
// creating it with a title when missing.
func AppendMarkdown(path string, rep *Report, jsonPath string) error {
	var prefix string
	if _, err := os.Stat(path); os.IsNotExist(err) {
		prefix = "# Benchmark results\n\n"
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("write results section: %w", err)
	}
	if _, err := f.WriteString(prefix + Markdown(rep, jsonPath)); err != nil {
		f.Close()
		return fmt.Errorf("write results section to %s: %w", path, err)
	}
	return f.Close()
}

// WriteJSON writes the report, every sample included, to path.
func WriteJSON(path string, rep *Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
