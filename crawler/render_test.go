package crawler

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// chromiumForTest finds Chromium for the rendering tests. Without one the
// test is skipped, unless RISKMINE_REQUIRE_BROWSER is set (CI): then it
// fails.
func chromiumForTest(t testing.TB) string {
	t.Helper()
	p := findChromium()
	if p == "" {
		if os.Getenv("RISKMINE_REQUIRE_BROWSER") != "" {
			t.Fatal("chromium not found and RISKMINE_REQUIRE_BROWSER is set")
		}
		t.Skip("chromium not found; install it (apt-get install chromium) to run the rendering tests")
	}
	return p
}

// renderSite is a loopback site on 127.0.0.2, an address of lo that is not
// 127.0.0.1: the tests let the SSRF guard through for exactly this
// address and port, so 127.0.0.1 and the other private addresses stay
// refused.
type renderSite struct {
	*httptest.Server
	addr netip.AddrPort
	mu   sync.Mutex
	hits map[string]int
}

func newRenderSite(t testing.TB, routes map[string]http.HandlerFunc) *renderSite {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	s := &renderSite{addr: netip.MustParseAddrPort(ln.Addr().String()), hits: map[string]int{}}
	mux := http.NewServeMux()
	for p, h := range routes {
		mux.HandleFunc(p, h)
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *renderSite) hitsOf(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// syncBuffer is a log sink safe for the crawler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newRenderCrawler returns a crawler that may reach only site and renders
// with the system Chromium; its log is returned.
func newRenderCrawler(t testing.TB, site *renderSite, tweak func(*Options)) (*Crawler, *syncBuffer) {
	t.Helper()
	path := chromiumForTest(t)
	logs := &syncBuffer{}
	c, _ := newTestCrawler(t.(*testing.T), func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.guardExempt = func(ap netip.AddrPort) bool { return ap == site.addr }
		o.Render = RenderConfig{Chromium: path, Tabs: 2, PageTimeout: 20 * time.Second}
		o.Retries = 0
		if tweak != nil {
			tweak(o)
		}
	})
	t.Cleanup(func() { c.Close() })
	return c, logs
}

// renderSource is a rendered html source on site, which is not private to
// the guard only by its exemption.
func renderSource(name string, site *renderSite) Source {
	return Source{Name: name, Kind: KindHTML, Seeds: []string{site.URL + "/"}, Render: true,
		List: ListSelectors{Items: "a.item"}, Parallelism: 2,
		RenderOptions: RenderOptions{NetworkIdle: 200 * time.Millisecond, IdleTimeout: 3 * time.Second}}
}

func serveText(ct, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ct)
		fmt.Fprint(w, body)
	}
}

// jsShell is a page whose body is empty until /app.js builds it.
const jsShell = `<!doctype html><html><head><meta charset="utf-8"><title>动态站点</title></head>
<body><div id="root"></div><script src="/app.js"></script></body></html>`

// jsApp builds the list from /api/posts and a post from /api/post?id=N.
const jsApp = `
(async function () {
  const root = document.getElementById("root");
  const m = location.pathname.match(/^\/post\/(\d+)$/);
  if (!m) {
    const posts = await (await fetch("/api/posts")).json();
    for (const p of posts) {
      const a = document.createElement("a");
      a.className = "item"; a.href = "/post/" + p.id; a.textContent = p.title;
      root.appendChild(a);
    }
    return;
  }
  const p = await (await fetch("/api/post?id=" + m[1])).json();
  document.title = p.title;
  const h = document.createElement("h1"); h.className = "title"; h.textContent = p.title;
  const d = document.createElement("div"); d.className = "content";
  for (const para of p.body) { const e = document.createElement("p"); e.textContent = para; d.appendChild(e); }
  root.appendChild(h); root.appendChild(d);
})();
`

func jsSiteRoutes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"/":       serveText("text/html; charset=utf-8", jsShell),
		"/post/":  serveText("text/html; charset=utf-8", jsShell),
		"/app.js": serveText("application/javascript", jsApp),
		"/api/posts": serveText("application/json",
			`[{"id":1,"title":"燃气泄漏事故"},{"id":2,"title":"河道污染举报"}]`),
		"/api/post": func(w http.ResponseWriter, r *http.Request) {
			id := r.URL.Query().Get("id")
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"title":"动态文章 %s","body":["%s","第二段 %s"]}`, id, zhPara, id)
		},
	}
}

func TestRenderFindsPostsBuiltByJavaScript(t *testing.T) {
	site := newRenderSite(t, jsSiteRoutes())
	c, logs := newRenderCrawler(t, site, nil)

	plain := renderSource("plain", site)
	plain.Render = false
	sink := &pageSink{}
	run := runOnce(t, c, plain, sink)
	if got := sink.take(); len(got) != 0 || run.Fetched != 1 {
		t.Fatalf("without render: %d pages, %d fetched; want none found on the one list page", len(got), run.Fetched)
	}

	run = runOnce(t, c, renderSource("rendered", site), sink)
	pages := sink.take()
	if len(pages) != 2 || run.Failed != 0 {
		t.Fatalf("rendered: %d pages, run %+v; log:\n%s", len(pages), run, logs)
	}
	for i, p := range pages {
		n := fmt.Sprint(i + 1)
		if p.Title != "动态文章 "+n || !strings.Contains(p.Text, "燃气泄漏") || !strings.Contains(p.Text, "第二段 "+n) {
			t.Errorf("page %s: title %q text %q", p.URL, p.Title, p.Text)
		}
		cp := p.Capture
		if cp == nil {
			t.Fatalf("page %s without capture", p.URL)
		}
		if cp.Status != 200 || cp.RequestURL != site.URL+"/post/"+n || cp.Method != "GET" || cp.Robots != "allowed" {
			t.Errorf("capture of %s: %s %s status %d robots %q", p.URL, cp.Method, cp.RequestURL, cp.Status, cp.Robots)
		}
		if string(cp.Body) != jsShell || cp.RemoteAddr != site.addr.String() {
			t.Errorf("capture body or address of %s: %q from %q", p.URL, cp.Body, cp.RemoteAddr)
		}
		if !bytes.Contains(cp.RenderedDOM, []byte("第二段 "+n)) || !bytes.HasPrefix(cp.RenderedDOM, []byte("<!DOCTYPE html>")) {
			t.Errorf("rendered DOM of %s: %.200q", p.URL, cp.RenderedDOM)
		}
		if !bytes.HasPrefix(cp.Screenshot, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("screenshot of %s is not a PNG: %d bytes", p.URL, len(cp.Screenshot))
		}
		if ua := cp.RequestHeader.Get("User-Agent"); !strings.HasPrefix(ua, "riskmine/") {
			t.Errorf("page %s fetched as %q", p.URL, ua)
		}
	}
	if st := c.RenderStats(); st.Pages != 3 || st.Starts != 1 || st.Restarts != 0 {
		t.Errorf("render stats %+v, want 3 pages on one browser", st)
	}
}
