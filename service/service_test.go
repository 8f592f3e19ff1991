package service

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"riskmine/alerts"
	"riskmine/config"
	"riskmine/crawler"
)

// TestStartServeStopStartAgain starts the service on a new data folder,
// checks that it answers /healthz and /readyz, files and indexes a risky
// page through its pipeline with the page archived, stops it, and starts
// it again on the same folder: the stores were closed and released (the
// index is locked while open), and what was stored is still there.
func TestStartServeStopStartAgain(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Web.Addr = "127.0.0.1:0"

	svc, err := Start(ctx, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			svc.Shutdown()
		}
	})
	base := "http://" + svc.Addr()
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != want {
			t.Errorf("%s: %d %q, want 200 %q", path, resp.StatusCode, body, want)
		}
	}

	now := time.Now().UTC()
	u := "https://news.test/p/1"
	title := "仓山区一仓库发生火灾"
	text := "今天下午仓山区一仓库起火，浓烟滚滚，消防车已赶到现场灭火，暂无人员伤亡。"
	body := fmt.Sprintf("<html><head><title>%s</title></head><body><p>%s</p></body></html>", title, text)
	page := crawler.Page{URL: u, CanonicalURL: u, Source: "news", Site: "news.test", Title: title, Text: text,
		PublishedAt: now, FetchedAt: now, ContentHash: "h1",
		Capture: &crawler.Capture{Method: "GET", RequestURL: u, Status: 200, RequestHeader: http.Header{"User-Agent": {"riskmine"}},
			ResponseHeader: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, Body: []byte(body), FetchedAt: now, Robots: "allowed"}}
	if err := svc.Pipeline().Emit(ctx, page); err != nil {
		t.Fatal(err)
	}
	if err := svc.Index().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.Index().Count(); err != nil || n != 1 {
		t.Fatalf("index holds %d posts (%v), want 1", n, err)
	}
	if _, total, err := svc.Leads().ListLeads(ctx, alerts.LeadFilter{}); err != nil || total != 1 {
		t.Fatalf("%d leads (%v), want 1", total, err)
	}
	if svc.Evidence() == nil {
		t.Fatal("no evidence archive with evidence.enabled on by default")
	}
	if caps, err := svc.Evidence().ForURLs(ctx, []string{u}); err != nil || len(caps) != 1 {
		t.Fatalf("%d captures (%v), want 1", len(caps), err)
	}

	if err := svc.Shutdown(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	stopped = true
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the web server still answers after shutdown")
	}

	again, err := Start(ctx, cfg, Options{})
	if err != nil {
		t.Fatalf("start again on the same data folder: %v", err)
	}
	defer func() {
		if err := again.Shutdown(); err != nil {
			t.Errorf("second shutdown: %v", err)
		}
	}()
	if n, err := again.Index().Count(); err != nil || n != 1 {
		t.Errorf("after a restart the index holds %d posts (%v), want 1", n, err)
	}
	if _, total, err := again.Leads().ListLeads(ctx, alerts.LeadFilter{}); err != nil || total != 1 {
		t.Errorf("after a restart %d leads (%v), want 1", total, err)
	}
}

func TestBackupRefusedOnPostgres(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Cluster.Store = "postgres://riskmine@127.0.0.1:1/riskmine"
	if _, err := Backup(context.Background(), cfg, t.TempDir()); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("backup of a PostgreSQL installation: %v", err)
	}
	if _, err := Restore(context.Background(), cfg, t.TempDir()); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("restore into a PostgreSQL installation: %v", err)
	}
}
