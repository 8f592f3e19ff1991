package main

// Tests of the audit trail of captures: each capture archived for a lead
// is stated in its timeline (and the bundle report's) with the digest and
// record id its WARC response record carries, once; and of the RFC 3161
// client's reach.

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"riskmine/alerts"
	"riskmine/config"
	"riskmine/evidence"
	"riskmine/pipeline"
	"riskmine/service"
)

// flakyLeads fails its first n RecordCapture calls, as a database that is
// briefly locked or a process that dies between archiving and recording
// would, and otherwise records for real.
type flakyLeads struct {
	*alerts.SQLStore
	fail atomic.Int32
}

func (f *flakyLeads) RecordCapture(ctx context.Context, leadID string, c alerts.CaptureNote) (bool, error) {
	if f.fail.Add(-1) >= 0 {
		return false, errors.New("database is locked")
	}
	return f.SQLStore.RecordCapture(ctx, leadID, c)
}

// capturesInTrail returns the captured entries of a lead's audit trail,
// parsed.
func capturesInTrail(t *testing.T, leads alerts.Store, leadID string) []alerts.CaptureNote {
	t.Helper()
	trail, err := leads.Audit(context.Background(), leadID)
	if err != nil {
		t.Fatal(err)
	}
	var out []alerts.CaptureNote
	for _, a := range trail {
		if a.Action != alerts.ActionCaptured {
			continue
		}
		c, ok := alerts.ParseCaptureNote(a.Note)
		if !ok || a.Actor != "riskmine" {
			t.Fatalf("captured entry by %q with a note that does not parse: %q", a.Actor, a.Note)
		}
		out = append(out, c)
	}
	return out
}

// responseRecord reads the response record of a capture back from its
// WARC file.
func responseRecord(t *testing.T, dir string, e evidence.Entry) evidence.Record {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, e.File))
	if errors.Is(err, os.ErrNotExist) { // the file still being written
		raw, err = os.ReadFile(filepath.Join(dir, e.File+".open"))
	}
	if err != nil {
		t.Fatal(err)
	}
	recs, err := evidence.ParseRecords(raw[e.Offset : e.Offset+e.Length])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Type == evidence.TypeResponse {
			return r
		}
	}
	t.Fatalf("no response record at %s@%d", e.File, e.Offset)
	return evidence.Record{}
}

// TestPipelineRecordsCaptureInAuditTrail: a capture is recorded in its
// lead's audit trail with the digest and record id its WARC response
// record carries; when recording fails the page is not acknowledged, and
// the page coming again (a duplicate) records it once; further visits and
// a new source of the lead do not repeat it, and the new source gets its
// own entry.
func TestPipelineRecordsCaptureInAuditTrail(t *testing.T) {
	ctx := context.Background()
	cfg, store, idx, arch, an := pipelineParts(t)
	leads := &flakyLeads{SQLStore: store}
	leads.fail.Store(1)
	p := pipeline.New(pipeline.Options{Analyzer: an, Index: idx, Leads: leads, LeadLevel: cfg.Alerts.LeadLevel, Evidence: arch})
	defer p.Close()

	hazard := capturedPage("http://forum.test/t/1", "小区燃气泄漏", hazardText)
	if err := p.Emit(ctx, hazard); err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("emit with a failing audit write: %v", err)
	}
	got, err := arch.ForURLs(ctx, []string{hazard.CanonicalURL})
	if err != nil || len(got) != 1 {
		t.Fatalf("captures after the failed recording: %v %d", err, len(got))
	}
	e := got[0]
	if c := capturesInTrail(t, store, e.LeadID); len(c) != 0 {
		t.Fatalf("recorded although the write failed: %+v", c)
	}
	for range 3 { // the retry, then two revisits
		if err := p.Emit(ctx, hazard); err != nil {
			t.Fatalf("emit again: %v", err)
		}
	}
	trail := capturesInTrail(t, store, e.LeadID)
	if len(trail) != 1 {
		t.Fatalf("captured entries after a retry and revisits: %d, want 1: %+v", len(trail), trail)
	}
	rec := responseRecord(t, arch.Dir(), e)
	c := trail[0]
	if c.PayloadDigest != rec.PayloadDigest || c.RecordID != rec.ID || c.File != e.File || c.URL != hazard.CanonicalURL ||
		!c.CapturedAt.Equal(e.CapturedAt) {
		t.Errorf("trail entry %+v\nWARC record %s %s in %s", c, rec.PayloadDigest, rec.ID, e.File)
	}
	if want := "sha256:" + fmt.Sprintf("%x", sha256.Sum256(hazard.Capture.Body)); c.PayloadDigest != want {
		t.Errorf("digest %s, body's SHA-256 %s", c.PayloadDigest, want)
	}

	// A second source joining the lead gets its own entry.
	second := capturedPage("http://forum.test/t/9", "小区燃气泄漏", hazardText+"居民表示现场仍有气味。")
	if err := p.Emit(ctx, second); err != nil {
		t.Fatal(err)
	}
	l, err := store.GetLead(ctx, e.LeadID)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Sources) != 2 {
		t.Fatalf("the second page did not join the lead: %d sources", len(l.Sources))
	}
	trail = capturesInTrail(t, store, e.LeadID)
	if len(trail) != 2 || trail[1].URL != second.CanonicalURL || trail[1].RecordID == trail[0].RecordID {
		t.Errorf("entries after a new source: %+v", trail)
	}
}

// TestEvidenceTimestamperGuard: the TSA client refuses a loopback TSA
// unless timestamp_allow_private is set, as a webhook's does, and does
// not follow a redirect.
func TestEvidenceTimestamperGuard(t *testing.T) {
	var hits atomic.Int32
	tsa := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
			return
		}
		w.Write([]byte("not a timestamp"))
	}))
	defer tsa.Close()
	cfg := config.Default().Evidence
	if ts, err := service.EvidenceTimestamper(cfg, slog.New(slog.DiscardHandler)); ts != nil || err != nil {
		t.Fatalf("no timestamp_url: %v %v", ts, err)
	}
	cfg.TimestampURL = tsa.URL
	ts, err := service.EvidenceTimestamper(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.Stamp(context.Background(), []byte("manifest")); err == nil || hits.Load() != 0 {
		t.Fatalf("a loopback TSA was reached without timestamp_allow_private: %v (%d requests)", err, hits.Load())
	} else {
		t.Log(err)
	}
	cfg.TimestampAllowPrivate = true
	ts, _ = service.EvidenceTimestamper(cfg, slog.New(slog.DiscardHandler))
	if _, _, err := ts.Stamp(context.Background(), []byte("manifest")); err == nil || !strings.Contains(err.Error(), "not a DER TimeStampResp") || hits.Load() != 1 {
		t.Errorf("allowed loopback TSA: %v (%d requests)", err, hits.Load())
	}
	ts.URL = tsa.URL + "/moved"
	if _, _, err := ts.Stamp(context.Background(), []byte("manifest")); err == nil || !strings.Contains(err.Error(), "HTTP 302") {
		t.Errorf("redirect: %v", err)
	}
}

// TestCrawlRecordsCaptureInAuditTrail runs `riskmine crawl` twice on a
// loopback site whose lead page changes on each visit (a view counter; the
// source revisits at once): the capture is in the lead's audit trail with
// the digest and record id of the WARC response record after the first
// run, not repeated by the second (the page comes back as a duplicate),
// and stated in the timeline of the bundle's report.
func TestCrawlRecordsCaptureInAuditTrail(t *testing.T) {
	var views atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><body><a class="item" href="/p/1.html">1</a></body></html>`)
	})
	mux.HandleFunc("/p/1.html", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<html><head><title>燃气泄漏通报</title></head><body><h1>燃气泄漏通报</h1><div><p>%s</p><p>%s</p><p>浏览%d次</p></div></body></html>`, hazardText, hazardText, views.Add(1))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "riskmine.yaml")
	data := filepath.Join(dir, "data")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`data_dir: %s
log: {level: warn}
evidence: {max_file_bytes: 1048576}
crawler:
  timeout: 5s
  sources:
    - name: local
      kind: html
      seeds: ["%s/list"]
      allow_private: true
      delay: 0s
      revisit: 0s
      list: {items: a.item}
`, data, srv.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := runMain(context.Background(), &cmdEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}, args)
		return code, out.String(), errb.String()
	}
	if code, _, errs := run("crawl", "local", "--config", cfgPath); code != 0 {
		t.Fatalf("crawl: %d %s", code, errs)
	}
	files, _ := filepath.Glob(filepath.Join(data, "evidence", "*.warc.gz"))
	if len(files) != 1 {
		t.Fatalf("evidence files %v", files)
	}
	raw, _ := os.ReadFile(files[0])
	recs, err := evidence.ParseRecords(raw)
	if err != nil {
		t.Fatal(err)
	}
	var resp evidence.Record
	for _, r := range recs {
		if r.Type == evidence.TypeResponse {
			resp = r
		}
	}
	code, out, errs := run("leads", "list", "--json", "--config", cfgPath)
	if code != 0 {
		t.Fatalf("leads list: %s", errs)
	}
	var list struct {
		Leads []alerts.Lead `json:"leads"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Leads) != 1 {
		t.Fatalf("leads: %v %s", err, out)
	}
	id := list.Leads[0].ID
	if code, _, errs := run("crawl", "local", "--config", cfgPath); code != 0 || views.Load() != 2 {
		t.Fatalf("second crawl: %d, the lead's page fetched %d times: %s", code, views.Load(), errs)
	}
	store, err := alerts.OpenSQLite(filepath.Join(data, "riskmine.db"), alerts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	trail := capturesInTrail(t, store, id)
	store.Close()
	if len(trail) != 1 || resp.PayloadDigest == "" || trail[0].PayloadDigest != resp.PayloadDigest || trail[0].RecordID != resp.ID ||
		trail[0].File != filepath.Base(files[0]) || trail[0].URL != srv.URL+"/p/1.html" {
		t.Fatalf("captured entries after two crawls: %+v\nWARC response %s %s", trail, resp.PayloadDigest, resp.ID)
	}
	zipPath := filepath.Join(dir, "bundle.zip")
	if code, _, errs := run("leads", "export-evidence", id, "--out", zipPath, "--config", cfgPath); code != 0 {
		t.Fatalf("export-evidence: %d %s", code, errs)
	}
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var report []byte
	for _, f := range zr.File {
		if f.Name == evidence.BundleReport {
			rc, _ := f.Open()
			report, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	// The report's timeline states the capture in Chinese with its digest.
	if i := bytes.Index(report, []byte("时间线 Timeline")); i < 0 || !bytes.Contains(report[i:], []byte("存档页面")) ||
		!bytes.Contains(report[i:], []byte(resp.PayloadDigest)) || !bytes.Contains(report[i:], []byte(html.EscapeString(resp.ID))) {
		t.Errorf("the report's timeline does not state the capture %s", resp.PayloadDigest)
	}
}

// TestServeShowsCaptureInTimeline: the lead page's timeline states the
// capture, in Chinese, with the digest and record id of its WARC response
// record.
func TestServeShowsCaptureInTimeline(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve")
	}
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Web.Addr = "127.0.0.1:0"
	svc, err := service.Start(ctx, cfg, service.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Shutdown()
	page := capturedPage("http://forum.test/t/9", "小区燃气泄漏", hazardText)
	if err := svc.Pipeline().Emit(ctx, page); err != nil {
		t.Fatal(err)
	}
	caps, err := svc.Evidence().ForURLs(ctx, []string{page.CanonicalURL})
	if err != nil || len(caps) != 1 {
		t.Fatalf("captures: %v %d", err, len(caps))
	}
	if _, err := svc.Web().Store().AddUser(ctx, "ana", "correct-horse-battery-1", "analyst"); err != nil {
		t.Fatal(err)
	}
	base := "http://" + svc.Addr()
	c := loginClient(t, base, "ana", "correct-horse-battery-1")
	resp, err := c.Get(base + "/leads/" + caps[0].LeadID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	rec := responseRecord(t, svc.Evidence().Dir(), caps[0])
	i := strings.Index(body, `id="timeline"`)
	if resp.StatusCode != 200 || i < 0 || !strings.Contains(body[i:], "存档页面") ||
		!strings.Contains(body[i:], "正文 SHA-256 摘要值 "+rec.PayloadDigest+"；WARC 文件 "+caps[0].File) ||
		!strings.Contains(body[i:], html.EscapeString(rec.ID)) {
		t.Errorf("the lead page (%d) does not state the capture %s in its timeline", resp.StatusCode, rec.PayloadDigest)
	}
}
