package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testTSA is OpenSSL's `openssl ts -reply` behind an HTTP server on
// loopback: a real TSA, signing with a certificate of a CA made for the
// test.
type testTSA struct {
	srv    *httptest.Server
	dir    string
	caFile string
	roots  *x509.CertPool

	mu   sync.Mutex
	last []byte // the last answer, for a replay
}

// openSSL returns the openssl command, or skips the test when it is not
// installed (CI sets RISKMINE_REQUIRE_OPENSSL=1: it must run there).
func openSSL(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("RISKMINE_REQUIRE_OPENSSL") != "" {
			t.Fatal("openssl is required (RISKMINE_REQUIRE_OPENSSL) but not installed")
		}
		t.Skip("openssl not installed (apt-get install openssl): the TSA of this test is `openssl ts -reply`")
	}
	return bin
}

// newCA makes a CA certificate and key.
func newCA(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func pemFile(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func startTSA(t *testing.T) *testTSA {
	t.Helper()
	bin := openSSL(t)
	dir := t.TempDir()
	ca, caKey := newCA(t, "riskmine test TSA CA")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// RFC 3161 §2.3: the TSA's certificate has the one extended key usage
	// timeStamping, marked critical (OpenSSL refuses to sign otherwise).
	eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "riskmine test TSA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	tsa := &testTSA{dir: dir, caFile: filepath.Join(dir, "ca.pem"), roots: x509.NewCertPool()}
	tsa.roots.AddCert(ca)
	pemFile(t, tsa.caFile, "CERTIFICATE", ca.Raw)
	pemFile(t, filepath.Join(dir, "tsa.pem"), "CERTIFICATE", der)
	pemFile(t, filepath.Join(dir, "tsa.key"), "PRIVATE KEY", keyDER)
	os.WriteFile(filepath.Join(dir, "serial"), []byte("01\n"), 0o600)
	conf := fmt.Sprintf(`[ tsa ]
default_tsa = tsa1
[ tsa1 ]
serial = %[1]s/serial
crypto_device = builtin
signer_cert = %[1]s/tsa.pem
certs = %[1]s/ca.pem
signer_key = %[1]s/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`, dir)
	if err := os.WriteFile(filepath.Join(dir, "tsa.cnf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var n int
	tsa.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tsa.mu.Lock()
		defer tsa.mu.Unlock()
		if r.Header.Get("Content-Type") != "application/timestamp-query" {
			http.Error(w, "not a timestamp query", http.StatusUnsupportedMediaType)
			return
		}
		n++
		q, out := filepath.Join(dir, fmt.Sprintf("q%d.tsq", n)), filepath.Join(dir, fmt.Sprintf("r%d.tsr", n))
		body, _ := io.ReadAll(r.Body)
		os.WriteFile(q, body, 0o600)
		if msg, err := exec.Command(bin, "ts", "-reply", "-config", filepath.Join(dir, "tsa.cnf"), "-queryfile", q, "-out", out).CombinedOutput(); err != nil {
			t.Errorf("openssl ts -reply: %v\n%s", err, msg)
			http.Error(w, "tsa failed", http.StatusInternalServerError)
			return
		}
		resp, _ := os.ReadFile(out)
		tsa.last = resp
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write(resp)
	}))
	t.Cleanup(tsa.srv.Close)
	return tsa
}

// bundleWith writes a bundle of one capture with the timestamper and
// returns its files.
func bundleWith(t *testing.T, ts *Timestamper) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	a, _ := openTest(t, t.TempDir(), func(o *Options) { o.Timestamper = ts })
	defer a.Close()
	e, _, err := a.Put(ctx, testPage(1, "仓山区仓库起火"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := a.WriteBundle(ctx, &buf, []byte("<!doctype html><title>lead</title>"), []Entry{e}, time.Now()); err != nil {
		t.Fatalf("bundle: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		files[zf.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	// Whatever the TSA did, the bundle is whole and signed.
	if err := VerifyManifest(files[BundleManifest], files[BundleSignature], files[BundlePublicKey]); err != nil || len(files[BundleWARC]) == 0 {
		t.Fatalf("bundle: %v, %d WARC bytes", err, len(files[BundleWARC]))
	}
	return files
}

// TestTimestampFromOpenSSLTSA: with a TSA configured, the bundle holds the
// TSA's answer for its manifest, which Go and, independently, `openssl ts
// -verify` check against the TSA's CA.
func TestTimestampFromOpenSSLTSA(t *testing.T) {
	tsa := startTSA(t)
	files := bundleWith(t, &Timestamper{URL: tsa.srv.URL, Client: tsa.srv.Client(), Roots: tsa.roots})
	tsr := files[BundleTimestamp]
	if len(tsr) == 0 {
		t.Fatalf("no %s; %s says: %s", BundleTimestamp, BundleTimestampNote, files[BundleTimestampNote])
	}
	ts, err := VerifyTimestamp(tsr, files[BundleManifest], nil, tsa.roots)
	if err != nil || !ts.SignatureVerified || time.Since(ts.Time) > time.Minute {
		t.Fatalf("verify the bundle's token: %+v %v", ts, err)
	}
	t.Logf("%s:\n%s", BundleTimestampNote, files[BundleTimestampNote])
	if note := string(files[BundleTimestampNote]); !strings.Contains(note, "verified against the configured CA") || !strings.Contains(note, "riskmine test TSA") {
		t.Errorf("%s: %s", BundleTimestampNote, note)
	}
	// The token is for this manifest only.
	if _, err := VerifyTimestamp(tsr, append([]byte("x"), files[BundleManifest]...), nil, tsa.roots); err == nil {
		t.Error("the token verifies for another manifest")
	}
	// A changed signature (the token's last bytes) does not verify.
	forged := bytes.Clone(tsr)
	forged[len(forged)-3] ^= 0x01
	if _, err := VerifyTimestamp(forged, files[BundleManifest], nil, tsa.roots); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("a changed signature: %v", err)
	}
	// Another CA does not vouch for it.
	otherCA, _ := newCA(t, "another CA")
	pool := x509.NewCertPool()
	pool.AddCert(otherCA)
	if _, err := VerifyTimestamp(tsr, files[BundleManifest], nil, pool); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("verified against a CA that did not sign the TSA: %v", err)
	}

	// An independent check: OpenSSL verifies the bundle's files.
	dir := t.TempDir()
	for _, name := range []string{BundleManifest, BundleTimestamp} {
		os.WriteFile(filepath.Join(dir, name), files[name], 0o600)
	}
	out, err := exec.Command(openSSL(t), "ts", "-verify", "-data", filepath.Join(dir, BundleManifest),
		"-in", filepath.Join(dir, BundleTimestamp), "-CAfile", tsa.caFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Errorf("openssl ts -verify: %v\n%s", err, out)
	}
}

// TestTimestampFailuresKeepTheBundle: a TSA that is down, one answering
// garbage, one replaying an old answer (another imprint and nonce) and
// one signing with a certificate the configured CA did not issue: each
// bundle is written without a token, says why in timestamp.txt, and one
// line is logged.
func TestTimestampFailuresKeepTheBundle(t *testing.T) {
	tsa := startTSA(t)
	// A first, good exchange gives the replay its answer.
	bundleWith(t, &Timestamper{URL: tsa.srv.URL, Client: tsa.srv.Client(), Roots: tsa.roots})
	tsa.mu.Lock()
	old := tsa.last
	tsa.mu.Unlock()

	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write([]byte("<html>maintenance</html>"))
	}))
	defer garbage.Close()
	replay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write(old)
	}))
	defer replay.Close()
	otherCA, _ := newCA(t, "another CA")
	otherRoots := x509.NewCertPool()
	otherRoots.AddCert(otherCA)

	for _, c := range []struct {
		name, url string
		roots     *x509.CertPool
		want      string
	}{
		{"down", downURL, tsa.roots, "connect"},
		{"garbage", garbage.URL, tsa.roots, "not a DER TimeStampResp"},
		{"replay", replay.URL, tsa.roots, "message imprint"},
		{"untrusted", tsa.srv.URL, otherRoots, "the TSA's certificate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			files := bundleWith(t, &Timestamper{URL: c.url, Client: &http.Client{Timeout: 5 * time.Second}, Roots: c.roots,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if _, ok := files[BundleTimestamp]; ok {
				t.Errorf("a token was kept")
			}
			note := string(files[BundleTimestampNote])
			if !strings.Contains(note, "No RFC 3161 timestamp") || !strings.Contains(note, c.want) {
				t.Errorf("%s: %s", BundleTimestampNote, note)
			}
			if lines := strings.Count(logs.String(), "\n"); lines != 1 || !strings.Contains(logs.String(), "without a timestamp") {
				t.Errorf("log: %s", logs.String())
			}
		})
	}
}

// TestTimestampRefusal: a TSA's refusal (here OpenSSL's own answer to a
// query with a digest it does not accept) is reported with its status and
// reason.
func TestTimestampRefusal(t *testing.T) {
	tsa := startTSA(t)
	bin := openSSL(t)
	data := filepath.Join(tsa.dir, "data")
	os.WriteFile(data, []byte("manifest"), 0o600)
	q, r := filepath.Join(tsa.dir, "sha1.tsq"), filepath.Join(tsa.dir, "sha1.tsr")
	for _, args := range [][]string{
		{"ts", "-query", "-data", data, "-sha1", "-cert", "-out", q},
		{"ts", "-reply", "-config", filepath.Join(tsa.dir, "tsa.cnf"), "-queryfile", q, "-out", r},
	} {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	resp, _ := os.ReadFile(r)
	_, err := VerifyTimestamp(resp, []byte("manifest"), nil, tsa.roots)
	if err == nil || !strings.Contains(err.Error(), "refused the request: status 2") {
		t.Errorf("refusal: %v", err)
	}
	t.Log(err)
}

// FuzzVerifyTimestamp: a TSA's answer is outside input; whatever it is,
// checking it returns an error or a result, never a panic, and never
// accepts an answer without a token.
func FuzzVerifyTimestamp(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("<html>maintenance</html>"))
	f.Add([]byte{0x30, 0x03, 0x30, 0x01, 0x02})
	f.Add([]byte{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00})
	f.Add([]byte{0x30, 0x0a, 0x30, 0x03, 0x02, 0x01, 0x00, 0x30, 0x03, 0x06, 0x01, 0x2a})
	roots := x509.NewCertPool()
	f.Fuzz(func(t *testing.T, resp []byte) {
		for _, r := range []*x509.CertPool{nil, roots} {
			if ts, err := VerifyTimestamp(resp, []byte("manifest"), big.NewInt(7), r); err == nil && ts == nil {
				t.Fatal("no error and no timestamp")
			}
		}
	})
}
