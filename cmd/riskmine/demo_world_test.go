package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func get(t *testing.T, url string) (string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b), resp.Header
}

func TestDemoWorldServesSitesAndNewPostsAppear(t *testing.T) {
	start := time.Date(2026, 4, 19, 8, 0, 0, 0, time.UTC)
	now := start
	w := newDemoWorld(start, func() time.Time { return now })
	if err := w.Start(nil); err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())

	list, _ := get(t, w.URL(demoForum)+"/forum/list")
	if !strings.Contains(list, "/forum/thread/f103") || !strings.Contains(list, `class="next"`) {
		t.Fatalf("forum list page 1 lacks the newest thread or the next link:\n%s", list)
	}
	if strings.Contains(list, "f110") {
		t.Fatal("a post scheduled for later is already listed")
	}
	now = start.Add(2 * time.Minute)
	list, _ = get(t, w.URL(demoForum)+"/forum/list")
	if !strings.Contains(list, "/forum/thread/f110") {
		t.Fatal("the post due 90 s after start did not appear")
	}

	raw, hdr := get(t, w.URL(demoNews)+"/news/n201.html")
	if strings.Contains(hdr.Get("Content-Type"), "utf-8") {
		t.Fatalf("news pages must be GBK, got Content-Type %q", hdr.Get("Content-Type"))
	}
	dec, err := simplifiedchinese.GBK.NewDecoder().String(raw)
	if err != nil || !strings.Contains(dec, "上渡路居民楼突发火灾") {
		t.Fatalf("GBK page did not decode to the article (err %v)", err)
	}

	rss, _ := get(t, w.URL(demoFeed)+"/rss.xml")
	if !strings.Contains(rss, "<item><title>上渡路居民楼火灾") {
		t.Fatalf("feed lacks the fire item:\n%s", rss)
	}
	notice, _ := get(t, w.URL(demoNotice)+"/notices/x402.html")
	if !strings.Contains(notice, "charset=gb2312") || !strings.Contains(notice, "并未发生火灾") {
		t.Fatal("notice page should declare gb2312 and carry UTF-8 text")
	}
}
