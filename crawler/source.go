package crawler

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/andybalholm/cascadia"
)

// Source kinds.
const (
	KindHTML    = "html"
	KindRSS     = "rss"
	KindAtom    = "atom"
	KindSitemap = "sitemap"
)

// userAgentVersion is the version named in the default User-Agent.
const userAgentVersion = "0.1"

// DefaultUserAgent is the User-Agent sent when neither the source nor the
// crawler options name one: it names riskmine and a contact URL so site
// owners can reach the operator.
func DefaultUserAgent(contactURL string) string {
	if contactURL == "" {
		return "riskmine/" + userAgentVersion
	}
	return "riskmine/" + userAgentVersion + " (+" + contactURL + ")"
}

// Source is one site, feed or sitemap crawled on a schedule. Zero values take
// the defaults noted on each field.
type Source struct {
	// Name identifies the source in state, history and the UI.
	Name string
	// Kind is KindHTML, KindRSS, KindAtom or KindSitemap.
	Kind string
	// Site is a display name for the site; defaults to the first seed's host.
	Site string
	// Seeds are the list pages, feed URLs or sitemap URLs.
	Seeds []string
	// Schedule is a cron spec (5 fields or a descriptor such as @every 10m);
	// empty means manual runs only.
	Schedule string
	// AllowedDomains limits the hosts fetched; defaults to the seeds' hosts.
	AllowedDomains []string
	// MaxDepth is the largest link distance from a seed (default 2): detail
	// pages of a list page or feed are at depth 1, sitemap children at 1 and
	// their URLs at 2.
	MaxDepth int
	// MaxPages bounds the detail pages fetched in one run (default 500).
	MaxPages int
	// Headers are added to every request.
	Headers map[string]string
	// UserAgent overrides the crawler's User-Agent.
	UserAgent string
	// Delay is the least time between the starts of any two requests to
	// one host (0: none); a larger robots.txt Crawl-delay raises it.
	Delay time.Duration
	// Parallelism is the number of requests in flight per host (default 2).
	Parallelism int
	// Proxy is an optional http:// or socks5:// proxy URL.
	Proxy string
	// Revisit is how long a fetched detail page is left alone (0: refetch,
	// conditionally, on every run).
	Revisit time.Duration
	// AllowPrivate lets the source reach loopback, private and link-local
	// addresses (intranet sources, the demo, tests).
	AllowPrivate bool
	// IgnoreRobots turns off robots.txt, which is obeyed by default.
	IgnoreRobots bool
	// Render fetches the list and detail pages with the crawler's headless
	// browser, so posts built by JavaScript are seen (feeds and sitemaps
	// are read as they are); RenderOptions tune it.
	Render        bool
	RenderOptions RenderOptions
	// List holds the selectors of list pages (html sources).
	List ListSelectors
	// Detail holds optional selectors that override the generic extractor.
	Detail DetailSelectors
}

// ListSelectors find item links and the next page on a list page.
type ListSelectors struct {
	// Items selects the links (a[href] or elements containing one) to detail pages.
	Items string
	// Next selects the link to the next list page.
	Next string
	// MaxPages bounds the list pages followed per seed (default 5).
	MaxPages int
}

// DetailSelectors are CSS selectors applied to detail pages; each one that
// matches replaces the generic extractor's value for that field.
type DetailSelectors struct {
	Title  string
	Body   string
	Time   string
	Author string
}

// withDefaults returns s with defaults filled in, or an error naming the
// first bad field.
func (s Source) withDefaults() (Source, error) {
	if s.Name == "" {
		return s, errors.New("crawler: source without a name")
	}
	if s.Name == LeaderLease {
		return s, fmt.Errorf("crawler: source name %q is reserved (the crawl leader's lease); expected another name", s.Name)
	}
	switch s.Kind {
	case KindHTML, KindRSS, KindAtom, KindSitemap:
	default:
		return s, fmt.Errorf("crawler: source %s: kind %q, expected html, rss, atom or sitemap", s.Name, s.Kind)
	}
	if len(s.Seeds) == 0 {
		return s, fmt.Errorf("crawler: source %s: no seed URLs", s.Name)
	}
	var hosts []string
	for _, seed := range s.Seeds {
		u, err := url.Parse(seed)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return s, fmt.Errorf("crawler: source %s: seed %q is not an http(s) URL", s.Name, seed)
		}
		hosts = append(hosts, strings.ToLower(u.Hostname()))
	}
	if s.Kind == KindHTML && s.List.Items == "" {
		return s, fmt.Errorf("crawler: source %s: html sources need list items selector", s.Name)
	}
	for _, sel := range []struct{ key, v string }{
		{"list.items", s.List.Items}, {"list.next", s.List.Next}, {"detail.title", s.Detail.Title},
		{"detail.body", s.Detail.Body}, {"detail.time", s.Detail.Time}, {"detail.author", s.Detail.Author},
	} {
		if sel.v == "" {
			continue
		}
		if _, err := cascadia.Compile(sel.v); err != nil {
			return s, fmt.Errorf("crawler: source %s: %s: invalid CSS selector %q: %w", s.Name, sel.key, sel.v, err)
		}
	}
	if _, err := proxyURL(s.Proxy); err != nil {
		return s, fmt.Errorf("crawler: source %s: %w", s.Name, err)
	}
	if s.Render {
		o, err := s.RenderOptions.withDefaults()
		if err != nil {
			return s, fmt.Errorf("crawler: source %s: %w", s.Name, err)
		}
		s.RenderOptions = o
	}
	if len(s.AllowedDomains) == 0 {
		// The seeds' hosts with and without www., which sites redirect between.
		seen := map[string]bool{}
		add := func(h string) {
			if !seen[h] {
				seen[h] = true
				s.AllowedDomains = append(s.AllowedDomains, h)
			}
		}
		for _, h := range hosts {
			add(h)
			if _, err := netip.ParseAddr(h); err != nil {
				bare := strings.TrimPrefix(h, "www.")
				add(bare)
				add("www." + bare)
			}
		}
	} else {
		d := make([]string, len(s.AllowedDomains))
		for i, h := range s.AllowedDomains {
			d[i] = strings.ToLower(h)
		}
		s.AllowedDomains = d
	}
	if s.Site == "" {
		s.Site = hosts[0]
	}
	if s.MaxDepth <= 0 {
		s.MaxDepth = 2
	}
	if s.MaxPages <= 0 {
		s.MaxPages = 500
	}
	if s.Parallelism <= 0 {
		s.Parallelism = 2
	}
	if s.List.MaxPages <= 0 {
		s.List.MaxPages = 5
	}
	return s, nil
}

// allowsHost reports whether host is one of the source's allowed domains.
func (s *Source) allowsHost(host string) bool {
	host = strings.ToLower(host)
	for _, d := range s.AllowedDomains {
		if d == host {
			return true
		}
	}
	return false
}
