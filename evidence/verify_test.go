package evidence

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cbwarc "github.com/CorentinB/warc"
)

// independentRecord is a record as CorentinB/warc (a WARC library not
// written by the team) reads it.
type independentRecord struct {
	header  map[string]string
	content []byte
}

// readIndependently reads a .warc.gz with CorentinB/warc.
func readIndependently(t *testing.T, r io.Reader) []independentRecord {
	t.Helper()
	rd, err := cbwarc.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var out []independentRecord
	for {
		rec, err := rd.ReadRecord()
		if rec != nil && rec.Header != nil {
			content, rerr := io.ReadAll(rec.Content)
			if rerr != nil {
				t.Fatal(rerr)
			}
			h := map[string]string{}
			for k, v := range rec.Header {
				h[strings.ToLower(k)] = v
			}
			out = append(out, independentRecord{header: h, content: content})
		}
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// checkDigests recomputes every SHA-256 the records claim: the block
// digest over the content, the payload digest over the HTTP body of
// responses (parsed by net/http) and over the block of resources.
func checkDigests(t *testing.T, recs []independentRecord) map[string]int {
	t.Helper()
	types := map[string]int{}
	sum := func(b []byte) string { s := sha256.Sum256(b); return "sha256:" + hex.EncodeToString(s[:]) }
	for i, r := range recs {
		typ := r.header["warc-type"]
		types[typ]++
		if got, want := sum(r.content), r.header["warc-block-digest"]; got != want {
			t.Errorf("record %d (%s): block digest %s, computed %s", i, typ, want, got)
		}
		if cl := r.header["content-length"]; cl != fmt.Sprint(len(r.content)) {
			t.Errorf("record %d (%s): Content-Length %s, content %d bytes", i, typ, cl, len(r.content))
		}
		switch typ {
		case "response":
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(r.content)), nil)
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			body, _ := io.ReadAll(resp.Body)
			if got, want := sum(body), r.header["warc-payload-digest"]; got != want {
				t.Errorf("record %d: payload digest %s, computed %s", i, want, got)
			}
		case "resource":
			if got, want := sum(r.content), r.header["warc-payload-digest"]; got != want {
				t.Errorf("record %d: resource payload digest %s, computed %s", i, want, got)
			}
		}
	}
	return types
}

func TestIndependentReader(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, _ := openTest(t, dir, nil)
	var entries []Entry
	for i := range 3 {
		p := testPage(i, fmt.Sprintf("<html><body>第%d篇 %s</body></html>", i, strings.Repeat("内容", 500*i)))
		if i == 2 {
			p.Capture.RenderedDOM = []byte("<html><body>rendered</body></html>")
			p.Capture.Screenshot = []byte("\x89PNG\r\n\x1a\nfake")
		}
		e, _, err := a.Put(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "evidence", entries[0].File))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs := readIndependently(t, f)
	types := checkDigests(t, recs)
	want := map[string]int{"warcinfo": 1, "request": 3, "response": 3, "metadata": 3, "resource": 2}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Errorf("record types %v, want %v", types, want)
	}
	// The index points at each capture's response record.
	for _, e := range entries {
		sec := io.NewSectionReader(f, e.Offset, e.Length)
		got := readIndependently(t, sec)
		if len(got) == 0 || got[0].header["warc-record-id"] != e.ResponseID || got[0].header["warc-target-uri"] != e.TargetURI {
			t.Errorf("capture %d: offset %d does not start with its response", e.ID, e.Offset)
		}
	}
}

func TestBundle(t *testing.T) {
	ctx := context.Background()
	a, _ := openTest(t, t.TempDir(), nil)
	defer a.Close()
	var entries []Entry
	for i := range 2 {
		p := testPage(i, fmt.Sprint("post ", i))
		if i == 1 {
			p.Capture.Screenshot = []byte("\x89PNG\r\n\x1a\nshot")
		}
		e, _, err := a.Put(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	report := []byte("<!doctype html><title>lead</title>")
	var buf bytes.Buffer
	files, err := a.WriteBundle(ctx, &buf, report, entries, time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	content := map[string][]byte{}
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		content[zf.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	if len(files) != len(content) {
		t.Errorf("%d files listed, %d in the zip", len(files), len(content))
	}
	if !bytes.Equal(content[BundleReport], report) {
		t.Error("report not in the bundle")
	}
	// The manifest lists every other file with its SHA-256.
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(content[BundleManifest])), "\n") {
		sumHex, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("manifest line %q", line)
		}
		s := sha256.Sum256(content[name])
		if hex.EncodeToString(s[:]) != sumHex {
			t.Errorf("manifest: %s digest mismatch", name)
		}
		listed[name] = true
	}
	for name := range content {
		if name != BundleManifest && name != BundleSignature && name != BundlePublicKey && !listed[name] {
			t.Errorf("%s not in the manifest", name)
		}
	}
	// The manifest is signed by the installation's key, which the bundle
	// carries; a changed manifest no longer verifies.
	pub, _ := PublicKeyPEM(a.PublicKey())
	if !bytes.Equal(content[BundlePublicKey], pub) {
		t.Error("the bundle's public key is not the archive's")
	}
	if err := VerifyManifest(content[BundleManifest], content[BundleSignature], content[BundlePublicKey]); err != nil {
		t.Errorf("signature: %v", err)
	}
	forged := append([]byte("0000  report.html\n"), content[BundleManifest]...)
	if err := VerifyManifest(forged, content[BundleSignature], content[BundlePublicKey]); err == nil {
		t.Error("a changed manifest verifies")
	}
	verifyWithOpenSSL(t, content[BundleManifest], content[BundleSignature], content[BundlePublicKey])
	shots := 0
	for name, data := range content {
		if strings.HasPrefix(name, "screenshots/") && strings.HasSuffix(name, ".png") && bytes.HasPrefix(data, []byte("\x89PNG")) {
			shots++
		}
	}
	if shots != 1 {
		t.Errorf("%d screenshots", shots)
	}
	recs := readIndependently(t, bytes.NewReader(content[BundleWARC]))
	types := checkDigests(t, recs)
	if types["warcinfo"] != 1 || types["response"] != 2 || types["resource"] != 1 {
		t.Errorf("bundle WARC types %v", types)
	}
}

// TestBundleRefusesDamagedRecord: a record changed on disk is caught by
// its digest before it goes into a bundle.
func TestBundleRefusesDamagedRecord(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, _ := openTest(t, dir, nil)
	e, _, err := a.Put(ctx, testPage(1, "original text"))
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	// Rewrite the response record with another body but the old digests.
	path := filepath.Join(dir, "evidence", e.File)
	raw, _ := os.ReadFile(path)
	recs, err := ParseRecords(raw[e.Offset : e.Offset+e.Length])
	if err != nil {
		t.Fatal(err)
	}
	forged := bytes.Replace(recs[0].Block, []byte("original text"), []byte("forged   text"), 1)
	var member bytes.Buffer
	if _, err := (record{typ: 2, id: recs[0].ID, target: recs[0].TargetURI, date: recs[0].Date,
		contentType: recs[0].ContentType, fields: [][2]string{{"WARC-Block-Digest", recs[0].BlockDigest},
			{"WARC-Payload-Digest", recs[0].PayloadDigest}}, block: forged}).build(&member); err == nil {
		t.Fatal("gowarc built a record whose digest does not match")
	}
	// The builder refuses, so forge the member by hand.
	plain := bytes.Replace(gunzip(t, raw[e.Offset:e.Offset+e.Length]), []byte("original text"), []byte("forged   text"), 1)
	var z bytes.Buffer
	gzipTo(t, &z, plain)
	out := append(append(append([]byte{}, raw[:e.Offset]...), z.Bytes()...), raw[e.Offset+e.Length:]...)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	a, _ = openTest(t, dir, nil)
	defer a.Close()
	e.Length = int64(z.Len())
	if _, err := a.Records(e); !errors.Is(err, ErrDigest) {
		t.Errorf("forged record read: %v", err)
	}
	if _, err := a.WriteBundle(ctx, io.Discard, nil, []Entry{e}, time.Now()); !errors.Is(err, ErrDigest) {
		t.Errorf("bundle of a forged record: %v", err)
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gzipTo(t *testing.T, w io.Writer, b []byte) {
	t.Helper()
	zw := gzip.NewWriter(w)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// verifyWithOpenSSL checks the signature with a verifier the team did not
// write, when the openssl command is installed (Debian has it).
func verifyWithOpenSSL(t *testing.T, manifest, sig, pub []byte) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Log("openssl not installed: signature checked by Go only")
		return
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{"m": manifest, "s": sig, "p.pem": pub} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(bin, "pkeyutl", "-verify", "-pubin", "-inkey", filepath.Join(dir, "p.pem"), "-rawin",
		"-in", filepath.Join(dir, "m"), "-sigfile", filepath.Join(dir, "s")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Signature Verified Successfully") {
		t.Errorf("openssl does not verify the manifest: %v\n%s", err, out)
	}
}

// TestSigningKeyKept: the installation's key is made once (0600), kept
// across opens, and a damaged key file is refused with its path.
func TestSigningKeyKept(t *testing.T) {
	dir := t.TempDir()
	a, _ := openTest(t, dir, nil)
	first := a.PublicKey()
	a.Close()
	keyDir := filepath.Join(dir, "evidence")
	fi, err := os.Stat(filepath.Join(keyDir, signingKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v", fi, err)
	}
	b, _ := openTest(t, dir, nil)
	if !b.PublicKey().Equal(first) {
		t.Fatal("a second open made a new key")
	}
	b.Close()
	if err := os.WriteFile(filepath.Join(keyDir, signingKeyFile), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = Open(context.Background(), Options{Dir: keyDir, DB: filepath.Join(dir, "x.db")})
	if err == nil || !strings.Contains(err.Error(), signingKeyFile) {
		t.Fatalf("damaged key: %v", err)
	}
}
