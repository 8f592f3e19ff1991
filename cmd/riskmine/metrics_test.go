package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"riskmine/config"
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
