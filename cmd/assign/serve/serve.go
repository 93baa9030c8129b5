// Package serve is the `assign serve` command: the analysts' dashboard.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/analytics"
	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/dashboard"
)

// minMemoryLimit is the smallest --memory-limit, as assign query's: below
// it DuckDB cannot open the snapshot and the views.
const minMemoryLimit = 256 << 20

// EnvToken is the environment variable that may hold --token.
const EnvToken = "ASSIGN_SERVE_TOKEN"

// Options are the parsed flags of serve.
type Options struct {
	Factory  *cmdutil.Factory
	Listen   string
	Token    string
	Sessions int
	Threads  int
	Timeout  time.Duration
	MaxRows  int
	// MemoryLimit is --memory-limit as given ("4GB").
	MemoryLimit string
	// Worker makes the process a SQL console worker (hidden --sql-worker).
	Worker bool
	// Ready, when set, receives the address listened on (tests).
	Ready func(addr string)

	loopback    bool
	memoryLimit int64
}

// NewCmdServe builds `assign serve`.
func NewCmdServe(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "serve [--listen 127.0.0.1:8080]",
		Short: "Serve the analysts' dashboard: runs, stock, snacks, users, what-if scenarios, SQL",
		Long: `Serve a web dashboard over the data home, built into the binary (pages,
scripts and the chart library are embedded; nothing is fetched from the
network). Open the address it prints in a browser.

Pages: the overview of a run (demand against usable stock, shortage by date
and category, box fill, requests honoured; clicking a category or a date
filters the other charts), stock and expiry (lots by best-before, units at
risk of expiring unused, days of supply), a snack (demand over the horizon,
who gets it and why the others do not, its ratings), a user (the boxes and
the explanation of assign explain), runs (list, and compare two as assign
diff does), what-if scenarios (as assign whatif), and a SQL console with
assign query's guard, limits and formats: each console query runs in a
process of its own with --memory-limit and --timeout, so a runaway query
ends with one line and the server goes on. Every chart has its table and a
CSV export, and the page address holds the view, so a link shares it.

It is read-only like assign query: the snapshot is opened read-only and
every read goes through query's locked-down session. The only write is a
scenario run a viewer starts on the What-if page, written as a run marked
scenario (never latest). Many viewers can use it at once, while loads and
runs go on; a new current snapshot or a new run shows on the next page load
without a restart.

Security: it listens on the loopback address by default, and then answers
only to loopback host names. Listening on any other address needs
--token (or $` + EnvToken + `): every request must then carry the token, as
?token=TOKEN on the first link (a cookie keeps it), or an
"Authorization: Bearer TOKEN" header. Requests without it are refused.`,
		Example: `  # After 'assign demo': open http://127.0.0.1:8080
  assign serve

  # Another port
  assign serve --listen 127.0.0.1:9000

  # SQL console queries limited to 2 GB of memory and 30 seconds each
  assign serve --memory-limit 2GB --timeout 30s

  # Reachable from other machines: a token is required
  assign serve --listen 0.0.0.0:8080 --token "$(openssl rand -hex 16)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Worker {
				return dashboard.RunWorker(cmd.Context(), f.IO.In, f.IO.Out)
			}
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return serveRun(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Listen, "listen", "127.0.0.1:8080", "address to listen on, HOST:PORT (port 0 picks a free one)")
	fs.StringVar(&opts.Token, "token", "", "shared secret every request must carry; required to listen on a non-loopback address (default $"+EnvToken+")")
	fs.IntVar(&opts.Sessions, "sessions", 4, "read-only database sessions serving requests at once")
	fs.IntVar(&opts.Threads, "threads", 2, "DuckDB threads per session")
	fs.DurationVar(&opts.Timeout, "timeout", 60*time.Second, "stop a SQL console query that runs longer than this (as assign query --timeout)")
	fs.DurationVar(&opts.Timeout, "query-timeout", 60*time.Second, "")
	_ = fs.MarkDeprecated("query-timeout", "use --timeout")
	fs.StringVar(&opts.MemoryLimit, "memory-limit", "", fmt.Sprintf("memory of one SQL console query, as assign query --memory-limit (default: a quarter of this machine's memory, %s)", cmdutil.HumanBytes(analytics.DefaultMemoryLimit())))
	fs.BoolVar(&opts.Worker, dashboard.WorkerFlag, false, "run one SQL console query read from standard input (the server starts these)")
	_ = fs.MarkHidden(dashboard.WorkerFlag)
	fs.IntVar(&opts.MaxRows, "max-rows", 1000, "rows the SQL console shows (downloads hold all)")
	return cmd
}

func (o *Options) validate() error {
	if o.Token == "" {
		o.Token = os.Getenv(EnvToken)
	}
	host, port, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return cmdutil.FlagErrorf("--listen %q: want HOST:PORT, e.g. 127.0.0.1:8080", o.Listen)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return cmdutil.FlagErrorf("--listen %q: port %q is not a port number", o.Listen, port)
	}
	ip := net.ParseIP(host)
	o.loopback = host == "localhost" || ip != nil && ip.IsLoopback()
	if !o.loopback && o.Token == "" {
		return cmdutil.FlagErrorf("--listen %s is reachable from other machines: give --token SECRET (or $%s) so only people with it can read the data", o.Listen, EnvToken)
	}
	if o.Token != "" && len(o.Token) < 8 {
		return cmdutil.FlagErrorf("--token is too short: use at least 8 characters (e.g. openssl rand -hex 16)")
	}
	if err := cmdutil.CheckIntRange("sessions", o.Sessions, 1, 64); err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("threads", o.Threads, 1, 1024); err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("max-rows", o.MaxRows, 1, 1000000); err != nil {
		return err
	}
	if o.Timeout <= 0 {
		return cmdutil.FlagErrorf("--timeout %s: must be positive", o.Timeout)
	}
	o.memoryLimit = analytics.DefaultMemoryLimit()
	if o.MemoryLimit != "" {
		n, err := cmdutil.ParseBytes(o.MemoryLimit)
		if err != nil {
			return cmdutil.FlagErrorf("--memory-limit %q: %v", o.MemoryLimit, err)
		}
		if n < minMemoryLimit {
			return cmdutil.FlagErrorf("--memory-limit %q: must be at least %s", o.MemoryLimit, cmdutil.HumanBytes(minMemoryLimit))
		}
		o.memoryLimit = n
	}
	return nil
}

func serveRun(ctx context.Context, o *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	f := o.Factory
	home, err := f.Home()
	if err != nil {
		return err
	}
	if _, err := home.Current(); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the assign binary for the SQL console's worker processes: %w", err)
	}
	srv := dashboard.New(home, dashboard.Options{
		MemoryLimit: o.memoryLimit, Worker: []string{exe, "serve", "--" + dashboard.WorkerFlag},
		Token: o.Token, Loopback: o.loopback, Sessions: o.Sessions, Threads: o.Threads,
		Version: cmdutil.BuildVersion(), Logger: f.Logger, Now: f.Now, QueryTimeout: o.Timeout, MaxRows: o.MaxRows,
	})
	defer srv.Close()
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another server using the port? pick another with --listen)", o.Listen, err)
	}
	addr := ln.Addr().String()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + addr + "/"
	if o.Token != "" {
		url += "?token=" + o.Token
	}
	fmt.Fprintf(f.IO.Out, "Serving the dashboard of %s at %s (Ctrl-C stops)\n", home.Dir, url)
	if o.Ready != nil {
		o.Ready(addr)
	}
	go srv.Warm(ctx)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		fmt.Fprintln(f.IO.ErrOut, "Stopped.")
	}
	return nil
}
