package config

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Evidence configures the evidence archive: the WARC copies of the pages
// that become leads' sources, under <data_dir>/evidence or Dir.
type Evidence struct {
	// Enabled archives lead sources (default true). Off, leads are filed
	// as before and their pages say that no archived copy exists.
	Enabled bool `yaml:"enabled"`
	// Dir is the archive's folder with cluster.store; a relative path is
	// taken from data_dir. Empty (default): <data_dir>/evidence, the only
	// folder of the embedded mode (which riskmine backup copies). Every node
	// must name the same folder on storage they all reach (NFS and the
	// like): each writes in a subfolder of its own (Node) and reads every
	// node's files, and the installation's signing key lies at its top.
	Dir string `yaml:"dir"`
	// Node names this node's subfolder of Dir, with cluster.store (letters,
	// digits, '.', '_', '-'; at most 64). Empty (default): the host name.
	// It must stay the same when the node restarts, since a node repairs
	// only its own files after a crash; processes on one host may share
	// it.
	Node string `yaml:"node"`
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

// EvidenceDir is the archive's folder: evidence.dir, taken from data_dir
// when relative, or <data_dir>/evidence.
func (c *Config) EvidenceDir() string {
	d := c.Evidence.Dir
	if d == "" {
		return filepath.Join(c.DataDir, "evidence")
	}
	if filepath.IsAbs(d) {
		return filepath.Clean(d)
	}
	return filepath.Join(c.DataDir, d)
}

// nodePattern is what evidence.node may be (evidence.ValidNode's rule).
var nodePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (c *Config) validateEvidence() error {
	if d := c.Evidence.Dir; d != "" {
		switch {
		case strings.ContainsAny(d, "\x00\n\r"):
			return c.errAt("evidence.dir", "expected a folder path on one line, got %q", d)
		case strings.HasPrefix(d, "~"):
			return c.errAt("evidence.dir", "got %q: ~ is not expanded; write an absolute path, or one relative to data_dir", d)
		case filepath.Clean(c.EvidenceDir()) == filepath.Clean(c.DataDir):
			return c.errAt("evidence.dir", "got %q, which is data_dir itself; expected a folder of its own (default: evidence in data_dir)", d)
		}
		if fi, err := os.Stat(c.EvidenceDir()); err == nil && !fi.IsDir() {
			return c.errAt("evidence.dir", "%s is a file; expected a folder (it is made when missing)", c.EvidenceDir())
		}
	}
	if n := c.Evidence.Node; n != "" && !nodePattern.MatchString(n) {
		return c.errAt("evidence.node", "got %q, expected 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", n)
	}
	// In the embedded mode riskmine backup copies <data_dir>/evidence and
	// restore puts it back there; an archive elsewhere would be left out.
	if !c.Cluster.Postgres() {
		if c.Evidence.Dir != "" && c.EvidenceDir() != filepath.Join(c.DataDir, "evidence") {
			return c.errAt("evidence.dir", "is for a cluster (cluster.store): in the embedded mode the archive stays in <data_dir>/evidence, which riskmine backup copies")
		}
		if c.Evidence.Node != "" {
			return c.errAt("evidence.node", "is for a cluster (cluster.store): set without one")
		}
	}
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
