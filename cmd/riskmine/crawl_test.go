package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"riskmine/crawler"
	"riskmine/web"
)

// The web UI drives the scheduler through its SourceService interface.
var _ web.SourceService = (*crawler.Scheduler)(nil)

func TestCrawlCommand(t *testing.T) {
	para := "今天上午，市区一处老旧小区发生燃气泄漏，消防和燃气公司人员迅速赶到现场处置，疏散居民二十余人，未造成人员伤亡。事故原因正在进一步调查中，相关部门提醒居民注意用气安全。"
	mux := http.NewServeMux()
	mux.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><body><a class="item" href="/p/1.html">1</a><a class="item" href="/p/2.html">2</a></body></html>`)
	})
	mux.HandleFunc("/p/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<html><head><title>通报%s</title></head><body><h1>通报%s</h1><div><p>%s</p><p>%s</p></div></body></html>`, r.URL.Path, r.URL.Path, para, para)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "riskmine.yaml")
	cfg := fmt.Sprintf(`data_dir: %s
log: {level: warn}
crawler:
  timeout: 5s
  sources:
    - name: local
      kind: html
      seeds: ["%s/list"]
      allow_private: true
      delay: 0s
      list: {items: a.item}
`, filepath.Join(dir, "data"), srv.URL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := runMain(context.Background(), &cmdEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}, args)
		return code, out.String(), errb.String()
	}
	// A dry run prints the pages and records nothing: no crawl state, no
	// run, no index, no lead.
	code, out, errs := run("crawl", "local", "--dry-run", "--config", cfgPath)
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "燃气泄漏") {
		t.Fatalf("dry run: exit %d, out %q, stderr %s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "riskmine.db")); err == nil {
		t.Fatal("the dry run wrote a database into the data dir")
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "index")); err == nil {
		t.Fatal("the dry run created an index")
	}

	code, out, errs = run("crawl", "local", "--jsonl", "--config", cfgPath)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 JSON lines, got %q", out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"url", "canonical_url", "source", "site", "title", "text", "published_at", "fetched_at", "content_hash", "charset"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON line lacks %q: %s", k, lines[0])
		}
	}
	if !strings.Contains(m["text"].(string), "燃气泄漏") || m["source"] != "local" {
		t.Errorf("page: %s", lines[0])
	}
	if !strings.Contains(errs, "crawl local: done: ") || !strings.Contains(errs, "2 new") {
		t.Errorf("summary missing: %s", errs)
	}
	// The run went through the whole pipeline, as a scheduled one does:
	// both posts are searchable and the gas leak is filed as a lead.
	code, out, errs = run("search", "燃气泄漏", "--json", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, `"total":2`) {
		t.Fatalf("search after crawl: exit %d, out %s, stderr %s", code, out, errs)
	}
	code, out, errs = run("leads", "list", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "通报") {
		t.Fatalf("leads after crawl: exit %d, out %s, stderr %s", code, out, errs)
	}
	// A dry run now reads the state the real run recorded: nothing is new.
	code, out, errs = run("crawl", "local", "--dry-run", "--config", cfgPath)
	if code != 0 || out != "" || !strings.Contains(errs, "2 skipped") {
		t.Fatalf("dry run after the real one: exit %d out %q err %s", code, out, errs)
	}

	// Second run: within the default revisit interval (24h), nothing is
	// fetched but the list page, and nothing printed.
	code, out, errs = run("crawl", "local", "--jsonl", "--config", cfgPath)
	if code != 0 || out != "" || !strings.Contains(errs, "2 skipped") {
		t.Fatalf("second run: exit %d out %q err %s", code, out, errs)
	}
	if code, _, errs = run("crawl", "missing", "--config", cfgPath); code != 1 || !strings.Contains(errs, `no source "missing"`) || !strings.Contains(errs, "local") {
		t.Errorf("unknown source: exit %d, %s", code, errs)
	}
	if code, _, _ = run("crawl", "--config", cfgPath); code != 2 {
		t.Errorf("no source name: exit %d, want 2", code)
	}

	// The scheduler serve builds runs the same source and shares the history.
	c, err := loadConfig(&commonFlags{config: cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	store, err := openCrawlStore(c)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	log, _ := newLogger(io.Discard, c.Log)
	s, err := newCrawlScheduler(c, store, log, func(context.Context, crawler.Page) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if src := s.Sources(); len(src) != 1 || src[0].Name != "local" || src[0].Delay != 0 {
		t.Fatalf("sources: %+v", src)
	}
	if err := s.Trigger("local"); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if runs, err := s.Runs(context.Background(), "local", 10); err != nil || len(runs) != 3 {
		t.Fatalf("history: %d runs, %v", len(runs), err)
	}
}
