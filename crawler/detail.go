package crawler

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
)

// extractPage turns a fetched detail page into a Page: the source's detail
// selectors where given and matching, the generic extractor (Extract) for
// the rest, and the page's same-site <link rel=canonical>.
func (r *run) extractPage(f *fetched) (Page, error) {
	p := Page{URL: f.finalURL.String(), Capture: f.capture}
	sel := r.src.Detail
	need := true
	if sel.Title != "" || sel.Body != "" || sel.Time != "" || sel.Author != "" {
		body, cs, _ := DecodeCharset(f.body, f.contentType)
		p.Charset = cs
		doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
		if err == nil {
			if sel.Title != "" {
				p.Title = collapseSpace(doc.Find(sel.Title).First().Text())
			}
			if sel.Body != "" {
				p.Text = selectionText(doc.Find(sel.Body))
			}
			if sel.Time != "" {
				s := doc.Find(sel.Time).First()
				v, ok := s.Attr("datetime")
				if !ok {
					v = s.Text()
				}
				p.PublishedAt = parseLooseTime(v)
			}
			if sel.Author != "" {
				p.Author = collapseSpace(doc.Find(sel.Author).First().Text())
			}
		}
		need = p.Title == "" || p.Text == "" || p.PublishedAt.IsZero() || p.Author == ""
	}
	if need {
		a, err := Extract(f.body, f.contentType, p.URL)
		if err != nil {
			return p, err
		}
		if p.Title == "" {
			p.Title = a.Title
		}
		if p.Text == "" {
			p.Text = a.Text
		}
		if p.PublishedAt.IsZero() {
			p.PublishedAt = a.PublishedAt
		}
		if p.Author == "" {
			p.Author = a.Author
		}
		if p.Charset == "" {
			p.Charset = a.Charset
		}
	}
	if href := canonicalLink(f.body); href != "" {
		if u, err := f.finalURL.Parse(href); err == nil && (u.Scheme == "http" || u.Scheme == "https") && sameSite(u, f.finalURL) {
			p.CanonicalURL = canonicalURL(u)
		}
	}
	return p, nil
}

// selectionText renders selected elements as paragraphs, one per block.
func selectionText(s *goquery.Selection) string {
	s = s.Clone()
	s.Find("script, style, noscript").Remove()
	s.Find("p, div, br, li, h1, h2, h3, h4, h5, h6, tr, blockquote, pre").Each(func(_ int, b *goquery.Selection) {
		b.AppendHtml("\n")
	})
	var lines []string
	for _, l := range strings.Split(s.Text(), "\n") {
		if l = strings.TrimSpace(collapseSpace(l)); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// canonicalLink finds <link rel=canonical href> in the head of raw HTML. It
// tokenizes instead of parsing: the head is all it needs, and the bytes may
// be in any ASCII-compatible charset.
func canonicalLink(raw []byte) string {
	if !bytes.Contains(raw, []byte("canonical")) {
		return ""
	}
	z := html.NewTokenizer(bytes.NewReader(raw))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch string(name) {
			case "body":
				return ""
			case "link":
				var rel, href string
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					switch string(k) {
					case "rel":
						rel = strings.ToLower(string(v))
					case "href":
						href = strings.TrimSpace(string(v))
					}
				}
				for _, f := range strings.Fields(rel) {
					if f == "canonical" && href != "" {
						return href
					}
				}
			}
		}
	}
}

// selectorZone is the zone of selector times written without one: the
// sources are Chinese sites, and China has one zone without summer time.
var selectorZone = time.FixedZone("UTC+8", 8*3600)

var looseTimeRE = regexp.MustCompile(`(\d{4})\s*[-/年.]\s*(\d{1,2})\s*[-/月.]\s*(\d{1,2})\s*日?(?:\D{0,3}?(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?)?`)

// parseLooseTime reads a time picked by a selector: RFC 3339, or the
// "2024-05-01 08:30", "2024年5月1日 8:30" forms of Chinese sites (UTC+8).
func parseLooseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC()
	}
	m := looseTimeRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}
	}
	n := func(i int) int {
		v, _ := strconv.Atoi(m[i])
		return v
	}
	y, mo, d := n(1), n(2), n(3)
	if mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}
	}
	h, mi, se := 0, 0, 0
	if m[4] != "" {
		h, mi = n(4), n(5)
		if m[6] != "" {
			se = n(6)
		}
	}
	if h > 23 || mi > 59 || se > 59 {
		return time.Time{}
	}
	return time.Date(y, time.Month(mo), d, h, mi, se, 0, selectorZone).UTC()
}
