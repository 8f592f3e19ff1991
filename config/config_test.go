package config

import (
	"strings"
	"testing"
)

func TestParseErrorsNameFileLineAndKey(t *testing.T) {
	t.Setenv("RM_SECRET", "whsec_c2VjcmV0c2VjcmV0")
	cases := []struct {
		name string
		yaml string
		want string // substring of the error; "" means valid
	}{
		{"empty file is defaults", "", ""},
		{"unknown key", "log:\n  levl: debug\n", "c.yaml:2: log.levl: unknown key \"levl\" in log (expected one of format, level;"},
		{"bad level", "log:\n  level: loud\n", "c.yaml:2: log.level: got \"loud\""},
		{"bad seed", "crawler:\n  sources:\n    - name: a\n      kind: html\n      list: {items: a}\n      seeds: [\"ftp://x\"]\n", "c.yaml:6: crawler.sources[0].seeds[0]: expected an http"},
		{"bad cron", "crawler:\n  sources:\n    - name: a\n      kind: rss\n      seeds: [\"http://x/feed\"]\n      schedule: \"every day\"\n", "c.yaml:6: crawler.sources[0].schedule: invalid cron spec"},
		{"bad selector", "crawler:\n  sources:\n    - name: a\n      kind: html\n      seeds: [\"http://x/\"]\n      list: {items: \"a[\"}\n", "c.yaml:6: crawler.sources[0].list.items: invalid CSS selector"},
		{"decompressed below body", "crawler:\n  max_body_bytes: 4096\n  max_decompressed_bytes: 2048\n", "c.yaml:3: crawler.max_decompressed_bytes: must be 0"},
		{"negative crawl delay cap", "crawler:\n  timeout: 10s\n  max_crawl_delay: -5s\n", "c.yaml:3: crawler.max_crawl_delay: must be a positive duration"},
		{"thresholds out of order", "nlp:\n  thresholds: {low: 1, medium: 5, high: 4, critical: 10}\n", "c.yaml:2: nlp.thresholds: expected low < medium"},
		{"env expansion", "alerts:\n  webhooks:\n    - name: w\n      url: http://127.0.0.1:9/hook\n      secret: ${RM_SECRET}\n", ""},
		{"secret not base64", "alerts:\n  webhooks:\n    - name: w\n      url: http://127.0.0.1:9/hook\n      secret: whsec_not*base64!!\n", "c.yaml:5: alerts.webhooks[0].secret: the part after whsec_ is not base64"},
		{"unset env", "alerts:\n  webhooks:\n    - name: w\n      url: http://127.0.0.1:9/hook\n      secret: ${RM_NOT_SET_ANYWHERE}\n", "c.yaml:5: environment variable RM_NOT_SET_ANYWHERE is not set"},
		{"bad duration", "alerts:\n  cluster_window: soon\n", "c.yaml:2"},
		{"syntax error", "log: [\n", "c.yaml"},
		{"parser panic", "crawler:\n  sources:\n  ! #000000000000000000000000000000000000000000000", "c.yaml"},
		{"shards zero", "index:\n  shards: 0\n", "c.yaml:2: index.shards: must be between 1 and 64, got 0"},
		{"search timeout zero", "index:\n  search_timeout: 0s\n", "c.yaml:2: index.search_timeout: must be a duration between 100ms and 10m"},
		{"searches per user zero", "index:\n  searches_per_user: 0\n", "c.yaml:2: index.searches_per_user: must be between 1 and 100, got 0"},
		{"search bounds", "index:\n  search_timeout: 2s\n  searches_per_user: 4\n", ""},
		{"persist pause too long", "index:\n  persist_pause: 1m\n", "c.yaml:2: index.persist_pause: must be a duration between 0s and 30s such as 2s, got 1m0s"},
		{"persist pause off", "index:\n  persist_pause: 0s\n", ""},
		{"bad lead level of a category", "alerts:\n  lead_levels:\n    fire: urgent\n", "c.yaml:3: alerts.lead_levels.fire: got \"urgent\""},
		{"lead level of a category", "alerts:\n  lead_levels:\n    fire: high\n", ""},
		{"login failures zero", "web:\n  login_max_failures: 0\n", "c.yaml:2: web.login_max_failures: must be between 1 and 1000"},
		{"public url https", "web:\n  public_url: https://riskmine.example.org\n", ""},
		{"public url with path", "web:\n  public_url: https://riskmine.example.org/app\n", "c.yaml:2: web.public_url: expected no user, path, query or fragment"},
		{"public url no scheme", "web:\n  public_url: riskmine.example.org\n", "c.yaml:2: web.public_url: expected http(s)://host[:port]"},
		{"trusted proxies", "web:\n  trusted_proxies: [10.0.0.0/8, 192.168.1.5]\n", ""},
		{"trusted proxy bad", "web:\n  trusted_proxies:\n    - 10.0.0.0/8\n    - proxy.lan\n", "c.yaml:4: web.trusted_proxies[1]: expected an address or CIDR prefix"},
		{"token ttl short", "web:\n  token_ttl: 1m\n", "c.yaml:2: web.token_ttl: must be a duration of at least 1h"},
		{"write timeout zero", "web:\n  write_timeout: 0s\n", "c.yaml:2: web.write_timeout: must be a duration of at least 1s"},
		{"metrics addr same", "web:\n  addr: 127.0.0.1:8080\n  metrics_addr: 127.0.0.1:8080\n", "c.yaml:3: web.metrics_addr: must differ from web.addr"},
		{"metrics token short", "web:\n  metrics_token: abc\n", "c.yaml:2: web.metrics_token: must have at least 16 characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.yaml))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q, got nil", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans several lines: %q", err)
			}
		})
	}
}

func TestDefaultsValidate(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Alerts.LeadLevelOf("city_management") != "low" || c.Alerts.LeadLevelOf("fire") != "medium" {
		t.Fatalf("lead levels: city_management %q, fire %q", c.Alerts.LeadLevelOf("city_management"), c.Alerts.LeadLevelOf("fire"))
	}
	if c.Alerts.SLA["critical"].D().Hours() != 2 {
		t.Fatalf("critical SLA = %v, want 2h", c.Alerts.SLA["critical"].D())
	}
}

// FuzzParse checks that no config file, however broken, crashes the loader
// and that every error stays on one line.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"", "log: {level: debug}\n", "crawler:\n  sources:\n    - name: a\n      kind: rss\n      seeds: [\"http://x/f\"]\n", "log: [\n", "a: ${X}\n"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		_, err := Parse("f.yaml", []byte(raw))
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error: %q", err)
		}
	})
}
