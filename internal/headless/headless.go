// Package headless drives Debian's Chromium headless with chromedp for the
// dashboard's browser tests, its screenshots and its benchmark: the launch
// flags this machine needs (without them Chromium's own connections are
// refused here and it stalls), a fresh profile, and a collector of console
// errors.
package headless

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/chromedp/chromedp"
)

// EnvRequire makes a missing Chromium a failure instead of a skip (CI sets it).
const EnvRequire = "ASSIGN_REQUIRE_BROWSER"

// ErrNoBrowser is returned by Find when no Chromium is installed.
var ErrNoBrowser = errors.New("chromium is not installed: apt-get install -y chromium")

// Find returns the Chromium executable.
func Find() (string, error) {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// Browser is one headless Chromium with a fresh profile.
type Browser struct {
	ctx    context.Context
	cancel func()

	mu     sync.Mutex
	errors []string
}

// Start launches Chromium (exec) with a window of w x h and a fresh profile
// in profileDir. Close stops it.
func Start(exec, profileDir string, w, h int) (*Browser, error) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exec),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("force-device-scale-factor", "1"),
		chromedp.UserDataDir(profileDir),
		chromedp.WindowSize(w, h),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &Browser{ctx: ctx, cancel: func() { cancel(); acancel() }}
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		b.cancel()
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	b.watch(ctx)
	return b, nil
}

// Tab opens another tab of the browser (a concurrent viewer); its console
// errors are collected with the browser's.
func (b *Browser) Tab() (context.Context, func(), error) {
	ctx, cancel := chromedp.NewContext(b.ctx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		return nil, nil, err
	}
	b.watch(ctx)
	return ctx, cancel, nil
}

func (b *Browser) watch(ctx context.Context) {
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.errors = append(b.errors, strings.TrimSpace(m.String()))
				b.mu.Unlock()
			}
		}
	}()
}

// Context is the first tab's context, for chromedp.Run and Do.
func (b *Browser) Context() context.Context { return b.ctx }

// ConsoleErrors returns the console errors and uncaught exceptions seen so
// far and forgets them.
func (b *Browser) ConsoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.errors
	b.errors = nil
	return out
}

// Close stops the browser.
func (b *Browser) Close() { b.cancel() }
