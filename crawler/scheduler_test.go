package crawler

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// waitFor polls cond every 10ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSchedulerTriggerNoOverlapHistory(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(`<a class=item href="/slow/1.html">1</a><a class=item href="/fast/2.html">2</a>`))
		},
		"/slow/": func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			writeHTML(w, "text/html", []byte(article("慢页面", zhPara)))
		},
		"/fast/": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(article("快页面", zhPara)))
		},
	})
	c, _ := newTestCrawler(t, func(o *Options) { o.Timeout = 5 * time.Second })
	sink := &pageSink{}
	src := htmlSource("manual", site, "/list")
	src.Parallelism = 1
	s, err := NewScheduler(c, []Source{src}, sink.emit, SchedulerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if err := s.Trigger("manual"); err != nil {
		t.Fatal(err)
	}
	<-entered
	if err := s.Trigger("manual"); !errors.Is(err, ErrRunning) {
		t.Fatalf("second trigger while running: %v, want ErrRunning", err)
	}
	if err := s.Trigger("nope"); !errors.Is(err, ErrUnknownSource) {
		t.Fatalf("unknown source: %v", err)
	}
	waitFor(t, 5*time.Second, "live progress", func() bool {
		p, ok := s.Progress("manual")
		return ok && p.Fetched >= 1
	})
	if _, ok := s.NextRun("manual"); ok {
		t.Error("a manual-only source has a next run")
	}
	close(release)
	waitFor(t, 5*time.Second, "the run to end", func() bool { return len(s.Running()) == 0 })
	run, ok, err := s.LastRun(context.Background(), "manual")
	if err != nil || !ok || run.New != 2 || run.Ended.IsZero() || run.Error != "" {
		t.Fatalf("history: %+v ok=%v err=%v", run, ok, err)
	}
	if err := s.Trigger("manual"); err != nil {
		t.Fatalf("trigger after the run ended: %v", err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs(context.Background(), "manual", 10)
	if err != nil || len(runs) != 2 || runs[0].Unchanged != 2 {
		t.Fatalf("runs after stop: %+v, %v", runs, err)
	}
	if err := s.Trigger("manual"); !errors.Is(err, ErrStopped) {
		t.Fatalf("trigger after stop: %v", err)
	}
}

func TestSchedulerCronAndStopDeadline(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(`<a class=item href="/p/1.html">1</a>`))
		},
		"/p/": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(article("定时页面", zhPara)))
		},
		"/hang": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(`<a class=item href="/hang/1.html">1</a>`))
		},
		"/hang/": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		},
	})
	c, _ := newTestCrawler(t, func(o *Options) { o.Timeout = 30 * time.Second })
	sink := &pageSink{}
	cronSrc := htmlSource("cron", site, "/list")
	cronSrc.Schedule = "@every 1s"
	hangSrc := htmlSource("hang", site, "/hang")
	s, err := NewScheduler(c, []Source{cronSrc, hangSrc}, sink.emit, SchedulerOptions{Jitter: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if next, ok := s.NextRun("cron"); !ok || time.Until(next) > 2*time.Second {
		t.Fatalf("NextRun = %v, %v", next, ok)
	}
	waitFor(t, 5*time.Second, "a scheduled run", func() bool {
		r, ok, _ := s.LastRun(context.Background(), "cron")
		return ok && !r.Ended.IsZero()
	})
	if err := s.Trigger("hang"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the hanging run to fetch its list", func() bool {
		p, ok := s.Progress("hang")
		return ok && p.Fetched >= 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop with a hanging run: %v, want deadline exceeded", err)
	}
	r, ok, err := s.LastRun(context.Background(), "hang")
	if err != nil || !ok || r.Ended.IsZero() || r.Error == "" {
		t.Fatalf("the cancelled run was not recorded with its end and error: %+v", r)
	}
}

func TestNewSchedulerRejectsBadSources(t *testing.T) {
	c, _ := newTestCrawler(t, nil)
	emit := (&pageSink{}).emit
	bad := [][]Source{
		{{Name: "x", Kind: "ftp", Seeds: []string{"http://a/"}}},
		{{Name: "x", Kind: KindRSS, Seeds: []string{"http://a/"}, Schedule: "every day"}},
		{{Name: "x", Kind: KindRSS, Seeds: []string{"http://a/"}}, {Name: "x", Kind: KindRSS, Seeds: []string{"http://b/"}}},
		{{Name: "x", Kind: KindHTML, Seeds: []string{"http://a/"}}},
		{{Name: "x", Kind: KindHTML, Seeds: []string{"http://a/"}, List: ListSelectors{Items: "a["}}},
		{{Name: "x", Kind: KindRSS, Seeds: []string{"http://a/"}, Proxy: "::nope"}},
	}
	for i, srcs := range bad {
		if _, err := NewScheduler(c, srcs, emit, SchedulerOptions{}); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
}

func TestRunLeaseAcrossProcesses(t *testing.T) {
	hang := make(chan struct{})
	entered := make(chan struct{}, 1)
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(`<a class=item href="/p/1.html">1</a>`))
		},
		"/p/": func(w http.ResponseWriter, r *http.Request) {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-hang
			writeHTML(w, "text/html", []byte(article("租约", zhPara)))
		},
	})
	// Two crawlers with their own connections to one database file stand
	// for serve and a manual riskmine crawl.
	path := filepath.Join(t.TempDir(), "riskmine.db")
	open := func() *Crawler {
		st, err := OpenStore(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		c, err := New(Options{Store: st, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := open(), open()
	src := htmlSource("leased", site, "/list")
	done := make(chan error, 1)
	go func() {
		_, err := a.Run(context.Background(), src, (&pageSink{}).emit, nil)
		done <- err
	}()
	<-entered
	if _, err := b.Run(context.Background(), src, (&pageSink{}).emit, nil); !errors.Is(err, ErrRunning) {
		t.Fatalf("second run of a leased source: %v, want ErrRunning", err)
	}
	close(hang)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := b.Run(context.Background(), src, (&pageSink{}).emit, nil); err != nil {
		t.Fatalf("run after the lease was released: %v", err)
	}
	runs, _ := a.Store().Runs(context.Background(), "leased", 10)
	if len(runs) != 2 {
		t.Errorf("%d runs recorded, want 2 (the refused one is not a run)", len(runs))
	}
}
