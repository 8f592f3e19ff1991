package crawler

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// testSleeper records the pauses the transport asks for instead of sleeping.
type testSleeper struct {
	mu     sync.Mutex
	pauses []time.Duration
}

func (s *testSleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.pauses = append(s.pauses, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *testSleeper) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.pauses...)
}

// pageSink collects emitted pages.
type pageSink struct {
	mu    sync.Mutex
	pages []Page
	fail  func(Page) error
}

func (s *pageSink) emit(_ context.Context, p Page) error {
	if s.fail != nil {
		if err := s.fail(p); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.pages = append(s.pages, p)
	s.mu.Unlock()
	return nil
}

func (s *pageSink) take() []Page {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.pages
	s.pages = nil
	sort.Slice(out, func(i, j int) bool { return out[i].URL < out[j].URL })
	return out
}

// newTestCrawler returns a crawler on a fresh database with short timeouts
// and a recording sleeper.
func newTestCrawler(t *testing.T, tweak func(*Options)) (*Crawler, *testSleeper) {
	t.Helper()
	st, err := OpenStore(filepath.Join(t.TempDir(), "riskmine.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sl := &testSleeper{}
	o := Options{Store: st, Timeout: 2 * time.Second, Retries: 2, MaxBodyBytes: 1 << 20,
		MaxDecompressedBytes: 4 << 20, Sleep: sl.sleep, Jitter: func() float64 { return 0.5 }}
	if tweak != nil {
		tweak(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c, sl
}

// newSite starts a loopback server with the given routes.
func newSite(t *testing.T, routes map[string]http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for p, h := range routes {
		mux.HandleFunc(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// html writes an HTML page with the given content type.
func writeHTML(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Write(body)
}

// article renders a small Chinese news page.
func article(title, body string) string {
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><meta charset=\"utf-8\"><title>" + title + "</title></head><body>")
	b.WriteString("<div class=nav><a href=/>首页</a> <a href=/list>列表</a></div>")
	b.WriteString("<h1 class=title>" + title + "</h1><div class=meta><span class=time>2024-05-01 08:30</span> <span class=author>记者 王五</span></div>")
	b.WriteString("<div class=content>")
	for _, p := range strings.Split(body, "\n") {
		b.WriteString("<p>" + p + "</p>")
	}
	b.WriteString("</div><div class=footer>版权所有 示例网站</div></body></html>")
	return b.String()
}

const zhPara = "今天上午，市区一处老旧小区发生燃气泄漏，消防和燃气公司人员迅速赶到现场处置，疏散居民二十余人，未造成人员伤亡。事故原因正在进一步调查中，相关部门提醒居民注意用气安全，定期检查燃气管道和阀门。"

func htmlSource(name string, srv *httptest.Server, seed string) Source {
	return Source{Name: name, Kind: KindHTML, Seeds: []string{srv.URL + seed}, AllowPrivate: true,
		List: ListSelectors{Items: "a.item", Next: "a.next", MaxPages: 10}, Parallelism: 4}
}

func runOnce(t *testing.T, c *Crawler, src Source, sink *pageSink) Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := c.Run(ctx, src, sink.emit, nil)
	if err != nil {
		t.Fatalf("run %s: %v", src.Name, err)
	}
	return r
}
