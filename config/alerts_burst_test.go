package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestBurstConfigErrorsNameKeyAndLine checks that every bad alerts.burst
// value is one line naming the file, the line and the key.
func TestBurstConfigErrorsNameKeyAndLine(t *testing.T) {
	cases := []struct {
		name, yaml, key string
		line            int
		msg             string
	}{
		{"word for enabled", "alerts:\n  burst:\n    enabled: maybe\n", "alerts.burst.enabled", 3, "expected true or false"},
		{"interval under a minute", "alerts:\n  burst:\n    interval: 10s\n", "alerts.burst.interval", 3, "at least 1m"},
		{"interval longer than the window", "alerts:\n  burst:\n    window: 1h\n    interval: 2h\n", "alerts.burst.interval", 4, "longer than alerts.burst.window"},
		{"window without unit", "alerts:\n  burst:\n    window: 6\n", "alerts.burst.window", 3, `invalid duration "6"`},
		{"window too long", "alerts:\n  burst:\n    window: 200h\n", "alerts.burst.window", 3, "from 10m to 168h"},
		{"zero sensitivity", "alerts:\n  burst:\n    sensitivity: 0\n", "alerts.burst.sensitivity", 3, "above 0"},
		{"word for sensitivity", "alerts:\n  burst:\n    sensitivity: high\n", "alerts.burst.sensitivity", 3, "expected a number"},
		{"one post", "alerts:\n  burst:\n    min_posts: 1\n", "alerts.burst.min_posts", 3, "at least 2"},
		{"bad min level", "alerts:\n  burst:\n    min_level: none\n", "alerts.burst.min_level", 3, "expected low, medium"},
		{"bad level", "alerts:\n  burst:\n    level: urgent\n", "alerts.burst.level", 3, `got "urgent"`},
		{"unknown key", "alerts:\n  burst:\n    enabled: true\n    windw: 6h\n", "alerts.burst.windw", 4, "unknown key"},
		{"word for a webhook's bursts", "alerts:\n  webhooks:\n" + hook("w", "bursts: yes please"), "alerts.webhooks[0].bursts", 6, "expected true or false"},
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

// TestBurstConfigDefaults pins the defaults the README gives.
func TestBurstConfigDefaults(t *testing.T) {
	c, err := Parse("c.yaml", []byte("alerts:\n  burst:\n    enabled: true\n  webhooks:\n"+hook("w", "bursts: true")))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Alerts.Burst
	want := Burst{Enabled: true, Interval: Duration(15 * time.Minute), Window: Duration(6 * time.Hour), Sensitivity: 0.01, MinPosts: 3, MinLevel: "low", Level: "medium"}
	if b != want {
		t.Errorf("burst config %+v, want %+v", b, want)
	}
	if !c.Alerts.Webhooks[0].Bursts {
		t.Error("webhook bursts: true was not read")
	}
	d := Default()
	if d.Alerts.Burst.Enabled {
		t.Error("bursts are on by default, want off")
	}
}
