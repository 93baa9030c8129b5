package dashboard

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/assign-dev/assign/analytics"
	"github.com/assign-dev/assign/store"
)

// pool hands out read-only analytics sessions. A session is one DuckDB
// connection and not safe for concurrent use, so each request borrows one;
// at most size are open at a time and a request waits for a free one.
//
// Sessions are tied to the home's state (current snapshot and the run
// folders): when a load switches CURRENT or a run appears, the state key
// changes, new requests get sessions opened on the new state, and the old
// ones are closed as they come back. That is how the server picks up a new
// snapshot or run without a restart.
type pool struct {
	home    *store.Home
	threads int
	sem     chan struct{}

	mu   sync.Mutex
	key  string
	idle []*pooled
}

type pooled struct {
	key  string
	sess *analytics.Session
}

func newPool(home *store.Home, size, threads int) *pool {
	return &pool{home: home, threads: threads, sem: make(chan struct{}, size)}
}

// stateKey names the home's current state: the current snapshot and every
// complete run. It costs a read of CURRENT and of the runs folder.
func stateKey(home *store.Home) (string, error) {
	cur, err := home.Current()
	if err != nil {
		return "", err
	}
	runs, err := home.ListRuns()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(cur)
	for _, r := range runs {
		b.WriteByte('|')
		b.WriteString(r.ID)
	}
	return b.String(), nil
}

// get borrows a session for the current state; put gives it back.
func (p *pool) get(ctx context.Context) (*pooled, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	key, err := stateKey(p.home)
	if err != nil {
		<-p.sem
		return nil, err
	}
	p.mu.Lock()
	var stale []*pooled
	if key != p.key {
		stale, p.idle, p.key = p.idle, nil, key
	}
	var s *pooled
	if n := len(p.idle); n > 0 {
		s, p.idle = p.idle[n-1], p.idle[:n-1]
	}
	p.mu.Unlock()
	for _, o := range stale {
		o.sess.Close()
	}
	if s != nil {
		return s, nil
	}
	sess, err := analytics.Open(ctx, p.home, analytics.Options{Threads: p.threads})
	if err != nil {
		<-p.sem
		return nil, fmt.Errorf("open the snapshot: %w", err)
	}
	return &pooled{key: key, sess: sess}, nil
}

func (p *pool) put(s *pooled, broken bool) {
	p.mu.Lock()
	keep := !broken && s.key == p.key
	if keep {
		p.idle = append(p.idle, s)
	}
	p.mu.Unlock()
	if !keep {
		s.sess.Close()
	}
	<-p.sem
}

// close closes the idle sessions.
func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, s := range idle {
		s.sess.Close()
	}
}
