package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEvidenceConfig(t *testing.T) {
	d := Default().Evidence
	if !d.Enabled || d.MaxFileBytes != 1<<30 || d.Retention != 0 {
		t.Errorf("defaults %+v", d)
	}
	c, err := Parse("c.yaml", []byte("evidence:\n  enabled: false\n  max_file_bytes: 2097152\n  retention: 400d\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Evidence.Enabled || c.Evidence.MaxFileBytes != 2<<20 || c.Evidence.Retention.D() != 400*24*time.Hour {
		t.Errorf("parsed %+v", c.Evidence)
	}
	for yaml, want := range map[string]string{
		"evidence:\n  max_file_bytes: 1000\n": "c.yaml:2: evidence.max_file_bytes: must be at least 1048576",
		"evidence:\n  retention: 2h\n":        "c.yaml:2: evidence.retention: must be 0 (keep every file) or at least 1d",
		"evidence:\n  retention: soon\n":      "c.yaml:2",
		"evidence:\n  keep: 3\n":              "c.yaml:2",
	} {
		_, err := Parse("c.yaml", []byte(yaml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", yaml, err, want)
		}
	}
}

func TestEvidenceTimestampConfig(t *testing.T) {
	if d := Default().Evidence; d.TimestampURL != "" || d.TimestampTimeout.D() != 10*time.Second {
		t.Errorf("timestamp defaults %+v", d)
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "TSA CA"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	notPEM := filepath.Join(dir, "ca.txt")
	os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600)

	c, err := Parse("c.yaml", []byte("evidence:\n  timestamp_url: https://tsa.example.test/tsr\n  timestamp_timeout: 5s\n  timestamp_ca_file: "+ca+"\n  timestamp_allow_private: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := c.Evidence
	if e.TimestampURL != "https://tsa.example.test/tsr" || e.TimestampTimeout.D() != 5*time.Second || !e.TimestampAllowPrivate {
		t.Errorf("parsed %+v", e)
	}
	if pool, err := e.TimestampRoots(); err != nil || pool == nil {
		t.Errorf("roots: %v", err)
	}
	for yaml, want := range map[string]string{
		"evidence:\n  timestamp_url: tsa.example.test\n":                                       "c.yaml:2: evidence.timestamp_url: expected the http:// or https:// URL",
		"evidence:\n  timestamp_url: ftp://tsa.example.test/\n":                                "c.yaml:2: evidence.timestamp_url: expected",
		"evidence:\n  timestamp_url: https://tsa.test/\n  timestamp_timeout: 0s\n":             "c.yaml:3: evidence.timestamp_timeout: must be more than 0s",
		"evidence:\n  timestamp_url: https://tsa.test/\n  timestamp_timeout: 10m\n":            "c.yaml:3: evidence.timestamp_timeout: must be more than 0s and at most 2m",
		"evidence:\n  timestamp_ca_file: " + ca + "\n":                                         "c.yaml:2: evidence.timestamp_ca_file: set without evidence.timestamp_url",
		"evidence:\n  timestamp_url: https://tsa.test/\n  timestamp_ca_file: /nonexistent\n":   "c.yaml:3: evidence.timestamp_ca_file: expected a readable PEM file",
		"evidence:\n  timestamp_url: https://tsa.test/\n  timestamp_ca_file: " + notPEM + "\n": "no PEM \"CERTIFICATE\" block",
	} {
		_, err := Parse("c.yaml", []byte(yaml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", yaml, err, want)
		}
	}
}

// TestEvidenceDir: evidence.dir defaults to <data_dir>/evidence, is taken
// from data_dir when relative, is for a cluster only, and a mistyped one
// gets one line.
func TestEvidenceDir(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(data, "a-file")
	os.WriteFile(file, []byte("x"), 0o600)
	const cluster = "cluster:\n  store: postgres://riskmine@127.0.0.1:5432/riskmine\n"
	for _, c := range []struct{ dir, want string }{
		{"", filepath.Join(data, "evidence")},
		{"archive", filepath.Join(data, "archive")},
		{"../shared/evidence", filepath.Join(filepath.Dir(data), "shared", "evidence")},
		{"/mnt/riskmine/evidence/", "/mnt/riskmine/evidence"},
	} {
		cfg, err := Parse("c.yaml", []byte("data_dir: "+data+"\nevidence:\n  dir: \""+c.dir+"\"\n"+cluster))
		if err != nil {
			t.Fatalf("dir %q: %v", c.dir, err)
		}
		if got := cfg.EvidenceDir(); got != c.want {
			t.Errorf("dir %q: EvidenceDir() = %s, want %s", c.dir, got, c.want)
		}
	}
	// The embedded mode keeps <data_dir>/evidence, written or not.
	if cfg, err := Parse("c.yaml", []byte("data_dir: "+data+"\nevidence:\n  dir: evidence\n")); err != nil || cfg.EvidenceDir() != filepath.Join(data, "evidence") {
		t.Errorf("embedded, dir evidence: %v", err)
	}
	for yaml, want := range map[string]string{
		"evidence:\n  dir: ~/evidence\n" + cluster:                       "c.yaml:3: evidence.dir: got \"~/evidence\": ~ is not expanded",
		"evidence:\n  dir: .\n" + cluster:                                "c.yaml:3: evidence.dir: got \".\", which is data_dir itself",
		"evidence:\n  dir: " + file + "\n" + cluster:                     "c.yaml:3: evidence.dir: " + file + " is a file; expected a folder",
		"evidence:\n  dir: \"a\\nb\"\n" + cluster:                        "c.yaml:3: evidence.dir: expected a folder path on one line",
		"evidence:\n  node: ../up\n" + cluster:                           "c.yaml:3: evidence.node: got \"../up\", expected 1 to 64 letters",
		"evidence:\n  node: " + strings.Repeat("n", 65) + "\n" + cluster: "c.yaml:3: evidence.node: got",
		"evidence:\n  dir: /mnt/riskmine/evidence\n":                     "c.yaml:3: evidence.dir: is for a cluster (cluster.store)",
		"evidence:\n  node: worker-1\n":                                  "c.yaml:3: evidence.node: is for a cluster (cluster.store)",
	} {
		_, err := Parse("c.yaml", []byte("data_dir: "+data+"\n"+yaml))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want %q", yaml, err, want)
		}
	}
	cfg, err := Parse("c.yaml", []byte("evidence:\n  node: worker-1.example\n"+cluster))
	if err != nil || cfg.Evidence.Node != "worker-1.example" {
		t.Errorf("node: %+v, %v", cfg.Evidence, err)
	}
}
