package main

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
	"time"

	"riskmine/alerts"
	"riskmine/config"
	"riskmine/crawler"
	"riskmine/evidence"
)

// failingArchive fails its first n Puts, as a disk that fills and is then
// cleared would, and otherwise archives for real.
type failingArchive struct {
	*evidence.Archive
	fail atomic.Int32
}

func (f *failingArchive) Put(ctx context.Context, p evidence.Page) (evidence.Entry, bool, error) {
	if f.fail.Add(-1) >= 0 {
		return evidence.Entry{}, false, errors.New("no space left on device")
	}
	return f.Archive.Put(ctx, p)
}

const hazardText = "今天上午，福州市鼓楼区五四路一处老旧小区发生燃气泄漏，气味很大，消防和燃气公司人员迅速赶到现场处置，疏散居民二十余人。"

func capturedPage(url, title, text string) crawler.Page {
	body := fmt.Sprintf("<html><head><title>%s</title></head><body><p>%s</p></body></html>", title, text)
	return crawler.Page{URL: url, CanonicalURL: url, Source: "local", Site: "forum.test", Title: title, Text: text,
		FetchedAt: time.Now(), Capture: &crawler.Capture{Method: "GET", RequestURL: url, Status: 200,
			RequestHeader: http.Header{"User-Agent": {"riskmine"}}, ResponseHeader: http.Header{"Content-Type": {"text/html; charset=utf-8"}},
			Body: []byte(body), FetchedAt: time.Now(), Robots: "allowed"}}
}

// TestPipelineArchivesLeadPages: a page that files a lead is archived
// before Emit returns; when archiving fails Emit fails (the crawler fetches
// the page again) and the next Emit, filed as a duplicate, archives it; a
// page that files no lead is not archived; a source already archived is
// not archived again; a page without a capture files its lead all the same.
func TestPipelineArchivesLeadPages(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	leads, err := alerts.OpenSQLite(filepath.Join(dir, "riskmine.db"), alertsOptions(cfg, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer leads.Close()
	idx, err := openSearchIndex(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	arch, err := openEvidence(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer arch.Close()
	an, err := newAnalyzerFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fa := &failingArchive{Archive: arch}
	fa.fail.Store(1)
	p := newPipeline(pipelineOptions{Analyzer: an, Index: idx, Leads: leads, LeadLevel: cfg.Alerts.LeadLevel, Evidence: fa})
	defer p.Close()

	hazard := capturedPage("http://forum.test/t/1", "小区燃气泄漏", hazardText)
	if err := p.Emit(ctx, hazard); err == nil || !strings.Contains(err.Error(), "archive http://forum.test/t/1: no space left") {
		t.Fatalf("emit with a failing archive: %v", err)
	}
	if has, _ := arch.Has(ctx, hazard.CanonicalURL); has {
		t.Fatal("archived although the archive failed")
	}
	if err := p.Emit(ctx, hazard); err != nil {
		t.Fatalf("emit again: %v", err)
	}
	got, err := arch.ForURLs(ctx, []string{hazard.CanonicalURL})
	if err != nil || len(got) != 1 {
		t.Fatalf("captures after the second emit: %v %d", err, len(got))
	}
	l, err := leads.GetLead(ctx, got[0].LeadID)
	if err != nil || len(l.Sources) != 1 || l.Sources[0].CanonicalURL != hazard.CanonicalURL {
		t.Fatalf("capture's lead: %v %+v", err, l)
	}
	// Seen again (a revisit): not archived a second time.
	hazard.Capture.Body = append(hazard.Capture.Body, []byte("<!-- counter 2 -->")...)
	if err := p.Emit(ctx, hazard); err != nil {
		t.Fatal(err)
	}
	if got, _ := arch.ForURLs(ctx, []string{hazard.CanonicalURL}); len(got) != 1 {
		t.Errorf("a revisited source archived again: %d captures", len(got))
	}
	benign := capturedPage("http://forum.test/t/2", "今日天气", "今天全市天气晴朗，适合出行。")
	if err := p.Emit(ctx, benign); err != nil {
		t.Fatal(err)
	}
	if has, _ := arch.Has(ctx, benign.CanonicalURL); has {
		t.Error("a page that filed no lead was archived")
	}
	bare := capturedPage("http://forum.test/t/3", "工厂车间爆炸", "福州市马尾区一家工厂车间发生爆炸，两名工人受伤被送往医院，现场浓烟滚滚。")
	bare.Capture = nil
	if err := p.Emit(ctx, bare); err != nil {
		t.Fatalf("page without a capture: %v", err)
	}
}

// TestCrawlArchivesAndExportsEvidence runs `riskmine crawl` on a loopback
// site and `riskmine leads export-evidence` on the lead it files.
func TestCrawlArchivesAndExportsEvidence(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><body><a class="item" href="/p/1.html">1</a><a class="item" href="/p/2.html">2</a></body></html>`)
	})
	// The lead's page changes on each visit (a view counter), so the
	// second crawl (revisit 0s) hands it on again as a changed page.
	var views atomic.Int32
	mux.HandleFunc("/p/1.html", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<html><head><title>燃气泄漏通报</title></head><body><h1>燃气泄漏通报</h1><div><p>%s</p><p>%s</p><p>浏览%d次</p></div></body></html>`, hazardText, hazardText, views.Add(1))
	})
	mux.HandleFunc("/p/2.html", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><head><title>天气</title></head><body><h1>天气</h1><div><p>今天全市天气晴朗，适合出行，市民可以去公园散步，也可以去图书馆看书。</p><p>周末的天气预报显示多云转晴，气温在十五到二十三度之间。</p></div></body></html>`)
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
	open, _ := filepath.Glob(filepath.Join(data, "evidence", "*.open"))
	if len(files) != 1 || len(open) != 0 {
		t.Fatalf("evidence files %v, open %v", files, open)
	}
	raw, _ := os.ReadFile(files[0])
	recs, err := evidence.ParseRecords(raw)
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, r := range recs {
		if r.Type == evidence.TypeResponse {
			targets = append(targets, r.TargetURI)
		}
	}
	if len(targets) != 1 || targets[0] != srv.URL+"/p/1.html" {
		t.Fatalf("archived responses %v, want only the lead's page", targets)
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
	// The capture is in the lead's audit trail with the digest and record
	// id of the WARC response record; a second crawl does not repeat it.
	var resp evidence.Record
	for _, r := range recs {
		if r.Type == evidence.TypeResponse {
			resp = r
		}
	}
	if code, _, errs := run("crawl", "local", "--config", cfgPath); code != 0 || views.Load() != 2 {
		t.Fatalf("second crawl: %d, the lead's page fetched %d times: %s", code, views.Load(), errs)
	}
	store, err := alerts.OpenSQLite(filepath.Join(data, "riskmine.db"), alerts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	trail := capturesInTrail(t, store, id)
	store.Close()
	if len(trail) != 1 || trail[0].PayloadDigest != resp.PayloadDigest || trail[0].RecordID != resp.ID ||
		trail[0].File != filepath.Base(files[0]) || trail[0].URL != srv.URL+"/p/1.html" {
		t.Fatalf("captured entries after two crawls: %+v\nWARC response %s %s", trail, resp.PayloadDigest, resp.ID)
	}
	zipPath := filepath.Join(dir, "bundle.zip")
	if code, _, errs := run("leads", "export-evidence", id, "--out", zipPath, "--config", cfgPath); code != 0 || !strings.Contains(errs, "1 archived captures") {
		t.Fatalf("export-evidence: %d %s", code, errs)
	}
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	names := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		names[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	if !strings.Contains(string(names[evidence.BundleReport]), "燃气泄漏通报") || len(names[evidence.BundleWARC]) == 0 || len(names[evidence.BundleManifest]) == 0 {
		t.Errorf("bundle files %v", len(names))
	}
	// The report's timeline states the capture in Chinese with its digest.
	report := string(names[evidence.BundleReport])
	if i := strings.Index(report, "时间线 Timeline"); i < 0 || !strings.Contains(report[i:], "存档页面") ||
		!strings.Contains(report[i:], resp.PayloadDigest) || !strings.Contains(report[i:], html.EscapeString(resp.ID)) {
		t.Errorf("the report's timeline does not state the capture %s", resp.PayloadDigest)
	}
	if code, _, errs := run("leads", "export-evidence", "NOPE", "--config", cfgPath); code != 1 || !strings.Contains(errs, "lead NOPE") {
		t.Errorf("unknown lead: %d %s", code, errs)
	}
	if code, _, _ := run("leads", "export-evidence", "--config", cfgPath); code != 2 {
		t.Errorf("no id: exit %d", code)
	}
}

// TestEvidenceKeep: retention keeps the captures of open leads and of
// leads merged into an open lead, and lets go of the others.
func TestEvidenceKeep(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	leads, err := alerts.OpenSQLite(filepath.Join(t.TempDir(), "riskmine.db"), alertsOptions(cfg, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer leads.Close()
	file := func(n int, cat string) string {
		u := fmt.Sprintf("http://forum.test/t/%d", n)
		res, err := leads.File(ctx, alerts.Candidate{URL: u, CanonicalURL: u, Site: "forum.test", Source: "local",
			Title: fmt.Sprint("帖子", n), Snippet: fmt.Sprint("内容", n), SeenAt: time.Now(), Level: "high", Score: 8,
			SimHash: []uint64{0, 0x0123456789abcdef, 0xfedcba9876543210, 0xf0f0f0f00f0f0f0f}[n], Categories: []alerts.CategoryScore{{Code: cat, Score: 8}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.LeadID
	}
	open, dismissed, merged := file(1, "fire"), file(2, "explosion"), file(3, "drugs")
	if open == dismissed || dismissed == merged || open == merged {
		t.Fatalf("posts joined one lead: %s %s %s", open, dismissed, merged)
	}
	if _, err := leads.Transition(ctx, dismissed, alerts.TransitionRequest{To: alerts.StateDismissed, Actor: "ana", Reason: "误报"}); err != nil {
		t.Fatal(err)
	}
	if _, err := leads.Transition(ctx, merged, alerts.TransitionRequest{To: alerts.StateMerged, Actor: "ana", MergeInto: open}); err != nil {
		t.Fatal(err)
	}
	keep := evidenceKeep(leads)
	for id, want := range map[string]bool{open: true, dismissed: true, merged: true, "NOPE": false, "": false} {
		got, err := keep(ctx, id, "")
		if err != nil || got != want {
			t.Errorf("keep %s: %v %v, want %v", id, got, err, want)
		}
	}
	if _, err := leads.Transition(ctx, open, alerts.TransitionRequest{To: alerts.StateDismissed, Actor: "ana", Reason: "误报"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := keep(ctx, merged, ""); !got {
		t.Error("a lead merged into a lead since dismissed is no longer kept")
	}
}

// TestServeShowsArchivedCopy: serve archives a lead's page through its
// pipeline, and its lead page frames the copy, which is served with the
// copy's CSP.
func TestServeShowsArchivedCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve")
	}
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Web.Addr = "127.0.0.1:0"
	svc, err := startService(ctx, cfg, serviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Shutdown()
	page := capturedPage("http://forum.test/t/9", "小区燃气泄漏", hazardText)
	if err := svc.pipe.Emit(ctx, page); err != nil {
		t.Fatal(err)
	}
	caps, err := svc.evidence.ForURLs(ctx, []string{page.CanonicalURL})
	if err != nil || len(caps) != 1 {
		t.Fatalf("captures: %v %d", err, len(caps))
	}
	if _, err := svc.web.Store().AddUser(ctx, "ana", "correct-horse-battery-1", "analyst"); err != nil {
		t.Fatal(err)
	}
	base := "http://" + svc.Addr()
	c := loginClient(t, base, "ana", "correct-horse-battery-1")
	get := func(p string) (*http.Response, string) {
		resp, err := c.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	frame := fmt.Sprintf("/leads/%s/evidence/%d", caps[0].LeadID, caps[0].ID)
	resp, body := get("/leads/" + caps[0].LeadID)
	if resp.StatusCode != 200 || !strings.Contains(body, `sandbox src="`+frame+`"`) {
		t.Fatalf("lead page %d lacks the frame", resp.StatusCode)
	}
	// The timeline states the capture, in Chinese, with the digest and
	// record id of its WARC response record.
	rec := responseRecord(t, svc.evidence.Dir(), caps[0])
	i := strings.Index(body, `id="timeline"`)
	if i < 0 || !strings.Contains(body[i:], "存档页面") || !strings.Contains(body[i:], "正文 SHA-256 摘要值 "+rec.PayloadDigest+"；WARC 文件 "+caps[0].File) ||
		!strings.Contains(body[i:], html.EscapeString(rec.ID)) {
		t.Errorf("the lead page's timeline does not state the capture %s", rec.PayloadDigest)
	}
	resp, body = get(frame)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
		body != string(page.Capture.Body) {
		t.Errorf("archived copy: %d %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
}

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
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	store, err := alerts.OpenSQLite(filepath.Join(dir, "riskmine.db"), alertsOptions(cfg, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	idx, err := openSearchIndex(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	arch, err := openEvidence(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer arch.Close()
	an, err := newAnalyzerFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	leads := &flakyLeads{SQLStore: store}
	leads.fail.Store(1)
	p := newPipeline(pipelineOptions{Analyzer: an, Index: idx, Leads: leads, LeadLevel: cfg.Alerts.LeadLevel, Evidence: arch})
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
	if ts, err := evidenceTimestamper(cfg, slog.New(slog.DiscardHandler)); ts != nil || err != nil {
		t.Fatalf("no timestamp_url: %v %v", ts, err)
	}
	cfg.TimestampURL = tsa.URL
	ts, err := evidenceTimestamper(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.Stamp(context.Background(), []byte("manifest")); err == nil || hits.Load() != 0 {
		t.Fatalf("a loopback TSA was reached without timestamp_allow_private: %v (%d requests)", err, hits.Load())
	} else {
		t.Log(err)
	}
	cfg.TimestampAllowPrivate = true
	ts, _ = evidenceTimestamper(cfg, slog.New(slog.DiscardHandler))
	if _, _, err := ts.Stamp(context.Background(), []byte("manifest")); err == nil || !strings.Contains(err.Error(), "not a DER TimeStampResp") || hits.Load() != 1 {
		t.Errorf("allowed loopback TSA: %v (%d requests)", err, hits.Load())
	}
	ts.URL = tsa.URL + "/moved"
	if _, _, err := ts.Stamp(context.Background(), []byte("manifest")); err == nil || !strings.Contains(err.Error(), "HTTP 302") {
		t.Errorf("redirect: %v", err)
	}
}
