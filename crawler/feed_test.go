package crawler

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func TestRSSFeed(t *testing.T) {
	var detailHits atomic.Int64
	var srvURL string
	site := newSite(t, map[string]http.HandlerFunc{
		"/rss.xml": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/rss+xml")
			fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>示例</title>
<item><title>全文条目</title><link>%[1]s/full/1?utm_medium=rss</link><pubDate>Wed, 01 May 2024 08:30:00 +0800</pubDate>
<dc:creator>张三</dc:creator><description>摘要</description>
<content:encoded><![CDATA[<p>%[2]s</p><p>%[2]s</p>]]></content:encoded></item>
<item><title>摘要条目</title><link>/teaser/2.html</link><pubDate>Thu, 02 May 2024 09:00:00 GMT</pubDate>
<description>只有一句摘要&hellip;</description></item>
<item><title>无链接</title><description>x</description></item>
</channel></rss>`, srvURL, zhPara)
		},
		"/teaser/": func(w http.ResponseWriter, r *http.Request) {
			detailHits.Add(1)
			writeHTML(w, "text/html", []byte(`<html><body><div class=content><p>`+zhPara+`</p><p>`+zhPara+`</p></div></body></html>`))
		},
		"/full/": func(w http.ResponseWriter, r *http.Request) {
			t.Errorf("the page of a full-text entry was fetched")
		},
	})
	srvURL = site.URL
	c, _ := newTestCrawler(t, nil)
	sink := &pageSink{}
	src := Source{Name: "rss", Kind: KindRSS, Seeds: []string{site.URL + "/rss.xml"}, AllowPrivate: true}
	run := runOnce(t, c, src, sink)
	pages := sink.take()
	if len(pages) != 2 || run.New != 2 || detailHits.Load() != 1 {
		t.Fatalf("pages %d, detail hits %d, run %+v", len(pages), detailHits.Load(), run)
	}
	full, teaser := pages[0], pages[1]
	if full.Title != "全文条目" || full.Author != "张三" || !strings.Contains(full.Text, "燃气泄漏") ||
		!full.PublishedAt.Equal(time.Date(2024, 5, 1, 0, 30, 0, 0, time.UTC)) || strings.Contains(full.CanonicalURL, "utm_") {
		t.Errorf("full-text entry: %+v", full)
	}
	if teaser.Title != "摘要条目" || !teaser.PublishedAt.Equal(time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)) || !strings.Contains(teaser.Text, "燃气泄漏") {
		t.Errorf("teaser entry (fetched page, feed title and date as fallback): %+v", teaser)
	}
	// The feed is re-read on the next run; nothing changed, nothing emitted.
	again := runOnce(t, c, src, sink)
	if len(sink.take()) != 0 || again.Unchanged != 2 || again.Fetched != 2 {
		t.Fatalf("second run: %+v", again)
	}
}

func TestAtomFeed(t *testing.T) {
	site := newSite(t, map[string]http.HandlerFunc{
		"/atom.xml": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/atom+xml")
			fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>示例</title>
<entry><title>原子条目</title><link rel="alternate" href="/atom/1.html"/><link rel="edit" href="/edit/1"/>
<id>tag:example,2024:1</id><updated>2024-05-03T10:00:00+08:00</updated><published>2024-05-03T09:00:00+08:00</published>
<author><name>李四</name></author>
<content type="html">&lt;p&gt;%[1]s&lt;/p&gt;&lt;p&gt;%[1]s&lt;/p&gt;</content></entry>
<entry><title type="html">第二条</title><link href="/atom/2.html"/><updated>2024-05-04T10:00:00Z</updated><summary>短摘要</summary></entry>
</feed>`, zhPara)
		},
		"/atom/2.html": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(article("第二条正文", zhPara+"\n"+zhPara)))
		},
	})
	c, _ := newTestCrawler(t, nil)
	sink := &pageSink{}
	run := runOnce(t, c, Source{Name: "atom", Kind: KindAtom, Seeds: []string{site.URL + "/atom.xml"}, AllowPrivate: true}, sink)
	pages := sink.take()
	if len(pages) != 2 || run.Failed != 0 {
		t.Fatalf("pages %+v run %+v", pages, run)
	}
	if p := pages[0]; p.Title != "原子条目" || p.Author != "李四" || !p.PublishedAt.Equal(time.Date(2024, 5, 3, 1, 0, 0, 0, time.UTC)) ||
		!strings.HasSuffix(p.URL, "/atom/1.html") || !strings.Contains(p.Text, "燃气泄漏") {
		t.Errorf("entry 1: %+v", p)
	}
	if p := pages[1]; !strings.Contains(p.Title, "第二条") || !p.PublishedAt.Equal(time.Date(2024, 5, 1, 0, 30, 0, 0, time.UTC)) && p.PublishedAt.IsZero() {
		t.Errorf("entry 2: %+v", p)
	}
}

func TestSitemapIndexWithGzipChild(t *testing.T) {
	var srvURL string
	var hits atomic.Int64
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return b.Bytes()
	}
	site := newSite(t, map[string]http.HandlerFunc{
		"/sitemap_index.xml": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>%[1]s/sitemap-news.xml.gz</loc><lastmod>2024-05-01</lastmod></sitemap>
<sitemap><loc>%[1]s/sitemap-plain.xml</loc></sitemap>
</sitemapindex>`, srvURL)
		},
		"/sitemap-news.xml.gz": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-gzip")
			w.Write(gz(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>%[1]s/p/1.html</loc><lastmod>2024-05-01T08:00:00+08:00</lastmod></url>
<url><loc>%[1]s/p/2.html</loc><lastmod>2024-05-02</lastmod></url>
</urlset>`, srvURL)))
		},
		"/sitemap-plain.xml": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>%s/p/3.html</loc><lastmod>2024-05-03</lastmod></url></urlset>`, srvURL)
		},
		"/p/": func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			writeHTML(w, "text/html", []byte(article("站点地图页面"+r.URL.Path, zhPara)))
		},
	})
	srvURL = site.URL
	c, _ := newTestCrawler(t, nil)
	sink := &pageSink{}
	src := Source{Name: "sm", Kind: KindSitemap, Seeds: []string{site.URL + "/sitemap_index.xml"}, AllowPrivate: true}
	run := runOnce(t, c, src, sink)
	if n := len(sink.take()); n != 3 || run.Failed != 0 {
		t.Fatalf("emitted %d, run %+v", n, run)
	}
	// Second run: every lastmod is older than the last fetch, so the pages
	// are skipped without a request.
	before := hits.Load()
	again := runOnce(t, c, src, sink)
	if again.Skipped != 3 || hits.Load() != before || again.Fetched != 3 {
		t.Fatalf("second run: %+v, page hits %d", again, hits.Load()-before)
	}
}

func TestParseFeedErrors(t *testing.T) {
	for _, raw := range []string{"", "<html><body>not a feed</body></html>", "<rss><channel><item><title>x</ti", "\x00\x01"} {
		if _, err := parseFeed([]byte(raw)); err == nil && raw != "<rss><channel><item><title>x</ti" {
			t.Errorf("parseFeed(%q): no error", raw)
		}
	}
	if _, _, err := parseSitemap([]byte("<html/>")); err == nil {
		t.Error("parseSitemap(<html/>): no error")
	}
}

func FuzzParseFeed(f *testing.F) {
	f.Add([]byte(`<rss><channel><item><title>t</title><link>http://x/</link></item></channel></rss>`))
	f.Add([]byte(`<feed xmlns="http://www.w3.org/2005/Atom"><entry><link href="/a"/></entry></feed>`))
	f.Add([]byte(`<urlset><url><loc>http://x/</loc></url></urlset>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		parseFeed(raw)
		parseSitemap(raw)
	})
}

func TestParseFeedGBK(t *testing.T) {
	feed := `<?xml version="1.0" encoding="gb2312"?><rss version="2.0"><channel><item><title>暴雨预警</title><link>http://example.com/a</link><description>全市启动防汛应急响应</description></item></channel></rss>`
	raw, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(feed))
	if err != nil {
		t.Fatal(err)
	}
	items, err := parseFeed(raw)
	if err != nil || len(items) != 1 || items[0].Title != "暴雨预警" || items[0].Content != "全市启动防汛应急响应" {
		t.Fatalf("items %+v, err %v", items, err)
	}
}
