package crawler

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Progress holds the live counts of a running source; the scheduler and the
// crawl command read it while the run goes on. The zero value is ready.
type Progress struct {
	fetched, new, changed, unchanged, skipped, failed, retries atomic.Int64

	mu     sync.Mutex
	errors map[string]int64

	// health is what the run saw of its source's health (health.go).
	health runSignals
}

// Snapshot returns the counts so far.
func (p *Progress) Snapshot() Stats {
	s := Stats{
		Fetched:   p.fetched.Load(),
		New:       p.new.Load(),
		Changed:   p.changed.Load(),
		Unchanged: p.unchanged.Load(),
		Skipped:   p.skipped.Load(),
		Failed:    p.failed.Load(),
		Retries:   p.retries.Load(),
	}
	p.mu.Lock()
	s.Errors = maps.Clone(p.errors)
	p.mu.Unlock()
	if s.Errors == nil {
		s.Errors = map[string]int64{}
	}
	return s
}

func (p *Progress) fail(kind string) {
	p.failed.Add(1)
	p.mu.Lock()
	if p.errors == nil {
		p.errors = map[string]int64{}
	}
	p.errors[kind]++
	p.mu.Unlock()
}
