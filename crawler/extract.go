package crawler

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Article is what Extract finds in one page: the headline, the main text as
// plain UTF-8 paragraphs separated by "\n", the publish time (zero when none
// was found), the author or byline, and the charset the page was decoded
// from.
type Article struct {
	Title       string
	Text        string
	PublishedAt time.Time
	Author      string
	Charset     string
}

// ErrEmptyPage is returned by Extract for a page with no bytes (or only
// white space).
var ErrEmptyPage = errors.New("crawler: extract: empty page")

// ErrBinaryPage is returned by Extract for bytes that are not text (an
// image or archive served where a page was expected).
var ErrBinaryPage = errors.New("crawler: extract: page is binary, not HTML")

// chinaZone is the zone assumed for publish times written without one on a
// Chinese page (mainland China has one zone and no daylight saving time).
var chinaZone = time.FixedZone("CST", 8*3600)

// Extract finds the title, main text, publish time and author of an HTML
// page. raw is the page as fetched, in any charset (see DecodeCharset);
// contentType is the HTTP Content-Type header value ("" when unknown);
// pageURL, when not "", helps with dates written in the URL.
//
// The main text comes from a generic extractor tuned on Chinese news pages:
// boilerplate elements (scripts, navigation, footers, comment threads) are
// dropped, every block of prose scores its ancestors by its length and its
// punctuation, the container with the best score discounted by its link
// density wins, and its link-heavy blocks are left out. The publish time is
// taken from meta tags, JSON-LD, <time> and finally date patterns near the
// headline; a time without a zone is read in China Standard Time on a
// Chinese page and in UTC otherwise.
//
// Extract returns ErrEmptyPage for an empty page and ErrBinaryPage for bytes
// that are not text; otherwise it returns what
// it found, which may have an empty Text (a page with no prose). It never
// panics on malformed HTML or invalid bytes.
func Extract(raw []byte, contentType, pageURL string) (Article, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return Article{}, ErrEmptyPage
	}
	body, cs, _ := DecodeCharset(raw, contentType)
	if extractLooksBinary(raw) {
		return Article{Charset: cs}, ErrBinaryPage
	}
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		// The parser refuses pathological pages (elements nested more
		// than 512 deep); fall back to their plain text.
		return extractTokens(body, cs), nil
	}
	var u *url.URL
	if pageURL != "" {
		u, _ = url.Parse(pageURL)
	}
	return extractDocument(doc, cs, u), nil
}

// extractDocument runs the extractor on a parsed document.
func extractDocument(doc *html.Node, cs string, u *url.URL) Article {
	meta := extractMetaScan(doc)
	a := Article{Charset: cs}
	title, confirmed := extractTitle(meta)
	tree := extractBuildTree(doc)
	a.Text = extractMainText(tree)
	a.Title = title
	if !confirmed && utf8.RuneCountInString(title) < 8 {
		// No heading or meta title agrees with a short <title>, which is
		// then likely a section name ("新闻动态"): a different heading
		// just above the text is the better guess.
		if h := extractHeadingBefore(tree); h != "" && !strings.Contains(h, title) && !strings.Contains(title, h) {
			a.Title = h
		}
	}
	zone := time.UTC
	if extractHasHan(a.Title) || extractHasHan(a.Text) {
		zone = chinaZone
	}
	a.PublishedAt = extractPublished(meta, tree, a.Title, u, zone)
	a.Author = extractAuthor(meta, tree, a.Title)
	return a
}

// extractTokens is the fallback for pages the HTML parser refuses: the
// <title> and all text outside scripts and styles, one line per block.
func extractTokens(body []byte, cs string) Article {
	z := html.NewTokenizer(bytes.NewReader(body))
	var text, title strings.Builder
	skip, inTitle := 0, false
	for {
		switch z.Next() {
		case html.ErrorToken:
			a := Article{Charset: cs, Title: extractCollapseSpace(title.String())}
			var lines []string
			for _, l := range strings.Split(text.String(), "\n") {
				if l = extractCollapseSpace(l); l != "" {
					lines = append(lines, l)
				}
			}
			a.Text = strings.Join(lines, "\n")
			return a
		case html.StartTagToken:
			name, _ := z.TagName()
			switch a := atom.Lookup(name); {
			case a == atom.Script || a == atom.Style:
				skip++
			case a == atom.Title:
				inTitle = true
			case extractBlockTags[a] || a == atom.Br:
				text.WriteByte('\n')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch a := atom.Lookup(name); {
			case a == atom.Script || a == atom.Style:
				skip = max(skip-1, 0)
			case a == atom.Title:
				inTitle = false
			case extractBlockTags[a]:
				text.WriteByte('\n')
			}
		case html.TextToken:
			switch {
			case inTitle:
				title.Write(z.Text())
			case skip == 0:
				text.Write(z.Text())
			}
		}
	}
}

// extractLooksBinary reports whether the start of raw has the control bytes
// of binary data (text in any charset, UTF-16 aside, has almost none).
func extractLooksBinary(raw []byte) bool {
	if _, _, size := charsetFromBOM(raw); size > 0 {
		return false
	}
	head := raw[:min(len(raw), 4096)]
	ctl := 0
	for _, c := range head {
		if c < 0x09 || (c > 0x0d && c < 0x20 && c != 0x1b) || c == 0x7f {
			ctl++
		}
	}
	return ctl*20 > len(head)
}

// extractHasHan reports whether s contains a Han character.
func extractHasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// extractNodeText returns the text of n's subtree with runs of white space
// collapsed to one space, skipping scripts and styles.
func extractNodeText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
			b.WriteByte(' ')
			return
		case html.ElementNode:
			switch n.DataAtom {
			case atom.Script, atom.Style, atom.Noscript, atom.Template:
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return extractCollapseSpace(b.String())
}

// extractCollapseSpace trims s and collapses runs of white space (including
// no-break spaces and full-width spaces) to one ASCII space.
func extractCollapseSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// extractCollapseCount is extractCollapseSpace that also counts the
// non-space runes of the result.
func extractCollapseCount(s string) (string, int) {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	n := 0
	for _, r := range s {
		if r == ' ' || r == '\n' || r == '\t' || r == '\r' || r == '\u200b' || r == '\ufeff' || r >= 0x80 && unicode.IsSpace(r) || r == '\f' || r == '\v' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
		n++
	}
	return b.String(), n
}

// extractAttr returns the value of the attribute key of n, or "".
func extractAttr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// extractRuneLen counts the non-space runes of s.
func extractRuneLen(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// extractTruncate shortens s to at most n runes.
func extractTruncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
