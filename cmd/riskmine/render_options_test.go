package main

import (
	"log/slog"
	"testing"
	"time"

	"riskmine/config"
	"riskmine/crawler"
	"riskmine/service"
)

// TestRenderKeysReachTheCrawler checks that crawler.render and a source's
// render keys written in the config are what the crawler is given.
func TestRenderKeysReachTheCrawler(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte(`crawler:
  render:
    tabs: 3
    chromium: /usr/lib/chromium/chromium
    page_timeout: 45s
    max_dom_bytes: 2048
  sources:
    - name: js
      kind: html
      seeds: ["https://example.org/"]
      list: {items: a.item}
      render: true
      render_options: {wait_for: "div.post", scroll: 2, media: true, network_idle: 300ms, idle_timeout: 5s}
    - name: plain
      kind: html
      seeds: ["https://example.org/"]
      list: {items: a.item}
`))
	if err != nil {
		t.Fatal(err)
	}
	o := service.CrawlerOptions(cfg, nil, slog.New(slog.DiscardHandler))
	want := crawler.RenderConfig{Tabs: 3, Chromium: "/usr/lib/chromium/chromium", PageTimeout: 45 * time.Second,
		MaxDOMBytes: 2048, MaxPageBytes: 50 << 20}
	if o.Render != want {
		t.Errorf("crawler render options %+v, want %+v", o.Render, want)
	}
	srcs := service.CrawlerSources(cfg)
	wantOpts := crawler.RenderOptions{WaitFor: "div.post", Scroll: 2, Media: true, NetworkIdle: 300 * time.Millisecond,
		IdleTimeout: 5 * time.Second}
	if !srcs[0].Render || srcs[0].RenderOptions != wantOpts {
		t.Errorf("rendered source %v %+v, want %+v", srcs[0].Render, srcs[0].RenderOptions, wantOpts)
	}
	if srcs[1].Render || srcs[1].RenderOptions != (crawler.RenderOptions{}) {
		t.Errorf("plain source rendered: %+v", srcs[1].RenderOptions)
	}
}
