package crawler

import (
	"context"
	"sync"
	"time"
)

// hostGate spaces the requests to each host. It is shared by every run of a
// Crawler, so parallel slots, sources and runs that reach one host all queue
// at the same gate. Requests to a host pass one at a time: each waits until
// the previous one's delay after the moment it really started, so a
// request that woke late (a loaded machine) pushes the next one back
// instead of arriving beside it.
type hostGate struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu    sync.Mutex
	hosts map[string]*gateSlot
}

// gateSlot is one host's schedule; last and next are read and written only
// by the holder of tok.
type gateSlot struct {
	tok  chan struct{}
	last time.Time // when the latest request really started
	next time.Time // earliest start of the next one, by the latest's delay
}

func newHostGate() *hostGate {
	return &hostGate{now: time.Now, sleep: sleepCtx, hosts: map[string]*gateSlot{}}
}

// wait blocks until a request to host may start, at least d after the
// previous request to it started and not before the time the previous
// request's own delay asked for; it fails only when ctx ends.
func (g *hostGate) wait(ctx context.Context, host string, d time.Duration) error {
	g.mu.Lock()
	s := g.hosts[host]
	if s == nil {
		if len(g.hosts) >= 4096 {
			g.prune(g.now())
		}
		s = &gateSlot{tok: make(chan struct{}, 1)}
		g.hosts[host] = s
	}
	g.mu.Unlock()
	select {
	case s.tok <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.tok }()
	now := g.now()
	at := now
	if s.next.After(at) {
		at = s.next
	}
	if !s.last.IsZero() {
		if t := s.last.Add(d); t.After(at) {
			at = t
		}
	}
	if wait := at.Sub(now); wait > 0 {
		if err := g.sleep(ctx, wait); err != nil {
			return err
		}
	} else if err := ctx.Err(); err != nil {
		return err
	}
	start := g.now()
	s.last, s.next = start, start.Add(d)
	return nil
}

// prune forgets hosts not asked for in the last hour (mu held): no delay
// is that long. A host whose gate is held is kept.
func (g *hostGate) prune(now time.Time) {
	for h, s := range g.hosts {
		select {
		case s.tok <- struct{}{}:
			if !s.next.After(now) && now.Sub(s.last) > time.Hour {
				delete(g.hosts, h)
			}
			<-s.tok
		default:
		}
	}
}
