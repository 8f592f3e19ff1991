package crawler

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html/charset"
)

// feedItem is one entry of an RSS or Atom feed.
type feedItem struct {
	Link      string
	Title     string
	Author    string
	Published time.Time
	// Content is the entry's HTML or text body (content:encoded, Atom
	// content, or the description/summary), possibly only a teaser.
	Content string
	// Full is set when Content came from content:encoded or Atom <content>,
	// which feeds use for the whole article.
	Full bool
}

// rssDoc and atomDoc hold the parts of RSS 2.0 / RSS 0.9x / Atom 1.0 we use.
type rssDoc struct {
	Items    []rssItem `xml:"channel>item"`
	RDFItems []rssItem `xml:"item"` // RSS 1.0 (RDF) puts items beside the channel
}

type rssItem struct {
	Title       string   `xml:"title"`
	Link        string   `xml:"link"`
	GUID        rssGUID  `xml:"guid"`
	PubDate     string   `xml:"pubDate"`
	DCDate      string   `xml:"http://purl.org/dc/elements/1.1/ date"`
	Author      string   `xml:"author"`
	Creator     string   `xml:"http://purl.org/dc/elements/1.1/ creator"`
	Description string   `xml:"description"`
	Encoded     []string `xml:"http://purl.org/rss/1.0/modules/content/ encoded"`
}

type rssGUID struct {
	Value       string `xml:",chardata"`
	IsPermaLink string `xml:"isPermaLink,attr"`
}

type atomDoc struct {
	Entries []atomEntry `xml:"http://www.w3.org/2005/Atom entry"`
}

type atomEntry struct {
	Title     atomText   `xml:"http://www.w3.org/2005/Atom title"`
	Links     []atomLink `xml:"http://www.w3.org/2005/Atom link"`
	ID        string     `xml:"http://www.w3.org/2005/Atom id"`
	Published string     `xml:"http://www.w3.org/2005/Atom published"`
	Updated   string     `xml:"http://www.w3.org/2005/Atom updated"`
	Authors   []struct {
		Name string `xml:"http://www.w3.org/2005/Atom name"`
	} `xml:"http://www.w3.org/2005/Atom author"`
	Summary atomText `xml:"http://www.w3.org/2005/Atom summary"`
	Content atomText `xml:"http://www.w3.org/2005/Atom content"`
}

type atomText struct {
	Type  string `xml:"type,attr"`
	Inner string `xml:",innerxml"`
	Text  string `xml:",chardata"`
}

// value returns the text of an Atom text construct: HTML for type html
// (escaped in the XML, so chardata), the inner markup for xhtml.
func (t atomText) value() string {
	if t.Type == "xhtml" {
		return strings.TrimSpace(t.Inner)
	}
	return strings.TrimSpace(t.Text)
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
}

// parseFeed reads an RSS or Atom document, whichever the root element is.
func parseFeed(raw []byte) ([]feedItem, error) {
	root, err := rootElement(raw)
	if err != nil {
		return nil, fmt.Errorf("crawler: feed: %w", err)
	}
	dec := newXMLDecoder(raw)
	switch strings.ToLower(root.Local) {
	case "feed":
		var d atomDoc
		if err := dec.Decode(&d); err != nil {
			return nil, fmt.Errorf("crawler: atom feed: %w", err)
		}
		items := make([]feedItem, 0, len(d.Entries))
		for _, e := range d.Entries {
			it := feedItem{Title: strings.TrimSpace(e.Title.value())}
			for _, l := range e.Links {
				if (l.Rel == "" || l.Rel == "alternate") && l.Href != "" {
					it.Link = strings.TrimSpace(l.Href)
					break
				}
			}
			if it.Link == "" && strings.HasPrefix(e.ID, "http") {
				it.Link = strings.TrimSpace(e.ID)
			}
			it.Published = parseFeedTime(e.Published)
			if it.Published.IsZero() {
				it.Published = parseFeedTime(e.Updated)
			}
			if len(e.Authors) > 0 {
				it.Author = strings.TrimSpace(e.Authors[0].Name)
			}
			it.Content = e.Content.value()
			it.Full = it.Content != ""
			if it.Content == "" {
				it.Content = e.Summary.value()
			}
			items = append(items, it)
		}
		return items, nil
	case "rss", "rdf":
		var d rssDoc
		if err := dec.Decode(&d); err != nil {
			return nil, fmt.Errorf("crawler: rss feed: %w", err)
		}
		src := append(d.Items, d.RDFItems...)
		items := make([]feedItem, 0, len(src))
		for _, e := range src {
			it := feedItem{Title: strings.TrimSpace(e.Title), Link: strings.TrimSpace(e.Link)}
			if it.Link == "" && e.GUID.IsPermaLink != "false" && strings.HasPrefix(strings.TrimSpace(e.GUID.Value), "http") {
				it.Link = strings.TrimSpace(e.GUID.Value)
			}
			it.Published = parseFeedTime(e.PubDate)
			if it.Published.IsZero() {
				it.Published = parseFeedTime(e.DCDate)
			}
			it.Author = strings.TrimSpace(e.Creator)
			if it.Author == "" {
				it.Author = strings.TrimSpace(e.Author)
			}
			for _, c := range e.Encoded {
				if strings.TrimSpace(c) != "" {
					it.Content = strings.TrimSpace(c)
					it.Full = true
					break
				}
			}
			if it.Content == "" {
				it.Content = strings.TrimSpace(e.Description)
			}
			items = append(items, it)
		}
		return items, nil
	}
	return nil, fmt.Errorf("crawler: feed: root element <%s> is neither rss, rdf nor feed", root.Local)
}

// newXMLDecoder reads XML in any charset the declaration names (GBK feeds
// exist) and tolerates HTML entities common in hand-made feeds.
func newXMLDecoder(raw []byte) *xml.Decoder {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.CharsetReader = charset.NewReaderLabel
	dec.Strict = false
	dec.Entity = xml.HTMLEntity
	return dec
}

// rootElement returns the name of the first element of an XML document.
func rootElement(raw []byte) (xml.Name, error) {
	dec := newXMLDecoder(raw)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return xml.Name{}, fmt.Errorf("no root element")
		}
		if err != nil {
			return xml.Name{}, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name, nil
		}
	}
}

var feedTimeLayouts = []string{
	time.RFC1123Z, time.RFC1123, time.RFC3339, time.RFC3339Nano,
	"Mon, 2 Jan 2006 15:04:05 -0700", "Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 02 Jan 2006 15:04 -0700", "2 Jan 2006 15:04:05 -0700",
	"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04Z07:00", "2006-01-02",
}

// parseFeedTime reads the date formats feeds use; zero when none fits.
// Times without a zone are read as UTC.
func parseFeedTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, l := range feedTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// htmlToText turns a feed entry's HTML into plain paragraphs.
func htmlToText(s string) string {
	if !strings.Contains(s, "<") {
		return strings.TrimSpace(collapseSpace(s))
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(s))
	if err != nil {
		return ""
	}
	doc.Find("script, style, noscript").Remove()
	doc.Find("p, div, br, li, h1, h2, h3, h4, h5, h6, tr, blockquote, pre").Each(func(_ int, sel *goquery.Selection) {
		sel.AppendHtml("\n")
	})
	var lines []string
	for _, l := range strings.Split(doc.Text(), "\n") {
		if l = strings.TrimSpace(collapseSpace(l)); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// collapseSpace folds runs of white space into one space.
func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
