package config

import (
	"net"
	"time"
)

// Web configures the HTTP server of the UI and the JSON API.
type Web struct {
	// Addr is the listen address, e.g. 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// SecureCookies marks session cookies Secure (set when served over HTTPS).
	SecureCookies bool `yaml:"secure_cookies"`
	// SessionTTL is how long a login lasts.
	SessionTTL Duration `yaml:"session_ttl"`
	// LoginMaxFailures failed logins for one client IP and user name within
	// LoginWindow block further attempts until the window passes.
	LoginMaxFailures int `yaml:"login_max_failures"`
	// LoginWindow is the period over which failed logins are counted.
	LoginWindow Duration `yaml:"login_window"`
}

func defaultWeb() Web {
	return Web{Addr: "127.0.0.1:8080", SessionTTL: Duration(12 * hourF), LoginMaxFailures: 5, LoginWindow: Duration(15 * time.Minute)}
}

func (c *Config) validateWeb() error {
	if _, _, err := net.SplitHostPort(c.Web.Addr); err != nil {
		return c.errAt("web.addr", "expected host:port such as 127.0.0.1:8080, got %q", c.Web.Addr)
	}
	if c.Web.SessionTTL.D() <= 0 {
		return c.errAt("web.session_ttl", "must be a positive duration such as 12h")
	}
	if c.Web.LoginMaxFailures < 1 || c.Web.LoginMaxFailures > 1000 {
		return c.errAt("web.login_max_failures", "must be between 1 and 1000, got %d", c.Web.LoginMaxFailures)
	}
	if c.Web.LoginWindow.D() < time.Second {
		return c.errAt("web.login_window", "must be a duration of at least 1s such as 15m")
	}
	return nil
}
