package evidence

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nlnwa/gowarc/v3"
)

// Capture is one fetched page as the archive takes it.
type Capture struct {
	// Method, RequestURL and RequestHeader are the request that got the
	// final response.
	Method        string
	RequestURL    string
	RequestHeader http.Header
	// Status, ResponseHeader and Body are the final response as received:
	// Body as it came off the connection, after the transfer coding
	// (HTTP/1.1 chunked) was undone but before content decoding, with
	// ResponseHeader's Content-Encoding naming its coding. A body given
	// decoded must come without Content-Encoding.
	Status         int
	ResponseHeader http.Header
	Body           []byte
	// Proto is the protocol the response came in ("HTTP/1.1", "HTTP/2.0"),
	// when known; it goes into the metadata record.
	Proto string
	// RemoteAddr is the address (ip:port, or ip) the response came from,
	// when known; its IP goes into WARC-IP-Address.
	RemoteAddr string
	FetchedAt  time.Time
	// Robots is the crawl's robots.txt verdict ("allowed", "not checked").
	Robots string
	// RenderedDOM and Screenshot (PNG) are set for pages fetched through a
	// headless browser.
	RenderedDOM []byte
	Screenshot  []byte
}

// Page is a capture to archive and what it is evidence for.
type Page struct {
	// LeadID is the lead the page is a source of.
	LeadID string
	// URL is the page's canonical URL, the key the lead knows it by.
	URL string
	// Source is the name of the crawl source that fetched it.
	Source  string
	Capture Capture
}

// Record types as written in WARC-Type.
const (
	TypeRequest  = "request"
	TypeResponse = "response"
	TypeMetadata = "metadata"
	TypeResource = "resource"
)

// URI prefixes of the resource records of rendered pages (the prefix is
// followed by the page's URL).
const (
	DOMURIPrefix        = "urn:rendered-dom:"
	ScreenshotURIPrefix = "urn:screenshot:"
)

// builtCapture is a capture serialised as gzip members, one per record.
type builtCapture struct {
	data          []byte
	responseID    string
	payloadDigest string // of the response's HTTP body
	blockDigest   string // of the response record's block
	rendered      bool
}

// recordOptions make gowarc add the SHA-256 digests (hex, "sha256:…", the
// encoding gowarc recommends for SHA-256 as padding-free) and the
// Content-Length, and fail on anything invalid instead of writing it.
var recordOptions = []gowarc.WarcRecordOption{
	gowarc.WithVersion(gowarc.V1_1),
	gowarc.WithAddMissingDigest(true),
	gowarc.WithDefaultDigestAlgorithm("sha256"),
	gowarc.WithDefaultDigestEncoding(gowarc.Base16),
	gowarc.WithSpecViolationPolicy(gowarc.ErrFail),
	gowarc.WithSyntaxErrorPolicy(gowarc.ErrFail),
	gowarc.WithBufferMaxMemBytes(64 << 20),
}

// newRecordID returns a fresh WARC-Record-ID (a random UUID URN).
func newRecordID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("<urn:uuid:%x-%x-%x-%x-%x>", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// record is the part of a record the archive fills in.
type record struct {
	typ         gowarc.RecordType
	id          string
	target      string
	date        time.Time
	contentType string
	fields      [][2]string
	block       []byte
}

// build serialises r as one gzip member and returns its WARC header.
func (r record) build(out *bytes.Buffer) (*gowarc.WarcFields, error) {
	rb := gowarc.NewRecordBuilder(r.typ, recordOptions...)
	rb.AddWarcHeader(gowarc.WarcRecordID, r.id)
	rb.AddWarcHeaderTime(gowarc.WarcDate, r.date)
	if r.target != "" {
		rb.AddWarcHeader(gowarc.WarcTargetURI, r.target)
	}
	rb.AddWarcHeader(gowarc.ContentType, r.contentType)
	for _, f := range r.fields {
		rb.AddWarcHeader(f[0], f[1])
	}
	if _, err := rb.Write(r.block); err != nil {
		rb.Close()
		return nil, err
	}
	rec, _, err := rb.Build()
	if err != nil {
		return nil, fmt.Errorf("%s record: %w", r.typ, err)
	}
	defer rec.Close()
	zw := gzipPool.Get().(*gzip.Writer)
	defer gzipPool.Put(zw)
	zw.Reset(out)
	if _, _, err := gowarc.NewMarshaler().Marshal(zw, rec, 0); err != nil {
		return nil, fmt.Errorf("%s record: %w", r.typ, err)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return rec.WarcHeader(), nil
}

// gzipPool keeps gzip writers between records: a new one allocates about
// 800 KB, far more than most records.
var gzipPool = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
	return zw
}}

// buildCapture turns a page into its records: request, response, metadata
// and, for rendered pages, the DOM and the screenshot as resources.
func buildCapture(p Page, version, warcinfoID string) (*builtCapture, error) {
	c := p.Capture
	if c.RequestURL == "" {
		return nil, errors.New("capture has no request URL")
	}
	u, err := url.Parse(c.RequestURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("capture URL %q is not absolute", c.RequestURL)
	}
	if c.Status < 100 || c.Status > 999 {
		return nil, fmt.Errorf("capture of %s has HTTP status %d", c.RequestURL, c.Status)
	}
	at := c.FetchedAt.UTC()
	if at.IsZero() {
		return nil, fmt.Errorf("capture of %s has no fetch time", c.RequestURL)
	}
	method := c.Method
	if method == "" {
		method = http.MethodGet
	}
	if err := checkCoding(c); err != nil {
		return nil, err
	}
	bc := &builtCapture{responseID: newRecordID(), rendered: len(c.RenderedDOM) > 0 || len(c.Screenshot) > 0}
	common := func(extra ...[2]string) [][2]string {
		f := [][2]string{{gowarc.WarcWarcinfoID, warcinfoID}}
		if ip := remoteIP(c.RemoteAddr); ip != "" {
			f = append(f, [2]string{gowarc.WarcIPAddress, ip})
		}
		return append(f, extra...)
	}
	var out bytes.Buffer

	// The response first: the others point at it.
	resp, err := record{typ: gowarc.Response, id: bc.responseID, target: c.RequestURL, date: at,
		contentType: "application/http;msgtype=response", fields: common(),
		block: responseBlock(c)}.build(&out)
	if err != nil {
		return nil, err
	}
	bc.payloadDigest = resp.Get(gowarc.WarcPayloadDigest)
	bc.blockDigest = resp.Get(gowarc.WarcBlockDigest)

	concurrent := [2]string{gowarc.WarcConcurrentTo, bc.responseID}
	if _, err := (record{typ: gowarc.Request, id: newRecordID(), target: c.RequestURL, date: at,
		contentType: "application/http;msgtype=request", fields: common(concurrent),
		block: requestBlock(method, u, c.RequestHeader)}).build(&out); err != nil {
		return nil, err
	}
	if _, err := (record{typ: gowarc.Metadata, id: newRecordID(), target: c.RequestURL, date: at,
		contentType: "application/warc-fields",
		fields:      [][2]string{{gowarc.WarcWarcinfoID, warcinfoID}, {gowarc.WarcRefersTo, bc.responseID}, concurrent},
		block:       metadataBlock(p, version)}).build(&out); err != nil {
		return nil, err
	}
	if len(c.RenderedDOM) > 0 {
		if _, err := (record{typ: gowarc.Resource, id: newRecordID(), target: DOMURIPrefix + c.RequestURL, date: at,
			contentType: "text/html; charset=utf-8", fields: common(concurrent),
			block: c.RenderedDOM}).build(&out); err != nil {
			return nil, err
		}
	}
	if len(c.Screenshot) > 0 {
		if _, err := (record{typ: gowarc.Resource, id: newRecordID(), target: ScreenshotURIPrefix + c.RequestURL, date: at,
			contentType: "image/png", fields: common(concurrent),
			block: c.Screenshot}).build(&out); err != nil {
			return nil, err
		}
	}
	bc.data = out.Bytes()
	return bc, nil
}

// remoteIP strips the port from a remote address.
func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return strings.Trim(addr, "[]")
}

// requestBlock writes the request as HTTP/1.1 would have sent it.
func requestBlock(method string, u *url.URL, h http.Header) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", method, u.RequestURI())
	fmt.Fprintf(&b, "Host: %s\r\n", u.Host)
	writeHeader(&b, h, "Host")
	b.WriteString("\r\n")
	return b.Bytes()
}

// checkCoding refuses a capture whose body does not match its
// Content-Encoding where that is cheap to tell: a gzip body starts with
// the gzip magic. A decoded body archived under "Content-Encoding: gzip"
// would be a record no reader can decode.
func checkCoding(c Capture) error {
	switch strings.ToLower(strings.TrimSpace(c.ResponseHeader.Get("Content-Encoding"))) {
	case "gzip", "x-gzip":
		if len(c.Body) > 0 && !bytes.HasPrefix(c.Body, []byte{0x1f, 0x8b}) {
			return fmt.Errorf("capture of %s: Content-Encoding is gzip but the body is not gzip data (a decoded body must come without Content-Encoding)", c.RequestURL)
		}
	}
	return nil
}

// responseBlock writes the status line, the headers as received and the
// body as received, still content-coded. Only the framing is restated:
// the body is stored whole, without the transfer coding (Go's HTTP client
// undid it), so Transfer-Encoding is left out and Content-Length is the
// stored length (the same as the server's, when it sent one).
func responseBlock(c Capture) []byte {
	var b bytes.Buffer
	text := http.StatusText(c.Status)
	if text == "" {
		text = "Status"
	}
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", c.Status, text)
	writeHeader(&b, c.ResponseHeader, "Transfer-Encoding", "Content-Length")
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(c.Body))
	b.Write(c.Body)
	return b.Bytes()
}

// writeHeader writes h sorted by name, leaving out the names in skip.
func writeHeader(b *bytes.Buffer, h http.Header, skip ...string) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if containsFold(skip, k) {
			continue
		}
		for _, v := range h[k] {
			v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
			fmt.Fprintf(b, "%s: %s\r\n", k, v)
		}
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// metadataBlock is the metadata record's application/warc-fields block.
func metadataBlock(p Page, version string) []byte {
	robots := p.Capture.Robots
	if robots == "" {
		robots = "unknown"
	}
	var b bytes.Buffer
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", k, strings.NewReplacer("\r", " ", "\n", " ").Replace(v))
		}
	}
	field("software", "riskmine/"+version)
	field("source", p.Source)
	field("fetched-at", p.Capture.FetchedAt.UTC().Format(time.RFC3339Nano))
	field("robots", robots)
	field("canonical-url", p.URL)
	field("lead-id", p.LeadID)
	if p.Capture.RemoteAddr != "" {
		field("remote-addr", p.Capture.RemoteAddr)
	}
	field("protocol", p.Capture.Proto)
	h := p.Capture.ResponseHeader
	field("body-note", "stored as received: still content-coded (Content-Encoding as sent); the transfer coding, if any, was undone by the HTTP client and Content-Length is the stored length")
	if te := strings.Join(h.Values("Transfer-Encoding"), ", "); te != "" {
		field("transfer-encoding", te+" (undone before storing)")
	}
	return b.Bytes()
}

// warcinfoRecord is the record that opens every file.
func warcinfoRecord(out *bytes.Buffer, id, filename, version string, at time.Time) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "software: riskmine/%s\r\n", version)
	b.WriteString("format: WARC File Format 1.1\r\n")
	b.WriteString("conformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n")
	b.WriteString("description: pages that became sources of riskmine leads\r\n")
	_, err := record{typ: gowarc.Warcinfo, id: id, date: at.UTC(), contentType: "application/warc-fields",
		fields: [][2]string{{gowarc.WarcFilename, filename}}, block: b.Bytes()}.build(out)
	return err
}
