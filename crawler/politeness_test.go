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

// arrivals records when each request reached a test site.
type arrivals struct {
	mu    sync.Mutex
	times []time.Time
	paths []string
}

func (a *arrivals) add(r *http.Request) {
	a.mu.Lock()
	a.times = append(a.times, time.Now())
	a.paths = append(a.paths, r.URL.Path)
	a.mu.Unlock()
}

// checkGaps fails t when two requests arrived closer than min. The margin
// below the delay covers loopback and scheduler jitter between the moment
// a request is let through and the moment the server sees it; the bug it
// guards against sends requests about 1 ms apart.
func (a *arrivals) checkGaps(t *testing.T, min time.Duration, want int) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.times) < want {
		t.Fatalf("%d requests arrived (%v), want at least %d", len(a.times), a.paths, want)
	}
	for i := 1; i < len(a.times); i++ {
		if gap := a.times[i].Sub(a.times[i-1]); gap < min {
			t.Errorf("requests %d (%s) and %d (%s) arrived %v apart, want at least %v",
				i-1, a.paths[i-1], i, a.paths[i], gap.Round(time.Millisecond), min)
		}
	}
}

// politeSite serves robots.txt, a list page of n items (every other one
// reached through a redirect) and the items, recording every arrival.
func politeSite(t *testing.T, robots string, n int, arr *arrivals) *httptest.Server {
	return newSite(t, map[string]http.HandlerFunc{
		"/robots.txt": func(w http.ResponseWriter, r *http.Request) {
			arr.add(r)
			fmt.Fprint(w, robots)
		},
		"/list": func(w http.ResponseWriter, r *http.Request) {
			arr.add(r)
			var b strings.Builder
			for i := range n {
				if i%2 == 0 {
					fmt.Fprintf(&b, `<a class=item href="/r/%d">%d</a>`, i, i)
				} else {
					fmt.Fprintf(&b, `<a class=item href="/p/%d.html">%d</a>`, i, i)
				}
			}
			writeHTML(w, "text/html", []byte(b.String()))
		},
		"/r/": func(w http.ResponseWriter, r *http.Request) {
			arr.add(r)
			http.Redirect(w, r, "/p/"+strings.TrimPrefix(r.URL.Path, "/r/")+".html", http.StatusFound)
		},
		"/p/": func(w http.ResponseWriter, r *http.Request) {
			arr.add(r)
			writeHTML(w, "text/html", []byte(article("礼貌抓取"+r.URL.Path, zhPara)))
		},
	})
}

func TestDelaySpacesEveryRequestToAHost(t *testing.T) {
	arr := &arrivals{}
	site := politeSite(t, "User-agent: *\nDisallow: /private/\n", 6, arr)
	c, _ := newTestCrawler(t, nil)
	src := htmlSource("spaced", site, "/list")
	src.Parallelism = 4
	src.Delay = 200 * time.Millisecond
	run := runOnce(t, c, src, &pageSink{})
	if run.New != 6 {
		t.Fatalf("run %+v", run)
	}
	// robots.txt, the list, 3 redirects and 6 pages: every one spaced,
	// whatever the parallelism.
	arr.checkGaps(t, 110*time.Millisecond, 11) // half of the delay and more: arrival jitter on a loaded machine
}

func TestDelaySharedAcrossSources(t *testing.T) {
	arr := &arrivals{}
	site := politeSite(t, "User-agent: *\nAllow: /\n", 4, arr)
	c, _ := newTestCrawler(t, nil)
	var wg sync.WaitGroup
	for _, name := range []string{"one", "two"} {
		src := htmlSource(name, site, "/list")
		src.Delay = 150 * time.Millisecond
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Run(t.Context(), src, (&pageSink{}).emit, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// Two runs of robots.txt, list, 2 redirects and 4 pages.
	arr.checkGaps(t, 90*time.Millisecond, 16)
}

func TestCrawlDelayHonouredAndCapped(t *testing.T) {
	t.Run("larger than the delay", func(t *testing.T) {
		arr := &arrivals{}
		site := politeSite(t, "User-agent: *\nCrawl-delay: 0.3\n", 2, arr)
		c, _ := newTestCrawler(t, nil)
		src := htmlSource("crawl-delay", site, "/list")
		src.Delay = 50 * time.Millisecond
		if run := runOnce(t, c, src, &pageSink{}); run.New != 2 {
			t.Fatalf("run %+v", run)
		}
		// robots.txt itself goes out at the source's delay; the rest wait
		// for the Crawl-delay.
		arr.times, arr.paths = arr.times[1:], arr.paths[1:]
		arr.checkGaps(t, 175*time.Millisecond, 4)
	})
	t.Run("capped", func(t *testing.T) {
		arr := &arrivals{}
		site := politeSite(t, "User-agent: riskmine\nCrawl-delay: 3600\n", 2, arr)
		c, _ := newTestCrawler(t, func(o *Options) { o.MaxCrawlDelay = 150 * time.Millisecond })
		src := htmlSource("crawl-delay-capped", site, "/list")
		if run := runOnce(t, c, src, &pageSink{}); run.New != 2 {
			t.Fatalf("run %+v", run)
		}
		arr.times, arr.paths = arr.times[1:], arr.paths[1:]
		arr.checkGaps(t, 90*time.Millisecond, 4)
	})
}

func TestRobotsLastGoodCopyFor24Hours(t *testing.T) {
	var status atomic.Int64
	status.Store(http.StatusOK)
	var mu sync.Mutex
	hits := map[string]int{}
	site := newSite(t, map[string]http.HandlerFunc{
		"/robots.txt": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(int(status.Load()))
			fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
		},
		"/": func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hits[r.URL.Path]++
			mu.Unlock()
			writeHTML(w, "text/html", []byte(article("页面", zhPara)))
		},
	})
	var clock atomic.Int64
	start := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	c, _ := newTestCrawler(t, func(o *Options) {
		o.Now = func() time.Time { return start.Add(time.Duration(clock.Load())) }
	})
	src := Source{Name: "cached", Kind: KindHTML, Seeds: []string{site.URL + "/a", site.URL + "/private/b"},
		AllowPrivate: true, List: ListSelectors{Items: "a.item"}}
	for _, step := range []struct {
		after  time.Duration
		status int
		a, b   int   // hits of /a and /private/b after the run
		robots int64 // URLs failed as robots
	}{
		{0, http.StatusOK, 1, 0, 1},
		{time.Hour, http.StatusServiceUnavailable, 2, 0, 1},       // the good copy stands in
		{23 * time.Hour, http.StatusBadGateway, 3, 0, 1},          // still within 24 h of it
		{25 * time.Hour, http.StatusServiceUnavailable, 3, 0, 2},  // too old: disallow all
		{26 * time.Hour, http.StatusOK, 4, 0, 1},                  // back
		{27 * time.Hour, http.StatusInternalServerError, 5, 0, 1}, // the new copy stands in
	} {
		clock.Store(int64(step.after))
		status.Store(int64(step.status))
		run := runOnce(t, c, src, &pageSink{})
		mu.Lock()
		a, b := hits["/a"], hits["/private/b"]
		mu.Unlock()
		if a != step.a || b != step.b || run.Errors["robots"] != step.robots {
			t.Errorf("after %v, robots.txt HTTP %d: /a fetched %d times, /private/b %d, robots failures %d; want %d, %d, %d",
				step.after, step.status, a, b, run.Errors["robots"], step.a, step.b, step.robots)
		}
	}
}
