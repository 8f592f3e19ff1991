package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cbwarc "github.com/CorentinB/warc"

	"riskmine/alerts"
	"riskmine/config"
	"riskmine/crawler"
	"riskmine/evidence"
	"riskmine/index"
	"riskmine/nlp"
	"riskmine/pipeline"
	"riskmine/service"
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
	cfg, leads, idx, arch, an := pipelineParts(t)
	fa := &failingArchive{Archive: arch}
	fa.fail.Store(1)
	p := pipeline.New(pipeline.Options{Analyzer: an, Index: idx, Leads: leads, LeadLevel: cfg.Alerts.LeadLevel, Evidence: fa})
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
	// The lead's page comes gzip-encoded: it is archived as it came.
	mux.HandleFunc("/p/1.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		fmt.Fprintf(zw, `<html><head><title>燃气泄漏通报</title></head><body><h1>燃气泄漏通报</h1><div><p>%s</p><p>%s</p></div></body></html>`, hazardText, hazardText)
		zw.Close()
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
			if r.Header.Get("Content-Encoding") != "gzip" || !bytes.HasPrefix(r.RawPayload, []byte{0x1f, 0x8b}) ||
				!strings.Contains(string(r.Payload), "燃气泄漏通报") || r.IPAddress != "127.0.0.1" {
				t.Errorf("response record: %v, raw %q…, IP %q", r.Header, r.RawPayload[:min(8, len(r.RawPayload))], r.IPAddress)
			}
		}
	}
	if len(targets) != 1 || targets[0] != srv.URL+"/p/1.html" {
		t.Fatalf("archived responses %v, want only the lead's page", targets)
	}
	checkRawResponseIndependently(t, files[0])

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
	if l := list.Leads[0]; l.Title != "燃气泄漏通报" || !strings.Contains(l.Summary, "五四路") {
		t.Errorf("lead from the gzip page: %q %q", l.Title, l.Summary)
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
	leads, err := alerts.OpenSQLite(filepath.Join(t.TempDir(), "riskmine.db"), service.AlertsOptions(cfg, nil))
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
	keep := service.EvidenceKeep(leads)
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
	if resp, body := get("/leads/" + caps[0].LeadID); resp.StatusCode != 200 || !strings.Contains(body, `sandbox src="`+frame+`"`) {
		t.Fatalf("lead page %d lacks the frame", resp.StatusCode)
	}
	resp, body := get(frame)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
		body != string(page.Capture.Body) {
		t.Errorf("archived copy: %d %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
}

// checkRawResponseIndependently reads the archive's response record with
// CorentinB/warc (not written for riskmine): its digests verify over the
// bytes as stored, the body is the gzip stream the server sent, with its
// Content-Encoding, and decodes to the page; WARC-IP-Address is loopback.
func checkRawResponseIndependently(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := cbwarc.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	sum := func(b []byte) string { s := sha256.Sum256(b); return "sha256:" + hex.EncodeToString(s[:]) }
	seen := 0
	for {
		rec, err := rd.ReadRecord()
		if rec != nil && rec.Header != nil && rec.Header.Get("WARC-Type") == "response" {
			seen++
			block, rerr := io.ReadAll(rec.Content)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if got := sum(block); got != rec.Header.Get("WARC-Block-Digest") {
				t.Errorf("block digest %s, computed %s", rec.Header.Get("WARC-Block-Digest"), got)
			}
			resp, herr := http.ReadResponse(bufio.NewReader(bytes.NewReader(block)), nil)
			if herr != nil {
				t.Fatal(herr)
			}
			raw, _ := io.ReadAll(resp.Body)
			if got := sum(raw); got != rec.Header.Get("WARC-Payload-Digest") {
				t.Errorf("payload digest %s, computed %s", rec.Header.Get("WARC-Payload-Digest"), got)
			}
			if resp.Header.Get("Content-Encoding") != "gzip" || rec.Header.Get("WARC-IP-Address") != "127.0.0.1" {
				t.Errorf("response %v, WARC-IP-Address %q", resp.Header, rec.Header.Get("WARC-IP-Address"))
			}
			zr, zerr := gzip.NewReader(bytes.NewReader(raw))
			if zerr != nil {
				t.Fatalf("stored body is not gzip: %v", zerr)
			}
			page, _ := io.ReadAll(zr)
			if !strings.Contains(string(page), "燃气泄漏通报") || !strings.Contains(string(page), "五四路") {
				t.Errorf("decoded body %q", page)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if seen != 1 {
		t.Errorf("%d response records read independently, want 1", seen)
	}
}

// pipelineParts opens what a pipeline with an evidence archive runs on, in
// a fresh data folder with the default config; they close when t ends.
func pipelineParts(t *testing.T) (*config.Config, *alerts.SQLStore, *index.Index, *evidence.Archive, *nlp.Analyzer) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	leads, err := alerts.OpenSQLite(filepath.Join(dir, "riskmine.db"), service.AlertsOptions(cfg, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { leads.Close() })
	idx, err := service.OpenIndex(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	arch, err := service.OpenEvidence(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { arch.Close() })
	an, err := service.NewAnalyzer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, leads, idx, arch, an
}

// blockingArchive holds every Put until release is closed.
type blockingArchive struct {
	*evidence.Archive
	entered chan struct{}
	release chan struct{}
}

func (b *blockingArchive) Put(ctx context.Context, p evidence.Page) (evidence.Entry, bool, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.Archive.Put(ctx, p)
}

// TestArchivingDoesNotHoldBackOtherPosts: while a filed page is being
// archived (a slow disk), pages behind it that file no lead are stored,
// indexed and acknowledged; the filed page is acknowledged only once its
// archive holds it.
func TestArchivingDoesNotHoldBackOtherPosts(t *testing.T) {
	ctx := context.Background()
	cfg, leads, idx, arch, an := pipelineParts(t)
	ba := &blockingArchive{Archive: arch, entered: make(chan struct{}, 1), release: make(chan struct{})}
	p := pipeline.New(pipeline.Options{Analyzer: an, Index: idx, Leads: leads, LeadLevel: cfg.Alerts.LeadLevel, Evidence: ba})
	defer p.Close()
	var once sync.Once
	release := func() { once.Do(func() { close(ba.release) }) }
	defer release() // before Close, when the test fails early

	hazard := capturedPage("http://forum.test/t/1", "小区燃气泄漏", hazardText)
	filed := make(chan error, 1)
	go func() { filed <- p.Emit(ctx, hazard) }()
	<-ba.entered
	// The deadline only turns a pipeline that waits for the archive into
	// a failure instead of a hang.
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for i := range 5 {
		benign := capturedPage(fmt.Sprintf("http://forum.test/w/%d", i), "今日天气", "今天全市天气晴朗，适合出行。")
		if err := p.Emit(wait, benign); err != nil {
			t.Fatalf("benign page %d behind a page being archived: %v", i, err)
		}
	}
	select {
	case err := <-filed:
		t.Fatalf("the filed page was acknowledged before its archive held it: %v", err)
	default:
	}
	release()
	if err := <-filed; err != nil {
		t.Fatalf("filed page: %v", err)
	}
	if has, err := arch.Has(ctx, hazard.CanonicalURL); err != nil || !has {
		t.Fatalf("archived after its acknowledgement: %v %v", has, err)
	}
}
