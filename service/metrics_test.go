package service

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"riskmine/config"
	"riskmine/crawler"
)

func TestMetricsNeedTokenOrOwnAddress(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	get := func(t *testing.T, url, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	mainMux := func(t *testing.T, w config.Web) (*metrics, string) {
		m := newMetrics()
		m.pages.WithLabelValues("forum", "new").Inc()
		mux := http.NewServeMux()
		if err := m.mount(mux, w, log); err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(mux)
		t.Cleanup(hs.Close)
		t.Cleanup(func() { m.shutdown(context.Background()) })
		return m, hs.URL
	}
	t.Run("off by default", func(t *testing.T) {
		_, base := mainMux(t, config.Default().Web)
		if st, body := get(t, base+"/metrics", ""); st != http.StatusNotFound || !strings.Contains(body, "web.metrics_token") {
			t.Fatalf("%d %q", st, body)
		}
	})
	t.Run("token on the main address", func(t *testing.T) {
		w := config.Default().Web
		w.MetricsToken = "scrape-token-0123456789"
		_, base := mainMux(t, w)
		for _, tok := range []string{"", "wrong-token-0123456789"} {
			if st, _ := get(t, base+"/metrics", tok); st != http.StatusUnauthorized {
				t.Fatalf("token %q: %d, want 401", tok, st)
			}
		}
		if st, body := get(t, base+"/metrics", w.MetricsToken); st != http.StatusOK || !strings.Contains(body, "riskmine_pages_total") {
			t.Fatalf("with the token: %d", st)
		}
	})
	t.Run("own address", func(t *testing.T) {
		w := config.Default().Web
		w.MetricsAddr = "127.0.0.1:0"
		m, base := mainMux(t, w)
		if st, _ := get(t, base+"/metrics", ""); st != http.StatusNotFound {
			t.Fatalf("metrics on the main address too: %d", st)
		}
		if st, body := get(t, "http://"+m.addr+"/metrics", ""); st != http.StatusOK || !strings.Contains(body, "riskmine_pages_total") {
			t.Fatalf("own address: %d", st)
		}
	})
}

// TestMetricsShowRenderStats renders one page with the system Chromium and
// reads the headless browser's counters from /metrics, behind its token.
func TestMetricsShowRenderStats(t *testing.T) {
	chromium := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		if os.Getenv("RISKMINE_REQUIRE_BROWSER") != "" {
			t.Fatal("chromium not found and RISKMINE_REQUIRE_BROWSER is set")
		}
		t.Skip("chromium not found; install it (apt-get install chromium) to run the rendering tests")
	}
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html><body><img src="/logo.png"><div id=list></div></body></html>`)
	}))
	defer site.Close()
	cfg := config.Default()
	store, err := crawler.OpenStore(filepath.Join(t.TempDir(), "riskmine.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	o := CrawlerOptions(cfg, store, slog.New(slog.DiscardHandler))
	o.Render = crawler.RenderConfig{Chromium: chromium, Tabs: 1, PageTimeout: 20 * time.Second}
	c, err := crawler.New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := crawler.Source{Name: "js", Kind: crawler.KindHTML, Seeds: []string{site.URL + "/"}, Render: true, AllowPrivate: true,
		List: crawler.ListSelectors{Items: "a.item"}, Parallelism: 1,
		RenderOptions: crawler.RenderOptions{NetworkIdle: 200 * time.Millisecond, IdleTimeout: 2 * time.Second}}
	if _, err := c.Run(ctx, src, func(context.Context, crawler.Page) error { return nil }, nil); err != nil {
		t.Fatal(err)
	}

	m := newMetrics()
	m.watchRender(c.RenderStats)
	// A histogram shows its help once it has a sample.
	m.pipeline.ObserveStage("archive", time.Millisecond)
	w := config.Default().Web
	w.MetricsToken = "scrape-token-0123456789"
	mux := http.NewServeMux()
	if err := m.mount(mux, w, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(mux)
	defer hs.Close()
	req, _ := http.NewRequest("GET", hs.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+w.MetricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, want := range []string{
		"# TYPE riskmine_render_pages_total counter",
		`riskmine_render_pages_total{outcome="rendered"} 1`,
		`riskmine_render_pages_total{outcome="failed"} 0`,
		"riskmine_render_browser_starts_total 1",
		"riskmine_render_browser_restarts_total 0",
		"riskmine_render_pages_retried_total 0",
		`riskmine_render_requests_refused_total{kind="media"} 1`,
		"# TYPE riskmine_render_tabs gauge",
		"riskmine_render_tabs 1",
		"riskmine_render_tabs_in_use 0",
		"# HELP riskmine_render_outside_refused_total",
		"# HELP riskmine_stage_duration_seconds Time a page spends in one pipeline stage (analyze, file, index, archive).",
	} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want+" ") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
