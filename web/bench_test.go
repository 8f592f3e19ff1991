package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"riskmine/alerts"
)

// benchWorld files n leads (each from a distinct post) into a world.
func benchWorld(b *testing.B, n int) (*world, string) {
	w := newWorld(b, Options{AdminToken: adminToken})
	ctx := context.Background()
	an := testAnalyzer(b)
	places := []string{"仓山区", "马尾区", "鼓楼区", "台江区", "晋安区"}
	for i := 0; i < n; i++ {
		title := fmt.Sprintf("%s第%d号仓库发生火灾", places[i%len(places)], i)
		text := fmt.Sprintf("今天下午%s第%d号仓库起火，浓烟滚滚，消防员赶到现场扑救，%d人受伤送医。", places[i%len(places)], i, i%7)
		if err := w.ingest(ctx, an, fmt.Sprintf("http://bench.example/p/%d", i), "bench", "基准", title, text, time.Now().Add(-time.Duration(i)*time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	leads, total, err := w.leads.ListLeads(ctx, alerts.LeadFilter{Limit: 1})
	if err != nil || len(leads) == 0 {
		b.Fatalf("no leads: %v", err)
	}
	b.Logf("%d posts indexed, %d leads filed", n, total)
	return w, leads[0].ID
}

// benchGet requests path n times with a logged-in session, in parallel.
func benchGet(b *testing.B, w *world, path string) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	// Log in once through the form.
	resp, err := hc.Get(w.http.URL + "/login")
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 1<<16)
	k, _ := resp.Body.Read(body)
	resp.Body.Close()
	m := csrfInput.FindSubmatch(body[:k])
	if m == nil {
		b.Fatal("no login form")
	}
	resp, err = hc.PostForm(w.http.URL+"/login", url.Values{"username": {"ana"}, "password": {testPassword}, "csrf": {string(m[1])}})
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := hc.Get(w.http.URL + path)
			if err != nil {
				b.Error(err)
				return
			}
			buf := make([]byte, 32<<10)
			for {
				if _, err := resp.Body.Read(buf); err != nil {
					break
				}
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("%s: %d", path, resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkPages measures whole requests (HTTP on loopback, session check
// in SQLite, store or index queries, template rendering) over 300 leads.
func BenchmarkPages(b *testing.B) {
	w, id := benchWorld(b, 300)
	for _, p := range []struct{ name, path string }{
		{"dashboard", "/"},
		{"leads_queue", "/leads"},
		{"lead_page", "/leads/" + id},
		{"search_page", "/search?q=" + url.QueryEscape("火灾")},
		{"api_leads", "/api/v1/leads"},
		{"api_search", "/api/v1/search?q=" + url.QueryEscape("仓库")},
	} {
		b.Run(p.name, func(b *testing.B) { benchGet(b, w, p.path) })
	}
}
