package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// hsrc is an html source with the required keys, then extra lines at 6
// spaces.
func hsrc(name string, extra ...string) string {
	s := "    - name: " + name + "\n      kind: html\n      seeds: [\"http://x.test/\"]\n      list:\n        items: a.item\n"
	for _, e := range extra {
		s += "      " + e + "\n"
	}
	return s
}

func TestRenderConfigErrorsNameKeyAndLine(t *testing.T) {
	cases := []struct {
		name, yaml, key string
		line            int
		msg             string
	}{
		{"word for render", "crawler:\n  sources:\n" + hsrc("js", "render: sometimes"), "crawler.sources[0].render", 8, "expected true or false"},
		{"options without render", "crawler:\n  sources:\n" + hsrc("js", "render_options:", "  scroll: 2"), "crawler.sources[0].render_options", 8, "add render: true"},
		{"bad wait selector", "crawler:\n  sources:\n" + hsrc("js", "render: true", "render_options:", "  wait_for: \"div[\""), "crawler.sources[0].render_options.wait_for", 10, "invalid CSS selector"},
		{"too many scrolls", "crawler:\n  sources:\n" + hsrc("js", "render: true", "render_options:", "  scroll: 99"), "crawler.sources[0].render_options.scroll", 10, "between 0 and 50"},
		{"negative scroll", "crawler:\n  sources:\n" + hsrc("js", "render: true", "render_options:", "  scroll: -1"), "crawler.sources[0].render_options.scroll", 10, "got -1"},
		{"zero idle", "crawler:\n  sources:\n" + hsrc("js", "render: true", "render_options:", "  network_idle: 0s"), "crawler.sources[0].render_options.network_idle", 10, "positive duration"},
		{"idle bound under idle", "crawler:\n  sources:\n" + hsrc("js", "render: true", "render_options:", "  network_idle: 2s", "  idle_timeout: 1s"), "crawler.sources[0].render_options.idle_timeout", 11, "at least network_idle"},
		{"idle bound over the page limit", "crawler:\n  render:\n    page_timeout: 20s\n  sources:\n" + hsrc("js", "render: true", "render_options:", "  idle_timeout: 30s"), "crawler.sources[0].render_options.idle_timeout", 12, "shorter than crawler.render.page_timeout"},
		{"unknown render option", "crawler:\n  sources:\n" + hsrc("js", "render: true", "render_options:", "  wait: \"#x\""), "crawler.sources[0].render_options.wait", 10, "unknown key"},
		{"too many tabs", "crawler:\n  render:\n    tabs: 100\n", "crawler.render.tabs", 3, "between 1 and 64"},
		{"negative page timeout", "crawler:\n  render:\n    page_timeout: -1s\n", "crawler.render.page_timeout", 3, "positive duration"},
		{"tiny DOM limit", "crawler:\n  render:\n    max_dom_bytes: 10\n", "crawler.render.max_dom_bytes", 3, "at least 1024"},
		{"tiny page limit", "crawler:\n  render:\n    max_page_bytes: 10\n", "crawler.render.max_page_bytes", 3, "at least 1024"},
		{"word for tabs", "crawler:\n  render:\n    tabs: two\n", "crawler.render.tabs", 3, "expected a whole number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.yaml))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a config error", err)
			}
			prefix := fmt.Sprintf("config: c.yaml:%d: %s: ", tc.line, tc.key)
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q, want one line starting with %q and containing %q", err, prefix, tc.msg)
			}
		})
	}
}

func TestRenderConfigDefaults(t *testing.T) {
	c, err := Parse("c.yaml", []byte("crawler:\n  sources:\n"+hsrc("js", "render: true")+hsrc("plain", "render: false")))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Crawler.Render
	if r.Tabs != 2 || r.PageTimeout.D() != time.Minute || r.MaxDOMBytes != 10<<20 || r.MaxPageBytes != 50<<20 || r.Chromium != "" {
		t.Errorf("render defaults %+v", r)
	}
	o := c.Crawler.Sources[0].RenderOptions
	if !c.Crawler.Sources[0].Render || o.NetworkIdle.D() != 500*time.Millisecond || o.IdleTimeout.D() != 10*time.Second || o.Scroll != 0 || o.Media || o.WaitFor != "" {
		t.Errorf("render option defaults %+v", o)
	}
	if s := c.Crawler.Sources[1]; s.Render || s.RenderOptions.NetworkIdle != nil {
		t.Errorf("a plain source got render options: %+v", s.RenderOptions)
	}
	c, err = Parse("c.yaml", []byte("crawler:\n  render:\n    tabs: 4\n    chromium: /opt/chromium/chrome\n    page_timeout: 90s\n  sources:\n"+
		hsrc("js", "render: true", "render_options:", "  wait_for: \"#posts .post\"", "  scroll: 3", "  media: true", "  network_idle: 1s", "  idle_timeout: 20s")))
	if err != nil {
		t.Fatal(err)
	}
	o = c.Crawler.Sources[0].RenderOptions
	if c.Crawler.Render.Tabs != 4 || c.Crawler.Render.Chromium != "/opt/chromium/chrome" || c.Crawler.Render.PageTimeout.D() != 90*time.Second ||
		o.WaitFor != "#posts .post" || o.Scroll != 3 || !o.Media || o.NetworkIdle.D() != time.Second || o.IdleTimeout.D() != 20*time.Second {
		t.Errorf("written render keys not kept: %+v %+v", c.Crawler.Render, o)
	}
}

func TestParseSourceAcceptsRender(t *testing.T) {
	s, err := ParseSource([]byte("name: js\nkind: html\nseeds: [https://example.org/]\nlist:\n  items: a.item\nrender: true\nrender_options:\n  scroll: 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Render || s.RenderOptions.Scroll != 2 || s.RenderOptions.NetworkIdle == nil {
		t.Errorf("source %+v", s)
	}
	_, err = ParseSource([]byte("name: js\nkind: html\nseeds: [https://example.org/]\nlist:\n  items: a.item\nrender: true\nrender_options:\n  scroll: 51\n"))
	var e *Error
	if !errors.As(err, &e) || e.Key != "render_options.scroll" || e.Line != 8 {
		t.Errorf("bad scroll in a UI source: %v", err)
	}
}
