package config

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"os"
	"time"
)

// Evidence configures the evidence archive: the WARC copies of the pages
// that become leads' sources, under <data_dir>/evidence.
type Evidence struct {
	// Enabled archives lead sources (default true). Off, leads are filed
	// as before and their pages say that no archived copy exists.
	Enabled bool `yaml:"enabled"`
	// MaxFileBytes starts a new WARC file once the current one would grow
	// past it (default 1 GiB, at least 1 MiB). A new file also starts
	// each UTC day.
	MaxFileBytes int64 `yaml:"max_file_bytes"`
	// Retention deletes whole WARC files whose newest capture is older
	// than this, unless a capture in them belongs to a lead that is still
	// open (or merged into an open lead). 0 (default) keeps every file.
	Retention Duration `yaml:"retention"`
	// TimestampURL, when set, is an RFC 3161 time-stamping authority
	// (http:// or https://) asked for a timestamp of each evidence
	// bundle's manifest. A TSA that fails costs the token, not the bundle.
	TimestampURL string `yaml:"timestamp_url"`
	// TimestampTimeout bounds one request to the TSA (default 10s, at
	// most 2m).
	TimestampTimeout Duration `yaml:"timestamp_timeout"`
	// TimestampCAFile is a PEM file of the CA certificates the TSA's
	// signing certificate must chain to; unset, the token's status,
	// imprint and nonce are checked but not its signature.
	TimestampCAFile string `yaml:"timestamp_ca_file"`
	// TimestampAllowPrivate lets the TSA be on a loopback, private or
	// link-local address (an intranet TSA), as allow_private does for a
	// webhook; cloud metadata addresses are refused whatever it says.
	TimestampAllowPrivate bool `yaml:"timestamp_allow_private"`
}

func defaultEvidence() Evidence {
	return Evidence{Enabled: true, MaxFileBytes: 1 << 30, TimestampTimeout: Duration(10 * time.Second)}
}

// TimestampRoots reads TimestampCAFile; nil when it is unset.
func (e Evidence) TimestampRoots() (*x509.CertPool, error) {
	if e.TimestampCAFile == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(e.TimestampCAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := raw; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errNoCertificate
	}
	return pool, nil
}

func (c *Config) validateEvidence() error {
	if c.Evidence.MaxFileBytes < 1<<20 {
		return c.errAt("evidence.max_file_bytes", "must be at least 1048576 (1 MiB), got %d", c.Evidence.MaxFileBytes)
	}
	if r := c.Evidence.Retention.D(); r < 0 || (r > 0 && r < 24*time.Hour) {
		return c.errAt("evidence.retention", "must be 0 (keep every file) or at least 1d, got %s", r)
	}
	if d := c.Evidence.TimestampTimeout.D(); d <= 0 || d > 2*time.Minute {
		return c.errAt("evidence.timestamp_timeout", "must be more than 0s and at most 2m, got %s", d)
	}
	if u := c.Evidence.TimestampURL; u != "" {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return c.errAt("evidence.timestamp_url", "expected the http:// or https:// URL of an RFC 3161 time-stamping authority, got %q", u)
		}
	} else if c.Evidence.TimestampCAFile != "" {
		return c.errAt("evidence.timestamp_ca_file", "set without evidence.timestamp_url")
	}
	if f := c.Evidence.TimestampCAFile; f != "" {
		if _, err := c.Evidence.TimestampRoots(); err != nil {
			return c.errAt("evidence.timestamp_ca_file", "expected a readable PEM file of CA certificates, %s: %v", f, err)
		}
	}
	return nil
}

var errNoCertificate = errors.New("no PEM \"CERTIFICATE\" block in it")
