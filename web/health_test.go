package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"riskmine/crawler"
)

// TestSourcesPageShowsHealth crawls a loopback site whose list layout
// changes and reads the health on the sources page and in the API.
func TestSourcesPageShowsHealth(t *testing.T) {
	var broken atomic.Bool
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			w.Write([]byte("User-agent: *\nAllow: /\n"))
		case "/board":
			class := "thread"
			if broken.Load() {
				class = "topic"
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(`<html><body><a class=` + class + ` href="/t/1">燃气泄漏</a></body></html>`))
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(`<html><body><article><h1>小区燃气泄漏</h1><p>今天上午，市区一处老旧小区发生燃气泄漏，消防人员迅速赶到现场处置，疏散居民二十余人，未造成人员伤亡。</p></article></body></html>`))
		}
	}))
	t.Cleanup(site.Close)
	cstore, err := crawler.OpenStore(filepath.Join(t.TempDir(), "crawl.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cstore.Close() })
	cr, err := crawler.New(crawler.Options{Store: cstore, Retries: 0})
	if err != nil {
		t.Fatal(err)
	}
	src := crawler.Source{Name: "board", Kind: "html", Seeds: []string{site.URL + "/board"}, AllowPrivate: true,
		List: crawler.ListSelectors{Items: "a.thread"}, Delay: time.Millisecond}
	emit := func(context.Context, crawler.Page) error { return nil }
	sched, err := crawler.NewScheduler(cr, []crawler.Source{src}, emit, crawler.SchedulerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sched.Stop(context.Background()) })
	e := newTestEnv(t, Options{}, Deps{Sources: sched})
	run := func() {
		t.Helper()
		if _, err := cr.Run(context.Background(), src, emit, nil); err != nil {
			t.Fatal(err)
		}
	}

	run()
	viewer := e.login("viv")
	body := viewer.getBody("/sources")
	if !strings.Contains(body, `data-health="ok"`) || !strings.Contains(body, "正常") {
		t.Fatalf("healthy source not shown as such")
	}
	broken.Store(true)
	run()
	body = viewer.getBody("/sources")
	if !strings.Contains(body, `data-health="failing"`) || !strings.Contains(body, `data-problem="selectors"`) || !strings.Contains(body, "选择器失效") {
		t.Fatalf("broken selectors not shown:\n%s", body)
	}
	tok, _ := e.srv.store.CreateToken(context.Background(), "viv", "t")
	var list struct {
		Items []sourceRow `json:"items"`
	}
	json.NewDecoder(e.apiReq("GET", "/api/v1/sources", tok, "").Body).Decode(&list)
	if len(list.Items) != 1 || list.Items[0].Health == nil || list.Items[0].Health.OK() || list.Items[0].Health.Failing[0].Problem != crawler.HealthSelectors {
		t.Fatalf("API health: %+v", list.Items)
	}
}
