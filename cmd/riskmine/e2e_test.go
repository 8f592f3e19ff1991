package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"riskmine/config"
)

// hookSink is a case platform for the end-to-end test: it checks every
// webhook's signature with its own implementation of the Standard Webhooks
// scheme (not the alerts package's) and keeps the verified bodies.
type hookSink struct {
	t   *testing.T
	key []byte

	mu     sync.Mutex
	bodies []map[string]any
	seen   map[string]bool // webhook ids received, signed
	bad    int
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, h.key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	ok := false
	for _, sig := range strings.Fields(r.Header.Get("webhook-signature")) {
		ok = ok || hmac.Equal([]byte(sig), []byte(want))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !ok || id == "" {
		h.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		h.bad++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.bodies = append(h.bodies, m)
	if h.seen == nil {
		h.seen = map[string]bool{}
	}
	h.seen[id] = true
	w.WriteHeader(http.StatusOK)
}

// ids returns the webhook ids received with a good signature.
func (h *hookSink) ids() map[string]bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]bool, len(h.seen))
	for id := range h.seen {
		out[id] = true
	}
	return out
}

func (h *hookSink) count() (good, bad int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies), h.bad
}

// apiGet fetches a JSON API path with the admin token into v.
func apiGet(t *testing.T, base, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "Bearer e2e-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", path, resp.Status, raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, raw)
	}
}

type leadList struct {
	Total int `json:"total"`
	Items []struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Level       string `json:"level"`
		SourceCount int    `json:"source_count"`
	} `json:"items"`
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func findLead(l leadList, titlePart string) string {
	for _, it := range l.Items {
		if strings.Contains(it.Title, titlePart) {
			return it.ID
		}
	}
	return ""
}

// TestDemoEndToEnd runs the whole loop on the demo world: scheduled crawls,
// leads with evidence, signed webhooks, search, the API, and a restart.
func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	t.Setenv("RISKMINE_API_TOKEN", "e2e-token")
	secretKey := []byte("end-to-end-test-secret-key")
	sink := &hookSink{t: t, key: secretKey}
	receiver := httptest.NewServer(sink)
	defer receiver.Close()

	// The demo world's clock: posts with a negative age appear when it is
	// moved forward, and a scheduled scan must then find them.
	var offset atomic.Int64
	base := time.Now()
	now := func() time.Time { return base.Add(time.Duration(offset.Load())) }

	dataDir := t.TempDir()
	start := func() *demo {
		cfg := config.Default()
		cfg.DataDir = dataDir
		cfg.Crawler.Jitter = 0
		cfg.Web.MetricsToken = e2eMetricsToken
		d, err := startDemo(context.Background(), cfg, demoOptions{
			Addr: "127.0.0.1:0", Schedule: "@every 1s", Now: now,
			WebhookURL: receiver.URL, WebhookSecret: "whsec_" + base64.StdEncoding.EncodeToString(secretKey),
			Logger: slog.New(slog.DiscardHandler), Out: io.Discard,
		})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := start()
	api := "http://" + d.svc.Addr()

	// 0. The built-in receiver's log holds whole lead bodies: no login, no
	// log; the operator's admin token reads it.
	noClient := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	logResp, err := noClient.Get(api + demoReceiverPath)
	if err != nil {
		t.Fatal(err)
	}
	logResp.Body.Close()
	if logResp.StatusCode == http.StatusOK {
		t.Fatalf("the demo receiver's log answered %s without a login", logResp.Status)
	}
	var received []receivedHook
	apiGet(t, api, demoReceiverPath, &received)

	// 1. The first scans file leads; the manhole report carries its evidence.
	var leads leadList
	waitFor(t, "the manhole lead", 60*time.Second, func() bool {
		apiGet(t, api, "/api/v1/leads?limit=100", &leads)
		return findLead(leads, "井盖") != ""
	})
	var lead struct {
		Level   string `json:"level"`
		Place   string `json:"place"`
		Sources []struct {
			URL      string `json:"url"`
			Evidence []struct {
				Rule, Text string
			} `json:"evidence"`
		} `json:"sources"`
	}
	// The forum post writes the spot in full, the notice without the
	// offset; whichever is filed first, the lead ends with the fuller one.
	waitFor(t, "the manhole lead's full place", 30*time.Second, func() bool {
		apiGet(t, api, "/api/v1/leads/"+findLead(leads, "井盖"), &lead)
		return lead.Place == "五四路与湖东路交叉口东侧25米"
	})
	if len(lead.Sources) == 0 || len(lead.Sources[0].Evidence) == 0 {
		t.Fatalf("manhole lead has no source evidence: %+v", lead)
	}
	if lead.Place != "五四路与湖东路交叉口东侧25米" {
		t.Fatalf("manhole lead place %q, want the crossing with its offset", lead.Place)
	}
	if findLead(leads, "华林路") != "" {
		t.Fatal("a post not yet published was filed")
	}

	// 2. Posts published later are found by a scheduled scan.
	offset.Store(int64(3 * time.Minute))
	waitFor(t, "the garage fire found by a scheduled scan", 60*time.Second, func() bool {
		apiGet(t, api, "/api/v1/leads?limit=100", &leads)
		return findLead(leads, "华林路") != ""
	})

	// 3. Webhooks arrive, signed.
	waitFor(t, "signed webhooks", 30*time.Second, func() bool { good, _ := sink.count(); return good > 0 })
	if _, bad := sink.count(); bad > 0 {
		t.Fatalf("%d webhooks failed signature checks", bad)
	}

	// 4. Search finds the post, with the words marked.
	var res struct {
		Total int `json:"total"`
		Hits  []struct {
			Fragments map[string][]string `json:"fragments"`
		} `json:"hits"`
	}
	waitFor(t, "search to find the manhole post", 10*time.Second, func() bool {
		apiGet(t, api, "/api/v1/search?q="+url.QueryEscape("井盖"), &res)
		return res.Total > 0
	})
	if !strings.Contains(strings.Join(res.Hits[0].Fragments["body"], "")+strings.Join(res.Hits[0].Fragments["title"], ""), "<mark>") {
		t.Fatalf("search hit has no highlighted fragment: %+v", res.Hits[0])
	}
	// The README tour's other searches: traditional characters and a
	// fragment across word boundaries (上渡路|一|居民楼).
	for _, q := range []string{"火災", "渡路一居"} {
		waitFor(t, "the tour's search "+q, 10*time.Second, func() bool {
			apiGet(t, api, "/api/v1/search?q="+url.QueryEscape(q), &res)
			return res.Total > 0
		})
	}

	sources := func(l leadList) (n int) {
		for _, it := range l.Items {
			n += it.SourceCount
		}
		return n
	}
	// 5. The process is observable.
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", api+path, nil)
		if path == "/metrics" {
			req.Header.Set("Authorization", "Bearer "+e2eMetricsToken)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/metrics without its token: %d, want 401", resp.StatusCode)
	}
	if code, body := get("/healthz"); code != http.StatusOK || !strings.Contains(body, "ok") {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := get("/readyz"); code != http.StatusOK || !strings.Contains(body, "ready") {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	metricNames := []string{"riskmine_pages_total", "riskmine_scan_duration_seconds", "riskmine_stage_duration_seconds",
		"riskmine_queue_depth", `riskmine_queue_depth{queue="archive"}`, "riskmine_leads_filed_total", "riskmine_webhook_deliveries", "riskmine_leads{", "riskmine_index_documents"}
	waitFor(t, "the metrics of finished runs", 10*time.Second, func() bool {
		_, body := get("/metrics")
		for _, m := range metricNames {
			if !strings.Contains(body, m) {
				return false
			}
		}
		return true
	})

	// 6. A restart keeps everything: same leads, same search results, and
	// the unchanged pages are not filed again.
	// Take the count once the scans have found everything published.
	var before leadList
	last, stable := -1, 0
	waitFor(t, "the lead count to settle", 30*time.Second, func() bool {
		apiGet(t, api, "/api/v1/leads?limit=100", &before)
		if n := sources(before); n == last {
			stable++
		} else {
			last, stable = n, 0
		}
		return stable >= 20 // two seconds: scans run every second
	})
	if err := d.Shutdown(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	d = start()
	defer d.Shutdown()
	api = "http://" + d.svc.Addr()
	time.Sleep(1500 * time.Millisecond) // let a scheduled scan run
	var after leadList
	apiGet(t, api, "/api/v1/leads?limit=100", &after)
	if after.Total != before.Total {
		t.Fatalf("after restart %d leads, before %d", after.Total, before.Total)
	}
	if sources(after) != sources(before) {
		t.Fatalf("after restart %d source posts, before %d: unchanged pages were filed again", sources(after), sources(before))
	}
	apiGet(t, api, "/api/v1/search?q="+url.QueryEscape("井盖"), &res)
	if res.Total == 0 {
		t.Fatal("search finds nothing after restart")
	}
}

// e2eMetricsToken is the bearer token /metrics asks for in the e2e test.
const e2eMetricsToken = "e2e-metrics-token-0123456789"
