package config

import (
	"encoding/base64"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"riskmine/level"
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
	// Platforms are the case platforms that report back through the signed
	// inbound API, POST /api/v1/inbound/{name}.
	Platforms []Platform `yaml:"platforms"`
}

// Platform is one case platform allowed to report back on leads. Its
// requests are signed with Secret by the Standard Webhooks scheme.
type Platform struct {
	Name   string `yaml:"name"`
	Secret string `yaml:"secret"`
}

// Webhook is one receiving endpoint.
type Webhook struct {
	Name   string `yaml:"name"`
	URL    string `yaml:"url"`
	Secret string `yaml:"secret"`
	// Format is standard (Standard Webhooks), thehive, or a notification
	// channel: dingtalk (custom robot; secret is its SEC… signing secret),
	// wecom (group robot; no secret, the key is in the url) or email.
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
	// SourceHealth opts in to source health notifications: a crawl source
	// yields no items for crawler.health.empty_runs runs, its list
	// selectors stop matching, robots.txt starts blocking it, or it
	// recovers. Not for thehive.
	SourceHealth bool `yaml:"source_health"`
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
	// RateLimit is how many messages a dingtalk, wecom or email channel
	// sends a minute (default 20); more are folded into a digest.
	RateLimit int `yaml:"rate_limit"`
	// SMTP is the mail server of an email channel, host:port.
	SMTP string `yaml:"smtp"`
	// From and To are the sender and the recipients of an email channel.
	From string   `yaml:"from"`
	To   []string `yaml:"to"`
	// Username and Password log in to the SMTP server (AUTH PLAIN, only
	// over TLS); write the password as ${ENV}.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// StartTLS is required (default) or off (an intranet relay without
	// TLS, and then without credentials).
	StartTLS string `yaml:"starttls"`
}

// LeadLevelOf returns the level at which a post of category code files a
// lead.
func (a *Alerts) LeadLevelOf(code string) string {
	if l, ok := a.LeadLevels[code]; ok {
		return l
	}
	return a.LeadLevel
}

func validLevel(s string) bool { return level.Known(s) }

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
		if w.Format == "" {
			w.Format = "standard"
		}
		switch w.Format {
		case "standard", "thehive", "dingtalk", "wecom":
			u, err := url.Parse(w.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return c.errAt(key("url"), "expected an http:// or https:// URL, got %q", w.URL)
			}
		case "email":
			if w.URL != "" {
				return c.errAt(key("url"), "an email webhook has no url; write the mail server as smtp: host:port")
			}
		default:
			return c.errAt(key("format"), "got %q, expected standard, thehive, dingtalk, wecom or email", w.Format)
		}
		if err := c.validateWebhookSecret(w, key); err != nil {
			return err
		}
		if err := c.validateNotification(w, key); err != nil {
			return err
		}
		if w.SourceHealth && w.Format == "thehive" {
			return c.errAt(key("source_health"), "a thehive webhook takes leads only; send source health to a standard, dingtalk, wecom or email webhook")
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
	if err := c.validatePlatforms(); err != nil {
		return err
	}
	return c.validateBurst()
}

// validatePlatforms checks alerts.platforms: unique URL-safe names and a
// whsec_ secret each.
func (c *Config) validatePlatforms() error {
	names := map[string]bool{}
	for i, p := range c.Alerts.Platforms {
		key := func(k string) string { return "alerts.platforms[" + itoa(i) + "]." + k }
		if p.Name == "" {
			return c.errAt(key("name"), "is required")
		}
		for _, r := range p.Name {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return c.errAt(key("name"), "got %q, expected lower-case letters, digits, - and _ (it is part of the inbound URL)", p.Name)
			}
		}
		if names[p.Name] {
			return c.errAt(key("name"), "duplicate platform name %q", p.Name)
		}
		names[p.Name] = true
		if !strings.HasPrefix(p.Secret, "whsec_") || len(p.Secret) < len("whsec_")+8 || !isBase64(strings.TrimPrefix(p.Secret, "whsec_")) {
			return c.errAt(key("secret"), "expected a secret of the form whsec_<base64> (e.g. whsec_ followed by `openssl rand -base64 32`)")
		}
	}
	return nil
}

// validateWebhookSecret checks the secret a format signs with.
func (c *Config) validateWebhookSecret(w *Webhook, key func(string) string) error {
	switch w.Format {
	case "dingtalk":
		if w.Secret == "" {
			return c.errAt(key("secret"), "a dingtalk robot needs its signing secret: turn on 加签 in the robot's security settings and copy the SEC… string")
		}
		if strings.HasPrefix(w.Secret, "whsec_") {
			return c.errAt(key("secret"), "expected the robot's SEC… signing secret, got a whsec_ secret (that is for standard webhooks)")
		}
		return nil
	case "wecom", "email":
		if w.Secret != "" {
			return c.errAt(key("secret"), "a %s webhook has no secret (%s)", w.Format,
				map[string]string{"wecom": "the robot's key is in its url", "email": "use username and password"}[w.Format])
		}
		return nil
	}
	if !strings.HasPrefix(w.Secret, "whsec_") || len(w.Secret) < len("whsec_")+8 {
		return c.errAt(key("secret"), "expected a secret of the form whsec_<base64>")
	}
	if !isBase64(strings.TrimPrefix(w.Secret, "whsec_")) {
		return c.errAt(key("secret"), "the part after whsec_ is not base64, expected whsec_<base64> (e.g. whsec_ followed by `openssl rand -base64 32`)")
	}
	return nil
}

// validateNotification checks rate_limit and the email keys, which only
// notification channels take.
func (c *Config) validateNotification(w *Webhook, key func(string) string) error {
	notify := w.Format == "dingtalk" || w.Format == "wecom" || w.Format == "email"
	if w.RateLimit != 0 && !notify {
		return c.errAt(key("rate_limit"), "applies only to dingtalk, wecom and email webhooks (format is %s)", w.Format)
	}
	if w.RateLimit < 0 || w.RateLimit > 10000 {
		return c.errAt(key("rate_limit"), "expected messages a minute from 1 to 10000 (0 or not written: 20), got %d", w.RateLimit)
	}
	if w.Format != "email" {
		for _, k := range []struct {
			name string
			set  bool
		}{{"smtp", w.SMTP != ""}, {"from", w.From != ""}, {"to", len(w.To) > 0},
			{"username", w.Username != ""}, {"password", w.Password != ""}, {"starttls", w.StartTLS != ""}} {
			if k.set {
				return c.errAt(key(k.name), "applies only to email webhooks (format is %s)", w.Format)
			}
		}
		return nil
	}
	host, port, err := net.SplitHostPort(w.SMTP)
	if w.SMTP == "" {
		return c.errAt(key("smtp"), "is required for an email webhook: the mail server as host:port, e.g. smtp.example.org:587")
	}
	if err != nil || host == "" || !isPort(port) {
		return c.errAt(key("smtp"), "expected host:port such as smtp.example.org:587, got %q", w.SMTP)
	}
	if w.From == "" {
		return c.errAt(key("from"), "is required for an email webhook: the sender address")
	}
	if a, err := mail.ParseAddress(w.From); err != nil || strings.ContainsAny(a.Address, "\r\n") {
		return c.errAt(key("from"), "expected an email address such as riskmine@example.org, got %q", w.From)
	}
	if len(w.To) == 0 {
		return c.errAt(key("to"), "is required for an email webhook: a list of recipient addresses")
	}
	for _, t := range w.To {
		if _, err := mail.ParseAddress(t); err != nil {
			return c.errAt(key("to"), "expected email addresses, got %q", t)
		}
	}
	if w.StartTLS == "" {
		w.StartTLS = "required"
	}
	if w.StartTLS != "required" && w.StartTLS != "off" {
		return c.errAt(key("starttls"), "got %q, expected required or off", w.StartTLS)
	}
	if w.Username != "" && w.Password == "" {
		return c.errAt(key("password"), "is required with a username (write it as ${ENV})")
	}
	if w.Password != "" && w.Username == "" {
		return c.errAt(key("username"), "is required with a password")
	}
	if w.Username != "" && w.StartTLS == "off" {
		return c.errAt(key("starttls"), "must be required when username and password are set: credentials are never sent without TLS")
	}
	return nil
}

// isPort reports whether s is a port number.
func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 65536
}
