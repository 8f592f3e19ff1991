package crawler

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"testing"
)

// TestPageCapture: a fetched page carries the exchange behind it: the
// request as sent, the final response after redirects with the server's
// Content-Type, the body decoded from gzip, and the robots verdict.
func TestPageCapture(t *testing.T) {
	body := article("燃气泄漏通报", zhPara)
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html; charset=utf-8", []byte(`<a class=item href="/old/1.html">1</a>`))
		},
		"/old/": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/news/1.html", http.StatusMovedPermanently)
		},
		"/news/": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("X-Served-By", "test")
			zw := gzip.NewWriter(w)
			zw.Write([]byte(body))
			zw.Close()
		},
	})
	for _, ignore := range []bool{false, true} {
		c, _ := newTestCrawler(t, nil)
		sink := &pageSink{}
		src := htmlSource("cap", site, "/list")
		src.IgnoreRobots = ignore
		runOnce(t, c, src, sink)
		pages := sink.take()
		if len(pages) != 1 || pages[0].Capture == nil {
			t.Fatalf("ignore robots %v: %d pages, capture %v", ignore, len(pages), pages)
		}
		cp := pages[0].Capture
		if cp.RequestURL != site.URL+"/news/1.html" || cp.Method != http.MethodGet || cp.Status != 200 {
			t.Errorf("request %s %s → %d", cp.Method, cp.RequestURL, cp.Status)
		}
		if !bytes.Equal(cp.Body, []byte(body)) {
			t.Errorf("body not decoded: %q", cp.Body[:min(40, len(cp.Body))])
		}
		if cp.ResponseHeader.Get("Content-Type") != "text/html; charset=utf-8" || cp.ResponseHeader.Get("X-Served-By") != "test" ||
			cp.ResponseHeader.Get("Content-Encoding") != "" || cp.ResponseHeader.Get(origContentType) != "" {
			t.Errorf("response header %v", cp.ResponseHeader)
		}
		if cp.RequestHeader.Get("User-Agent") == "" || cp.RequestHeader.Get("Accept") == "" {
			t.Errorf("request header %v", cp.RequestHeader)
		}
		want := "allowed"
		if ignore {
			want = "not checked"
		}
		if cp.Robots != want || cp.FetchedAt.IsZero() {
			t.Errorf("robots %q, fetched %v", cp.Robots, cp.FetchedAt)
		}
	}
}

// TestInlineFeedCapture: a feed entry handed on without fetching its page
// carries the feed's response, which its text came in.
func TestInlineFeedCapture(t *testing.T) {
	var feed string
	site := newSite(t, map[string]http.HandlerFunc{
		"/rss.xml": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/rss+xml")
			w.Write([]byte(feed))
		},
	})
	feed = fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title>
<item><title>全文</title><link>%s/full/1</link><content:encoded><![CDATA[<p>%s</p><p>%s</p>]]></content:encoded></item></channel></rss>`, site.URL, zhPara, zhPara)
	c, _ := newTestCrawler(t, nil)
	sink := &pageSink{}
	runOnce(t, c, Source{Name: "rss", Kind: KindRSS, Seeds: []string{site.URL + "/rss.xml"}, AllowPrivate: true}, sink)
	pages := sink.take()
	if len(pages) != 1 || pages[0].Capture == nil {
		t.Fatalf("%d pages", len(pages))
	}
	cp := pages[0].Capture
	if cp.RequestURL != site.URL+"/rss.xml" || string(cp.Body) != feed || cp.ResponseHeader.Get("Content-Type") != "application/rss+xml" {
		t.Errorf("inline capture %s %q", cp.RequestURL, cp.ResponseHeader)
	}
}
