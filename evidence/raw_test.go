package evidence

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fetchRaw fetches u as the crawler's transport does: asking for gzip and
// leaving the body as it came, noting the connection's remote address.
func fetchRaw(t *testing.T, u string) Capture {
	t.Helper()
	var remote string
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { remote = i.Conn.RemoteAddr().String() }})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("User-Agent", "riskmine-test/1")
	req.Header.Set("Accept-Encoding", "gzip")
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	h := resp.Header.Clone()
	if len(resp.TransferEncoding) > 0 {
		h["Transfer-Encoding"] = resp.TransferEncoding
	}
	return Capture{Method: req.Method, RequestURL: u, RequestHeader: req.Header, Status: resp.StatusCode,
		ResponseHeader: h, Body: body, Proto: resp.Proto, RemoteAddr: remote, FetchedAt: time.Now(), Robots: "allowed"}
}

// TestRawGzipResponse: a page served with Content-Encoding: gzip (in
// chunks) is archived as it came: the response record holds the status
// line, the headers with Content-Encoding, and the gzip bytes, with its
// payload digest over them (WARC 1.1's payload: the entity body, content
// coding kept, transfer coding not). CorentinB/warc reads it and every
// digest verifies; decoding the payload gives the page; WARC-IP-Address is
// the loopback address, without the port.
func TestRawGzipResponse(t *testing.T) {
	page := "<!doctype html><html><head><meta charset=utf-8><title>燃气泄漏</title></head><body><p>" +
		strings.Repeat("今天上午，市区一处老旧小区发生燃气泄漏。", 200) + "</p></body></html>"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, page[:len(page)/2])
		zw.Flush()
		w.(http.Flusher).Flush() // sent chunked
		io.WriteString(zw, page[len(page)/2:])
		zw.Close()
	}))
	defer srv.Close()
	c := fetchRaw(t, srv.URL+"/post/1")
	if c.ResponseHeader.Get("Transfer-Encoding") != "chunked" || !bytes.HasPrefix(c.Body, []byte{0x1f, 0x8b}) {
		t.Fatalf("the test server did not send chunked gzip: %v", c.ResponseHeader)
	}
	dir := t.TempDir()
	a, _ := openTest(t, dir, nil)
	e, _, err := a.Put(context.Background(), Page{LeadID: "L1", URL: c.RequestURL, Source: "news", Capture: c})
	if err != nil {
		t.Fatal(err)
	}
	if e.PayloadDigest != "sha256:"+hexSHA256(c.Body) {
		t.Errorf("indexed payload digest %s is not over the raw body", e.PayloadDigest)
	}
	recs, err := a.Records(e)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := Response(recs)
	if !bytes.Equal(resp.RawPayload, c.Body) || string(resp.Payload) != page || resp.Encoding != "" ||
		resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Transfer-Encoding") != "" {
		t.Errorf("read back: raw %d bytes, decoded %d, encoding %q, header %v", len(resp.RawPayload), len(resp.Payload), resp.Encoding, resp.Header)
	}
	for _, r := range recs {
		switch r.Type {
		case TypeRequest, TypeResponse:
			if r.IPAddress != "127.0.0.1" {
				t.Errorf("%s record: WARC-IP-Address %q", r.Type, r.IPAddress)
			}
		case TypeMetadata:
			for _, want := range []string{"protocol: HTTP/1.1", "transfer-encoding: chunked (undone before storing)", "still content-coded"} {
				if !bytes.Contains(r.Block, []byte(want)) {
					t.Errorf("metadata lacks %q:\n%s", want, r.Block)
				}
			}
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(filepath.Join(dir, "evidence", e.File))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	irecs := readIndependently(t, f)
	checkDigests(t, irecs)
	var found bool
	for _, r := range irecs {
		if r.header["warc-type"] != "response" {
			continue
		}
		found = true
		if r.header["warc-ip-address"] != "127.0.0.1" {
			t.Errorf("WARC-IP-Address %q", r.header["warc-ip-address"])
		}
		hr, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(r.content)), nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(hr.Body)
		if hr.Header.Get("Content-Encoding") != "gzip" || hr.ContentLength != int64(len(c.Body)) || !bytes.Equal(raw, c.Body) {
			t.Errorf("independent read: header %v, %d bytes", hr.Header, len(raw))
		}
		if got := gunzip(t, raw); string(got) != page {
			t.Errorf("decoded payload is not the page (%d bytes)", len(got))
		}
	}
	if !found {
		t.Fatal("no response record")
	}
}

// TestOldDecodedRecordReadable: a capture archived before the archive kept
// raw bytes (its gzip body stored decoded, Content-Encoding dropped and
// Content-Length set to the decoded length) still reads back, verifies and
// goes into a bundle; its payload is the stored body.
func TestOldDecodedRecordReadable(t *testing.T) {
	ctx := context.Background()
	a, _ := openTest(t, t.TempDir(), nil)
	defer a.Close()
	page := "<html><body>旧格式存档 old layout</body></html>"
	u := "http://news.example.test/old/1"
	at := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	// The block exactly as the earlier responseBlock wrote it.
	block := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nEtag: \"x\"\r\nContent-Length: %d\r\n\r\n%s", len(page), page)
	var member bytes.Buffer
	if _, err := (record{typ: 2, id: newRecordID(), target: u, date: at, contentType: "application/http;msgtype=response",
		fields: [][2]string{{"WARC-IP-Address", "127.0.0.1"}}, block: []byte(block)}).build(&member); err != nil {
		t.Fatal(err)
	}
	recs, err := ParseRecords(member.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := Response(recs)
	if string(resp.Payload) != page || !bytes.Equal(resp.Payload, resp.RawPayload) || resp.Encoding != "" ||
		resp.PayloadDigest != "sha256:"+hexSHA256([]byte(page)) {
		t.Errorf("old record: payload %q raw %q encoding %q", resp.Payload, resp.RawPayload, resp.Encoding)
	}
	// Into the archive as the old code would have put it, and bundled.
	e, _, err := a.Put(ctx, Page{LeadID: "L9", URL: u, Source: "news", Capture: Capture{Method: "GET", RequestURL: u, Status: 200,
		ResponseHeader: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, Body: []byte(page), FetchedAt: at}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteBundle(ctx, io.Discard, []byte("<html></html>"), []Entry{e}, at); err != nil {
		t.Errorf("bundle of a decoded capture: %v", err)
	}
}

// TestCodingChecks: a decoded body claimed to be gzip is refused with a
// clear error; codings the reader does not undo leave the payload as
// stored, named in Encoding; deflate (zlib-wrapped or bare) is undone.
func TestCodingChecks(t *testing.T) {
	a, _ := openTest(t, t.TempDir(), nil)
	defer a.Close()
	p := testPage(1, "<html>plain</html>")
	p.Capture.ResponseHeader.Set("Content-Encoding", "gzip")
	if _, _, err := a.Put(context.Background(), p); err == nil || !strings.Contains(err.Error(), "not gzip data") {
		t.Errorf("decoded body under Content-Encoding: gzip: %v", err)
	}
	for _, tc := range []struct {
		coding string
		raw    []byte
		want   string
		enc    string
	}{
		{"br", []byte("\x0bbrotli"), "\x0bbrotli", "br"},
		{"deflate", zlibBytes(t, "内容"), "内容", ""},
		{"deflate", flateBytes(t, "bare"), "bare", ""},
		{"gzip", []byte{0x1f, 0x8b, 0, 0}, "\x1f\x8b\x00\x00", "gzip: unexpected EOF"},
		{"identity", []byte("x"), "x", ""},
	} {
		got, enc := decodeContent(tc.raw, tc.coding)
		if string(got) != tc.want || enc != tc.enc {
			t.Errorf("%s: %q %q, want %q %q", tc.coding, got, enc, tc.want, tc.enc)
		}
	}
}

func zlibBytes(t *testing.T, s string) []byte {
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	io.WriteString(zw, s)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func flateBytes(t *testing.T, s string) []byte {
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestSpeed)
	io.WriteString(fw, s)
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
