package report

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/assign-dev/assign/internal/testhome"
)

// The report as a user sees it: headless Chromium renders report.html, a
// probe script (added to a test copy only; the report has no script)
// measures every chart, and a screenshot shows whether the marks are
// visible. Chromium comes from the Debian package (see .ci/run).

// probeScript records, per chart, its box on the page, the marks with a
// non-zero size, the text labels and the smallest font size drawn.
const probeScript = `<script>
window.addEventListener('load', function () {
  var out = {height: document.documentElement.scrollHeight, charts: []};
  document.querySelectorAll('svg[data-chart]').forEach(function (svg) {
    var r = svg.getBoundingClientRect();
    var marks = 0, texts = 0, minFont = 1e9;
    svg.querySelectorAll('.mark').forEach(function (m) {
      var b = m.getBBox();
      if (b.width > 0 && b.height > 0) marks++;
    });
    svg.querySelectorAll('text').forEach(function (t) {
      if (t.textContent.trim() === '') return;
      texts++;
      var px = parseFloat(getComputedStyle(t).fontSize) * (r.width / svg.viewBox.baseVal.width);
      minFont = Math.min(minFont, px);
    });
    out.charts.push({id: svg.dataset.chart, empty: svg.dataset.empty === 'true', x: r.left + scrollX, y: r.top + scrollY,
      w: r.width, h: r.height, marks: marks, texts: texts, minFont: minFont});
  });
  var pre = document.createElement('pre');
  pre.id = 'layout-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>`

type chartProbe struct {
	ID      string  `json:"id"`
	Empty   bool    `json:"empty"`
	X       float64 `json:"x"`
	Y       float64 `json:"y"`
	W       float64 `json:"w"`
	H       float64 `json:"h"`
	Marks   int     `json:"marks"`
	Texts   int     `json:"texts"`
	MinFont float64 `json:"minFont"`
}

type probe struct {
	Height int          `json:"height"`
	Charts []chartProbe `json:"charts"`
}

func chromiumPath(t *testing.T) string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("ASSIGN_REQUIRE_BROWSER") != "" {
		t.Fatal("chromium is not installed: apt-get install -y chromium (ASSIGN_REQUIRE_BROWSER is set)")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium); set ASSIGN_REQUIRE_BROWSER=1 to make this a failure")
	return ""
}

// chromium runs headless Chromium with a fresh profile and no network
// chatter and returns its standard output.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	profile := t.TempDir()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--force-device-scale-factor=1", "--user-data-dir=" + profile}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

var probeRE = regexp.MustCompile(`(?s)<pre id="layout-probe">(.*?)</pre>`)

// checkRendered renders the report at htmlPath and returns every problem a
// reader would see: a chart missing, drawn without marks or labels, labels
// too small to read, or marks invisible in the screenshot.
func checkRendered(t *testing.T, bin, htmlPath string) []string {
	t.Helper()
	src, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	probed := filepath.Join(dir, "probed.html")
	if err := os.WriteFile(probed, []byte(strings.Replace(string(src), "</body>", probeScript+"</body>", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := chromium(t, bin, "--virtual-time-budget=5000", "--window-size=1400,1000", "--dump-dom", "file://"+probed)
	m := probeRE.FindSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe did not run; DOM:\n%.2000s", dom)
	}
	var p probe
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &p); err != nil {
		t.Fatalf("probe output: %v", err)
	}
	var problems []string
	byID := map[string]chartProbe{}
	for _, c := range p.Charts {
		byID[c.ID] = c
	}
	for _, id := range ChartIDs {
		c, ok := byID[id]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("chart %s is missing", id))
		case c.W < 600 || c.H < 60:
			problems = append(problems, fmt.Sprintf("chart %s is drawn %.0fx%.0f px, too small to read", id, c.W, c.H))
		case !c.Empty && c.Marks == 0:
			problems = append(problems, fmt.Sprintf("chart %s has no bars with a size", id))
		case c.Texts == 0:
			problems = append(problems, fmt.Sprintf("chart %s has no labels", id))
		case c.MinFont < 10:
			problems = append(problems, fmt.Sprintf("chart %s has labels of %.1f px, under 10 px", id, c.MinFont))
		}
	}
	if len(problems) > 0 {
		return problems
	}
	// The screenshot must show each chart: count pixels that are neither
	// white nor grey (the bars are coloured) inside each chart's box.
	shot := filepath.Join(dir, "shot.png")
	height := p.Height + 40
	chromium(t, bin, fmt.Sprintf("--window-size=1400,%d", height), "--screenshot="+shot, "file://"+probed)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode screenshot: %v", err)
	}
	if keep := os.Getenv("ASSIGN_KEEP_SCREENSHOT"); keep != "" {
		// The first screenshot is the intact report: keep it for a look.
		if _, err := os.Stat(keep); err != nil {
			b, _ := os.ReadFile(shot)
			_ = os.WriteFile(keep, b, 0o644)
		}
	}
	for _, id := range ChartIDs {
		c := byID[id]
		r := image.Rect(int(c.X), int(c.Y), int(c.X+c.W), int(c.Y+c.H)).Intersect(img.Bounds())
		colored, inked := 0, 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				cr, cg, cb, _ := img.At(x, y).RGBA()
				r8, g8, b8 := int(cr>>8), int(cg>>8), int(cb>>8)
				if r8 < 200 || g8 < 200 || b8 < 200 {
					inked++
				}
				if max3(r8, g8, b8)-min3(r8, g8, b8) > 60 {
					colored++
				}
			}
		}
		area := r.Dx() * r.Dy()
		switch {
		case area == 0:
			problems = append(problems, fmt.Sprintf("chart %s is outside the screenshot", id))
		case inked < area/500:
			problems = append(problems, fmt.Sprintf("chart %s looks blank in the screenshot (%d dark pixels of %d)", id, inked, area))
		case !c.Empty && colored < area/100:
			problems = append(problems, fmt.Sprintf("chart %s shows no visible bars in the screenshot (%d coloured pixels of %d)", id, colored, area))
		}
	}
	return problems
}

func max3(a, b, c int) int { return max(a, max(b, c)) }
func min3(a, b, c int) int { return min(a, min(b, c)) }

func TestReportRendersInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	bin := chromiumPath(t)
	h := newHome(t)
	out := filepath.Join(t.TempDir(), "reports")
	ctx := context.Background()
	// An earlier report first, so the trend chart compares two.
	if _, err := Generate(ctx, h, opts(out, testhome.D0.AddDate(0, 0, -7))); err != nil {
		t.Fatal(err)
	}
	res, err := Generate(ctx, h, opts(out, testhome.D0))
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(res.Dir, HTMLFile)
	if problems := checkRendered(t, bin, page); len(problems) > 0 {
		t.Fatalf("the report does not render as it should:\n%s", strings.Join(problems, "\n"))
	}

	src, _ := os.ReadFile(page)
	t.Run("missing chart is caught", func(t *testing.T) {
		re := regexp.MustCompile(`(?s)<svg class="chart" data-chart="category-mix".*?</svg>`)
		if !re.Match(src) {
			t.Fatal("category-mix chart not found in the report")
		}
		broken := filepath.Join(t.TempDir(), "report.html")
		os.WriteFile(broken, re.ReplaceAll(src, nil), 0o644)
		problems := checkRendered(t, bin, broken)
		if !contains(problems, "chart category-mix is missing") {
			t.Errorf("a report without the category-mix chart passed: %v", problems)
		}
	})
	t.Run("invisible bars are caught", func(t *testing.T) {
		// Bars still in the DOM with a size, but painted white.
		re := regexp.MustCompile(`(<rect class="mark"[^>]*fill=")#e45756(")`)
		broken := filepath.Join(t.TempDir(), "report.html")
		os.WriteFile(broken, re.ReplaceAll(src, []byte("${1}#ffffff${2}")), 0o644)
		problems := checkRendered(t, bin, broken)
		if !contains(problems, "chart top-shortages shows no visible bars") {
			t.Errorf("a report with invisible shortage bars passed: %v", problems)
		}
	})
}

func contains(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
