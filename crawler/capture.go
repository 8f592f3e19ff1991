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
	// (after redirects); RequestHeader the headers the crawler sent.
	Method        string
	RequestURL    string
	RequestHeader http.Header
	// Status, ResponseHeader and Body are the final response as received
	// (Body after content decoding, before charset conversion).
	Status         int
	ResponseHeader http.Header
	Body           []byte
	// RemoteAddr is the address the response came from, when known.
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
