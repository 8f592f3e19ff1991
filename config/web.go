package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Web configures the HTTP server of the UI and the JSON API.
type Web struct {
	// Addr is the listen address, e.g. 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// PublicURL is the address users reach riskmine at, e.g.
	// https://riskmine.example.org. When it is https, cookies are Secure and
	// get the __Host- prefix; logins must come from its origin.
	PublicURL string `yaml:"public_url"`
	// SecureCookies marks session cookies Secure (implied by an https
	// public_url; set it when a proxy terminates TLS and public_url is unset).
	SecureCookies bool `yaml:"secure_cookies"`
	// TrustedProxies are addresses or CIDR prefixes of reverse proxies whose
	// X-Forwarded-For header names the client.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// SessionTTL is how long a login lasts.
	SessionTTL Duration `yaml:"session_ttl"`
	// TokenTTL is how long a new API token lasts.
	TokenTTL Duration `yaml:"token_ttl"`
	// LoginMaxFailures failed logins of one account cost nothing; after
	// that each failure doubles the wait before the next attempt, from 1s up
	// to LoginWindow.
	LoginMaxFailures int `yaml:"login_max_failures"`
	// LoginWindow is the longest wait between attempts on one account.
	LoginWindow Duration `yaml:"login_window"`
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound
	// the HTTP server's connections (exports extend their write deadline as
	// they stream).
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	ReadTimeout       Duration `yaml:"read_timeout"`
	WriteTimeout      Duration `yaml:"write_timeout"`
	IdleTimeout       Duration `yaml:"idle_timeout"`
	// MetricsAddr, when set, serves /metrics on this address only.
	MetricsAddr string `yaml:"metrics_addr"`
	// MetricsToken, when set, is the bearer token /metrics requires.
	// With neither MetricsAddr nor MetricsToken, /metrics is off.
	MetricsToken string `yaml:"metrics_token"`
	// Pprof serves Go's profiler under /debug/pprof/ on the main address
	// to admins only (session or bearer token).
	Pprof bool `yaml:"pprof"`
	// PprofAddr, when set, serves /debug/pprof/ on this address only,
	// without login (keep it on loopback).
	PprofAddr string `yaml:"pprof_addr"`
	// ReadAuditDays is how many days the read audit (who searched, viewed
	// and exported what) keeps a read; 0 keeps them all.
	ReadAuditDays int `yaml:"read_audit_days"`
	// PIIRoles are the roles that see phone numbers, bank cards and
	// QQ/WeChat ids in posts unmasked; an empty list masks them for all.
	PIIRoles []string `yaml:"pii_roles"`
	// Map is the customer's boundary layer for the places view (see
	// web_map.go); without it the view shows its table only.
	Map WebMap `yaml:"map"`
}

// webRoles are the roles of web users, for web.pii_roles.
var webRoles = []string{"viewer", "analyst", "admin"}

func defaultWeb() Web {
	return Web{Addr: "127.0.0.1:8080", SessionTTL: Duration(12 * hourF), TokenTTL: Duration(90 * 24 * hourF),
		LoginMaxFailures: 5, LoginWindow: Duration(15 * time.Minute),
		ReadHeaderTimeout: Duration(10 * time.Second), ReadTimeout: Duration(time.Minute),
		WriteTimeout: Duration(2 * time.Minute), IdleTimeout: Duration(2 * time.Minute),
		// Viewers see masks; the roles that dispatch cases see the numbers.
		ReadAuditDays: 180, PIIRoles: []string{"analyst", "admin"}}
}

func (c *Config) validateWeb() error {
	if _, _, err := net.SplitHostPort(c.Web.Addr); err != nil {
		return c.errAt("web.addr", "expected host:port such as 127.0.0.1:8080, got %q", c.Web.Addr)
	}
	if p := c.Web.PublicURL; p != "" {
		u, err := url.Parse(p)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c.errAt("web.public_url", "expected http(s)://host[:port] such as https://riskmine.example.org, got %q", p)
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
			return c.errAt("web.public_url", "expected no user, path, query or fragment (riskmine is served at the root), got %q", p)
		}
	}
	for i, p := range c.Web.TrustedProxies {
		var err error
		if strings.Contains(p, "/") {
			_, err = netip.ParsePrefix(p)
		} else {
			_, err = netip.ParseAddr(p)
		}
		if err != nil {
			return c.errAt(fmt.Sprintf("web.trusted_proxies[%d]", i), "expected an address or CIDR prefix such as 10.0.0.0/8, got %q", p)
		}
	}
	if c.Web.SessionTTL.D() <= 0 {
		return c.errAt("web.session_ttl", "must be a positive duration such as 12h")
	}
	if c.Web.TokenTTL.D() < time.Hour {
		return c.errAt("web.token_ttl", "must be a duration of at least 1h such as 2160h (90 days)")
	}
	if c.Web.LoginMaxFailures < 1 || c.Web.LoginMaxFailures > 1000 {
		return c.errAt("web.login_max_failures", "must be between 1 and 1000, got %d", c.Web.LoginMaxFailures)
	}
	if c.Web.LoginWindow.D() < time.Second {
		return c.errAt("web.login_window", "must be a duration of at least 1s such as 15m")
	}
	for _, t := range []struct {
		key string
		d   Duration
	}{{"web.read_header_timeout", c.Web.ReadHeaderTimeout}, {"web.read_timeout", c.Web.ReadTimeout},
		{"web.write_timeout", c.Web.WriteTimeout}, {"web.idle_timeout", c.Web.IdleTimeout}} {
		if t.d.D() < time.Second {
			return c.errAt(t.key, "must be a duration of at least 1s such as 1m")
		}
	}
	if a := c.Web.MetricsAddr; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return c.errAt("web.metrics_addr", "expected host:port such as 127.0.0.1:9090, got %q", a)
		}
		if a == c.Web.Addr {
			return c.errAt("web.metrics_addr", "must differ from web.addr (leave it empty and set web.metrics_token to serve /metrics there)")
		}
	}
	if a := c.Web.PprofAddr; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return c.errAt("web.pprof_addr", "expected host:port such as 127.0.0.1:6060, got %q", a)
		}
		if a == c.Web.Addr || a == c.Web.MetricsAddr {
			return c.errAt("web.pprof_addr", "must differ from web.addr and web.metrics_addr (set web.pprof: true to serve it on web.addr to admins)")
		}
	}
	if t := c.Web.MetricsToken; t != "" && len(t) < 16 {
		return c.errAt("web.metrics_token", "must have at least 16 characters (use ${ENV} to keep it out of the file)")
	}
	if d := c.Web.ReadAuditDays; d < 0 || d > 36500 {
		return c.errAt("web.read_audit_days", "must be between 0 (keep every read) and 36500, got %d", d)
	}
	seen := map[string]bool{}
	for i, r := range c.Web.PIIRoles {
		if !slices.Contains(webRoles, r) {
			return c.errAt(fmt.Sprintf("web.pii_roles[%d]", i), "got %q, expected one of %s", r, strings.Join(webRoles, ", "))
		}
		if seen[r] {
			return c.errAt(fmt.Sprintf("web.pii_roles[%d]", i), "%q is listed twice", r)
		}
		seen[r] = true
	}
	return c.validateWebMap()
}
