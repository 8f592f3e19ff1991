package crawler

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPerHostParallelismHeadersAndUserAgent(t *testing.T) {
	var inFlight, peak atomic.Int64
	var mu sync.Mutex
	agents := map[string]bool{}
	var missingHeader atomic.Int64
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			var b strings.Builder
			for i := range 12 {
				fmt.Fprintf(&b, `<a class=item href="/p/%d.html">%d</a>`, i, i)
			}
			writeHTML(w, "text/html", []byte(b.String()))
		},
		"/p/": func(w http.ResponseWriter, r *http.Request) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			mu.Lock()
			agents[r.Header.Get("User-Agent")] = true
			mu.Unlock()
			if r.Header.Get("X-Api-Key") != "k1" {
				missingHeader.Add(1)
			}
			time.Sleep(20 * time.Millisecond) // let requests overlap if they may
			writeHTML(w, "text/html", []byte(article("并发测试", zhPara)))
		},
	})
	c, _ := newTestCrawler(t, func(o *Options) { o.ContactURL = "https://example.org/contact" })
	src := htmlSource("polite", site, "/list")
	src.Parallelism = 2
	src.Headers = map[string]string{"X-Api-Key": "k1"}
	sink := &pageSink{}
	run := runOnce(t, c, src, sink)
	if run.New != 12 {
		t.Fatalf("run %+v", run)
	}
	if p := peak.Load(); p > 2 {
		t.Errorf("%d requests in flight to one host, parallelism is 2", p)
	}
	if missingHeader.Load() != 0 {
		t.Errorf("%d requests without the source's header", missingHeader.Load())
	}
	if want := "riskmine/" + userAgentVersion + " (+https://example.org/contact)"; len(agents) != 1 || !agents[want] {
		t.Errorf("user agents %v, want %q", agents, want)
	}
	src.Name, src.UserAgent = "polite-ua", "CityBot/2.0"
	agents = map[string]bool{}
	runOnce(t, c, src, sink)
	if !agents["CityBot/2.0"] || len(agents) != 1 {
		t.Errorf("source user agent: %v", agents)
	}
}

func TestProxy(t *testing.T) {
	var seen atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A forward proxy receives the absolute URL of the target.
		seen.Store(r.URL.String())
		switch r.URL.Path {
		case "/list":
			writeHTML(w, "text/html", []byte(`<a class=item href="/p/1.html">1</a>`))
		case "/p/1.html":
			writeHTML(w, "text/html", []byte(article("经代理", zhPara)))
		default:
			http.NotFound(w, r)
		}
	}))
	defer proxy.Close()
	c, _ := newTestCrawler(t, nil)
	src := Source{Name: "proxied", Kind: KindHTML, Seeds: []string{"http://intranet.example.invalid/list"},
		Proxy: proxy.URL, AllowPrivate: true, List: ListSelectors{Items: "a.item"}}
	sink := &pageSink{}
	run := runOnce(t, c, src, sink)
	pages := sink.take()
	if run.New != 1 || len(pages) != 1 || pages[0].URL != "http://intranet.example.invalid/p/1.html" {
		t.Fatalf("run %+v pages %+v", run, pages)
	}
	if s, _ := seen.Load().(string); !strings.HasPrefix(s, "http://intranet.example.invalid/") {
		t.Errorf("the proxy saw %q", s)
	}

	// Through a proxy the dial-time guard only sees the proxy, so target
	// addresses are checked before each request.
	proxyAddr := netip.MustParseAddrPort(strings.TrimPrefix(proxy.URL, "http://"))
	strict, _ := newTestCrawler(t, func(o *Options) {
		o.guardExempt = func(ap netip.AddrPort) bool { return ap == proxyAddr }
	})
	seen.Store("")
	for _, seed := range []string{"http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9/list"} {
		src := Source{Name: "proxied-strict", Kind: KindHTML, Seeds: []string{seed}, Proxy: proxy.URL, List: ListSelectors{Items: "a"}}
		run := runOnce(t, strict, src, sink)
		if run.Errors["blocked"] != 1 || seen.Load().(string) != "" {
			t.Errorf("seed %s through the proxy: run %+v, proxy saw %q", seed, run, seen.Load())
		}
	}
}
