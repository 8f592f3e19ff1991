package web

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"riskmine/alerts"
)

// sseClient reads one event stream: the "lead" events' data and a count of
// heartbeat comments.
type sseClient struct {
	resp   *http.Response
	events chan alerts.LeadEvent
	beats  chan struct{}
	done   chan struct{}
}

func openStream(t *testing.T, base, token string) (*sseClient, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, resp
	}
	c := &sseClient{resp: resp, events: make(chan alerts.LeadEvent, 16), beats: make(chan struct{}, 1000), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == ": heartbeat":
				c.beats <- struct{}{}
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && event == "lead":
				var ev alerts.LeadEvent
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev) == nil {
					c.events <- ev
				}
			case line == "":
				event = ""
			}
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return c, resp
}

func (c *sseClient) close() { c.resp.Body.Close(); <-c.done }

// TestEventStreamOutlivesWriteTimeout subscribes on a real server with short
// read and write timeouts, waits past them, files a lead and reads its event.
func TestEventStreamOutlivesWriteTimeout(t *testing.T) {
	dir := t.TempDir()
	leads, err := alerts.OpenSQLite(filepath.Join(dir, "alerts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { leads.Close() })
	const timeout = 300 * time.Millisecond
	srv, err := New(Options{DBPath: filepath.Join(dir, "web.db"), AdminToken: adminToken, WriteTimeout: timeout,
		Logger: slog.New(slog.DiscardHandler)}, Deps{Leads: leads})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.streams.heartbeat = 100 * time.Millisecond
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.Config.WriteTimeout, hs.Config.ReadTimeout = timeout, timeout
	hs.Start()
	t.Cleanup(hs.Close)

	c, resp := openStream(t, hs.URL, adminToken)
	if c == nil {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	if ct := c.resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	// Held well past both timeouts, the stream is still open: heartbeats
	// keep coming and a lead filed now arrives.
	time.Sleep(4 * timeout)
	file := func(url string) string {
		res, err := leads.File(context.Background(), alerts.Candidate{URL: url, Site: "example.test", Title: "仓库起火 " + url,
			Snippet: "仓库起火", Level: "high", Score: 7, Categories: []alerts.CategoryScore{{Code: "fire", Score: 7}},
			SimHash: uint64(len(url)) * 0x9E3779B97F4A7C15, SeenAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return res.LeadID
	}
	id := file("https://a.test/1")
	select {
	case ev := <-c.events:
		if ev.ID != id || ev.Level != "high" || ev.Category != "fire" || !strings.HasPrefix(ev.Title, "仓库起火") {
			t.Fatalf("event %+v, want lead %s", ev, id)
		}
	case <-c.done:
		t.Fatal("the stream ended before the lead was filed")
	case <-time.After(10 * time.Second):
		t.Fatal("no event for the new lead")
	}
	if len(c.beats) < 2 {
		t.Errorf("%d heartbeats while idle, want several", len(c.beats))
	}

	// At most StreamsPerUser streams per user: the next is 429.
	var more []*sseClient
	for range StreamsPerUser - 1 {
		s2, resp := openStream(t, hs.URL, adminToken)
		if s2 == nil {
			t.Fatalf("stream within the cap: %d", resp.StatusCode)
		}
		more = append(more, s2)
	}
	if _, resp := openStream(t, hs.URL, adminToken); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("stream over the cap: %d, want 429 with Retry-After", resp.StatusCode)
	}
	// A client that goes frees its place.
	more[0].close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s2, resp := openStream(t, hs.URL, adminToken)
		if s2 != nil {
			more[0] = s2
			break
		}
		if resp.StatusCode != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("after a client left: %d", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Shutting down ends every stream, and new ones are refused.
	srv.EndStreams()
	for _, s2 := range append(more, c) {
		select {
		case <-s2.done:
		case <-time.After(10 * time.Second):
			t.Fatal("a stream outlived EndStreams")
		}
	}
	if _, resp := openStream(t, hs.URL, adminToken); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("stream after EndStreams: %d, want 503", resp.StatusCode)
	}
}

// A viewer may listen; without a login or token the stream is refused.
func TestEventStreamNeedsALogin(t *testing.T) {
	w := newWorld(t, Options{})
	tok, err := w.srv.store.CreateToken(context.Background(), "viv", "t")
	if err != nil {
		t.Fatal(err)
	}
	c, resp := openStream(t, w.http.URL, tok)
	if c == nil {
		t.Fatalf("viewer stream: %d", resp.StatusCode)
	}
	c.close()
	if st := w.apiReq("GET", "/api/v1/events", "", "").StatusCode; st != http.StatusUnauthorized {
		t.Errorf("anonymous stream: %d, want 401", st)
	}
}
