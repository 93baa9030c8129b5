// Command dashbench measures the dashboard in headless Chromium over a data
// home (medium for the targets): the first paint of the overview (from
// navigation start to the page drawn with its charts, as the page itself
// times it), and filter interactions (a mouse click on a category or a date
// bar until every chart is redrawn). It prints a Markdown table for
// benchmarks/RESULTS.md.
//
//	go run -tags duckdb_arrow ./benchmarks/cmd/dashbench --home /path/to/medium-home
//
// The home needs a current snapshot and a run (assign preassign --days 28).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/assign-dev/assign/dashboard"
	"github.com/assign-dev/assign/internal/headless"
	"github.com/assign-dev/assign/store"
)

func main() {
	homeDir := flag.String("home", "", "data home with a current snapshot and a run (required)")
	loads := flag.Int("loads", 7, "page loads of the overview measured")
	clicks := flag.Int("clicks", 12, "filter clicks measured (categories and dates in turn)")
	flag.Parse()
	if *homeDir == "" {
		log.Fatal("dashbench: --home is required")
	}
	home, err := store.Open(*homeDir)
	if err != nil {
		log.Fatal(err)
	}
	run, err := home.FindRun("")
	if err != nil {
		log.Fatal(err)
	}
	srv := dashboard.New(home, dashboard.Options{Loopback: true, Version: "bench"})
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, srv.Handler())
	warmStart := time.Now()
	srv.Warm(context.Background())
	warm := time.Since(warmStart)
	base := "http://" + ln.Addr().String()

	exe, err := headless.Find()
	if err != nil {
		log.Fatal(err)
	}
	profile, _ := os.MkdirTemp("", "dashbench-profile-")
	defer os.RemoveAll(profile)
	b, err := headless.Start(exe, profile, 1400, 1000)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	ctx := b.Context()
	do := func(a chromedp.Action[chromedp.Void]) {
		c, cancel := context.WithTimeout(ctx, 120*time.Second)
		defer cancel()
		if err := chromedp.Do(c, a); err != nil {
			log.Fatal(err)
		}
	}
	eval := func(js string) float64 {
		c, cancel := context.WithTimeout(ctx, 120*time.Second)
		defer cancel()
		v, err := chromedp.Run(c, chromedp.Evaluate[float64](js))
		if err != nil {
			log.Fatalf("%s: %v", js, err)
		}
		return v
	}
	waitAfter := func(n float64) {
		c, cancel := context.WithTimeout(ctx, 120*time.Second)
		defer cancel()
		if _, err := chromedp.Run(c, chromedp.Poll[bool](fmt.Sprintf(`!!(window.__dash && window.__dash.renders > %v && document.body.dataset.ready)`, n))); err != nil {
			log.Fatal(err)
		}
		if msg, _ := chromedp.Run(c, chromedp.Evaluate[string](`document.getElementById('error').hidden ? '' : document.getElementById('error').textContent`)); msg != "" {
			log.Fatalf("the page shows an error: %s", msg)
		}
	}

	// First paint: the first load opens the server's sessions (cold); the
	// rest are what a viewer opening the dashboard sees.
	var paints []float64
	var cold float64
	for i := 0; i <= *loads; i++ {
		do(chromedp.Navigate(base + "/"))
		waitAfter(0)
		ms := eval(`window.__dash.last.at`)
		if i == 0 {
			cold = ms
			continue
		}
		paints = append(paints, ms)
	}
	// Filter interactions: click a bar of the categories chart, then of the
	// dates chart, alternately; each click toggles a filter.
	var inPage, wall []float64
	for i := 0; i < *clicks; i++ {
		chart, horizontal := "categories", true
		if i%2 == 1 {
			chart, horizontal = "dates", false
		}
		idx := i / 2 % 4
		pt := make([]float64, 2)
		c, cancel := context.WithTimeout(ctx, 60*time.Second)
		v, err := chromedp.Run(c, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => {
			const c = window.__charts[%q];
			c.getDom().scrollIntoView({block: 'center'});
			const data = c.getOption().series[0].data;
			const i = Math.min(%d, data.length - 1);
			const v = Math.max(data[i], 1);
			const px = c.convertToPixel({xAxisIndex: 0, yAxisIndex: 0}, %v ? [v / 2, i] : [i, v / 2]);
			const r = c.getDom().getBoundingClientRect();
			return [r.left + px[0], r.top + px[1]];
		})()`, chart, idx, horizontal)))
		cancel()
		if err != nil {
			log.Fatal(err)
		}
		copy(pt, v)
		n := eval(`window.__dash.renders`)
		t0 := time.Now()
		do(chromedp.MouseClickXY(pt[0], pt[1]))
		waitAfter(n)
		wall = append(wall, float64(time.Since(t0).Microseconds())/1000)
		inPage = append(inPage, eval(`window.__dash.last.ms`))
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		log.Fatalf("console errors: %s", strings.Join(errs, "\n"))
	}

	var load [3]float64
	if s, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscan(string(s), &load[0], &load[1], &load[2])
	}
	fmt.Printf("dashboard benchmark, %s, run %s, %d CPUs, load average %.1f at the end\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), run.ID, runtime.NumCPU(), load[0])
	fmt.Println("| measure | n | median | min | max |")
	fmt.Println("| --- | ---:| ---:| ---:| ---:|")
	fmt.Printf("| server start: open a session, read the latest run's boxes per date (before the first viewer) | 1 | %.0f ms | | |\n", float64(warm.Microseconds())/1000)
	fmt.Printf("| overview first paint, first load (the browser's cache empty) | 1 | %.0f ms | | |\n", cold)
	row := func(name string, v []float64) {
		s := slices.Clone(v)
		slices.Sort(s)
		fmt.Printf("| %s | %d | %.0f ms | %.0f ms | %.0f ms |\n", name, len(s), s[len(s)/2], s[0], s[len(s)-1])
	}
	row("overview first paint (navigation start to charts drawn)", paints)
	row("filter click to every chart redrawn (in the page)", inPage)
	row("filter click to every chart redrawn (seen by the driver)", wall)
}
