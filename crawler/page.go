package crawler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Page is one new or changed post handed to the caller.
type Page struct {
	// URL is the address fetched (after redirects).
	URL string `json:"url"`
	// CanonicalURL is the page's identity: the canonical form of the URL, or
	// the page's own <link rel=canonical> when it stays on the same site.
	CanonicalURL string `json:"canonical_url"`
	// Source is the name of the configured source; Site its display name.
	Source string `json:"source"`
	Site   string `json:"site"`
	Title  string `json:"title"`
	// Text is the main text as UTF-8 paragraphs separated by "\n".
	Text string `json:"text"`
	// PublishedAt is zero when no publish time was found.
	PublishedAt time.Time `json:"published_at"`
	Author      string    `json:"author,omitempty"`
	FetchedAt   time.Time `json:"fetched_at"`
	// ContentHash identifies title and text; a page whose hash has not
	// changed since the last run is not handed on again.
	ContentHash string `json:"content_hash"`
	// Charset is the charset the page was decoded from.
	Charset string `json:"charset,omitempty"`
	// Capture is the raw exchange behind the page, for the evidence
	// archive; nil when the crawler kept none.
	Capture *Capture `json:"-"`
}

// EmitFunc receives each new or changed page. It is called from several
// goroutines at once. When it returns an error the page's crawl state is
// left as it was, so the next run fetches and hands it on again.
type EmitFunc func(ctx context.Context, p Page) error

// contentHash is the hex SHA-256 (first 128 bits) of title and text.
func contentHash(title, text string) string {
	h := sha256.New()
	h.Write([]byte(title))
	h.Write([]byte{0})
	h.Write([]byte(text))
	return hex.EncodeToString(h.Sum(nil)[:16])
}
