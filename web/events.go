package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"riskmine/alerts"
)

// LeadSubscriber tells the open UI about new leads (an
// alerts.ServiceStore: *alerts.SQLStore hears the leads of its process,
// alerts/pgstore's *Store those of every node).
type LeadSubscriber interface {
	SubscribeLeads() (<-chan alerts.LeadEvent, func())
}

// StreamsPerUser is how many event streams one user may hold open at once
// (a few tabs); more are answered 429.
const StreamsPerUser = 4

// defaultHeartbeat is how often an idle stream sends a comment, so proxies
// and the browser see the connection alive and a gone client is noticed.
const defaultHeartbeat = 20 * time.Second

// eventStreams holds what the event streams share: the per-user cap and the
// signal that the server shuts down.
type eventStreams struct {
	gate      *searchGate
	heartbeat time.Duration
	quit      chan struct{}
	once      sync.Once
}

func newEventStreams() *eventStreams {
	return &eventStreams{gate: newSearchGate(StreamsPerUser), heartbeat: defaultHeartbeat, quit: make(chan struct{})}
}

// EndStreams ends every open event stream and refuses new ones; the HTTP
// server's graceful shutdown would otherwise wait on them (package service
// registers it with http.Server.RegisterOnShutdown).
func (s *Server) EndStreams() { s.streams.once.Do(func() { close(s.streams.quit) }) }

// apiEvents answers GET /api/v1/events with a server-sent event stream: a
// "lead" event (id, level, category, title) for every lead filed while it
// is open, and a comment every heartbeat. It ends when the client goes or
// the server shuts down.
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	if s.deps.LeadEvents == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "new-lead events are not available")
		return
	}
	select {
	case <-s.streams.quit:
		writeJSONError(w, http.StatusServiceUnavailable, "the server is shutting down")
		return
	default:
	}
	leave, ok := s.streams.gate.enter(searcherName(r))
	if !ok {
		w.Header().Set("Retry-After", "5")
		writeJSONError(w, http.StatusTooManyRequests, fmt.Sprintf("too many event streams: a user may hold %d open at once; close a tab and try again", StreamsPerUser))
		return
	}
	defer leave()
	events, cancel := s.deps.LeadEvents.SubscribeLeads()
	defer cancel()

	rc := http.NewResponseController(w)
	// The stream lives longer than the server's read and write timeouts:
	// no read deadline (a gone client is still seen, its connection
	// closes), and before each write a deadline past the next heartbeat,
	// so only a client that stops reading is cut off.
	_ = rc.SetReadDeadline(time.Time{})
	hb := s.streams.heartbeat
	send := func(msg string) error {
		if s.opts.WriteTimeout > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(hb + s.opts.WriteTimeout))
		}
		if _, err := io.WriteString(w, msg); err != nil {
			return err
		}
		return rc.Flush()
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if send("retry: 5000\n: riskmine new-lead events\n\n") != nil {
		return
	}
	tick := time.NewTicker(hb)
	defer tick.Stop()
	pv := s.piiFor(r)
	for {
		var msg string
		select {
		case <-r.Context().Done():
			return
		case <-s.streams.quit:
			return
		case ev, ok := <-events:
			if !ok {
				return // the store closed
			}
			ev.Title = pv.text(ev.Title) // a viewer sees personal data masked here too
			data, err := json.Marshal(ev)
			if err != nil {
				return
			}
			msg = "event: lead\nid: " + ev.ID + "\ndata: " + string(data) + "\n\n"
		case <-tick.C:
			msg = ": heartbeat\n\n"
		}
		if send(msg) != nil {
			return
		}
	}
}

// searchGate caps what one user holds open at once on this node: the event
// streams, each a connection of the node's own.
type searchGate struct {
	max     int
	mu      sync.Mutex
	running map[string]int
}

func newSearchGate(max int) *searchGate {
	if max <= 0 {
		max = 2
	}
	return &searchGate{max: max, running: map[string]int{}}
}

// enter admits a search of user, or reports false when the user already
// runs max searches. The caller calls leave when the search ends.
func (g *searchGate) enter(user string) (leave func(), ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running[user] >= g.max {
		return nil, false
	}
	g.running[user]++
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.running[user]--; g.running[user] <= 0 {
			delete(g.running, user)
		}
	}, true
}
