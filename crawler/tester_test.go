package crawler

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// testerSite serves a list page, two articles and a robots.txt that
// disallows /private/.
func testerSite(t *testing.T) (*Crawler, Source, func() int) {
	t.Helper()
	var robotsHits int
	list := `<html><body><ul>
		<li class=item><a href="/a/1.html">燃气泄漏 疏散居民</a></li>
		<li class=item><a href="/a/2.html">河道 水位 上涨</a></li>
		<li class=item><span>no link</span></li>
		</ul><a class=next href="/list?page=2">下一页</a></body></html>`
	srv := newSite(t, map[string]http.HandlerFunc{
		"/robots.txt": func(w http.ResponseWriter, r *http.Request) {
			robotsHits++
			w.Write([]byte("User-agent: *\nDisallow: /private/\n"))
		},
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html; charset=utf-8", []byte(list))
		},
		"/a/1.html": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html; charset=utf-8", []byte(article("小区燃气泄漏", zhPara)))
		},
		"/private/x.html": func(w http.ResponseWriter, r *http.Request) {
			t.Error("a page disallowed by robots.txt was fetched")
		},
	})
	c, _ := newTestCrawler(t, nil)
	src := htmlSource("tester", srv, "/list")
	src.List.Items = "li.item"
	src.Detail = DetailSelectors{Title: "h1.title", Time: "span.time", Author: "span.nothing-here"}
	return c, src, func() int { return robotsHits }
}

func TestTestSourceListItems(t *testing.T) {
	c, src, _ := testerSite(t)
	res, err := c.TestSource(context.Background(), src, "", TestAuto)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != TestList || res.Status != 200 || res.Error != "" {
		t.Fatalf("result %+v", res)
	}
	if res.ItemsTotal != 2 || len(res.Items) != 2 {
		t.Fatalf("items %+v, want the two linked items", res.Items)
	}
	if !strings.HasSuffix(res.Items[0].URL, "/a/1.html") || res.Items[0].Title != "燃气泄漏 疏散居民" {
		t.Errorf("first item %+v", res.Items[0])
	}
	if !strings.HasSuffix(res.Next, "/list?page=2") {
		t.Errorf("next %q", res.Next)
	}
	if len(res.Unmatched) != 0 {
		t.Errorf("unmatched %v on a page where every list selector matched", res.Unmatched)
	}
	// Nothing is recorded: no run in the history, no page state.
	runs, err := c.Store().Runs(context.Background(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 0 {
		t.Errorf("the test left %d runs in the history", len(runs))
	}
	st, err := c.store.Page(context.Background(), res.Items[0].URL)
	if err != nil || st.Found {
		t.Errorf("the test left crawl state for %s (%v)", res.Items[0].URL, err)
	}
}

func TestTestSourceUnmatchedSelectors(t *testing.T) {
	c, src, _ := testerSite(t)
	src.List.Items = "div.gone a"
	src.List.Next = "a.gone"
	res, err := c.TestSource(context.Background(), src, "", TestAuto)
	if err != nil {
		t.Fatal(err)
	}
	if res.ItemsTotal != 0 || !slices.Equal(res.Unmatched, []string{"list.items", "list.next"}) {
		t.Fatalf("items %d unmatched %v, want 0 and [list.items list.next]", res.ItemsTotal, res.Unmatched)
	}

	// A detail page: the selectors that match give title and time, the
	// author selector matches nothing and is reported; the generic
	// extractor gives the text.
	res, err = c.TestSource(context.Background(), src, strings.TrimSuffix(src.Seeds[0], "/list")+"/a/1.html", TestAuto)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != TestDetail || res.Page == nil {
		t.Fatalf("result %+v", res)
	}
	p := res.Page
	if p.Title != "小区燃气泄漏" || p.TitleFrom != "selector" {
		t.Errorf("title %q from %q", p.Title, p.TitleFrom)
	}
	want := time.Date(2024, 5, 1, 0, 30, 0, 0, time.UTC)
	if !p.PublishedAt.Equal(want) || p.TimeFrom != "selector" {
		t.Errorf("time %v from %q, want %v from selector", p.PublishedAt, p.TimeFrom, want)
	}
	if !strings.Contains(p.Text, "燃气泄漏") || p.TextFrom != "generic" {
		t.Errorf("text from %q: %q", p.TextFrom, p.Text)
	}
	if !strings.Contains(p.Author, "王五") || p.AuthorFrom != "generic" {
		t.Errorf("author %q from %q, want the generic extractor's", p.Author, p.AuthorFrom)
	}
	if !slices.Equal(res.Unmatched, []string{"detail.author"}) {
		t.Errorf("unmatched %v, want [detail.author]", res.Unmatched)
	}
}

func TestTestSourceRefusals(t *testing.T) {
	c, src, robotsHits := testerSite(t)
	base := strings.TrimSuffix(src.Seeds[0], "/list")

	res, err := c.TestSource(context.Background(), src, base+"/private/x.html", TestAuto)
	if err != nil {
		t.Fatal(err)
	}
	if res.ErrorKind != "robots" || res.Status != 0 {
		t.Errorf("robots-disallowed page: kind %q status %d (%s)", res.ErrorKind, res.Status, res.Error)
	}
	if robotsHits() == 0 {
		t.Error("robots.txt was not read")
	}

	// The same loopback site without allow_private: the guard refuses it.
	guarded := src
	guarded.AllowPrivate = false
	res, err = c.TestSource(context.Background(), guarded, "", TestAuto)
	if err != nil {
		t.Fatal(err)
	}
	if res.ErrorKind != "blocked" || !IsTestRefusal(res.ErrorKind) {
		t.Errorf("loopback without allow_private: kind %q (%s), want blocked", res.ErrorKind, res.Error)
	}

	// A host outside allowed_domains is not fetched: no open proxy.
	res, err = c.TestSource(context.Background(), src, "http://example.invalid/", TestAuto)
	if err != nil {
		t.Fatal(err)
	}
	if res.ErrorKind != "domain" {
		t.Errorf("foreign host: kind %q (%s), want domain", res.ErrorKind, res.Error)
	}

	if _, err := c.TestSource(context.Background(), src, "ftp://x/", TestAuto); err == nil {
		t.Error("an ftp URL was accepted")
	}
	if _, err := c.TestSource(context.Background(), src, "", "sideways"); err == nil {
		t.Error("an unknown mode was accepted")
	}
}
