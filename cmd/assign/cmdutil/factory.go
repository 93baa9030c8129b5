// Package cmdutil holds what every assign command shares: the factory of
// dependencies, IO streams, error types mapped to exit codes, and output
// helpers.
package cmdutil

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/store"
)

// Version is set at build time with -ldflags "-X .../cmdutil.Version=v1.2.3";
// otherwise it comes from the module build info.
var Version = ""

// BuildVersion returns the version string shown by --version.
func BuildVersion() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		rev := ""
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = s.Value[:12]
			}
		}
		if v == "" || v == "(devel)" {
			v = "dev"
		}
		if rev != "" {
			v += " (" + rev + ")"
		}
		return v
	}
	return "dev"
}

// Factory hands out dependencies lazily, so a command pays only for what it
// uses and tests can substitute any of them.
type Factory struct {
	IO *IOStreams
	// HomeDir is the data home as given by --home, ASSIGN_HOME or the default.
	HomeDir func() string
	// Now is the clock (fixed in tests).
	Now    func() time.Time
	Logger *slog.Logger

	home *store.Home
}

// New returns a factory over the given streams with the real clock.
func New(ios *IOStreams) *Factory {
	f := &Factory{IO: ios, Now: time.Now, Logger: slog.New(slog.NewTextHandler(ios.ErrOut, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	f.HomeDir = func() string {
		if v := os.Getenv(store.EnvHome); v != "" {
			return v
		}
		return store.DefaultHome
	}
	return f
}

// Home opens the data home, creating it when missing.
func (f *Factory) Home() (*store.Home, error) {
	if f.home != nil {
		return f.home, nil
	}
	h, err := store.Open(f.HomeDir())
	if err != nil {
		return nil, err
	}
	f.home = h
	return h, nil
}

// OpenSnapshot opens the named snapshot of the data home, or the current
// one when name is empty, read-only, with threads DuckDB threads (0: all
// cores) spilling under the home's temporary folder. It returns the
// snapshot's name with it. The caller closes the handle.
func (f *Factory) OpenSnapshot(ctx context.Context, name string, threads int) (*duck.DB, string, error) {
	home, err := f.Home()
	if err != nil {
		return nil, "", err
	}
	name, path, err := home.Resolve(name)
	if err != nil {
		return nil, "", &SnapshotError{Err: err}
	}
	db, err := duck.OpenSnapshot(ctx, path, duck.Options{Threads: threads, TempDir: home.TmpDir()})
	if err != nil {
		return nil, "", err
	}
	return db, name, nil
}

// A SnapshotError says the snapshot asked for is not in the home (or no
// snapshot is current), as opposed to one that exists and failed to open.
type SnapshotError struct{ Err error }

func (e *SnapshotError) Error() string { return e.Err.Error() }
func (e *SnapshotError) Unwrap() error { return e.Err }
