package cmdutil

import (
	"sync"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Progress shows stages and bars on stderr when it is a terminal, and
// nothing otherwise (scripts and logs get no decoration). Its methods are
// safe to call from several goroutines.
type Progress struct {
	mu  sync.Mutex
	p   *mpb.Progress
	bar *mpb.Bar
	on  bool
}

// NewProgress returns a progress display for the factory's stderr.
func (f *Factory) NewProgress() *Progress {
	if !f.IO.IsStderrTTY() {
		return &Progress{}
	}
	return &Progress{on: true, p: mpb.New(mpb.WithOutput(f.IO.ErrOut), mpb.WithWidth(40))}
}

// Stage starts a new line named name; total 0 shows a spinner-like counter.
func (p *Progress) Stage(name string, total int64) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishLocked()
	p.bar = p.p.AddBar(total,
		mpb.PrependDecorators(decor.Name(name, decor.WC{C: decor.DindentRight | decor.DextraSpace, W: 18})),
		mpb.AppendDecorators(decor.OnComplete(decor.CountersNoUnit("%d / %d"), "done")),
	)
	if total == 0 {
		p.bar.SetTotal(0, false)
	}
}

// Set reports done out of total for the current stage.
func (p *Progress) Set(done, total int) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil {
		return
	}
	p.bar.SetTotal(int64(total), false)
	p.bar.SetCurrent(int64(done))
}

func (p *Progress) finishLocked() {
	if p.bar != nil {
		p.bar.SetTotal(-1, true)
		p.bar = nil
	}
}

// Done completes the display; call it before printing results.
func (p *Progress) Done() {
	if !p.on {
		return
	}
	p.mu.Lock()
	p.finishLocked()
	p.mu.Unlock()
	p.p.Wait()
}
