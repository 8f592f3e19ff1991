package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"riskmine/alerts"
	"riskmine/config"
	"riskmine/crawler"
	"riskmine/pipeline"
)

// metrics are the Prometheus metrics of serve and demo, on a registry of
// their own so tests can build several.
type metrics struct {
	reg *prometheus.Registry

	pages       *prometheus.CounterVec   // source, outcome
	scanSeconds *prometheus.HistogramVec // source
	pipeline    *pipeline.Metrics        // stages, queues, leads filed, posts indexed

	server *http.Server // the own listener of web.metrics_addr, if any
	addr   string       // its address
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskmine_pages_total",
			Help: "Pages seen by the crawler, by source and outcome (new, changed, unchanged, skipped, failed).",
		}, []string{"source", "outcome"}),
		scanSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "riskmine_scan_duration_seconds",
			Help:    "Duration of one run of a source.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 14),
		}, []string{"source"}),
	}
	m.reg.MustRegister(m.pages, m.scanSeconds)
	m.pipeline = pipeline.NewMetrics(m.reg)
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeRun records a finished run of a source.
func (m *metrics) observeRun(r crawler.Run) {
	for outcome, n := range map[string]int64{"new": r.New, "changed": r.Changed, "unchanged": r.Unchanged, "skipped": r.Skipped, "failed": r.Failed} {
		if n > 0 {
			m.pages.WithLabelValues(r.Source, outcome).Add(float64(n))
		}
	}
	if !r.Ended.IsZero() {
		m.scanSeconds.WithLabelValues(r.Source).Observe(r.Ended.Sub(r.Started).Seconds())
	}
}

// storeCollector reads the lead store and the index when Prometheus scrapes:
// leads by state and level, webhook deliveries by state, documents indexed.
type storeCollector struct {
	leads alerts.Store
	index SearchIndex
	log   *slog.Logger

	leadsDesc, deliveriesDesc, overdueDesc, docsDesc *prometheus.Desc
}

func (m *metrics) watchStores(leads alerts.Store, ix SearchIndex, log *slog.Logger) {
	m.reg.MustRegister(&storeCollector{
		leads: leads, index: ix, log: log,
		leadsDesc:      prometheus.NewDesc("riskmine_leads", "Leads by state, and open leads by level (state=\"open\").", []string{"state", "level"}, nil),
		overdueDesc:    prometheus.NewDesc("riskmine_leads_overdue", "Open leads past their due time.", nil, nil),
		deliveriesDesc: prometheus.NewDesc("riskmine_webhook_deliveries", "Webhook deliveries by state (pending, delivered, dead).", []string{"state"}, nil),
		docsDesc:       prometheus.NewDesc("riskmine_index_documents", "Documents in the search index.", nil, nil),
	})
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.leadsDesc
	ch <- c.overdueDesc
	ch <- c.deliveriesDesc
	ch <- c.docsDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if st, err := c.leads.Stats(ctx); err != nil {
		c.log.Warn("metrics: lead stats", "error", err)
	} else {
		for state, n := range st.ByState {
			ch <- prometheus.MustNewConstMetric(c.leadsDesc, prometheus.GaugeValue, float64(n), state, "")
		}
		for level, n := range st.ByLevel {
			ch <- prometheus.MustNewConstMetric(c.leadsDesc, prometheus.GaugeValue, float64(n), "open", level)
		}
		ch <- prometheus.MustNewConstMetric(c.overdueDesc, prometheus.GaugeValue, float64(st.Overdue))
	}
	for _, state := range []string{alerts.DeliveryPending, alerts.DeliveryDelivered, alerts.DeliveryDead} {
		_, n, err := c.leads.Deliveries(ctx, alerts.DeliveryFilter{State: state, Limit: 1})
		if err != nil {
			c.log.Warn("metrics: deliveries", "error", err)
			break
		}
		ch <- prometheus.MustNewConstMetric(c.deliveriesDesc, prometheus.GaugeValue, float64(n), state)
	}
	if n, err := c.index.Count(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.docsDesc, prometheus.GaugeValue, float64(n))
	}
}

// renderCollector reads the headless browser's counters when Prometheus
// scrapes (they are kept by the crawler, since it started).
type renderCollector struct {
	stats func() crawler.RenderStats

	pages, starts, restarts, retried, refused, outside, tabs, inUse *prometheus.Desc
}

// watchRender exports the counters of the crawler's headless browser.
func (m *metrics) watchRender(stats func() crawler.RenderStats) {
	m.reg.MustRegister(&renderCollector{stats: stats,
		pages:    prometheus.NewDesc("riskmine_render_pages_total", "Pages fetched through the headless browser, by outcome (rendered, failed).", []string{"outcome"}, nil),
		starts:   prometheus.NewDesc("riskmine_render_browser_starts_total", "Starts of the headless browser, the first included.", nil, nil),
		restarts: prometheus.NewDesc("riskmine_render_browser_restarts_total", "Restarts of the headless browser after a crash or hang.", nil, nil),
		retried:  prometheus.NewDesc("riskmine_render_pages_retried_total", "Pages tried a second time after a browser restart.", nil, nil),
		refused:  prometheus.NewDesc("riskmine_render_requests_refused_total", "Requests of rendered pages refused by the crawler's rules, by kind (robots, blocked, domain, too_large, media, scheme, …).", []string{"kind"}, nil),
		outside:  prometheus.NewDesc("riskmine_render_outside_refused_total", "Connections the browser tried outside the request interception (WebSocket, service workers, its own traffic), all refused.", nil, nil),
		tabs:     prometheus.NewDesc("riskmine_render_tabs", "Most pages rendered at once (crawler.render.tabs).", nil, nil),
		inUse:    prometheus.NewDesc("riskmine_render_tabs_in_use", "Pages being rendered now.", nil, nil),
	})
}

func (c *renderCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.pages, c.starts, c.restarts, c.retried, c.refused, c.outside, c.tabs, c.inUse} {
		ch <- d
	}
}

func (c *renderCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.pages, st.Pages, "rendered")
	counter(c.pages, st.Failed, "failed")
	counter(c.starts, st.Starts)
	counter(c.restarts, st.Restarts)
	counter(c.retried, st.Retried)
	for kind, n := range st.Refused {
		counter(c.refused, n, kind)
	}
	counter(c.outside, st.Outside)
	ch <- prometheus.MustNewConstMetric(c.tabs, prometheus.GaugeValue, float64(st.Tabs))
	ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, float64(st.TabsInUse))
}

// handler serves the metrics in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// mount puts /metrics where the config says: on its own listener
// (web.metrics_addr), or on the main mux behind web.metrics_token. With
// neither, /metrics answers 404 with what to set: the metrics name sources,
// queues and lead counts, which are not for anyone who can reach the port.
func (m *metrics) mount(mux *http.ServeMux, w config.Web, log *slog.Logger) error {
	h := metricsGuard(w.MetricsToken, m.handler())
	if w.MetricsAddr == "" {
		if w.MetricsToken == "" {
			h = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				http.Error(rw, "metrics are off: set web.metrics_token (bearer token) or web.metrics_addr (own listener)", http.StatusNotFound)
			})
		}
		mux.Handle("GET /metrics", h)
		return nil
	}
	ln, err := net.Listen("tcp", w.MetricsAddr)
	if err != nil {
		return fmt.Errorf("web.metrics_addr: listen on %s: %w", w.MetricsAddr, err)
	}
	own := http.NewServeMux()
	own.Handle("GET /metrics", h)
	m.server = newHTTPServer(w, own)
	m.addr = ln.Addr().String()
	go func() {
		if err := m.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "error", err)
		}
	}()
	log.Info("metrics served", "addr", m.addr)
	return nil
}

// shutdown stops the metrics listener, if any.
func (m *metrics) shutdown(ctx context.Context) error {
	if m.server == nil {
		return nil
	}
	return m.server.Shutdown(ctx)
}

// metricsGuard requires Authorization: Bearer token when token is set.
func metricsGuard(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="riskmine metrics"`)
			http.Error(w, "metrics need Authorization: Bearer <web.metrics_token>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// newHTTPServer is an HTTP server with the configured timeouts, so a slow
// or idle client cannot hold connections open (exports push their own write
// deadline forward as they stream).
func newHTTPServer(w config.Web, h http.Handler) *http.Server {
	return &http.Server{Handler: h,
		ReadHeaderTimeout: w.ReadHeaderTimeout.D(), ReadTimeout: w.ReadTimeout.D(),
		WriteTimeout: w.WriteTimeout.D(), IdleTimeout: w.IdleTimeout.D()}
}
