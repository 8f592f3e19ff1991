package crawler

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// Sources added at run time (the UI's) are scheduled and triggered like the
// config's, a config name wins, and a removed source is gone.
func TestSchedulerSetExtraSources(t *testing.T) {
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(`<a class=item href="/p/1.html">1</a>`))
		},
		"/p/": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(article("界面来源", zhPara)))
		},
	})
	c, _ := newTestCrawler(t, nil)
	sink := &pageSink{}
	s, err := NewScheduler(c, []Source{htmlSource("cfg", site, "/list")}, sink.emit, SchedulerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Stop(context.Background())

	ui := htmlSource("ui", site, "/list")
	ui.Schedule = "@every 1h"
	clash := htmlSource("cfg", site, "/other")
	if err := s.SetExtraSources([]Source{ui, clash}); err != nil {
		t.Fatal(err)
	}
	if got := s.Sources(); len(got) != 2 || got[0].Name != "cfg" || got[1].Name != "ui" || got[0].Seeds[0] != site.URL+"/list" {
		t.Fatalf("sources %+v", got)
	}
	if b := s.BaseSources(); len(b) != 1 || b[0].Name != "cfg" {
		t.Fatalf("base %+v", b)
	}
	if _, ok := s.NextRun("ui"); !ok {
		t.Error("the UI source has no next run")
	}
	if err := s.Trigger("ui"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the UI source's run", func() bool {
		run, ok, _ := s.LastRun(context.Background(), "ui")
		return ok && !run.Ended.IsZero()
	})
	if run, _, _ := s.LastRun(context.Background(), "ui"); run.New != 1 {
		t.Fatalf("UI run %+v", run)
	}

	// A bad schedule changes nothing.
	bad := ui
	bad.Schedule = "often"
	if err := s.SetExtraSources([]Source{bad}); err == nil {
		t.Fatal("bad schedule accepted")
	}
	if _, ok := s.NextRun("ui"); !ok {
		t.Error("a refused change removed the UI source")
	}

	// Removed: no longer known, no cron entry; the config source stays.
	waitFor(t, 5*time.Second, "idle", func() bool { return len(s.Running()) == 0 })
	if err := s.SetExtraSources(nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Trigger("ui"); !errors.Is(err, ErrUnknownSource) {
		t.Fatalf("removed source triggered: %v", err)
	}
	if _, ok := s.NextRun("ui"); ok {
		t.Error("removed source still scheduled")
	}
	if len(s.cron.Entries()) != 0 {
		t.Errorf("cron entries left: %d", len(s.cron.Entries()))
	}
	if got := s.Sources(); len(got) != 1 || got[0].Name != "cfg" {
		t.Fatalf("after removal %+v", got)
	}
}
