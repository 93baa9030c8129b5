// Package dashboard is the analysts' web app behind `assign serve`: pages
// over a run (overview, stock and expiry, snacks, users, runs and their
// comparison, a SQL console) and what-if scenarios, served from the binary
// (the pages, scripts and the vendored chart library are embedded) over
// the same read-only sessions as `assign query`.
//
// Nothing it serves writes: every read goes through a locked-down
// analytics session (snapshot attached read-only, file access limited to
// the runs folder), and the only write is a scenario run a viewer asks for
// (POST /api/whatif), which the whatif package writes as a run marked
// scenario. The server reads the home's state on every request, so a new
// snapshot or run shows without a restart.
package dashboard

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/assign-dev/assign/analytics"
	"github.com/assign-dev/assign/store"
)

//go:embed assets
var assets embed.FS

// TokenCookie carries the token after a viewer opened a link with ?token=.
const TokenCookie = "assign_token"

// Options configure a Server.
type Options struct {
	// Token, when set, is required on every request: as ?token= (which
	// sets a cookie and redirects to the same page without it), the
	// cookie, or an "Authorization: Bearer" header.
	Token string
	// Loopback is true when the server listens on a loopback address only:
	// requests must then name a loopback host (no DNS rebinding).
	Loopback bool
	// Sessions is how many read-only sessions serve requests at once.
	Sessions int
	// Threads is DuckDB's worker count per session.
	Threads int
	// Version is shown in the page footer.
	Version string
	Logger  *slog.Logger
	Now     func() time.Time
	// QueryTimeout bounds one SQL console query (assign query's --timeout).
	QueryTimeout time.Duration
	// MemoryLimit is a SQL console query's memory (assign query's
	// --memory-limit); 0 means analytics.DefaultMemoryLimit().
	MemoryLimit int64
	// Worker is the command that runs one SQL console query in a process
	// of its own (see RunWorker): the server's binary with --sql-worker.
	// WorkerEnv is added to its environment.
	Worker    []string
	WorkerEnv []string
	// Consoles is how many SQL console queries run at once (each in its
	// own process, with up to MemoryLimit); more wait.
	Consoles int
	// MaxRows caps the rows the SQL console shows (downloads stream all).
	MaxRows int
}

// Server serves the dashboard over one data home.
type Server struct {
	home *store.Home
	opt  Options
	pool *pool
	mux  *http.ServeMux
	// whatifMu lets one scenario run at a time: a scenario is a whole
	// planning job, and two at once would only slow both.
	whatifMu sync.Mutex
	// manifests and runFacts cache what is read of run folders, by folder:
	// a run folder never changes once complete.
	manifests sync.Map
	runFacts  sync.Map
	// console holds a place per SQL console query running.
	console chan struct{}
}

// New returns a server over home.
func New(home *store.Home, opt Options) *Server {
	if opt.Sessions <= 0 {
		opt.Sessions = 4
	}
	if opt.Threads <= 0 {
		opt.Threads = 2
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.QueryTimeout <= 0 {
		opt.QueryTimeout = 60 * time.Second
	}
	if opt.MaxRows <= 0 {
		opt.MaxRows = 1000
	}
	if opt.MemoryLimit <= 0 {
		opt.MemoryLimit = analytics.DefaultMemoryLimit()
	}
	if opt.Consoles <= 0 {
		opt.Consoles = 2
	}
	s := &Server{home: home, opt: opt, pool: newPool(home, opt.Sessions, opt.Threads), mux: http.NewServeMux(),
		console: make(chan struct{}, opt.Consoles)}
	s.routes()
	return s
}

// Warm opens a session and reads the latest run's per-date box counts, so
// the first viewer does not wait for them. Errors are left for the pages
// to report.
func (s *Server) Warm(ctx context.Context) {
	runs, err := s.listRuns()
	if err != nil {
		return
	}
	_ = s.withSession(ctx, func(p *pooled) error {
		for _, v := range runs {
			if !v.Scenario {
				_, err := s.boxDates(ctx, p.sess.DB(), v)
				return err
			}
		}
		return nil
	})
}

// Close releases the sessions.
func (s *Server) Close() { s.pool.close() }

// Handler is the server's HTTP handler with its checks in front.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Server) routes() {
	static, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(static)
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(files)))
	s.mux.HandleFunc("GET /api/state", s.api(s.state))
	s.mux.HandleFunc("GET /api/overview", s.api(s.overview))
	s.mux.HandleFunc("GET /api/stock", s.api(s.stock))
	s.mux.HandleFunc("GET /api/snack", s.api(s.snack))
	s.mux.HandleFunc("GET /api/users", s.api(s.users))
	s.mux.HandleFunc("GET /api/user", s.api(s.user))
	s.mux.HandleFunc("GET /api/compare", s.api(s.compare))
	s.mux.HandleFunc("POST /api/whatif", s.api(s.whatif))
	s.mux.HandleFunc("POST /api/sql", s.api(s.sqlQuery))
	s.mux.HandleFunc("POST /api/sql/export", s.sqlExport)
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no API %s %s", r.Method, r.URL.Path))
	}
	s.mux.HandleFunc("GET /api/", notFound)
	s.mux.HandleFunc("POST /api/", notFound)
	// Every other path is a page of the app: the same document, which
	// reads the path and the query string (the state of the view).
	s.mux.HandleFunc("GET /", s.page)
}

// cacheFor serves the embedded assets with an ETag of their content:
// browsers revalidate them on every page load (no-cache) and get "304 Not
// Modified" while the binary is the same, so a viewer's second visit
// reuses the cached chart library and its compiled code instead of loading
// and parsing 1.1 MB again.
func cacheFor(h http.Handler) http.Handler {
	tags := assetTags()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		if tag, ok := tags[strings.TrimPrefix(r.URL.Path, "/")]; ok {
			// http.FileServer answers If-None-Match against this header.
			w.Header().Set("ETag", tag)
		}
		h.ServeHTTP(w, r)
	})
}

// assetTags are the ETags of the embedded assets, by path under assets/.
func assetTags() map[string]string {
	tags := map[string]string{}
	_ = fs.WalkDir(assets, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		tags[strings.TrimPrefix(path, "assets/")] = `"` + hex.EncodeToString(sum[:12]) + `"`
		return nil
	})
	return tags
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("assets/index.html")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

// serveHTTP applies the security checks, then routes.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	// Scripts come only from the binary; no inline script, nothing fetched
	// elsewhere. Chart styles are set inline by the chart library.
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	if s.opt.Loopback && !loopbackHost(r.Host) {
		// A page on another site resolving its name to 127.0.0.1 (DNS
		// rebinding) would otherwise read the dashboard.
		http.Error(w, "assign serve answers only to a loopback host name (127.0.0.1, localhost, [::1])", http.StatusForbidden)
		return
	}
	if s.opt.Token != "" && !s.authorized(w, r) {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
		writeError(w, http.StatusForbidden, errors.New("cross-site request refused: POST only from the dashboard's own pages"))
		return
	}
	s.mux.ServeHTTP(w, r)
}

func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameOrigin accepts a state-changing request only from the dashboard's
// own pages: browsers send Sec-Fetch-Site or Origin on every POST.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	if o := r.Header.Get("Origin"); o != "" {
		return o == "http://"+r.Host || o == "https://"+r.Host
	}
	// Not a browser (curl, a script): no ambient credentials to abuse.
	return true
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	eq := func(v string) bool { return subtle.ConstantTimeCompare([]byte(v), []byte(s.opt.Token)) == 1 }
	if t := r.URL.Query().Get("token"); t != "" && eq(t) && r.Method == http.MethodGet {
		http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: t, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		q := r.URL.Query()
		q.Del("token")
		u := *r.URL
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
		return false
	}
	if c, err := r.Cookie(TokenCookie); err == nil && eq(c.Value) {
		return true
	}
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") && eq(strings.TrimPrefix(a, "Bearer ")) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="assign"`)
	http.Error(w, "this dashboard needs its token: open the link with ?token=TOKEN, or send Authorization: Bearer TOKEN", http.StatusUnauthorized)
	return false
}

// apiFunc answers one API request with a value to encode as JSON.
type apiFunc func(ctx context.Context, r *http.Request) (any, error)

// httpError is an error with its status code (a bad parameter: 400).
type httpError struct {
	code int
	err  error
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

func badRequest(format string, args ...any) error {
	return &httpError{code: http.StatusBadRequest, err: fmt.Errorf(format, args...)}
}

func (s *Server) api(fn apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		v, err := fn(r.Context(), r)
		if err != nil {
			code := http.StatusInternalServerError
			var he *httpError
			switch {
			case errors.As(err, &he):
				code = he.code
			case errors.Is(err, store.ErrNoSnapshot):
				code = http.StatusConflict
			case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
				code = http.StatusServiceUnavailable
			}
			s.opt.Logger.Info("request failed", "path", r.URL.Path, "status", code, "err", err)
			writeError(w, code, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Server-Timing", fmt.Sprintf("app;dur=%.1f", float64(time.Since(started).Microseconds())/1000))
		enc := json.NewEncoder(w)
		if err := enc.Encode(v); err != nil {
			s.opt.Logger.Info("write response", "path", r.URL.Path, "err", err)
		}
	}
}

func writeError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
