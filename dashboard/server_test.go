package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/internal/testhome"
	"github.com/assign-dev/assign/plan"
	"github.com/assign-dev/assign/policy"
)

func get(t *testing.T, c *http.Client, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func TestAPIs(t *testing.T) {
	f := newFixture(t)
	_, ts := f.server(t, Options{Loopback: true})
	c := ts.Client()
	for _, path := range []string{
		"/api/state", "/api/overview", "/api/overview?category=chips&date=2026-03-03", "/api/stock", "/api/stock?category=chips",
		fmt.Sprintf("/api/snack?id=%d", f.worst), fmt.Sprintf("/api/user?id=%d", f.user), fmt.Sprintf("/api/users?q=%d", f.user/10),
		fmt.Sprintf("/api/compare?a=%s&b=%s", f.preassign, f.run), "/api/overview?run=" + f.run,
	} {
		res, b := get(t, c, ts.URL+path)
		if res.StatusCode != 200 || !json.Valid(b) {
			t.Errorf("%s: %d %.300s", path, res.StatusCode, b)
		}
	}
	for path, code := range map[string]int{
		"/api/overview?run=../../etc":   400,
		"/api/overview?date=yesterday":  400,
		"/api/snack":                    400,
		"/api/snack?id=424242":          404,
		"/api/users?q=1%27%20OR%201=1":  400,
		"/api/nope":                     404,
		"/static/nope.js":               404,
		"/api/user?id=1&date=2026-13-1": 400,
	} {
		if res, b := get(t, c, ts.URL+path); res.StatusCode != code {
			t.Errorf("%s: %d, want %d: %.200s", path, res.StatusCode, code, b)
		}
	}
	// Every page path serves the app; the assets are embedded.
	for _, path := range []string{"/", "/stock", "/snack?id=1", "/sql", "/static/app.js", "/static/vendor/echarts.esm.min.js", "/static/style.css"} {
		if res, b := get(t, c, ts.URL+path); res.StatusCode != 200 || len(b) == 0 {
			t.Errorf("%s: %d", path, res.StatusCode)
		}
	}
	// Assets carry an ETag of their content, so a browser revalidates them
	// with a 304 instead of loading the chart library again.
	for _, path := range []string{"/static/app.js", "/static/vendor/echarts.esm.min.js"} {
		res, _ := get(t, c, ts.URL+path)
		tag := res.Header.Get("ETag")
		if tag == "" {
			t.Errorf("%s has no ETag", path)
			continue
		}
		if res, b := get(t, c, ts.URL+path, "If-None-Match", tag); res.StatusCode != http.StatusNotModified || len(b) != 0 {
			t.Errorf("%s with If-None-Match %s: %d, %d bytes", path, tag, res.StatusCode, len(b))
		}
	}
	// The overview's figures agree with the run's manifest.
	_, b := get(t, c, ts.URL+"/api/overview?run="+f.preassign)
	var ov struct {
		KPI map[string]int64 `json:"kpi"`
		Run runView          `json:"run"`
	}
	json.Unmarshal(b, &ov)
	if ov.KPI["shortage"] != ov.Run.Shortage || ov.KPI["demand"] != ov.Run.Demand || ov.KPI["boxes"] != int64(ov.Run.Boxes) {
		t.Errorf("overview kpis %v against the manifest %+v", ov.KPI, ov.Run)
	}
}

func TestSecurity(t *testing.T) {
	f := newFixture(t)
	_, ts := f.server(t, Options{Loopback: true})
	c := ts.Client()
	// DNS rebinding: a loopback server answers only to loopback names.
	if res, _ := get(t, c, ts.URL+"/api/state", "Host", "evil.example:80"); res.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Host: %d", res.StatusCode)
	}
	// A cross-site POST (another site's form) is refused; nothing runs.
	post := func(url, origin, body string) int {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	before, _ := f.home.ListRuns()
	if code := post(ts.URL+"/api/whatif", "http://evil.example", `{}`); code != http.StatusForbidden {
		t.Errorf("cross-site whatif: %d", code)
	}
	if after, _ := f.home.ListRuns(); len(after) != len(before) {
		t.Error("a cross-site POST wrote a run")
	}
	// The console refuses what query refuses.
	for _, sql := range []string{"DELETE FROM users", "COPY snacks TO '/tmp/x.csv'", "SELECT * FROM read_csv('/etc/passwd')", "ATTACH '/tmp/x.db'"} {
		body, _ := json.Marshal(map[string]string{"sql": sql})
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/sql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), `"error":"refused`) {
			t.Errorf("%s: %d %s", sql, res.StatusCode, b)
		}
	}

	// With a token, nothing is served without it.
	_, tts := f.server(t, Options{Token: "s3cret-token"})
	tc := tts.Client()
	for _, path := range []string{"/", "/api/state", "/static/app.js"} {
		if res, _ := get(t, tc, tts.URL+path); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without the token: %d", path, res.StatusCode)
		}
	}
	if res, _ := get(t, tc, tts.URL+"/api/state", "Authorization", "Bearer wrong-token"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d", res.StatusCode)
	}
	if res, _ := get(t, tc, tts.URL+"/api/state", "Authorization", "Bearer s3cret-token"); res.StatusCode != 200 {
		t.Errorf("the bearer token: %d", res.StatusCode)
	}
	// ?token= sets a cookie and redirects to the page without the token.
	noFollow := *tc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, _ := get(t, &noFollow, tts.URL+"/stock?token=s3cret-token&category=chips")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/stock?category=chips" || len(res.Cookies()) != 1 {
		t.Fatalf("?token=: %d %q %v", res.StatusCode, res.Header.Get("Location"), res.Cookies())
	}
	if res, _ := get(t, tc, tts.URL+"/api/state", "Cookie", TokenCookie+"=s3cret-token"); res.StatusCode != 200 {
		t.Errorf("the cookie: %d", res.StatusCode)
	}
}

// Twenty viewers at once, each loading the page, its scripts and the data
// of every page, while a new run appears: no error, and the new run is
// listed without a restart.
func TestConcurrentViewers(t *testing.T) {
	f := newFixture(t)
	_, ts := f.server(t, Options{Loopback: true})
	paths := []string{"/", "/static/app.js", "/static/vendor/echarts.esm.min.js", "/api/state", "/api/overview", "/api/overview?category=chips",
		"/api/overview?date=2026-03-04", "/api/stock", fmt.Sprintf("/api/snack?id=%d", f.worst), "/api/users?q=1", fmt.Sprintf("/api/user?id=%d", f.user),
		fmt.Sprintf("/api/compare?a=%s&b=%s", f.preassign, f.run)}
	var wg sync.WaitGroup
	errs := make(chan string, 1000)
	for v := 0; v < 20; v++ {
		wg.Add(1)
		go func(v int) {
			defer wg.Done()
			c := ts.Client()
			for round := 0; round < 2; round++ {
				for i := range paths {
					p := paths[(i+v)%len(paths)]
					res, err := c.Get(ts.URL + p)
					if err != nil {
						errs <- fmt.Sprintf("viewer %d %s: %v", v, p, err)
						continue
					}
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						errs <- fmt.Sprintf("viewer %d %s: %d %.200s", v, p, res.StatusCode, b)
					}
				}
			}
		}(v)
	}
	// A run written while the viewers read.
	at := clock.Add(2 * time.Hour)
	out, err := plan.Execute(context.Background(), f.home, plan.Request{Mode: engine.Preassign, D0: engine.DayOf(testhome.D0), Days: 7,
		Policy: policy.Default(), Threads: 1, Now: func() time.Time { return at }, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	_, b := get(t, ts.Client(), ts.URL+"/api/state")
	var st struct{ Latest string }
	json.Unmarshal(b, &st)
	if st.Latest != out.Manifest.RunID {
		t.Errorf("latest after a new run: %s, want %s", st.Latest, out.Manifest.RunID)
	}
	// A new current snapshot shows without a restart too.
	name, err := testhome.WriteSnapshot(context.Background(), f.home, testhome.Size{Users: 300, Snacks: 20, Seed: 3, Derived: true}, clock.Add(3*time.Hour), true)
	if err != nil {
		t.Fatal(err)
	}
	_, b = get(t, ts.Client(), ts.URL+"/api/state")
	var st2 struct{ Snapshot string }
	json.Unmarshal(b, &st2)
	if st2.Snapshot != name {
		t.Errorf("snapshot after a load: %s, want %s", st2.Snapshot, name)
	}
	if res, b := get(t, ts.Client(), ts.URL+"/api/overview"); res.StatusCode != 200 {
		t.Errorf("overview after a load: %d %s", res.StatusCode, b)
	}
}
