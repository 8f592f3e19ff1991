package crawler

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
<body><img src="/logo.png" alt=""><div id="root"></div><script src="/app.js"></script></body></html>`

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
		// The list page sets a session cookie that the posts' API asks
		// for, as many portals do: the browser keeps it for the run and
		// sends it with the requests the crawler makes for it.
		"/": func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "list-seen", Path: "/"})
			serveText("text/html; charset=utf-8", jsShell)(w, r)
		},
		// Posts come gzip-encoded: the browser gets them decoded, the
		// capture keeps them as they came.
		"/post/": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			io.WriteString(zw, jsShell)
			zw.Close()
		},
		"/app.js":   serveText("application/javascript", jsApp),
		"/logo.png": serveText("image/png", "\x89PNG\r\n\x1a\n"),
		"/api/posts": serveText("application/json",
			`[{"id":1,"title":"燃气泄漏事故"},{"id":2,"title":"河道污染举报"}]`),
		"/api/post": func(w http.ResponseWriter, r *http.Request) {
			if ck, err := r.Cookie("sid"); err != nil || ck.Value != "list-seen" {
				http.Error(w, "no session", http.StatusForbidden)
				return
			}
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
		if cp.ResponseHeader.Get("Content-Encoding") != "gzip" || !bytes.HasPrefix(cp.RawBody, []byte{0x1f, 0x8b}) ||
			string(gunzipBytes(t, cp.RawBody)) != jsShell || cp.RequestHeader.Get(wireHeader) != "" {
			t.Errorf("capture of %s not as received: %v, raw %.20q", p.URL, cp.ResponseHeader, cp.RawBody)
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
	if st := c.RenderStats(); st.Pages != 3 || st.Starts != 1 || st.Restarts != 0 || st.Refused["media"] != 3 ||
		st.Tabs != 2 || st.TabsInUse != 0 || st.Retried != 0 {
		t.Errorf("render stats %+v, want 3 pages on one browser and their images refused", st)
	}
	if n := site.hitsOf("/logo.png"); n != 0 {
		t.Errorf("the image was fetched %d times; media are refused unless asked for", n)
	}
}

// probePage is a post whose script tries to reach addresses the guard
// refuses: 127.0.0.1, a host name that resolves to loopback, the cloud
// metadata address, and a WebSocket to the site itself (not intercepted,
// so it must meet the refusing proxy). It writes what each attempt gave.
func probePage(secretPort string, site *renderSite) string {
	return `<!doctype html><html><head><meta charset="utf-8"><title>探测页面</title></head><body>
<h1 class="title">探测页面</h1><div class="content"><p>` + zhPara + `</p></div><ul id="out"></ul>
<script>
function note(what, v) { const li = document.createElement("li"); li.textContent = what + ": " + v; document.getElementById("out").appendChild(li); }
for (const u of ["http://127.0.0.1:` + secretPort + `/secret", "http://localhost:` + secretPort + `/secret",
                 "http://169.254.169.254/latest/meta-data/"]) {
  fetch(u, {mode: "no-cors"}).then(() => note(u, "reached"), e => note(u, "refused"));
}
try {
  const ws = new WebSocket("ws://` + site.addr.String() + `/ws");
  ws.onopen = () => note("websocket", "open");
  ws.onerror = () => note("websocket", "refused");
} catch (e) { note("websocket", "refused"); }
</script></body></html>`
}

func TestRenderRefusesPrivateAndMetadataAddresses(t *testing.T) {
	var secretHits atomic.Int64
	secret := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secretHits.Add(1)
		fmt.Fprint(w, "internal secret")
	}))
	defer secret.Close()
	_, secretPort, _ := net.SplitHostPort(secret.Listener.Addr().String())
	var site *renderSite
	site = newRenderSite(t, map[string]http.HandlerFunc{
		"/": serveText("text/html; charset=utf-8", `<a class="item" href="/post/1">探测</a>`),
		"/post/1": func(w http.ResponseWriter, r *http.Request) {
			serveText("text/html; charset=utf-8", probePage(secretPort, site))(w, r)
		},
	})
	c, logs := newRenderCrawler(t, site, nil)
	src := renderSource("probe", site)
	src.RenderOptions.WaitFor = "#out li:nth-child(4)"
	sink := &pageSink{}
	run := runOnce(t, c, src, sink)
	pages := sink.take()
	if len(pages) != 1 || run.Failed != 0 {
		t.Fatalf("%d pages, run %+v; log:\n%s", len(pages), run, logs)
	}
	if n := secretHits.Load(); n != 0 {
		t.Errorf("the server on 127.0.0.1 got %d requests", n)
	}
	if n := site.hitsOf("/ws"); n != 0 {
		t.Errorf("the WebSocket reached the site %d times", n)
	}
	dom := string(pages[0].Capture.RenderedDOM)
	if i := strings.Index(dom, `<ul id="out">`); i >= 0 {
		dom = dom[i : i+strings.Index(dom[i:], "</ul>")]
	}
	if strings.Contains(dom, "reached") || !strings.Contains(dom, "websocket: refused") {
		t.Errorf("the page reached a refused address:\n%s", dom)
	}
	for _, u := range []string{"http://127.0.0.1:" + secretPort + "/secret", "http://localhost:" + secretPort + "/secret",
		"http://169.254.169.254/latest/meta-data/"} {
		if !strings.Contains(dom, u+": refused") {
			t.Errorf("no refusal of %s in the page:\n%s", u, dom)
		}
		if !strings.Contains(logs.String(), `msg="render: request refused" source=probe url=`+u+" kind=blocked") {
			t.Errorf("no refusal of %s in the log:\n%s", u, logs)
		}
	}
	st := c.RenderStats()
	if st.Refused["blocked"] != 3 || st.Outside < 1 {
		t.Errorf("render stats %+v, want 3 blocked and the WebSocket refused outside", st)
	}
	wsRefused := false
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "browser request outside the interception refused") && strings.Contains(l, site.addr.String()) {
			wsRefused = true
		}
	}
	if !wsRefused {
		t.Errorf("no log of the WebSocket's refusal:\n%s", logs)
	}
}

func TestRenderObeysRobotsForScripts(t *testing.T) {
	page := `<!doctype html><html><head><meta charset="utf-8"><title>规则页面</title></head><body>
<h1 class="title">规则页面</h1><div class="content"><p>` + zhPara + `</p></div>
<script src="/private/tracker.js"></script><script>document.body.dataset.done = "1";</script></body></html>`
	site := newRenderSite(t, map[string]http.HandlerFunc{
		"/robots.txt":         serveText("text/plain", "User-agent: *\nDisallow: /private/\n"),
		"/":                   serveText("text/html; charset=utf-8", `<a class="item" href="/post/1">规则</a>`),
		"/post/1":             serveText("text/html; charset=utf-8", page),
		"/private/tracker.js": serveText("application/javascript", `document.title = "脚本已运行";`),
		"/private/other.js":   serveText("application/javascript", ``),
	})
	c, logs := newRenderCrawler(t, site, nil)
	src := renderSource("robots", site)
	src.RenderOptions.WaitFor = "body[data-done]"
	sink := &pageSink{}
	run := runOnce(t, c, src, sink)
	pages := sink.take()
	if len(pages) != 1 || run.Failed != 0 {
		t.Fatalf("%d pages, run %+v; log:\n%s", len(pages), run, logs)
	}
	if n := site.hitsOf("/private/tracker.js"); n != 0 {
		t.Errorf("the disallowed script was requested %d times", n)
	}
	if pages[0].Title != "规则页面" {
		t.Errorf("title %q: the disallowed script ran", pages[0].Title)
	}
	if !strings.Contains(logs.String(), "/private/tracker.js kind=robots") || c.RenderStats().Refused["robots"] != 1 {
		t.Errorf("no robots refusal logged and counted (%+v):\n%s", c.RenderStats(), logs)
	}
	if site.hitsOf("/robots.txt") != 1 {
		t.Errorf("robots.txt fetched %d times, want once for the run", site.hitsOf("/robots.txt"))
	}
}

func TestRenderLimitsAndTheCrawlGoesOn(t *testing.T) {
	hang := `<!doctype html><html><head><title>卡死页面</title></head><body><p>` + zhPara + `</p><script>for (;;) {}</script></body></html>`
	// /big builds a DOM over max_dom_bytes; /heavy loads a 3000-byte
	// script that would take the page over max_page_bytes, so the script
	// is not handed to the page.
	big := `<!doctype html><html><head><title>巨大页面</title></head><body><script>document.body.append("很".repeat(3000));</script></body></html>`
	heavy := `<!doctype html><html><head><title>沉重页面</title></head><body><h1 class="title">沉重页面</h1><div class="content"><p>` + zhPara +
		`</p></div><script src="/one.js"></script></body></html>`
	site := newRenderSite(t, map[string]http.HandlerFunc{
		"/": serveText("text/html; charset=utf-8", `<a class="item" href="/hang">卡死</a><a class="item" href="/ok">正常</a>`+
			`<a class="item" href="/big">巨大</a><a class="item" href="/heavy">沉重</a>`),
		"/hang":   serveText("text/html; charset=utf-8", hang),
		"/ok":     serveText("text/html; charset=utf-8", article("正常页面", zhPara)),
		"/big":    serveText("text/html; charset=utf-8", big),
		"/heavy":  serveText("text/html; charset=utf-8", heavy),
		"/one.js": serveText("application/javascript", `document.title = "脚本已运行";//`+strings.Repeat("x", 3000)),
	})
	c, logs := newRenderCrawler(t, site, func(o *Options) {
		o.Render.PageTimeout = 6 * time.Second
		o.Render.MaxDOMBytes = 4096
		o.Render.MaxPageBytes = 3500
	})
	sink := &pageSink{}
	run := runOnce(t, c, renderSource("limits", site), sink)
	pages := sink.take()
	if len(pages) != 2 || pages[0].Title != "沉重页面" || pages[1].Title != "正常页面" || run.Failed != 2 ||
		run.Errors["timeout"] != 1 || run.Errors["too_large"] != 1 {
		t.Fatalf("%d pages %v, run %+v; log:\n%s", len(pages), titles(pages), run, logs)
	}
	if !strings.Contains(logs.String(), site.URL+"/hang: not rendered within 6s (crawler.render.page_timeout)") {
		t.Errorf("no clear time-limit error in the log:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "(crawler.render.max_dom_bytes)") {
		t.Errorf("no clear DOM size error in the log:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "/one.js kind=too_large") {
		t.Errorf("the script was not refused by max_page_bytes:\n%s", logs)
	}
	if st := c.RenderStats(); st.Restarts != 0 || st.Failed != 2 {
		t.Errorf("render stats %+v: a hanging page must not restart a live browser", st)
	}
}

func TestRenderBrowserKilledMidCrawlIsRestarted(t *testing.T) {
	var c *Crawler
	var killed atomic.Bool
	site := newRenderSite(t, map[string]http.HandlerFunc{
		"/":          serveText("text/html; charset=utf-8", jsShell),
		"/post/":     serveText("text/html; charset=utf-8", jsShell),
		"/api/posts": serveText("application/json", `[{"id":1,"title":"燃气泄漏事故"}]`),
		"/api/post": func(w http.ResponseWriter, r *http.Request) {
			// The first time a post is asked for, the browser dies.
			if killed.CompareAndSwap(false, true) {
				c.render.mu.Lock()
				pid := c.render.b.pid
				c.render.mu.Unlock()
				syscall.Kill(pid, syscall.SIGKILL)
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"title":"动态文章","body":["%s"]}`, zhPara)
		},
		"/app.js": serveText("application/javascript", jsApp),
	})
	c, logs := newRenderCrawler(t, site, nil)
	sink := &pageSink{}
	run := runOnce(t, c, renderSource("killed", site), sink)
	pages := sink.take()
	if !killed.Load() {
		t.Fatal("the browser was not killed")
	}
	if len(pages) != 1 || pages[0].Title != "动态文章" || run.Failed != 0 {
		t.Fatalf("%d pages, run %+v; log:\n%s", len(pages), run, logs)
	}
	if st := c.RenderStats(); st.Starts != 2 || st.Restarts != 1 || st.Retried != 1 {
		t.Errorf("render stats %+v, want one restart and one page retried", st)
	}
	if !strings.Contains(logs.String(), "headless browser crashed or hung; restarting it") ||
		!strings.Contains(logs.String(), "page retried after a browser restart") {
		t.Errorf("restart not logged:\n%s", logs)
	}
}

func TestRenderWithoutABrowserStopsTheRunWithAnInstallHint(t *testing.T) {
	site := newRenderSite(t, jsSiteRoutes())
	logs := &syncBuffer{}
	c, _ := newTestCrawler(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
		o.guardExempt = func(ap netip.AddrPort) bool { return ap == site.addr }
		o.Render = RenderConfig{Chromium: "/nonexistent/chromium"}
	})
	defer c.Close()
	run, err := c.Run(context.Background(), renderSource("nobrowser", site), (&pageSink{}).emit, nil)
	if run.Errors["browser"] != 1 {
		t.Errorf("failures %v, want the seed failed as browser", run.Errors)
	}
	if !errors.Is(err, ErrNoBrowser) || !errors.Is(err, ErrStopRun) {
		t.Fatalf("run error %v, want ErrNoBrowser stopping the run", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "/nonexistent/chromium") || !strings.Contains(msg, "apt-get install chromium") {
		t.Errorf("error %q: want one line naming the binary and the install hint", msg)
	}
	if site.hitsOf("/") != 0 {
		t.Errorf("the site was fetched without a browser")
	}
}

// A browser binary that exits at once (as Chromium sometimes does on a
// loaded machine) is tried twice, then stops the run with one line.
func TestRenderBrowserThatExitsAtStartIsTriedTwice(t *testing.T) {
	site := newRenderSite(t, jsSiteRoutes())
	dir := t.TempDir()
	count := filepath.Join(dir, "starts")
	bin := filepath.Join(dir, "chromium")
	script := "#!/bin/sh\necho x >> " + count + "\nexit 1\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	c, _ := newTestCrawler(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
		o.guardExempt = func(ap netip.AddrPort) bool { return ap == site.addr }
		o.Render = RenderConfig{Chromium: bin}
	})
	defer c.Close()
	_, err := c.Run(context.Background(), renderSource("exits", site), (&pageSink{}).emit, nil)
	if !errors.Is(err, ErrNoBrowser) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("run error %v, want one line with ErrNoBrowser", err)
	}
	b, rerr := os.ReadFile(count)
	if rerr != nil || strings.Count(string(b), "x") != 2 {
		t.Errorf("binary started %q times (%v), want 2", b, rerr)
	}
	if !strings.Contains(logs.String(), "trying once more") {
		t.Errorf("the second start was not logged:\n%s", logs)
	}
}

func titles(pages []Page) []string {
	var out []string
	for _, p := range pages {
		out = append(out, p.Title)
	}
	return out
}

func TestRenderHungBrowserIsRestarted(t *testing.T) {
	var c *Crawler
	var stopped atomic.Int64
	site := newRenderSite(t, map[string]http.HandlerFunc{
		"/":          serveText("text/html; charset=utf-8", jsShell),
		"/post/":     serveText("text/html; charset=utf-8", jsShell),
		"/api/posts": serveText("application/json", `[{"id":1,"title":"燃气泄漏事故"}]`),
		"/api/post": func(w http.ResponseWriter, r *http.Request) {
			// The first time a post is asked for, the browser freezes
			// (SIGSTOP): it neither dies nor answers.
			if stopped.Load() == 0 {
				c.render.mu.Lock()
				pid := c.render.b.pid
				c.render.mu.Unlock()
				if stopped.CompareAndSwap(0, int64(pid)) {
					syscall.Kill(pid, syscall.SIGSTOP)
				}
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"title":"动态文章","body":["%s"]}`, zhPara)
		},
		"/app.js": serveText("application/javascript", jsApp),
	})
	c, logs := newRenderCrawler(t, site, func(o *Options) { o.Render.PageTimeout = 6 * time.Second })
	t.Cleanup(func() {
		// Never leave a frozen process behind, whatever happened.
		if pid := stopped.Load(); pid != 0 {
			syscall.Kill(int(pid), syscall.SIGKILL)
		}
	})
	sink := &pageSink{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	run, err := c.Run(ctx, renderSource("hung", site), sink.emit, nil)
	if err != nil {
		t.Fatalf("run: %v; log:\n%s", err, logs)
	}
	pages := sink.take()
	if stopped.Load() == 0 {
		t.Fatal("the browser was not frozen")
	}
	if len(pages) != 1 || pages[0].Title != "动态文章" || run.Failed != 0 {
		t.Fatalf("%d pages, run %+v; log:\n%s", len(pages), run, logs)
	}
	if st := c.RenderStats(); st.Starts != 2 || st.Restarts != 1 {
		t.Errorf("render stats %+v, want one restart", st)
	}
}
