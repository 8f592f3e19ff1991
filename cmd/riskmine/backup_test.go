package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"riskmine/alerts"
	"riskmine/config"
	"riskmine/crawler"
	"riskmine/evidence"
	"riskmine/index"
	"riskmine/service"
	"riskmine/web"
)

// riskyPage is a fire report that becomes a lead; n makes it a new post.
// It carries the capture of its fetch, so serve archives it.
func riskyPage(n int) crawler.Page {
	now := time.Now().UTC()
	u := fmt.Sprintf("https://news.test/p/%d", n)
	title := fmt.Sprintf("仓山区第%d仓库发生火灾", n)
	text := "今天下午仓山区一仓库起火，浓烟滚滚，消防车已赶到现场灭火，暂无人员伤亡。"
	body := fmt.Sprintf("<html><head><title>%s</title></head><body><p>%s</p></body></html>", title, text)
	return crawler.Page{URL: u, CanonicalURL: u, Source: "news", Site: "news.test", Title: title, Text: text,
		PublishedAt: now, FetchedAt: now, ContentHash: fmt.Sprintf("h%d", n),
		Capture: &crawler.Capture{Method: "GET", RequestURL: u, Status: 200, RequestHeader: http.Header{"User-Agent": {"riskmine"}},
			ResponseHeader: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, Body: []byte(body), FetchedAt: now, Robots: "allowed"}}
}

// runBoth runs a subcommand and returns its exit code and its output,
// stdout and stderr together.
func runBoth(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, out, errOut := runCmd(t, "", args...)
	return code, out + errOut
}

func leadCount(t *testing.T, s alerts.Store) int {
	t.Helper()
	_, total, err := s.ListLeads(context.Background(), alerts.LeadFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// TestBackupWhileServingThenRestore backs up a running serve while posts
// keep arriving, restores the copy into a new data folder, starts serve on
// it and finds the data; then backs up the stopped data folder offline.
func TestBackupWhileServingThenRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve")
	}
	ctx := context.Background()
	dataDir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.Web.Addr = "127.0.0.1:0"
	svc, err := service.Start(ctx, cfg, service.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			svc.Shutdown()
		}
	}()
	const before = 12
	for i := range before {
		if err := svc.Pipeline().Emit(ctx, riskyPage(i)); err != nil {
			t.Fatal(err)
		}
	}
	leadsBefore := leadCount(t, svc.Leads())
	if leadsBefore == 0 {
		t.Fatal("no lead filed before the backup")
	}
	archived, err := svc.Evidence().ForURLs(ctx, []string{riskyPage(0).CanonicalURL})
	if err != nil || len(archived) != 1 {
		t.Fatalf("the first page's capture: %v %d", err, len(archived))
	}
	fingerprint := evidence.KeyFingerprint(svc.Evidence().PublicKey())

	// Posts keep arriving during the backup.
	var written atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := before; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := svc.Pipeline().Emit(ctx, riskyPage(i)); err != nil {
				t.Error(err)
				return
			}
			written.Add(1)
		}
	})
	for written.Load() < 3 {
		time.Sleep(10 * time.Millisecond)
	}
	dest := filepath.Join(t.TempDir(), "backup-1")
	code, out := runBoth(t, "backup", "--data", dataDir, dest)
	close(stop)
	wg.Wait()
	if code != 0 || !strings.Contains(out, "from the running serve") || !strings.Contains(out, "evidence ") {
		t.Fatalf("backup while serving: exit %d: %s", code, out)
	}
	// The file being written was copied sealed, and the signing key kept
	// private.
	if open, _ := filepath.Glob(filepath.Join(dest, "evidence", "*.open")); len(open) != 0 {
		t.Errorf("open files in the backup: %v", open)
	}
	if fi, err := os.Stat(filepath.Join(dest, "evidence", "signing-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("signing key in the backup: %v %v", fi, err)
	}
	t.Logf("%s(%d posts written while it ran)", out, written.Load())
	if _, err := os.Stat(dest + ".partial"); !os.IsNotExist(err) {
		t.Fatalf("the partial copy is left: %v", err)
	}
	// serve goes on after the backup.
	if err := svc.Pipeline().Emit(ctx, riskyPage(100000)); err != nil {
		t.Fatalf("serve after the backup: %v", err)
	}
	if code, out := runBoth(t, "backup", "--data", dataDir, dest); code == 0 || !strings.Contains(out, "not empty") {
		t.Fatalf("backup into a full folder: exit %d: %s", code, out)
	}

	// Restore into a new data folder, refusing one that holds data.
	if code, out := runBoth(t, "restore", "--data", dataDir, dest); code == 0 || !strings.Contains(out, "already holds") {
		t.Fatalf("restore over live data: exit %d: %s", code, out)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	code, out = runBoth(t, "restore", "--data", restored, dest)
	if code != 0 || !strings.Contains(out, "restored") {
		t.Fatalf("restore: exit %d: %s", code, out)
	}
	t.Log(out)
	cfg2 := config.Default()
	cfg2.DataDir = restored
	cfg2.Web.Addr = "127.0.0.1:0"
	svc2, err := service.Start(ctx, cfg2, service.Options{})
	if err != nil {
		t.Fatalf("serve on the restored data: %v", err)
	}
	var m service.BackupManifest
	if raw, err := os.ReadFile(filepath.Join(dest, service.BackupManifestFile)); err != nil || json.Unmarshal(raw, &m) != nil || !m.Online {
		t.Fatalf("manifest %s: %+v %v", raw, m, err)
	}
	docs, err := svc2.Index().Count()
	if err != nil || docs < before || docs != m.IndexDocuments {
		t.Errorf("restored index holds %d posts (%v), want at least the %d stored before the backup and the %d the backup counted", docs, err, before, m.IndexDocuments)
	}
	res, err := svc2.Index().Search(ctx, index.Query{Text: "火灾"})
	if err != nil || res.Total < before {
		t.Errorf("search in the restored index: %v %v", res, err)
	}
	if n := leadCount(t, svc2.Leads()); n < leadsBefore {
		t.Errorf("restored database holds %d leads, want at least %d", n, leadsBefore)
	}
	checkRestoredEvidence(t, svc2, archived[0], fingerprint, m.Evidence)
	if err := svc2.Shutdown(); err != nil {
		t.Fatal(err)
	}

	// With serve stopped, the backup opens the data folder itself.
	if err := svc.Shutdown(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	dest2 := filepath.Join(t.TempDir(), "backup-2")
	if code, out := runBoth(t, "backup", "--data", dataDir, dest2); code != 0 || !strings.Contains(out, "offline") {
		t.Fatalf("offline backup: exit %d: %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dest2, "riskmine.db")); err != nil {
		t.Fatal(err)
	}
	var m2 service.BackupManifest
	if raw, err := os.ReadFile(filepath.Join(dest2, service.BackupManifestFile)); err != nil || json.Unmarshal(raw, &m2) != nil ||
		m2.Evidence == nil || m2.Evidence.Captures < m.Evidence.Captures || !m2.Evidence.Key {
		t.Fatalf("offline backup's evidence: %s %v", raw, err)
	}
}

// checkRestoredEvidence: in serve started on a restored backup, every
// capture reads back with its digests, the capture taken before the backup
// is there, and the bundle of its lead is signed with the installation's
// key of before the backup and verifies.
func checkRestoredEvidence(t *testing.T, svc *service.Service, before evidence.Entry, fingerprint string, rep *evidence.BackupReport) {
	t.Helper()
	ctx := context.Background()
	if rep == nil || rep.Files == 0 || rep.Captures == 0 || !rep.Key {
		t.Fatalf("the backup's manifest says of the evidence: %+v", rep)
	}
	if got := evidence.KeyFingerprint(svc.Evidence().PublicKey()); got != fingerprint {
		t.Errorf("restored signing key %s, the installation's %s", got, fingerprint)
	}
	caps, err := svc.Evidence().ForURLs(ctx, []string{before.URL})
	if err != nil || len(caps) != 1 || caps[0].ResponseID != before.ResponseID || caps[0].PayloadDigest != before.PayloadDigest {
		t.Fatalf("restored capture of %s: %v %+v", before.URL, err, caps)
	}
	raw, err := svc.Evidence().Raw(caps[0])
	if err != nil {
		t.Fatal(err)
	}
	recs, err := evidence.ParseRecords(raw)
	if err != nil {
		t.Fatalf("restored records: %v", err)
	}
	found := false
	for _, r := range recs {
		found = found || (r.Type == evidence.TypeResponse && r.ID == before.ResponseID && r.PayloadDigest == before.PayloadDigest)
	}
	if !found {
		t.Errorf("the restored records lack the response %s", before.ResponseID)
	}
	lead, err := svc.Leads().GetLead(ctx, before.LeadID)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := svc.Leads().Audit(ctx, lead.ID)
	if err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	n, err := web.WriteEvidenceBundle(ctx, &zipped, svc.Evidence(), lead, audit, time.UTC, time.Now())
	if err != nil || n == 0 {
		t.Fatalf("bundle from the restored archive: %d %v", n, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(zipped.Bytes()), int64(zipped.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	if err := evidence.VerifyManifest(files[evidence.BundleManifest], files[evidence.BundleSignature], files[evidence.BundlePublicKey]); err != nil {
		t.Errorf("restored bundle: %v", err)
	}
	if !strings.Contains(string(files[evidence.BundleManifest]), evidence.BundleWARC) {
		t.Errorf("restored bundle has no WARC records: %s", files[evidence.BundleManifest])
	}
}

// TestRestoreChecksEvidence: restore refuses a backup whose WARC records
// were altered, leaving the data folder empty, and restores a backup that
// holds no evidence archive (taken before backups held it).
func TestRestoreChecksEvidence(t *testing.T) {
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
	for i := range 3 {
		if err := svc.Pipeline().Emit(ctx, riskyPage(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Shutdown(); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "backup")
	if code, out := runBoth(t, "backup", "--data", cfg.DataDir, dest); code != 0 || !strings.Contains(out, "offline") || !strings.Contains(out, "3 captures") {
		t.Fatalf("offline backup: exit %d: %s", code, out)
	}
	files, _ := filepath.Glob(filepath.Join(dest, "evidence", "*.warc.gz"))
	if len(files) != 1 {
		t.Fatalf("WARC files in the backup: %v", files)
	}
	raw, _ := os.ReadFile(files[0])
	good := bytes.Clone(raw)
	raw[len(raw)-40] ^= 0x20 // inside the last record
	os.WriteFile(files[0], raw, 0o600)
	target := filepath.Join(t.TempDir(), "data")
	if code, out := runBoth(t, "restore", "--data", target, dest); code == 0 || !strings.Contains(out, "the evidence archive of") {
		t.Fatalf("restore of an altered archive: exit %d: %s", code, out)
	}
	if left, _ := os.ReadDir(target); len(left) != 0 {
		t.Fatalf("a refused restore left %d entries in the data folder", len(left))
	}
	os.WriteFile(files[0], good, 0o600)
	os.RemoveAll(filepath.Join(dest, "evidence"))
	if code, out := runBoth(t, "restore", "--data", target, dest); code != 0 || !strings.Contains(out, "no evidence archive in the backup") {
		t.Fatalf("restore without an archive: exit %d: %s", code, out)
	}
}
