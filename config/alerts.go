package config

import (
	"encoding/base64"
	"net/url"
	"strings"
	"time"
)

// Alerts configures risk leads, their SLA and the webhooks that push them.
type Alerts struct {
	// LeadLevel is the minimum level (low, medium, high, critical) that files a lead.
	LeadLevel string `yaml:"lead_level"`
	// LeadLevels sets the lead level of single categories (city_management:
	// low by default, since disrepair is low by the severity rubric).
	LeadLevels map[string]string `yaml:"lead_levels"`
	// ClusterWindow is how far apart two posts may be to join one lead by place.
	ClusterWindow Duration `yaml:"cluster_window"`
	// SimhashDistance is the largest Hamming distance for near-duplicates.
	SimhashDistance int `yaml:"simhash_distance"`
	// SLA is the due time of a lead by level.
	SLA map[string]Duration `yaml:"sla"`
	// Webhooks are the endpoints leads are pushed to.
	Webhooks []Webhook `yaml:"webhooks"`
	// Burst configures burst leads (spikes of one category in one county).
	Burst Burst `yaml:"burst"`
}

// Webhook is one receiving endpoint.
type Webhook struct {
	Name   string `yaml:"name"`
	URL    string `yaml:"url"`
	Secret string `yaml:"secret"`
	// Format is standard (Standard Webhooks) or thehive.
	Format string `yaml:"format"`
	// Categories, when set, limits deliveries to leads with one of these codes.
	Categories []string `yaml:"categories"`
	// MinLevel limits deliveries to leads at this level or above.
	MinLevel string `yaml:"min_level"`
	// LocationPrefixes limits deliveries to leads with a location code starting with one of these.
	LocationPrefixes []string `yaml:"location_prefixes"`
	// Events lists lead_created, lead_updated, lead_state_changed; empty means all.
	Events []string `yaml:"events"`
	// Bursts opts in to burst leads (kind burst); without it the endpoint
	// gets only leads filed from posts.
	Bursts bool `yaml:"bursts"`
	// Timeout per attempt (default 10s when not written).
	Timeout *Duration `yaml:"timeout"`
	// MaxAttempts before a delivery is dead-lettered (default 8: the first
	// attempt and the 7 retries of the Standard Webhooks schedule, 5s, 5m,
	// 30m, 2h, 5h, 10h, 10h; more attempts repeat the 10h step).
	MaxAttempts int `yaml:"max_attempts"`
	// AllowPrivate lets deliveries reach loopback, private and link-local
	// addresses (an intranet case platform). Cloud metadata addresses are
	// refused whatever it says.
	AllowPrivate bool `yaml:"allow_private"`
}

// LeadLevelOf returns the level at which a post of category code files a
// lead.
func (a *Alerts) LeadLevelOf(code string) string {
	if l, ok := a.LeadLevels[code]; ok {
		return l
	}
	return a.LeadLevel
}

// Levels lists the risk levels from lowest to highest.
var Levels = []string{"none", "low", "medium", "high", "critical"}

func validLevel(s string) bool {
	for _, l := range Levels {
		if l == s {
			return true
		}
	}
	return false
}

// isBase64 reports whether s is standard base64, padded or not.
func isBase64(s string) bool {
	if _, err := base64.StdEncoding.DecodeString(s); err == nil {
		return true
	}
	_, err := base64.RawStdEncoding.DecodeString(s)
	return err == nil
}

func defaultAlerts() Alerts {
	return Alerts{
		LeadLevel:       "medium",
		LeadLevels:      map[string]string{"city_management": "low"},
		ClusterWindow:   Duration(48 * time.Hour),
		SimhashDistance: 3,
		SLA: map[string]Duration{
			"critical": Duration(2 * time.Hour),
			"high":     Duration(24 * time.Hour),
			"medium":   Duration(72 * time.Hour),
			"low":      Duration(7 * 24 * time.Hour),
		},
		Burst: defaultBurst(),
	}
}

func (c *Config) validateAlerts() error {
	a := c.Alerts
	if !validLevel(a.LeadLevel) || a.LeadLevel == "none" {
		return c.errAt("alerts.lead_level", "got %q, expected low, medium, high or critical", a.LeadLevel)
	}
	for code, lvl := range a.LeadLevels {
		if !validLevel(lvl) || lvl == "none" {
			return c.errAt("alerts.lead_levels."+code, "got %q, expected low, medium, high or critical", lvl)
		}
	}
	if a.ClusterWindow.D() <= 0 {
		return c.errAt("alerts.cluster_window", "must be a positive duration such as 48h")
	}
	if a.SimhashDistance < 0 || a.SimhashDistance > 64 {
		return c.errAt("alerts.simhash_distance", "must be between 0 and 64, got %d", a.SimhashDistance)
	}
	for lvl, d := range a.SLA {
		if !validLevel(lvl) || lvl == "none" {
			return c.errAt("alerts.sla."+lvl, "unknown level %q, expected low, medium, high or critical", lvl)
		}
		if d.D() <= 0 {
			return c.errAt("alerts.sla."+lvl, "must be a positive duration such as 24h")
		}
	}
	names := map[string]bool{}
	for i := range a.Webhooks {
		w := &c.Alerts.Webhooks[i]
		key := func(k string) string { return "alerts.webhooks[" + itoa(i) + "]." + k }
		if w.Name == "" {
			return c.errAt(key("name"), "is required")
		}
		if names[w.Name] {
			return c.errAt(key("name"), "duplicate webhook name %q", w.Name)
		}
		names[w.Name] = true
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c.errAt(key("url"), "expected an http:// or https:// URL, got %q", w.URL)
		}
		if !strings.HasPrefix(w.Secret, "whsec_") || len(w.Secret) < len("whsec_")+8 {
			return c.errAt(key("secret"), "expected a secret of the form whsec_<base64>")
		}
		if !isBase64(strings.TrimPrefix(w.Secret, "whsec_")) {
			return c.errAt(key("secret"), "the part after whsec_ is not base64, expected whsec_<base64> (e.g. whsec_ followed by `openssl rand -base64 32`)")
		}
		if w.Format == "" {
			w.Format = "standard"
		}
		if w.Format != "standard" && w.Format != "thehive" {
			return c.errAt(key("format"), "got %q, expected standard or thehive", w.Format)
		}
		if w.MinLevel != "" && !validLevel(w.MinLevel) {
			return c.errAt(key("min_level"), "got %q, expected none, low, medium, high or critical", w.MinLevel)
		}
		for _, e := range w.Events {
			switch e {
			case "lead_created", "lead_updated", "lead_state_changed":
			default:
				return c.errAt(key("events"), "unknown event %q, expected lead_created, lead_updated or lead_state_changed", e)
			}
		}
		if w.Timeout == nil {
			d := Duration(10 * time.Second)
			w.Timeout = &d
		} else if w.Timeout.D() <= 0 {
			return c.errAt(key("timeout"), "must be a positive duration such as 10s, got %v", w.Timeout.D())
		}
		if w.MaxAttempts == 0 {
			w.MaxAttempts = 8
		}
		if w.MaxAttempts < 1 {
			return c.errAt(key("max_attempts"), "must be at least 1 (0 or not written: 8), got %d", w.MaxAttempts)
		}
	}
	return c.validateBurst()
}
