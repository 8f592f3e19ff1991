package main

import (
	"context"
	"encoding/json"
	"fmt"
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
	"riskmine/index"
)

// riskyPage is a fire report that becomes a lead; n makes it a new post.
func riskyPage(n int) crawler.Page {
	now := time.Now().UTC()
	u := fmt.Sprintf("https://news.test/p/%d", n)
	return crawler.Page{URL: u, CanonicalURL: u, Source: "news", Site: "news.test",
		Title:       fmt.Sprintf("仓山区第%d仓库发生火灾", n),
		Text:        "今天下午仓山区一仓库起火，浓烟滚滚，消防车已赶到现场灭火，暂无人员伤亡。",
		PublishedAt: now, FetchedAt: now, ContentHash: fmt.Sprintf("h%d", n)}
}

// runBoth runs a subcommand and returns its exit code and its output,
// stdout and stderr together.
func runBoth(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, out, errOut := runCmd(t, "", args...)
	return code, out + errOut
}

func leadCount(t *testing.T, s *alerts.SQLStore) int {
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
	svc, err := startService(ctx, cfg, serviceOptions{})
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
		if err := svc.pipe.Emit(ctx, riskyPage(i)); err != nil {
			t.Fatal(err)
		}
	}
	leadsBefore := leadCount(t, svc.leads)
	if leadsBefore == 0 {
		t.Fatal("no lead filed before the backup")
	}

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
			if err := svc.pipe.Emit(ctx, riskyPage(i)); err != nil {
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
	if code != 0 || !strings.Contains(out, "from the running serve") {
		t.Fatalf("backup while serving: exit %d: %s", code, out)
	}
	t.Logf("%s(%d posts written while it ran)", out, written.Load())
	if _, err := os.Stat(dest + ".partial"); !os.IsNotExist(err) {
		t.Fatalf("the partial copy is left: %v", err)
	}
	// serve goes on after the backup.
	if err := svc.pipe.Emit(ctx, riskyPage(100000)); err != nil {
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
	svc2, err := startService(ctx, cfg2, serviceOptions{})
	if err != nil {
		t.Fatalf("serve on the restored data: %v", err)
	}
	var m backupManifest
	if raw, err := os.ReadFile(filepath.Join(dest, backupManifestFile)); err != nil || json.Unmarshal(raw, &m) != nil || !m.Online {
		t.Fatalf("manifest %s: %+v %v", raw, m, err)
	}
	docs, err := svc2.index.Count()
	if err != nil || docs < before || docs != m.IndexDocuments {
		t.Errorf("restored index holds %d posts (%v), want at least the %d stored before the backup and the %d the backup counted", docs, err, before, m.IndexDocuments)
	}
	res, err := svc2.index.Search(ctx, index.Query{Text: "火灾"})
	if err != nil || res.Total < before {
		t.Errorf("search in the restored index: %v %v", res, err)
	}
	if n := leadCount(t, svc2.leads); n < leadsBefore {
		t.Errorf("restored database holds %d leads, want at least %d", n, leadsBefore)
	}
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
}
