package dashboard

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/assign-dev/assign/internal/headless"
)

// The dashboard as a viewer sees it, in Debian's headless Chromium driven
// by chromedp (.ci/run installs chromium and sets ASSIGN_REQUIRE_BROWSER).
// ASSIGN_SCREENSHOTS=DIR also saves a screenshot of every page there
// (make screenshots).

func startBrowser(t *testing.T) *headless.Browser {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a browser")
	}
	exe, err := headless.Find()
	if err != nil {
		if os.Getenv(headless.EnvRequire) != "" {
			t.Fatalf("%v (%s is set)", err, headless.EnvRequire)
		}
		t.Skipf("%v; set %s=1 to make this a failure", err, headless.EnvRequire)
	}
	b, err := headless.Start(exe, t.TempDir(), 1400, 1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

type page struct {
	t   *testing.T
	ctx context.Context
	b   *headless.Browser
	url string
}

func run[T any](p *page, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.t.Fatalf("%T: %v", a, err)
	}
	return v
}

// renders is how many times the app has rendered a page.
func (p *page) renders() float64 {
	p.t.Helper()
	return run(p, chromedp.Evaluate[float64](`window.__dash ? window.__dash.renders : 0`))
}

// waitRender waits for a render after the given count, and fails on any
// console error or error banner.
func (p *page) waitRender(after float64, what string) {
	p.t.Helper()
	run(p, chromedp.Poll[bool](fmt.Sprintf(`!!(window.__dash && window.__dash.renders > %v && document.body.dataset.ready)`, after)))
	if msg := run(p, chromedp.Evaluate[string](`document.getElementById('error').hidden ? '' : document.getElementById('error').textContent`)); msg != "" {
		p.t.Errorf("%s shows an error: %s", what, msg)
	}
	if errs := p.b.ConsoleErrors(); len(errs) > 0 {
		p.t.Errorf("%s: console errors:\n%s", what, strings.Join(errs, "\n"))
	}
}

func (p *page) open(path, what string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.Navigate(p.url+path)); err != nil {
		p.t.Fatal(err)
	}
	p.waitRender(0, what)
}

// chartData counts the data points of every chart on the page.
func (p *page) chartData() map[string]float64 {
	p.t.Helper()
	return run(p, chromedp.Evaluate[map[string]float64](`Object.fromEntries(Object.entries(window.__charts).map(([k, c]) =>
		[k, c.getOption().series.reduce((n, s) => n + (s.data || []).filter(v => v != null).length, 0)]))`))
}

// chartSum adds up the values of one series of a chart.
func (p *page) chartSum(id string, series int) float64 {
	p.t.Helper()
	return run(p, chromedp.Evaluate[float64](fmt.Sprintf(`window.__charts[%q].getOption().series[%d].data.reduce((a, v) => a + (v || 0), 0)`, id, series)))
}

// column reads one column of a panel's table as shown.
func (p *page) column(panel string, col int) []string {
	p.t.Helper()
	return run(p, chromedp.Evaluate[[]string](fmt.Sprintf(`[...document.querySelectorAll('[data-panel=%q] tbody tr')].map(tr => tr.children[%d].textContent)`, panel, col)))
}

// clickBar clicks, with the mouse as a viewer would, the first bar of
// series 0 of a chart at or after index i that has a value, and returns
// the index of the bar clicked.
func (p *page) clickBar(chart string, i int, horizontal bool) int {
	p.t.Helper()
	pt := run(p, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => {
		const c = window.__charts[%q];
		c.getDom().scrollIntoView({block: 'center'});
		const data = c.getOption().series[0].data;
		let i = %d;
		while (i < data.length - 1 && !(data[i] > 0)) i++;
		const v = data[i];
		const px = c.convertToPixel({xAxisIndex: 0, yAxisIndex: 0}, %v ? [v / 2, i] : [i, v / 2]);
		const r = c.getDom().getBoundingClientRect();
		return [r.left + px[0], r.top + px[1], i];
	})()`, chart, i, horizontal)))
	if err := chromedp.Do(p.ctx, chromedp.MouseClickXY(pt[0], pt[1])); err != nil {
		p.t.Fatal(err)
	}
	return int(pt[2])
}

func (p *page) screenshot(name string) {
	dir := os.Getenv("ASSIGN_SCREENSHOTS")
	if dir == "" {
		return
	}
	p.t.Helper()
	run(p, chromedp.Evaluate[any](`window.scrollTo(0, 0)`))
	png := run(p, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, "dashboard-"+name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func TestDashboardInBrowser(t *testing.T) {
	b := startBrowser(t)
	f := newFixture(t)
	_, ts := f.server(t, Options{Loopback: true})
	p := &page{t: t, ctx: b.Context(), b: b, url: ts.URL}

	// Every page renders, with no console error, and every chart has data.
	pages := []struct {
		name, path string
		charts     []string
	}{
		{"overview", "/", []string{"snacks", "dates", "categories", "boxfill"}},
		{"stock", "/stock", []string{"expiry", "waste-categories", "supply"}},
		{"snack", fmt.Sprintf("/snack?id=%d", f.worst), []string{"snack-demand", "snack-eligibility", "snack-ratings"}},
		{"user", fmt.Sprintf("/user?id=%d", f.user), []string{"user-box"}},
		{"runs", "/runs", []string{"runs"}},
		{"compare", fmt.Sprintf("/compare?a=%s&b=%s", f.preassign, f.run), []string{"cmp-dates", "cmp-snacks"}},
		{"sql", "/sql?q=" + url.QueryEscape("SELECT category, count(*) AS snacks FROM snacks GROUP BY ALL ORDER BY ALL"), nil},
	}
	for _, pg := range pages {
		p.open(pg.path, pg.name)
		data := p.chartData()
		for _, c := range pg.charts {
			if data[c] == 0 {
				t.Errorf("page %s: chart %s has no data (%v)", pg.name, c, data)
			}
		}
		if n := run(p, chromedp.Evaluate[int](`document.querySelectorAll('main table tbody tr').length`)); n == 0 {
			t.Errorf("page %s shows no table rows", pg.name)
		}
		p.screenshot(pg.name)
	}
	if rows := p.column("sql-0", 0); len(rows) == 0 {
		t.Error("the SQL console shows no result rows")
	}

	t.Run("cross-filter", func(t *testing.T) {
		p.t = t
		p.open("/?run="+f.preassign, "overview")
		cats := p.column("categories", 0)
		datesBefore := p.chartSum("dates", 0) + p.chartSum("dates", 1)
		r := p.renders()
		ci := p.clickBar("categories", 1, true)
		p.waitRender(r, "overview after a category click")
		loc := run(p, chromedp.Location())
		u, _ := url.Parse(loc)
		cat := u.Query().Get("category")
		if cat != cats[ci] {
			t.Fatalf("clicking category %q set %q (%s)", cats[ci], cat, loc)
		}
		for _, c := range p.column("snacks", 2) {
			if c != cat {
				t.Errorf("category %s selected, the snacks chart shows a snack of %s", cat, c)
			}
		}
		if after := p.chartSum("dates", 0) + p.chartSum("dates", 1); after >= datesBefore || after == 0 {
			t.Errorf("the dates chart did not follow the category: %v units before, %v after", datesBefore, after)
		}
		// A date click filters the categories chart and keeps the category.
		catsBefore := p.chartSum("categories", 0) + p.chartSum("categories", 1)
		r = p.renders()
		p.clickBar("dates", 0, false)
		p.waitRender(r, "overview after a date click")
		u, _ = url.Parse(run(p, chromedp.Location()))
		if u.Query().Get("date") == "" || u.Query().Get("category") != cat {
			t.Fatalf("after the date click: %s", u)
		}
		if after := p.chartSum("categories", 0) + p.chartSum("categories", 1); after >= catsBefore || after == 0 {
			t.Errorf("the categories chart did not follow the date: %v before, %v after", catsBefore, after)
		}
		p.screenshot("overview-filtered")
		// The state is in the address: opening it again shows the same.
		shown := p.column("snacks", 0)
		p.open(u.RequestURI(), "overview from a shared link")
		if again := p.column("snacks", 0); strings.Join(again, ",") != strings.Join(shown, ",") {
			t.Errorf("a shared link shows other snacks: %v, then %v", shown, again)
		}
	})

	t.Run("export", func(t *testing.T) {
		p.t = t
		dir := t.TempDir()
		p.open("/", "overview")
		if err := chromedp.Do(p.ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: ptr(true)})
			return err
		}), chromedp.Click(chromedp.CSS(`[data-export="categories"]`))); err != nil {
			t.Fatal(err)
		}
		// The browser names the finished file by its download id.
		var file string
		for deadline := time.Now().Add(20 * time.Second); file == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if !strings.HasSuffix(e.Name(), ".crdownload") {
					file = filepath.Join(dir, e.Name())
				}
			}
		}
		if file == "" {
			t.Fatal("the CSV export downloaded nothing in 20 s")
		}
		fh, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		recs, err := csv.NewReader(fh).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		shown := p.column("categories", 0)
		if len(recs) != len(shown)+1 || strings.Join(recs[0], ",") != "category,demand,covered,shortage" {
			t.Fatalf("export: %d rows for %d shown: %v", len(recs)-1, len(shown), recs)
		}
		short := p.column("categories", 3)
		for i, r := range recs[1:] {
			if r[0] != shown[i] || strings.ReplaceAll(short[i], ",", "") != r[3] {
				t.Errorf("export row %d = %v, the table shows %s %s", i, r, shown[i], short[i])
			}
		}
	})

	t.Run("whatif", func(t *testing.T) {
		p.t = t
		p.open("/whatif", "what-if")
		if err := chromedp.Do(p.ctx,
			chromedp.Click(chromedp.CSS(`[data-add="snack"]`)),
			chromedp.SetValue(chromedp.CSS(`[data-change="snack"] input[name="snack_id"]`), fmt.Sprint(f.worst)),
			chromedp.SetValue(chromedp.CSS(`[data-change="snack"] input[name="units"]`), fmt.Sprint(f.shortage)),
			chromedp.Click(chromedp.CSS(`[data-action="whatif"]`)),
		); err != nil {
			t.Fatal(err)
		}
		scen := run(p, chromedp.Poll[string](`document.body.dataset.whatif || (document.getElementById('error').hidden ? '' : 'error: ' + document.getElementById('error').textContent)`, chromedp.WithPollingTimeout(60*time.Second)))
		if strings.HasPrefix(scen, "error") || !strings.HasSuffix(scen, "-preassign-scenario") {
			t.Fatalf("the scenario did not run: %s", scen)
		}
		// Adding exactly the shortage of the snack short the most removes
		// exactly that shortage.
		delta := run(p, chromedp.Evaluate[string](`[...document.querySelectorAll('[data-panel="wi-summary"] tbody tr')]
			.find(tr => tr.children[0].textContent === 'units short of stock').children[3].textContent`))
		if want := "-" + fmtThousands(f.shortage); delta != want {
			t.Errorf("adding %d units of snack %d changed the shortage by %s, want %s", f.shortage, f.worst, delta, want)
		}
		if errs := b.ConsoleErrors(); len(errs) > 0 {
			t.Errorf("console errors: %v", errs)
		}
		p.screenshot("whatif")
		latest, _ := f.home.FindRun("")
		if latest.ID != f.preassign {
			t.Errorf("the scenario became latest: %s", latest.ID)
		}
		// The address names the scenario, so a reload or a shared link
		// shows the same difference; its links open the scenario's pages.
		u, _ := url.Parse(run(p, chromedp.Location()))
		if u.Path != "/whatif" || u.Query().Get("scenario") != scen {
			t.Fatalf("after the scenario the address is %s, want /whatif?scenario=%s", u, scen)
		}
		p.open(u.RequestURI(), "the what-if result from its link")
		again := run(p, chromedp.Evaluate[string](`(([...document.querySelectorAll('[data-panel="wi-summary"] tbody tr')]
			.find(tr => tr.children[0].textContent === 'units short of stock') || {children: [0, 0, 0, {textContent: 'none'}]}).children[3].textContent)`))
		if again != delta {
			t.Errorf("the what-if's link shows a shortage change of %q, the page showed %q", again, delta)
		}
		for _, sel := range []string{`[data-panel="wi-boxes"] tbody a`, `[data-panel="wi-snacks"] tbody a`} {
			href := run(p, chromedp.Evaluate[string](`(document.querySelector('`+sel+`') || {getAttribute: () => 'none'}).getAttribute('href')`))
			if href == "none" && strings.Contains(sel, "wi-boxes") {
				continue // a preassign's boxes do not change with stock
			}
			if hu, err := url.Parse(href); err != nil || hu.Query().Get("run") != scen {
				t.Errorf("%s links to %s, not to the scenario %s", sel, href, scen)
			}
		}
		// The scenario's own overview shows the changed shortage.
		p.open("/?run="+url.QueryEscape(scen), "scenario overview")
	})

	t.Run("links keep the run", func(t *testing.T) {
		p.t = t
		// On a run other than the latest, every link to another page of
		// that run keeps it, and snack ids are ids (no thousands separator).
		for _, pg := range []struct{ path, sel string }{
			{fmt.Sprintf("/user?id=%d&run=%s", f.user, f.run), `[data-panel="user-snacks"] tbody a, [data-panel="user-lines"] tbody a, [data-panel="user-box"] tbody a`},
			{"/stock?run=" + f.run, `[data-panel="supply"] tbody a`},
			{fmt.Sprintf("/snack?id=%d&run=%s", f.worst, f.run), `main tbody a`},
		} {
			p.open(pg.path, pg.path)
			links := run(p, chromedp.Evaluate[[]string](`[...document.querySelectorAll('`+pg.sel+`')].map(a => a.getAttribute('href') + ' ' + a.textContent)`))
			if len(links) == 0 {
				t.Errorf("%s: no links in %s", pg.path, pg.sel)
			}
			for _, l := range links {
				href, text, _ := strings.Cut(l, " ")
				hu, err := url.Parse(href)
				if err != nil || hu.Query().Get("run") != f.run {
					t.Errorf("%s: the link %s leaves run %s", pg.path, href, f.run)
					break
				}
				if id := hu.Query().Get("id"); id != text && strings.ReplaceAll(text, ",", "") == id {
					t.Errorf("%s: id %s shown as %q", pg.path, id, text)
					break
				}
			}
		}
		// Following one stays on the run.
		p.open(fmt.Sprintf("/user?id=%d&run=%s", f.user, f.run), "user")
		r := p.renders()
		if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(`[data-panel="user-box"] tbody a`))); err != nil {
			t.Fatal(err)
		}
		p.waitRender(r, "snack page from the user's box")
		u, _ := url.Parse(run(p, chromedp.Location()))
		if u.Path != "/snack" || u.Query().Get("run") != f.run {
			t.Errorf("the user's box links to %s, leaving run %s", u, f.run)
		}
		if sel := run(p, chromedp.Evaluate[string](`document.getElementById('run').value`)); sel != f.run {
			t.Errorf("the run picker shows %s on the snack page, want %s", sel, f.run)
		}
	})

	t.Run("escaping and refusals", func(t *testing.T) {
		p.t = t
		p.open(fmt.Sprintf("/snack?id=%d", f.evilID), "snack with markup in its name")
		title := run(p, chromedp.Evaluate[string](`document.querySelector('main h1').textContent`))
		if !strings.Contains(title, evilName) {
			t.Errorf("the snack's name is not shown as text: %q", title)
		}
		if n := run(p, chromedp.Evaluate[int](`document.querySelectorAll('main img, main b').length + (window.__xss ? 100 : 0)`)); n != 0 {
			t.Errorf("the snack's name became markup (%d elements or script)", n)
		}
		p.open("/sql?q="+url.QueryEscape("DELETE FROM users"), "refused SQL")
		msg := run(p, chromedp.Evaluate[string](`document.querySelector('[data-sql-error]').textContent`))
		if !strings.Contains(msg, "refused DELETE") {
			t.Errorf("the console ran or misreported DELETE: %q", msg)
		}
	})

	t.Run("viewers in parallel tabs", func(t *testing.T) {
		p.t = t
		const tabs = 4
		done := make(chan error, tabs)
		for i := 0; i < tabs; i++ {
			go func(i int) {
				ctx, cancel, err := b.Tab()
				if err != nil {
					done <- err
					return
				}
				defer cancel()
				path := []string{"/", "/stock", fmt.Sprintf("/snack?id=%d", f.worst), "/runs"}[i]
				ctx, cancel2 := context.WithTimeout(ctx, 60*time.Second)
				defer cancel2()
				if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+path)); err != nil {
					done <- err
					return
				}
				_, err = chromedp.Run(ctx, chromedp.Poll[bool](`!!document.body.dataset.ready && document.getElementById('error').hidden`))
				done <- err
			}(i)
		}
		for i := 0; i < tabs; i++ {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
		if errs := b.ConsoleErrors(); len(errs) > 0 {
			t.Errorf("console errors: %v", errs)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func fmtThousands(n int64) string {
	s := fmt.Sprint(n)
	var out []string
	for len(s) > 3 {
		out = append([]string{s[len(s)-3:]}, out...)
		s = s[:len(s)-3]
	}
	return strings.Join(append([]string{s}, out...), ",")
}
