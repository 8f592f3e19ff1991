package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// src is a source with the required keys, then extra lines at 6 spaces.
func src(name string, extra ...string) string {
	s := "    - name: " + name + "\n      kind: rss\n      seeds: [\"http://x.test/feed\"]\n"
	for _, e := range extra {
		s += "      " + e + "\n"
	}
	return s
}

// hook is a webhook with the required keys, then extra lines at 6 spaces.
func hook(name string, extra ...string) string {
	s := "    - name: " + name + "\n      url: http://127.0.0.1:9/hook\n      secret: whsec_c2VjcmV0c2VjcmV0\n"
	for _, e := range extra {
		s += "      " + e + "\n"
	}
	return s
}

// TestBadConfigsNameKeyAndLine feeds bad configs and checks that each
// error is one line naming the file, the line and the key path.
func TestBadConfigsNameKeyAndLine(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		key  string
		line int
		msg  string // substring of the message
	}{
		// Values of the wrong kind: the key path, not a Go type, and the line.
		{"list for a duration", "crawler:\n  timeout: [1s, 2s]\n", "crawler.timeout", 2, "expected a duration such as 30s"},
		{"block list for a duration", "crawler:\n  timeout:\n    - 1s\n    - 2s\n", "crawler.timeout", 2, "got a list"},
		{"mapping for a duration", "crawler:\n  timeout: {a: 1}\n", "crawler.timeout", 2, "got a mapping"},
		{"number for a duration", "crawler:\n  timeout: 5\n", "crawler.timeout", 2, `invalid duration "5"`},
		{"list for a source delay", "crawler:\n  sources:\n" + src("a", "delay: [1s]"), "crawler.sources[0].delay", 6, "got a list"},
		{"list for an SLA", "alerts:\n  sla:\n    high: [1h]\n", "alerts.sla.high", 3, "got a list"},
		{"word for a number", "crawler:\n  retries: many\n", "crawler.retries", 2, `expected a whole number, got "many"`},
		{"quoted number", "crawler:\n  max_body_bytes: \"big\"\n", "crawler.max_body_bytes", 2, "expected a whole number"},
		{"fraction for a count", "index:\n  shards: 1.5\n", "index.shards", 2, "got 1.5"},
		{"list for a count", "nlp:\n  workers: [1]\n", "nlp.workers", 2, "got a list"},
		{"word for a threshold", "nlp:\n  thresholds:\n    low: high\n", "nlp.thresholds.low", 3, "expected a number"},
		{"word for a bool", "crawler:\n  sources:\n" + src("a", "allow_private: maybe"), "crawler.sources[0].allow_private", 6, "expected true or false"},
		{"list for text", "data_dir: [a]\n", "data_dir", 1, "expected a single value"},
		{"list for a level", "log:\n  level: [debug]\n", "log.level", 2, "got a list"},
		{"profiler address", "web:\n  pprof_addr: localhost\n", "web.pprof_addr", 2, "expected host:port"},
		{"unknown time zone", "timezone: Asia/Peking\n", "timezone", 1, "expected an IANA zone name"},
		{"machine-dependent zone", "timezone: Local\n", "timezone", 1, "depends on the machine"},
		{"list for a category level", "alerts:\n  lead_levels:\n    fire: [high]\n", "alerts.lead_levels.fire", 3, "got a list"},
		{"list for a section", "crawler: [1, 2]\n", "crawler", 1, "expected a mapping of keys"},
		{"mapping for sources", "crawler:\n  sources:\n    name: a\n", "crawler.sources", 2, "expected a list"},
		{"text for seeds", "crawler:\n  sources:\n    - name: a\n      kind: rss\n      seeds: http://x.test/f\n", "crawler.sources[0].seeds", 5, "expected a list"},
		{"text for categories", "alerts:\n  webhooks:\n" + hook("w", "categories: fire"), "alerts.webhooks[0].categories", 6, "expected a list"},
		{"list for headers", "crawler:\n  sources:\n" + src("a", "headers: [a, b]"), "crawler.sources[0].headers", 6, "expected a mapping"},
		// Unknown keys.
		{"unknown top key", "data_dir: ./d\ncrawlr:\n  retries: 1\n", "crawlr", 2, "unknown key"},
		{"unknown key of the third source", "crawler:\n  sources:\n" + src("a") + src("b") + src("c", "dealy: 2s"), "crawler.sources[2].dealy", 12, `unknown key "dealy"`},
		// Durations: the line of the key, even when its text appears earlier.
		{"bad duration of the third source", "crawler:\n  sources:\n" + src("a", "delay: 2s") + src("b") + src("c", "delay: soon"), "crawler.sources[2].delay", 13, `invalid duration "soon"`},
		{"duration text seen earlier", "alerts:\n  cluster_window: 15h\n  sla:\n    high: 15\n", "alerts.sla.high", 4, `invalid duration "15"`},
		{"login window without unit", "web:\n  session_ttl: 15m\n  login_window: 15\n", "web.login_window", 3, `invalid duration "15"`},
		// Negative and zero values.
		{"negative revisit", "crawler:\n  sources:\n" + src("a", "revisit: -1h"), "crawler.sources[0].revisit", 6, "must not be negative"},
		{"negative jitter", "crawler:\n  jitter: -5s\n", "crawler.jitter", 2, "must not be negative"},
		{"negative webhook timeout", "alerts:\n  webhooks:\n" + hook("w", "timeout: -1s"), "alerts.webhooks[0].timeout", 6, "must be a positive duration"},
		{"zero webhook timeout", "alerts:\n  webhooks:\n" + hook("a") + hook("b", "timeout: 0s"), "alerts.webhooks[1].timeout", 9, "must be a positive duration"},
		{"negative delay", "crawler:\n  sources:\n" + src("a", "delay: -1s"), "crawler.sources[0].delay", 6, "must not be negative"},
		{"negative retries", "crawler:\n  timeout: 10s\n  retries: -1\n", "crawler.retries", 3, "must be 0"},
		{"negative redirects", "crawler:\n  max_redirects: -2\n", "crawler.max_redirects", 2, "must be 0"},
		{"negative backoff", "crawler:\n  retry_backoff: -1s\n", "crawler.retry_backoff", 2, "must not be negative"},
		{"negative max retry after", "crawler:\n  max_retry_after: -1s\n", "crawler.max_retry_after", 2, "must not be negative"},
		{"negative max pages", "crawler:\n  sources:\n" + src("a", "max_pages: -1"), "crawler.sources[0].max_pages", 6, "got -1"},
		{"negative parallelism", "crawler:\n  sources:\n" + src("a", "parallelism: -3"), "crawler.sources[0].parallelism", 6, "got -3"},
		{"negative list pages", "crawler:\n  sources:\n    - name: a\n      kind: html\n      seeds: [\"http://x.test/\"]\n      list:\n        items: a\n        max_pages: -1\n", "crawler.sources[0].list.max_pages", 8, "got -1"},
		{"negative max attempts", "alerts:\n  webhooks:\n" + hook("w", "max_attempts: -1"), "alerts.webhooks[0].max_attempts", 6, "at least 1"},
		{"zero cluster window", "alerts:\n  cluster_window: 0s\n", "alerts.cluster_window", 2, "positive"},
		{"zero session ttl", "web:\n  session_ttl: 0s\n", "web.session_ttl", 2, "positive"},
		{"zero flush interval", "index:\n  flush_interval: 0s\n", "index.flush_interval", 2, "positive"},
		// Other values.
		{"source without a name", "crawler:\n  sources:\n    - kind: rss\n      seeds: [\"http://x.test/f\"]\n", "crawler.sources[0].name", 3, "is required"},
		{"bad kind", "crawler:\n  sources:\n" + src("a") + "    - name: b\n      kind: ftp\n      seeds: [\"http://x.test/f\"]\n", "crawler.sources[1].kind", 7, `got "ftp"`},
		{"simhash distance too big", "alerts:\n  simhash_distance: 65\n", "alerts.simhash_distance", 2, "between 0 and 64"},
		{"platform without a name", "alerts:\n  platforms:\n    - secret: whsec_c2VjcmV0c2VjcmV0\n", "alerts.platforms[0].name", 3, "is required"},
		{"platform name with a slash", "alerts:\n  platforms:\n    - name: a/b\n      secret: whsec_c2VjcmV0c2VjcmV0\n", "alerts.platforms[0].name", 3, "lower-case letters"},
		{"duplicate platform", "alerts:\n  platforms:\n    - name: p\n      secret: whsec_c2VjcmV0c2VjcmV0\n    - name: p\n      secret: whsec_c2VjcmV0c2VjcmV0\n", "alerts.platforms[1].name", 5, "duplicate"},
		{"platform secret not whsec", "alerts:\n  platforms:\n    - name: p\n      secret: hunter2\n", "alerts.platforms[0].secret", 4, "whsec_"},
		{"bad webhook url", "alerts:\n  webhooks:\n    - name: w\n      url: ftp://x\n      secret: whsec_c2VjcmV0c2VjcmV0\n", "alerts.webhooks[0].url", 4, "expected an http"},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.yaml))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a config error", err)
			}
			if ce.Key != tc.key || ce.Line != tc.line {
				t.Fatalf("error %q names key %q line %d, want key %q line %d", err, ce.Key, ce.Line, tc.key, tc.line)
			}
			prefix := fmt.Sprintf("config: c.yaml:%d: %s: ", tc.line, tc.key)
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q, want it to start with %q and contain %q", err, prefix, tc.msg)
			}
			if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "Config.") || strings.Contains(err.Error(), "Unmarshaler") {
				t.Fatalf("error %q is not one plain line", err)
			}
		})
	}
}

// TestZeroAndUnsetDurations pins what an unwritten key and a written zero
// mean, as the README says.
func TestZeroAndUnsetDurations(t *testing.T) {
	c, err := Parse("c.yaml", []byte("crawler:\n  jitter: 0s\n  sources:\n"+src("unset")+src("zero", "revisit: 0s", "delay: 0s")+src("set", "revisit: 6h")+
		"alerts:\n  webhooks:\n"+hook("unset")+hook("set", "timeout: 3s")))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Crawler.Sources
	if s[0].Revisit.D() != 24*time.Hour || s[1].Revisit.D() != 0 || s[2].Revisit.D() != 6*time.Hour {
		t.Errorf("revisit: unset %v, 0s %v, 6h %v; want 24h, 0s, 6h", s[0].Revisit.D(), s[1].Revisit.D(), s[2].Revisit.D())
	}
	if s[0].Delay.D() != time.Second || s[1].Delay.D() != 0 {
		t.Errorf("delay: unset %v, 0s %v; want 1s, 0s", s[0].Delay.D(), s[1].Delay.D())
	}
	if c.Crawler.Jitter != 0 {
		t.Errorf("jitter 0s became %v", c.Crawler.Jitter.D())
	}
	w := c.Alerts.Webhooks
	if w[0].Timeout.D() != 10*time.Second || w[1].Timeout.D() != 3*time.Second || w[0].MaxAttempts != 8 {
		t.Errorf("webhooks: timeout unset %v, set %v, max_attempts %d; want 10s, 3s, 8", w[0].Timeout.D(), w[1].Timeout.D(), w[0].MaxAttempts)
	}
}

// TestPlatformsParse pins that a valid alerts.platforms list is kept as written.
func TestPlatformsParse(t *testing.T) {
	c, err := Parse("c.yaml", []byte("alerts:\n  platforms:\n    - name: case-platform\n      secret: whsec_c2VjcmV0c2VjcmV0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Alerts.Platforms) != 1 || c.Alerts.Platforms[0].Name != "case-platform" || c.Alerts.Platforms[0].Secret != "whsec_c2VjcmV0c2VjcmV0" {
		t.Fatalf("platforms %+v", c.Alerts.Platforms)
	}
}
