package crawler

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// listSite serves /list?page=N (N = 1..pages) with three items each and a
// next link, and /news/N.html detail pages; the detail pages answer
// conditional requests by ETag (validators "etag"), by Last-Modified
// ("lastmod") or not at all ("").
func listSite(t *testing.T, pages int, validators string, hits *atomic.Int64) *testSite {
	t.Helper()
	s := &testSite{}
	s.srv = newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			var n int
			fmt.Sscanf(r.URL.Query().Get("page"), "%d", &n)
			if n == 0 {
				n = 1
			}
			var b strings.Builder
			b.WriteString("<html><body><ul>")
			for i := 1; i <= 3; i++ {
				id := (n-1)*3 + i
				fmt.Fprintf(&b, `<li><a class=item href="/news/%d.html?utm_source=list#c">新闻 %d</a></li>`, id, id)
			}
			b.WriteString("</ul>")
			if n < pages {
				fmt.Fprintf(&b, `<a class=next href="/list?page=%d">下一页</a>`, n+1)
			}
			b.WriteString("</body></html>")
			writeHTML(w, "text/html; charset=utf-8", []byte(b.String()))
		},
		"/news/": func(w http.ResponseWriter, r *http.Request) {
			if hits != nil {
				hits.Add(1)
			}
			s.mu.Lock()
			v := s.version[r.URL.Path]
			s.mu.Unlock()
			etag := fmt.Sprintf(`"%s-%d"`, strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/news/"), ".html"), v)
			lastMod := time.Date(2024, 5, 1, 0, 0, v, 0, time.UTC)
			switch validators {
			case "etag":
				if r.Header.Get("If-None-Match") == etag {
					s.notModified.Add(1)
					w.WriteHeader(http.StatusNotModified)
					return
				}
				w.Header().Set("ETag", etag)
			case "lastmod":
				if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !lastMod.After(ims) {
					s.notModified.Add(1)
					w.WriteHeader(http.StatusNotModified)
					return
				}
				w.Header().Set("Last-Modified", lastMod.Format(http.TimeFormat))
			}
			body := fmt.Sprintf("%s 第%s号通报，版本%d。\n%s", zhPara, r.URL.Path, v, zhPara)
			writeHTML(w, "text/html; charset=utf-8", []byte(article("燃气泄漏通报 "+r.URL.Path, body)))
		},
	})
	s.version = map[string]int{}
	return s
}

// testSite is a test site with mutable page versions.
type testSite struct {
	srv     *httptest.Server
	mu      sync.Mutex
	version map[string]int
	// notModified counts the 304 answers.
	notModified atomic.Int64
}

func TestPaginationAndDetailSelectors(t *testing.T) {
	c, _ := newTestCrawler(t, nil)
	site := listSite(t, 5, "", nil)
	src := htmlSource("list", site.srv, "/list")
	src.List.MaxPages = 3
	src.Detail = DetailSelectors{Title: "h1.title", Body: "div.content", Time: "span.time", Author: "span.author"}
	sink := &pageSink{}
	run := runOnce(t, c, src, sink)
	pages := sink.take()
	if len(pages) != 9 || run.New != 9 || run.Failed != 0 {
		t.Fatalf("got %d pages, run %+v; want 9 pages from 3 list pages", len(pages), run)
	}
	p := pages[0]
	if !strings.HasPrefix(p.Title, "燃气泄漏通报 /news/") || !strings.Contains(p.Text, "燃气泄漏") ||
		strings.Contains(p.Text, "版权所有") || p.Author != "记者 王五" {
		t.Errorf("page fields: %+v", p)
	}
	if want := time.Date(2024, 5, 1, 0, 30, 0, 0, time.UTC); !p.PublishedAt.Equal(want) {
		t.Errorf("PublishedAt = %v, want %v", p.PublishedAt, want)
	}
	if strings.Contains(p.CanonicalURL, "utm_") || strings.Contains(p.CanonicalURL, "#") || p.Source != "list" || p.ContentHash == "" {
		t.Errorf("identity fields: url %s canonical %s source %s hash %s", p.URL, p.CanonicalURL, p.Source, p.ContentHash)
	}
	runs, err := c.Store().Runs(context.Background(), "list", 5)
	if err != nil || len(runs) != 1 || runs[0].New != 9 || runs[0].Ended.IsZero() || runs[0].Fetched != 12 {
		t.Fatalf("history: %+v, %v", runs, err)
	}
}

func TestMaxPagesPerRun(t *testing.T) {
	c, _ := newTestCrawler(t, nil)
	site := listSite(t, 5, "", nil)
	src := htmlSource("capped", site.srv, "/list")
	src.MaxPages = 4
	sink := &pageSink{}
	run := runOnce(t, c, src, sink)
	if n := len(sink.take()); n != 4 || run.New != 4 {
		t.Fatalf("emitted %d (run %+v), want 4", n, run)
	}
}

func TestIncrementalETagAndHash(t *testing.T) {
	for _, validators := range []string{"etag", "lastmod", ""} {
		t.Run("validators="+validators, func(t *testing.T) {
			c, _ := newTestCrawler(t, nil)
			var hits atomic.Int64
			site := listSite(t, 2, validators, &hits)
			src := htmlSource("inc", site.srv, "/list")
			sink := &pageSink{}
			first := runOnce(t, c, src, sink)
			if first.New != 6 || len(sink.take()) != 6 {
				t.Fatalf("first run: %+v", first)
			}
			site.mu.Lock()
			site.version["/news/2.html"] = 1
			site.mu.Unlock()
			second := runOnce(t, c, src, sink)
			got := sink.take()
			if len(got) != 1 || second.Changed != 1 || second.New != 0 || second.Unchanged != 5 {
				t.Fatalf("second run: %+v, emitted %d", second, len(got))
			}
			if !strings.Contains(got[0].Text, "版本1") {
				t.Errorf("changed page text: %q", got[0].Text)
			}
			want304 := int64(5)
			if validators == "" {
				want304 = 0 // unchanged by content hash
			}
			if n := site.notModified.Load(); n != want304 {
				t.Errorf("%d answers were 304, want %d", n, want304)
			}
			// Within the revisit interval the detail pages are not fetched.
			src.Revisit = time.Hour
			before := hits.Load()
			third := runOnce(t, c, src, sink)
			if third.Skipped != 6 || hits.Load() != before || len(sink.take()) != 0 {
				t.Fatalf("third run (revisit 1h): %+v, detail hits %d", third, hits.Load()-before)
			}
		})
	}
}

func TestEmitErrorRefetchedNextRun(t *testing.T) {
	c, _ := newTestCrawler(t, nil)
	site := listSite(t, 1, "etag", nil)
	src := htmlSource("emitfail", site.srv, "/list")
	src.Revisit = time.Hour
	sink := &pageSink{fail: func(p Page) error {
		if strings.Contains(p.URL, "/news/2.html") {
			return errors.New("pipeline shutting down")
		}
		return nil
	}}
	first := runOnce(t, c, src, sink)
	if first.New != 2 || first.Failed != 1 || first.Errors["emit"] != 1 {
		t.Fatalf("first run: %+v", first)
	}
	sink.take()
	sink.fail = nil
	second := runOnce(t, c, src, sink)
	got := sink.take()
	if len(got) != 1 || !strings.Contains(got[0].URL, "/news/2.html") || second.New != 1 || second.Skipped != 2 {
		t.Fatalf("second run: %+v, pages %v", second, got)
	}
}

func TestCharsets(t *testing.T) {
	title, para := "暴雨预警：全市启动防汛应急响应", zhPara
	page := article(title, para+"\n"+para)
	gbk, _ := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(strings.Replace(page, `charset="utf-8"`, `charset="gbk"`, 1)))
	tradTitle := "颱風警報：全市停課停班"
	tradPara := "颱風今晚登陸，氣象局發布陸上颱風警報，各級學校停課，民眾應避免外出，注意強風豪雨造成的災害，請隨時留意最新消息與防災資訊。"
	tradPage := strings.NewReplacer(`charset="utf-8"`, `charset="big5"`, "记者", "記者", "版权", "版權", "首页", "首頁", "网站", "網站").
		Replace(article(tradTitle, tradPara+"\n"+tradPara))
	big5, err := traditionalchinese.Big5.NewEncoder().Bytes([]byte(tradPage))
	if err != nil {
		t.Fatal(err)
	}
	lying := []byte(strings.Replace(page, `charset="utf-8"`, `charset="gb2312"`, 1))
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(`<a class=item href="/gbk.html">1</a><a class=item href="/big5.html">2</a><a class=item href="/lying.html">3</a>`))
		},
		"/gbk.html":   func(w http.ResponseWriter, r *http.Request) { writeHTML(w, "text/html; charset=GBK", gbk) },
		"/big5.html":  func(w http.ResponseWriter, r *http.Request) { writeHTML(w, "text/html", big5) },
		"/lying.html": func(w http.ResponseWriter, r *http.Request) { writeHTML(w, "text/html; charset=gb2312", lying) },
	})
	c, _ := newTestCrawler(t, nil)
	sink := &pageSink{}
	run := runOnce(t, c, htmlSource("cs", site, "/list"), sink)
	pages := sink.take()
	if len(pages) != 3 {
		t.Fatalf("got %d pages, run %+v", len(pages), run)
	}
	want := map[string][2]string{"/big5.html": {tradTitle, "氣象局發布陸上颱風警報"}, "/gbk.html": {title, "燃气泄漏"}, "/lying.html": {title, "燃气泄漏"}}
	for _, p := range pages {
		path := p.URL[strings.LastIndex(p.URL, "/"):]
		w := want[path]
		if !strings.Contains(p.Title, w[0]) || !strings.Contains(p.Text, w[1]) {
			t.Errorf("%s (charset %s): title %q text %q", path, p.Charset, p.Title, p.Text)
		}
	}
}

func TestRobotsTxtDisallow(t *testing.T) {
	var private atomic.Int64
	site := newSite(t, map[string]http.HandlerFunc{
		"/robots.txt": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("User-agent: *\nDisallow: /private/\n"))
		},
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(`<a class=item href="/private/1.html">x</a><a class=item href="/public/1.html">y</a>`))
		},
		"/private/": func(w http.ResponseWriter, r *http.Request) {
			private.Add(1)
			writeHTML(w, "text/html", []byte(article("私密", zhPara)))
		},
		"/public/": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(article("公开", zhPara)))
		},
	})
	c, _ := newTestCrawler(t, nil)
	sink := &pageSink{}
	run := runOnce(t, c, htmlSource("robots", site, "/list"), sink)
	if private.Load() != 0 || run.Errors["robots"] != 1 || run.New != 1 {
		t.Fatalf("private hits %d, run %+v", private.Load(), run)
	}
	src := htmlSource("robots-off", site, "/list")
	src.IgnoreRobots = true
	run = runOnce(t, c, src, sink)
	if private.Load() != 1 {
		t.Fatalf("ignore_robots: private hits %d, run %+v", private.Load(), run)
	}
}

func TestRetryAfterAnd5xx(t *testing.T) {
	var n429, n503 atomic.Int64
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(`<a class=item href="/busy.html">1</a><a class=item href="/flaky.html">2</a><a class=item href="/down.html">3</a>`))
		},
		"/busy.html": func(w http.ResponseWriter, r *http.Request) {
			if n429.Add(1) == 1 {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			writeHTML(w, "text/html", []byte(article("限流后成功", zhPara)))
		},
		"/flaky.html": func(w http.ResponseWriter, r *http.Request) {
			if n503.Add(1) <= 2 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			writeHTML(w, "text/html", []byte(article("重试后成功", zhPara)))
		},
		"/down.html": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) },
	})
	c, sl := newTestCrawler(t, func(o *Options) { o.BackoffBase = time.Second; o.BackoffMax = 8 * time.Second })
	src := htmlSource("retry", site, "/list")
	src.Parallelism = 1
	sink := &pageSink{}
	run := runOnce(t, c, src, sink)
	if run.New != 2 || run.Failed != 1 || run.Errors["http_5xx"] != 1 || run.Retries != 5 {
		t.Fatalf("run %+v", run)
	}
	if n429.Load() != 2 || n503.Load() != 3 {
		t.Errorf("attempts: busy %d flaky %d", n429.Load(), n503.Load())
	}
	pauses := sl.got()
	var sawRetryAfter bool
	for _, p := range pauses {
		if p == 7*time.Second {
			sawRetryAfter = true
		}
		if p != 7*time.Second && p != 750*time.Millisecond && p != 1500*time.Millisecond {
			t.Errorf("unexpected pause %v (want 7s Retry-After or jittered backoff 0.75s, 1.5s)", p)
		}
	}
	if !sawRetryAfter || len(pauses) != 5 {
		t.Errorf("pauses %v", pauses)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{"Wed, 01 Jan 2025 12:00:30 GMT", 30 * time.Second, true},
		{"Wed, 01 Jan 2025 11:00:00 GMT", 0, true},
		{"soon", 0, false},
		{"-5", 0, false},
		{"", 0, false},
	}
	for _, c := range cases {
		got, ok := retryAfter(c.v, now)
		if got != c.want || ok != c.ok {
			t.Errorf("retryAfter(%q) = %v %v, want %v %v", c.v, got, ok, c.want, c.ok)
		}
	}
}

func TestRedirectLoop(t *testing.T) {
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(`<a class=item href="/a">loop</a><a class=item href="/hop">ok</a>`))
		},
		"/a": func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusFound) },
		"/b": func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/a", http.StatusFound) },
		"/hop": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/final.html", http.StatusMovedPermanently)
		},
		"/final.html": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(article("跳转后", zhPara)))
		},
	})
	c, _ := newTestCrawler(t, nil)
	sink := &pageSink{}
	run := runOnce(t, c, htmlSource("redir", site, "/list"), sink)
	pages := sink.take()
	if run.Errors["redirect"] != 1 || len(pages) != 1 || !strings.HasSuffix(pages[0].URL, "/final.html") {
		t.Fatalf("run %+v pages %+v", run, pages)
	}
}

func TestHugeSlowAndBombPages(t *testing.T) {
	var hugeWritten atomic.Int64
	bomb := func() []byte {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		zeros := make([]byte, 1<<20)
		for range 16 { // 16 MiB of zeros
			zw.Write(zeros)
		}
		zw.Close()
		return b.Bytes()
	}()
	if len(bomb) >= 1<<20 {
		t.Fatalf("the bomb is %d bytes compressed: it must pass the 1 MiB wire limit to test the decompressed one", len(bomb))
	}
	t.Logf("gzip bomb: %d bytes compressed, 16 MiB decompressed", len(bomb))
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(`<a class=item href="/huge.html">1</a><a class=item href="/huge-declared.html">2</a>`+
				`<a class=item href="/slow.html">3</a><a class=item href="/bomb.html">4</a><a class=item href="/fine.html">5</a><a class=item href="/file.pdf">6</a>`))
		},
		"/huge.html": func(w http.ResponseWriter, r *http.Request) {
			// 50 MB without a Content-Length: the limit is found while reading.
			w.Header().Set("Content-Type", "text/html")
			chunk := bytes.Repeat([]byte("<p>"+zhPara+"</p>\n"), 100)
			for hugeWritten.Load() < 50<<20 {
				n, err := w.Write(chunk)
				hugeWritten.Add(int64(n))
				if err != nil {
					return
				}
			}
		},
		"/huge-declared.html": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(50<<20))
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>"))
		},
		"/slow.html": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusOK)
			for i := 0; i < 100; i++ {
				if _, err := w.Write([]byte("<p>")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		},
		"/bomb.html": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Type", "text/html")
			w.Write(bomb)
		},
		"/fine.html": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(article("正常页面", zhPara)))
		},
		"/file.pdf": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/pdf")
			w.Write([]byte("%PDF-1.4\x00\x01binary"))
		},
	})
	// 3 s: reading 50 MB up to the limit must fit in it under -race on a
	// loaded machine, while the slow page needs 10 s.
	c, _ := newTestCrawler(t, func(o *Options) { o.Timeout = 3 * time.Second; o.Retries = 0 })
	sink := &pageSink{}
	start := time.Now()
	run := runOnce(t, c, htmlSource("limits", site, "/list"), sink)
	if run.New != 1 || run.Errors["too_large"] != 3 || run.Errors["timeout"] != 1 || run.Errors["not_html"] != 1 {
		t.Fatalf("run %+v", run)
	}
	if w := hugeWritten.Load(); w >= 50<<20 {
		t.Errorf("the server wrote all %d bytes of the huge page: it was read to the end", w)
	}
	if d := time.Since(start); d > 9*time.Second {
		t.Errorf("run took %v: the slow page (10 s) was not cut by the 3 s timeout", d)
	}
}

func TestRetryOnNetworkError(t *testing.T) {
	var n atomic.Int64
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(`<a class=item href="/reset.html">1</a>`))
		},
		"/reset.html": func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) <= 2 {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close() // the connection drops before any answer
				}
				return
			}
			writeHTML(w, "text/html", []byte(article("连接恢复", zhPara)))
		},
	})
	c, sl := newTestCrawler(t, nil)
	run := runOnce(t, c, htmlSource("reset", site, "/list"), &pageSink{})
	// net/http itself repeats a request once when a reused keep-alive
	// connection drops, so at least one of the two repeats is ours.
	if run.New != 1 || n.Load() != 3 || run.Retries < 1 || int64(len(sl.got())) != run.Retries {
		t.Fatalf("run %+v, attempts %d, pauses %v", run, n.Load(), sl.got())
	}
}
