package crawler

import (
	"fmt"
	"strings"
	"time"
)

// sitemapDoc is a <urlset> or a <sitemapindex>.
type sitemapDoc struct {
	URLs []struct {
		Loc     string `xml:"loc"`
		LastMod string `xml:"lastmod"`
	} `xml:"url"`
	Sitemaps []struct {
		Loc     string `xml:"loc"`
		LastMod string `xml:"lastmod"`
	} `xml:"sitemap"`
}

// sitemapEntry is one <url> or one child <sitemap> of an index.
type sitemapEntry struct {
	Loc     string
	LastMod time.Time
}

// parseSitemap reads a sitemap (urlset) or a sitemap index. Decompression
// of .gz files happens in the transport, under the size limit.
func parseSitemap(raw []byte) (urls, children []sitemapEntry, err error) {
	root, err := rootElement(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("crawler: sitemap: %w", err)
	}
	switch root.Local {
	case "urlset", "sitemapindex":
	default:
		return nil, nil, fmt.Errorf("crawler: sitemap: root element <%s> is neither urlset nor sitemapindex", root.Local)
	}
	var d sitemapDoc
	if err := newXMLDecoder(raw).Decode(&d); err != nil {
		return nil, nil, fmt.Errorf("crawler: sitemap: %w", err)
	}
	for _, u := range d.URLs {
		if loc := strings.TrimSpace(u.Loc); loc != "" {
			urls = append(urls, sitemapEntry{Loc: loc, LastMod: parseFeedTime(u.LastMod)})
		}
	}
	for _, s := range d.Sitemaps {
		if loc := strings.TrimSpace(s.Loc); loc != "" {
			children = append(children, sitemapEntry{Loc: loc, LastMod: parseFeedTime(s.LastMod)})
		}
	}
	return urls, children, nil
}
