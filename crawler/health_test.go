package crawler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// changingSite is a loopback site whose list layout, robots.txt and
// answers the test changes between runs.
type changingSite struct {
	mu       sync.Mutex
	layout   string // the list item's class
	disallow bool
	down     bool
}

func (s *changingSite) set(f func(*changingSite)) {
	s.mu.Lock()
	f(s)
	s.mu.Unlock()
}

func (s *changingSite) routes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"/robots.txt": func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.disallow {
				w.Write([]byte("User-agent: *\nDisallow: /\n"))
				return
			}
			w.Write([]byte("User-agent: *\nDisallow: /admin/\n"))
		},
		"/list": func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			layout, down := s.layout, s.down
			s.mu.Unlock()
			if down {
				http.Error(w, "maintenance", http.StatusServiceUnavailable)
				return
			}
			writeHTML(w, "text/html; charset=utf-8", []byte(fmt.Sprintf(
				`<html><body><a class=%s href="/a/1">燃气泄漏</a><a class=%s href="/a/2">道路塌陷</a></body></html>`, layout, layout)))
		},
		"/a/": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html; charset=utf-8", []byte(article("小区燃气泄漏 "+r.URL.Path, zhPara)))
		},
	}
}

// healthLog collects the changes handed to OnHealth.
type healthLog struct {
	mu      sync.Mutex
	changes []HealthChange
	fail    bool
}

func (h *healthLog) on(_ context.Context, ch HealthChange) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail {
		return errors.New("outbox unavailable")
	}
	h.changes = append(h.changes, ch)
	return nil
}

func (h *healthLog) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, c := range h.changes {
		state := "recovered"
		if c.Failing {
			state = "failing"
		}
		out = append(out, c.Problem+" "+state)
	}
	h.changes = nil
	return out
}

func TestSourceHealthChanges(t *testing.T) {
	site := &changingSite{layout: "item"}
	srv := newSite(t, site.routes())
	log := &healthLog{}
	c, _ := newTestCrawler(t, func(o *Options) { o.OnHealth = log.on; o.Retries = 0 })
	src := htmlSource("changing", srv, "/list")
	src.Revisit = 1 // every run fetches the articles again
	step := func(name string, want ...string) {
		t.Helper()
		runOnce(t, c, src, &pageSink{})
		got := log.take()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: changes %v, want %v", name, got, want)
		}
	}

	step("healthy")
	site.set(func(s *changingSite) { s.layout = "story" })
	step("selectors break", "selectors failing")
	step("selectors still broken") // one notification per change, not per run
	h, err := c.Store().Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if hs := h["changing"]; hs.OK() || hs.Failing[0].Problem != HealthSelectors || hs.Failing[0].Runs != 2 {
		t.Fatalf("health while broken: %+v", hs)
	}
	site.set(func(s *changingSite) { s.layout = "item" })
	step("selectors fixed", "selectors recovered")

	site.set(func(s *changingSite) { s.disallow = true })
	step("robots.txt starts blocking", "robots failing")
	step("still blocked")
	site.set(func(s *changingSite) { s.disallow = false })
	step("robots.txt allows again", "robots recovered")

	// The site down: no items, told on the third run in a row.
	site.set(func(s *changingSite) { s.down = true })
	step("down 1")
	step("down 2")
	step("down 3", "no_items failing")
	step("down 4")
	// The change cannot be handed on: told again after the next run.
	site.set(func(s *changingSite) { s.down = false })
	log.mu.Lock()
	log.fail = true
	log.mu.Unlock()
	step("back, outbox down")
	log.mu.Lock()
	log.fail = false
	log.mu.Unlock()
	step("back, outbox up", "no_items recovered")
	h, err = c.Store().Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if hs := h["changing"]; !hs.OK() || hs.EmptyRuns != 0 {
		t.Fatalf("health after recovery: %+v", hs)
	}
}

func TestSourceHealthEmptyRunsSetting(t *testing.T) {
	site := &changingSite{layout: "item", down: true}
	srv := newSite(t, site.routes())
	log := &healthLog{}
	c, _ := newTestCrawler(t, func(o *Options) { o.OnHealth = log.on; o.Retries = 0; o.HealthEmptyRuns = 1 })
	src := htmlSource("down", srv, "/list")
	runOnce(t, c, src, &pageSink{})
	if got := log.take(); fmt.Sprint(got) != "[no_items failing]" {
		t.Fatalf("changes %v with health.empty_runs 1", got)
	}
}
