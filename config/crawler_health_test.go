package config

import (
	"errors"
	"strings"
	"testing"
)

func TestCrawlerHealthKeys(t *testing.T) {
	c, err := Parse("c.yaml", []byte("data_dir: ./d\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Crawler.Health.EmptyRuns != 3 {
		t.Errorf("default crawler.health.empty_runs %d, want 3", c.Crawler.Health.EmptyRuns)
	}
	c, err = Parse("c.yaml", []byte("crawler:\n  health:\n    empty_runs: 5\nalerts:\n  webhooks:\n"+hook("w", "source_health: true")))
	if err != nil {
		t.Fatal(err)
	}
	if c.Crawler.Health.EmptyRuns != 5 || !c.Alerts.Webhooks[0].SourceHealth {
		t.Errorf("empty_runs %d source_health %v", c.Crawler.Health.EmptyRuns, c.Alerts.Webhooks[0].SourceHealth)
	}
	for _, tc := range []struct {
		name, yaml, key string
		line            int
		msg             string
	}{
		{"zero runs", "crawler:\n  health:\n    empty_runs: 0\n", "crawler.health.empty_runs", 3, "from 1 to 1000, got 0"},
		{"unknown health key", "crawler:\n  health:\n    emtpy_runs: 2\n", "crawler.health.emtpy_runs", 3, "unknown key"},
		{"thehive source health", "alerts:\n  webhooks:\n" + hook("w", "format: thehive", "source_health: true"), "alerts.webhooks[0].source_health", 0, "thehive webhook takes leads only"},
		{"word for source_health", "alerts:\n  webhooks:\n" + hook("w", "source_health: often"), "alerts.webhooks[0].source_health", 6, "expected true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.yaml))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a config error", err)
			}
			if ce.Key != tc.key || (tc.line > 0 && ce.Line != tc.line) || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got key %q line %d: %v; want key %q line %d, %q", ce.Key, ce.Line, err, tc.key, tc.line, tc.msg)
			}
		})
	}
}
