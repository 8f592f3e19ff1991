package web

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmine/alerts"
	"riskmine/evidence"
)

// evidenceWorld is a server with a lead store and an evidence archive
// holding a hostile archived page: scripts, inline handlers, and images,
// styles, frames and fetches aimed at an "outside" server that counts
// every request it gets.
type evidenceWorld struct {
	*testEnv
	leads   *alerts.SQLStore
	archive *evidence.Archive
	outside *httptest.Server
	mu      sync.Mutex
	hits    []string
	lead    string // the lead with an archived source
	bare    string // a lead whose source has no archived copy
	capture evidence.Entry
	body    []byte
}

func (w *evidenceWorld) outsideHits() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.hits...)
}

func newEvidenceWorld(t *testing.T, withArchive bool) *evidenceWorld {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "riskmine.db")
	w := &evidenceWorld{}
	w.outside = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.hits = append(w.hits, r.URL.Path)
		w.mu.Unlock()
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(w.outside.Close)
	var err error
	w.leads, err = alerts.OpenSQLite(db, alerts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.leads.Close() })
	file := func(url, title, text string) string {
		res, err := w.leads.File(ctx, alerts.Candidate{URL: url, CanonicalURL: url, Site: "forum.example", Source: "forum",
			Title: title, Snippet: text, SeenAt: time.Now(), Level: "high", Score: 0.9,
			Categories: []alerts.CategoryScore{{Code: "explosion", Score: 0.9}},
			Evidence:   []alerts.Evidence{{Rule: "explosion/爆炸", Category: "explosion", Field: "text", Text: "爆炸", Start: 3, End: 5, Weight: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.LeadID
	}
	pageURL := "http://forum.example/t/1"
	w.lead = file(pageURL, "化工厂爆炸", "化工厂爆炸，联系人电话13812345678")
	w.bare = file("http://forum.example/t/2", "仓库爆炸", "某仓库爆炸起火")
	o := w.outside.URL
	w.body = []byte(`<!doctype html><html><head><meta charset="utf-8"><title>archived</title>
<link rel="stylesheet" href="` + o + `/style.css"><style>p{color:#333}</style>
<script src="` + o + `/script.js"></script>
<script>document.documentElement.setAttribute("data-ran","1");fetch("` + o + `/fetch");new Image().src="` + o + `/beacon";</script>
</head><body><p id="marker">化工厂爆炸，联系人电话13812345678</p>
<img src="` + o + `/img.png" onerror="document.documentElement.setAttribute('data-ran','2')">
<img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7">
<iframe src="` + o + `/frame"></iframe><object data="` + o + `/object"></object>
<form action="` + o + `/form"><input name=q></form>
<a id="go" href="` + o + `/link">link</a>
</body></html>`)
	var deps Deps
	deps.Leads = w.leads
	if withArchive {
		w.archive, _, err = evidence.Open(ctx, evidence.Options{Dir: filepath.Join(dir, "evidence"), DB: db, Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.archive.Close() })
		w.capture, _, err = w.archive.Put(ctx, evidence.Page{LeadID: w.lead, URL: pageURL, Source: "forum", Capture: evidence.Capture{
			Method: "GET", RequestURL: pageURL, RequestHeader: http.Header{"User-Agent": {"riskmine-test"}},
			Status: 200, ResponseHeader: http.Header{"Content-Type": {"text/html; charset=utf-8"}},
			Body: w.body, FetchedAt: time.Date(2026, 12, 5, 8, 30, 0, 0, time.UTC), Robots: "allowed",
		}})
		if err != nil {
			t.Fatal(err)
		}
		deps.Evidence = w.archive
	}
	w.testEnv = newTestEnv(t, Options{DBPath: db}, deps)
	return w
}

func (w *evidenceWorld) copyPath() string {
	return fmt.Sprintf("/leads/%s/evidence/%d", w.lead, w.capture.ID)
}

func TestArchivedCopyHeadersAndBody(t *testing.T) {
	w := newEvidenceWorld(t, true)
	c := w.login("ana")
	resp := c.get(w.copyPath())
	got := []byte(readAll(t, resp))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	h := resp.Header
	if h.Get("Content-Security-Policy") != "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox" {
		t.Errorf("CSP %q", h.Get("Content-Security-Policy"))
	}
	for k, want := range map[string]string{
		"X-Frame-Options": "SAMEORIGIN", "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
		"Referrer-Policy": "no-referrer", "Content-Type": "text/html; charset=utf-8",
		"X-Riskmine-Payload-Digest": w.capture.PayloadDigest, "X-Riskmine-Captured-At": "2026-12-05T08:30:00Z",
	} {
		if h.Get(k) != want {
			t.Errorf("%s: %q, want %q", k, h.Get(k), want)
		}
	}
	// Evidence is served exactly as captured: not masked, not rewritten.
	if !bytes.Equal(got, w.body) {
		t.Errorf("body changed:\n%s", got)
	}
	if sum := sha256.Sum256(got); h.Get("X-Riskmine-Served-SHA256") != hex.EncodeToString(sum[:]) {
		t.Errorf("X-Riskmine-Served-SHA256 %q is not the digest of the bytes served", h.Get("X-Riskmine-Served-SHA256"))
	}
	sum := sha256.Sum256(got)
	if "sha256:"+hex.EncodeToString(sum[:]) != w.capture.PayloadDigest {
		t.Error("served body does not match its payload digest")
	}
	// A capture of another lead's source is not served under this lead.
	if r := c.get(fmt.Sprintf("/leads/%s/evidence/%d", w.bare, w.capture.ID)); r.StatusCode != http.StatusNotFound {
		t.Errorf("capture under another lead: %d", r.StatusCode)
	}
	for _, p := range []string{fmt.Sprintf("/leads/%s/evidence/999", w.lead), fmt.Sprintf("/leads/%s/evidence/x", w.lead), "/leads/nope/evidence/1"} {
		if r := c.get(p); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", p, r.StatusCode)
		}
	}
	if r := c.get(w.copyPath() + "/screenshot"); r.StatusCode != http.StatusNotFound {
		t.Errorf("screenshot of an unrendered capture: %d", r.StatusCode)
	}
	// The opening is in the read audit, as unmasked personal data.
	w.srv.reads.flush()
	reads, _, err := w.srv.store.Reads(context.Background(), ReadFilter{User: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range reads {
		if r.Kind == ReadView && r.Target == w.lead && r.PII && strings.Contains(r.Filters, fmt.Sprint("archived_copy=", w.capture.ID)) {
			found = true
		}
	}
	if !found {
		t.Errorf("archived copy not in the read audit: %+v", reads)
	}
}

func TestLeadPageArchivedCopyByRole(t *testing.T) {
	w := newEvidenceWorld(t, true)
	ana := w.login("ana")
	body := ana.getBody("/leads/" + w.lead)
	for _, want := range []string{
		`<iframe class="archived-frame" sandbox src="` + w.copyPath() + `"`,
		w.capture.PayloadDigest, w.capture.BlockDigest, `id="evidence-bundle"`,
		evidence.KeyFingerprint(w.archive.PublicKey()),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("analyst's lead page lacks %q", want)
		}
	}
	if strings.Contains(body, "allow-scripts") || strings.Contains(body, "allow-same-origin") {
		t.Error("the frame's sandbox allows something")
	}
	// A viewer (masked data) sees that a copy exists, not the copy.
	viv := w.login("viv")
	body = viv.getBody("/leads/" + w.lead)
	if !strings.Contains(body, w.capture.PayloadDigest) || strings.Contains(body, "<iframe") || strings.Contains(body, "evidence-bundle") {
		t.Error("viewer's lead page: digest missing, or frame or bundle offered")
	}
	if !strings.Contains(body, "仅可查看未脱敏个人信息的角色可以打开") {
		t.Error("viewer not told why the copy is not shown")
	}
	for _, p := range []string{w.copyPath(), "/leads/" + w.lead + "/evidence.zip"} {
		if r := viv.get(p); r.StatusCode != http.StatusForbidden {
			t.Errorf("viewer %s: %d", p, r.StatusCode)
		}
	}
	// A source with no capture says so.
	body = ana.getBody("/leads/" + w.bare)
	if !strings.Contains(body, "此来源没有存档副本") || strings.Contains(body, "<iframe") {
		t.Error("lead without a capture: no notice, or a frame")
	}
	// Logged out: the login page, not the copy.
	if r := w.client().get(w.copyPath()); r.StatusCode != http.StatusSeeOther {
		t.Errorf("anonymous: %d", r.StatusCode)
	}
}

func TestLeadPageWithoutArchive(t *testing.T) {
	w := newEvidenceWorld(t, false)
	c := w.login("ana")
	body := c.getBody("/leads/" + w.lead)
	if !strings.Contains(body, "未启用证据存档") || strings.Contains(body, "<iframe") || strings.Contains(body, "evidence-bundle") {
		t.Error("archive off: no notice, or a frame or bundle")
	}
	if r := c.get("/leads/" + w.lead + "/evidence/1"); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("copy with the archive off: %d", r.StatusCode)
	}
}

func TestEvidenceBundleDownload(t *testing.T) {
	w := newEvidenceWorld(t, true)
	ctx := context.Background()
	if _, err := w.leads.AddNote(ctx, w.lead, "ana", "已电话核实，现场有浓烟"); err != nil {
		t.Fatal(err)
	}
	c := w.login("ana")
	resp := c.get("/leads/" + w.lead + "/evidence.zip")
	data := []byte(readAll(t, resp))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "riskmine-evidence-"+w.lead) {
		t.Fatalf("status %d %v", resp.StatusCode, resp.Header)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	report := string(files[evidence.BundleReport])
	for _, want := range []string{"化工厂爆炸", `<mark title="explosion/爆炸">爆炸</mark>`, "已电话核实，现场有浓烟", "13812345678",
		w.capture.PayloadDigest, "created"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(report, "<script") {
		t.Error("report has a script")
	}
	recs, err := evidence.ParseRecords(files[evidence.BundleWARC])
	if err != nil {
		t.Fatal(err)
	}
	resp2, ok := evidence.Response(recs)
	if !ok || !bytes.Equal(resp2.Payload, w.body) {
		t.Error("bundle's response record is not the archived page")
	}
	for _, line := range strings.Split(strings.TrimSpace(string(files[evidence.BundleManifest])), "\n") {
		sum, name, _ := strings.Cut(line, "  ")
		s := sha256.Sum256(files[name])
		if hex.EncodeToString(s[:]) != sum {
			t.Errorf("manifest: %s", name)
		}
	}
	w.srv.reads.flush()
	reads, _, err := w.srv.store.Reads(ctx, ReadFilter{Kind: ReadExport})
	if err != nil || len(reads) != 1 || reads[0].Target != "evidence_bundle" || reads[0].Filters != "lead="+w.lead || !reads[0].PII || reads[0].Rows != 1 {
		t.Errorf("bundle not audited: %v %+v", err, reads)
	}
}
