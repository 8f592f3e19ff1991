package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"riskmine/alerts"
)

// TestCrawlCountsBurstPosts runs `riskmine crawl` with alerts.burst
// enabled: the pipeline counts the scored posts per category and county.
func TestCrawlCountsBurstPosts(t *testing.T) {
	para := "今天上午，福建省福州市仓山区一处老旧小区发生燃气泄漏，消防和燃气公司人员迅速赶到现场处置，疏散居民二十余人。"
	mux := http.NewServeMux()
	mux.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><body><a class="item" href="/p/1.html">1</a><a class="item" href="/p/2.html">2</a></body></html>`)
	})
	mux.HandleFunc("/p/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<html><head><title>仓山区燃气泄漏%s</title></head><body><h1>仓山区燃气泄漏%s</h1><div><p>%s</p><p>%s</p></div></body></html>`, r.URL.Path, r.URL.Path, para, para)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "riskmine.yaml")
	cfg := fmt.Sprintf(`data_dir: %s
log: {level: warn}
alerts:
  burst: {enabled: true}
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
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), &cmdEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}, []string{"crawl", "local", "--config", cfgPath}); code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
	store, err := alerts.OpenSQLite(filepath.Join(dir, "data", "riskmine.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	series, err := store.BurstSeriesSince(context.Background(), time.Now().Add(-24*time.Hour), time.Now().Add(time.Hour), 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range series {
		got = append(got, fmt.Sprintf("%s/%s:%d", s.Category, s.County, s.Posts))
	}
	if !strings.Contains(fmt.Sprint(got), "hazmat_leak/350104:2") {
		t.Fatalf("counted series %v, want the two posts in hazmat_leak/350104", got)
	}
}
