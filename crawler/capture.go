package crawler

import (
	"net/http"
	"time"
)

// Capture is what the crawler saw when it fetched a page, kept so that a
// page which becomes a lead can be archived as evidence. It is not part of
// the page's JSON form. Captures are large (the whole response body), so
// callers drop them as soon as they know the page is not needed.
type Capture struct {
	// Method and RequestURL are the request that got the final response
	// (after redirects); RequestHeader the headers the crawler sent, those
	// the transport adds (Accept-Encoding) included.
	Method        string
	RequestURL    string
	RequestHeader http.Header
	// Status, Proto and ResponseHeader are the final response as received:
	// Content-Encoding and Content-Length as the server sent them, and
	// Transfer-Encoding when the server used one.
	Status         int
	Proto          string
	ResponseHeader http.Header
	// RawBody is the body as it came off the connection: after HTTP/1.1
	// chunked de-framing (Go's HTTP client always undoes the transfer
	// coding) but before content decoding, so a gzip-encoded page is kept
	// gzip-encoded. It is the evidence. When the body was not content-coded
	// it is the same slice as Body, not a copy.
	RawBody []byte
	// Body is the body after content decoding, before charset conversion:
	// what the crawler extracted the page from.
	Body []byte
	// RemoteAddr is the address (ip:port) the final response came from,
	// when known: the server's, or the proxy's for a source with Proxy.
	RemoteAddr string
	FetchedAt  time.Time
	// Robots is the crawl's robots.txt verdict for the URL: "allowed", or
	// "not checked" when the source ignores robots.txt.
	Robots string

	// RenderedDOM and Screenshot are set for sources fetched through a
	// headless browser (render: true): the serialised DOM after scripts ran,
	// and a full-page PNG.
	RenderedDOM []byte
	Screenshot  []byte
}
