package crawler

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestPageCapture: a fetched page carries the exchange behind it: the
// request as sent (Accept-Encoding included), the final response after
// redirects as received (Content-Encoding kept), the body both as it came
// (gzip) and decoded, the address it came from, and the robots verdict.
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
		if !bytes.HasPrefix(cp.RawBody, []byte{0x1f, 0x8b}) || !bytes.Equal(gunzipBytes(t, cp.RawBody), []byte(body)) {
			t.Errorf("raw body is not the gzip stream sent: %q", cp.RawBody[:min(40, len(cp.RawBody))])
		}
		if cp.ResponseHeader.Get("Content-Type") != "text/html; charset=utf-8" || cp.ResponseHeader.Get("X-Served-By") != "test" ||
			cp.ResponseHeader.Get("Content-Encoding") != "gzip" || cp.ResponseHeader.Get("Content-Length") != fmt.Sprint(len(cp.RawBody)) ||
			cp.ResponseHeader.Get(origContentType) != "" {
			t.Errorf("response header %v", cp.ResponseHeader)
		}
		if cp.RequestHeader.Get("User-Agent") == "" || cp.RequestHeader.Get("Accept") == "" ||
			cp.RequestHeader.Get("Accept-Encoding") != "gzip" || cp.RequestHeader.Get(wireHeader) != "" {
			t.Errorf("request header %v", cp.RequestHeader)
		}
		if host, _, err := net.SplitHostPort(cp.RemoteAddr); err != nil || host != "127.0.0.1" || cp.Proto != "HTTP/1.1" {
			t.Errorf("remote address %q, protocol %q", cp.RemoteAddr, cp.Proto)
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

func gunzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestChunkedCapture: a page sent with HTTP/1.1 chunked framing is kept
// de-framed, its Transfer-Encoding noted; a plain one shares its raw and
// decoded body (no second copy), a gzip one keeps the gzip stream.
func TestChunkedCapture(t *testing.T) {
	page := article("化工厂异味投诉", zhPara+"\n"+zhPara)
	chunked := func(gz bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			var out io.Writer = w
			var zw *gzip.Writer
			if gz {
				w.Header().Set("Content-Encoding", "gzip")
				zw = gzip.NewWriter(w)
				out = zw
			}
			// Flushing before the end makes net/http send chunks.
			half := len(page) / 2
			io.WriteString(out, page[:half])
			if zw != nil {
				zw.Flush()
			}
			w.(http.Flusher).Flush()
			io.WriteString(out, page[half:])
			if zw != nil {
				zw.Close()
			}
		}
	}
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html; charset=utf-8", []byte(`<a class=item href="/plain/1.html">1</a><a class=item href="/gz/1.html">2</a>`))
		},
		"/plain/": chunked(false),
		"/gz/":    chunked(true),
	})
	c, _ := newTestCrawler(t, nil)
	sink := &pageSink{}
	runOnce(t, c, htmlSource("chunked", site, "/list"), sink)
	pages := sink.take()
	if len(pages) != 2 {
		t.Fatalf("%d pages", len(pages))
	}
	for _, p := range pages {
		cp := p.Capture
		if cp == nil {
			t.Fatalf("%s: no capture", p.URL)
		}
		if te := cp.ResponseHeader.Values("Transfer-Encoding"); len(te) != 1 || te[0] != "chunked" || cp.ResponseHeader.Get("Content-Length") != "" {
			t.Errorf("%s: framing headers %v", p.URL, cp.ResponseHeader)
		}
		if !bytes.Equal(cp.Body, []byte(page)) || !strings.Contains(p.Text, "燃气泄漏") {
			t.Errorf("%s: body or text wrong: %q", p.URL, p.Text)
		}
		if strings.Contains(p.URL, "/gz/") {
			if cp.ResponseHeader.Get("Content-Encoding") != "gzip" || !bytes.Equal(gunzipBytes(t, cp.RawBody), []byte(page)) {
				t.Errorf("gzip page: raw body %q", cp.RawBody[:min(20, len(cp.RawBody))])
			}
			continue
		}
		if len(cp.RawBody) != len(cp.Body) || &cp.RawBody[0] != &cp.Body[0] {
			t.Errorf("plain page: raw body is a copy of the decoded one, or differs")
		}
	}
}

// TestCaptureAfterRetry: the capture is of the response that was used,
// not of an attempt that failed before it.
func TestCaptureAfterRetry(t *testing.T) {
	page := article("河道污染", zhPara)
	var calls atomic.Int32
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html; charset=utf-8", []byte(`<a class=item href="/news/1.html">1</a>`))
		},
		"/news/": func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.Header().Set("X-Attempt", "first")
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("X-Attempt", "second")
			writeHTML(w, "text/html; charset=utf-8", []byte(page))
		},
	})
	c, _ := newTestCrawler(t, nil)
	sink := &pageSink{}
	runOnce(t, c, htmlSource("retry", site, "/list"), sink)
	pages := sink.take()
	if len(pages) != 1 || pages[0].Capture == nil {
		t.Fatalf("%d pages", len(pages))
	}
	cp := pages[0].Capture
	if calls.Load() != 2 || cp.Status != 200 || cp.ResponseHeader.Get("X-Attempt") != "second" || !bytes.Equal(cp.RawBody, []byte(page)) {
		t.Errorf("%d calls; capture of %d %v", calls.Load(), cp.Status, cp.ResponseHeader)
	}
}

// TestWireTapBounded: a body past the size limit fails the fetch, and the
// transport's copy of the wire bytes stops at the limit: nothing of it is
// archived, and no memory beyond the limit is held for it.
func TestWireTapBounded(t *testing.T) {
	const limit = 64 << 10
	// 8 MiB of gzip data, sent chunked without a Content-Length.
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.NoCompression)
	zw.Write(bytes.Repeat([]byte("<p>很长的页面</p>"), 8<<20/22))
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		for b := gz.Bytes(); len(b) > 0; {
			n := min(len(b), 32<<10)
			if _, err := w.Write(b[:n]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			b = b[n:]
		}
	}))
	defer srv.Close()
	guard := &addrGuard{allowPrivate: true}
	tr := &retryTransport{base: newBaseTransport(guard, nil, nil, 5*time.Second, 1),
		lim:   fetchLimits{timeout: 5 * time.Second, maxBody: limit, maxDecoded: 1 << 30},
		sleep: sleepCtx, now: time.Now, jitter: defaultJitter, retried: &atomic.Int64{}, wires: newWireTaps()}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/big", nil)
	tap := tr.wires.open()
	req.Header.Set(wireHeader, tap)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("read past the limit: %v", err)
	}
	w := tr.wires.take(tap)
	if w == nil || w.raw == nil {
		t.Fatal("no wire record kept")
	}
	if w.raw.Len() > limit || w.raw.Cap() > 2*limit {
		t.Errorf("wire copy holds %d bytes (capacity %d), limit %d", w.raw.Len(), w.raw.Cap(), limit)
	}
	if tr.wires.len() != 0 {
		t.Errorf("%d taps left open", tr.wires.len())
	}

	// In a run, the page fails as too_large and is handed on to nobody.
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html; charset=utf-8", []byte(`<a class=item href="/big/1.html">1</a>`))
		},
		"/big/": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz.Bytes())
		},
	})
	c, _ := newTestCrawler(t, func(o *Options) { o.MaxBodyBytes = limit })
	sink := &pageSink{}
	run := runOnce(t, c, htmlSource("big", site, "/list"), sink)
	if pages := sink.take(); len(pages) != 0 || run.Errors["too_large"] != 1 {
		t.Errorf("%d pages handed on, errors %v", len(pages), run.Errors)
	}
}
