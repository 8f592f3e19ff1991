package pipeline

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"riskmine/alerts"
	"riskmine/crawler"
)

// TestSourceHealthReachesWeCom crawls a loopback site whose robots.txt
// starts refusing the crawler, through the wiring serve uses: the change
// goes through the outbox to a loopback WeCom robot, once, and its
// recovery once.
func TestSourceHealthReachesWeCom(t *testing.T) { testSourceHealthReachesWeCom(t, openSQLite) }

// TestSourceHealthReachesWeComOnPostgres does the same through the
// PostgreSQL lead store's outbox (skipped without RISKMINE_TEST_POSTGRES).
func TestSourceHealthReachesWeComOnPostgres(t *testing.T) {
	testSourceHealthReachesWeCom(t, openPostgres)
}

func testSourceHealthReachesWeCom(t *testing.T, open openStore) {
	var blocked atomic.Bool
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			if blocked.Load() {
				w.Write([]byte("User-agent: *\nDisallow: /\n"))
				return
			}
			w.Write([]byte("User-agent: *\nAllow: /\n"))
		case "/feed.xml":
			w.Header().Set("Content-Type", "application/rss+xml")
			w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
				<item><title>燃气泄漏</title><link>/a/1</link><description>今天上午，市区一处老旧小区发生燃气泄漏，消防人员迅速赶到现场处置，疏散居民二十余人，未造成人员伤亡。事故原因正在进一步调查中，相关部门提醒居民注意用气安全，定期检查燃气管道和阀门，发现异常及时报告。今天上午，市区一处老旧小区发生燃气泄漏，消防人员迅速赶到现场处置，疏散居民二十余人，未造成人员伤亡。事故原因正在进一步调查中，相关部门提醒居民注意用气安全。</description></item>
				</channel></rss>`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(site.Close)

	var mu sync.Mutex
	var got []string
	robot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			MsgType  string `json:"msgtype"`
			Markdown struct {
				Content string `json:"content"`
			} `json:"markdown"`
		}
		body, _ := io.ReadAll(r.Body)
		if r.URL.Query().Get("key") != "k" || json.Unmarshal(body, &b) != nil || b.MsgType != "markdown" {
			w.Write([]byte(`{"errcode":93000,"errmsg":"invalid webhook url"}`))
			return
		}
		mu.Lock()
		got = append(got, b.Markdown.Content)
		mu.Unlock()
		w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	}))
	t.Cleanup(robot.Close)

	dir := t.TempDir()
	ep := alerts.Endpoint{Name: "duty", URL: robot.URL + "/cgi-bin/webhook/send?key=k", Format: alerts.FormatWeCom,
		AllowPrivate: true, SourceHealth: true, Timeout: 2 * time.Second}
	leads := open(t, alerts.Options{Endpoints: []alerts.Endpoint{ep}})
	disp, err := alerts.NewDispatcher(leads, []alerts.Endpoint{ep}, alerts.DispatcherOptions{PublicURL: "https://rm.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	cstore, err := crawler.OpenStore(filepath.Join(dir, "riskmine.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cstore.Close() })
	cr, err := crawler.New(crawler.Options{Store: cstore, OnHealth: HealthNotifier(func() HealthSink { return leads })})
	if err != nil {
		t.Fatal(err)
	}
	src := crawler.Source{Name: "river-news", Kind: crawler.KindRSS, Seeds: []string{site.URL + "/feed.xml"}, AllowPrivate: true, Delay: time.Millisecond}
	step := func(name string, want ...string) {
		t.Helper()
		if _, err := cr.Run(context.Background(), src, func(context.Context, crawler.Page) error { return nil }, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := disp.ProcessDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		msgs := got
		got = nil
		mu.Unlock()
		if len(msgs) != len(want) {
			t.Fatalf("%s: %d messages %q, want %d", name, len(msgs), msgs, len(want))
		}
		for i, w := range want {
			if !strings.Contains(msgs[i], w) || !strings.Contains(msgs[i], "[查看采集源](https://rm.example.org/sources)") {
				t.Errorf("%s: message %q lacks %q", name, msgs[i], w)
			}
		}
	}
	step("allowed")
	blocked.Store(true)
	step("robots.txt starts refusing", "采集源异常：river-news · robots.txt 禁止抓取")
	step("still refused")
	blocked.Store(false)
	step("allowed again", "采集源已恢复：river-news · robots.txt 禁止抓取")
}
