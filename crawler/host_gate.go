package crawler

import (
	"context"
	"sync"
	"time"
)

// hostGate spaces the requests to each host. It is shared by every run of a
// Crawler, so parallel slots, sources and runs that reach one host all queue
// at the same gate: each request gets the next free time and waits for it.
type hostGate struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu    sync.Mutex
	hosts map[string]*gateSlot
}

// gateSlot is one host's schedule.
type gateSlot struct {
	last time.Time // start of the latest request given a time
	next time.Time // earliest start of the next one, by the latest's delay
}

func newHostGate() *hostGate {
	return &hostGate{now: time.Now, sleep: sleepCtx, hosts: map[string]*gateSlot{}}
}

// wait blocks until a request to host may start, at least d after the
// previous request to it and not before the time the previous request's own
// delay asked for; it fails only when ctx ends.
func (g *hostGate) wait(ctx context.Context, host string, d time.Duration) error {
	g.mu.Lock()
	now := g.now()
	s := g.hosts[host]
	if s == nil {
		if len(g.hosts) >= 4096 {
			g.prune(now)
		}
		s = &gateSlot{}
		g.hosts[host] = s
	}
	at := now
	if s.next.After(at) {
		at = s.next
	}
	if !s.last.IsZero() {
		if t := s.last.Add(d); t.After(at) {
			at = t
		}
	}
	s.last, s.next = at, at.Add(d)
	g.mu.Unlock()
	if wait := at.Sub(now); wait > 0 {
		return g.sleep(ctx, wait)
	}
	return ctx.Err()
}

// prune forgets hosts not asked for in the last hour (mu held): no delay
// is that long.
func (g *hostGate) prune(now time.Time) {
	for h, s := range g.hosts {
		if !s.next.After(now) && now.Sub(s.last) > time.Hour {
			delete(g.hosts, h)
		}
	}
}
