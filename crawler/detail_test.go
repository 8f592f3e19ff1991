package crawler

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRelCanonical(t *testing.T) {
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(`<a class=item href="/m/1.html">1</a><a class=item href="/m/2.html">2</a><a class=item href="/a/1.html">dup</a>`))
		},
		"/m/1.html": func(w http.ResponseWriter, r *http.Request) {
			page := strings.Replace(article("移动版", zhPara), "<title>", `<link rel="canonical" href="/a/1.html?utm_source=m"><title>`, 1)
			writeHTML(w, "text/html", []byte(page))
		},
		"/m/2.html": func(w http.ResponseWriter, r *http.Request) {
			page := strings.Replace(article("外站声明", zhPara), "<title>", `<link rel="canonical" href="http://other.example.org/x.html"><title>`, 1)
			writeHTML(w, "text/html", []byte(page))
		},
		"/a/1.html": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(article("桌面版", zhPara)))
		},
	})
	c, _ := newTestCrawler(t, nil)
	src := htmlSource("canon", site, "/list")
	src.Parallelism = 1
	sink := &pageSink{}
	runOnce(t, c, src, sink)
	byPath := map[string]Page{}
	for _, p := range sink.take() {
		byPath[p.URL[len(site.URL):]] = p
	}
	if p := byPath["/m/1.html"]; p.CanonicalURL != site.URL+"/a/1.html" {
		t.Errorf("same-site rel=canonical not honoured: %q", p.CanonicalURL)
	}
	if p := byPath["/m/2.html"]; p.CanonicalURL != site.URL+"/m/2.html" {
		t.Errorf("other-site rel=canonical honoured: %q", p.CanonicalURL)
	}
	if _, dup := byPath["/a/1.html"]; dup {
		t.Errorf("the canonical page was fetched again in the same run")
	}
}

func TestParseLooseTime(t *testing.T) {
	cst := time.FixedZone("", 8*3600)
	cases := map[string]time.Time{
		"2024-05-01 08:30":          time.Date(2024, 5, 1, 8, 30, 0, 0, cst),
		"发布时间：2024年5月1日 8:30:15":    time.Date(2024, 5, 1, 8, 30, 15, 0, cst),
		"2024/05/01":                time.Date(2024, 5, 1, 0, 0, 0, 0, cst),
		"2024-05-01T08:30:00+02:00": time.Date(2024, 5, 1, 8, 30, 0, 0, time.FixedZone("", 7200)),
		"2024-13-01":                {},
		"昨天":                        {},
	}
	for in, want := range cases {
		if got := parseLooseTime(in); !got.Equal(want) {
			t.Errorf("parseLooseTime(%q) = %v, want %v", in, got, want)
		}
	}
}
