package config

import "net"

// Web configures the HTTP server of the UI and the JSON API.
type Web struct {
	// Addr is the listen address, e.g. 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// SecureCookies marks session cookies Secure (set when served over HTTPS).
	SecureCookies bool `yaml:"secure_cookies"`
	// SessionTTL is how long a login lasts.
	SessionTTL Duration `yaml:"session_ttl"`
}

func defaultWeb() Web {
	return Web{Addr: "127.0.0.1:8080", SessionTTL: Duration(12 * hourF)}
}

func (c *Config) validateWeb() error {
	if _, _, err := net.SplitHostPort(c.Web.Addr); err != nil {
		return c.errAt("web.addr", "expected host:port such as 127.0.0.1:8080, got %q", c.Web.Addr)
	}
	if c.Web.SessionTTL.D() <= 0 {
		return c.errAt("web.session_ttl", "must be a positive duration such as 12h")
	}
	return nil
}
