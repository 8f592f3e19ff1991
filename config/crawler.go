package config

import (
	"net/url"
	"strconv"
	"time"

	"github.com/andybalholm/cascadia"
	"github.com/robfig/cron/v3"
)

const (
	secondF = time.Second
	hourF   = time.Hour
)

func itoa(i int) string { return strconv.Itoa(i) }

// Crawler configures fetching and the sources to crawl.
type Crawler struct {
	// UserAgent is sent with every request unless a source overrides it.
	UserAgent string `yaml:"user_agent"`
	// ContactURL is named in the default User-Agent so site owners can reach us.
	ContactURL string `yaml:"contact_url"`
	// Timeout bounds one request, headers and body.
	Timeout Duration `yaml:"timeout"`
	// MaxBodyBytes is the largest response body read off the wire.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxDecompressedBytes is the largest body after gzip decompression
	// (0: four times max_body_bytes); it stops gzip bombs.
	MaxDecompressedBytes int64 `yaml:"max_decompressed_bytes"`
	// MaxRedirects followed per request.
	MaxRedirects int `yaml:"max_redirects"`
	// Retries on network errors, 5xx and 429.
	Retries int `yaml:"retries"`
	// RetryBackoff is the first pause between attempts; it doubles on each
	// retry (with jitter) up to 30s.
	RetryBackoff Duration `yaml:"retry_backoff"`
	// MaxRetryAfter is the longest Retry-After honoured; a server asking for
	// more gives the URL up for the run.
	MaxRetryAfter Duration `yaml:"max_retry_after"`
	// Jitter is the largest random delay added to a scheduled run.
	Jitter Duration `yaml:"jitter"`
	// LeaseTTL is how long a run's lease on its source, a crawl job's claim
	// and the job leader's term last without renewal (renewed every third
	// of it): a crashed node's source is taken over after it.
	LeaseTTL Duration `yaml:"lease_ttl"`
	// MaxCrawlDelay caps the robots.txt Crawl-delay honoured; a host is
	// requested at most once per the larger of a source's delay and its
	// Crawl-delay up to this cap.
	MaxCrawlDelay Duration `yaml:"max_crawl_delay"`
	// Render configures the headless browser of sources with render: true.
	Render Render `yaml:"render"`
	// Sources are the sites to crawl.
	Sources []Source `yaml:"sources"`

	// Health sets when a source counts as unhealthy (crawler.health).
	Health CrawlerHealth `yaml:"health"`
}

// CrawlerHealth configures the source health judgement: after each run a
// source is checked for robots.txt refusing its list pages, list
// selectors matching nothing on pages that answered, and runs without
// any item; each change is sent to the webhooks with source_health: true.
type CrawlerHealth struct {
	// EmptyRuns is how many runs in a row without any item make a source
	// unhealthy (default 3).
	EmptyRuns int `yaml:"empty_runs"`
}

// validateCrawlerHealth checks crawler.health.
func (c *Config) validateCrawlerHealth() error {
	if n := c.Crawler.Health.EmptyRuns; n < 1 || n > 1000 {
		return c.errAt("crawler.health.empty_runs", "must be a number of runs from 1 to 1000, got %d", n)
	}
	return nil
}

// Render configures the headless Chromium that fetches the pages of
// sources with render: true.
type Render struct {
	// Tabs is the number of pages rendered at once, over all sources
	// (default 2); each tab costs memory, see docs/PERFORMANCE.md.
	Tabs int `yaml:"tabs"`
	// Chromium is the browser binary; empty looks for chromium,
	// chromium-browser, google-chrome and google-chrome-stable on PATH.
	Chromium string `yaml:"chromium"`
	// PageTimeout bounds one page: loading, waiting, scrolling, the DOM and
	// the screenshot (default 60s).
	PageTimeout Duration `yaml:"page_timeout"`
	// MaxDOMBytes is the largest rendered DOM kept (default 10 MiB).
	MaxDOMBytes int64 `yaml:"max_dom_bytes"`
	// MaxPageBytes bounds the bytes of all the responses one page loads
	// (default 50 MiB); past it the browser's further requests are refused.
	MaxPageBytes int64 `yaml:"max_page_bytes"`
}

// RenderOptions tune how a rendered source's pages are judged ready.
type RenderOptions struct {
	// WaitFor is a CSS selector: the page is ready once it matches.
	// Without it the page is ready once the network was quiet for
	// NetworkIdle.
	WaitFor string `yaml:"wait_for"`
	// NetworkIdle is how long no request may be in flight for the page to
	// count as idle (default 500ms).
	NetworkIdle *Duration `yaml:"network_idle"`
	// IdleTimeout bounds each wait for network idle (default 10s): a page
	// that keeps polling is taken as it is then.
	IdleTimeout *Duration `yaml:"idle_timeout"`
	// Scroll is how many times the page is scrolled to the bottom, each
	// followed by a wait for network idle, so lazy lists load more (0-50).
	Scroll int `yaml:"scroll"`
	// Media lets the page load images, audio, video and fonts, which are
	// refused by default.
	Media bool `yaml:"media"`
}

// Source is one site, feed or sitemap to crawl on a schedule.
type Source struct {
	Name string `yaml:"name"`
	// Kind is html, rss, atom or sitemap.
	Kind string `yaml:"kind"`
	// Site is a display name for the site (defaults to the seed host).
	Site string `yaml:"site"`
	// Seeds are the list pages, feed URLs or sitemap URLs.
	Seeds []string `yaml:"seeds"`
	// Schedule is a cron spec (5 fields, or @every 10m, @hourly, …); empty means manual only.
	Schedule string `yaml:"schedule"`
	// AllowedDomains limits the hosts fetched; defaults to the seeds' hosts.
	AllowedDomains []string `yaml:"allowed_domains"`
	MaxDepth       int      `yaml:"max_depth"`
	MaxPages       int      `yaml:"max_pages"`
	// Headers are added to every request of this source.
	Headers   map[string]string `yaml:"headers"`
	UserAgent string            `yaml:"user_agent"`
	// Delay between requests to one host (default 1s when not written; 0s
	// turns it off), and requests in flight per host.
	Delay       *Duration `yaml:"delay"`
	Parallelism int       `yaml:"parallelism"`
	Proxy       string    `yaml:"proxy"`
	// Revisit is how long a detail page is left alone after a fetch
	// (default 24h when not written; 0s fetches it again, conditionally,
	// on every run).
	Revisit *Duration `yaml:"revisit"`
	// AllowPrivate lets the source reach loopback and private addresses (intranet, demo).
	AllowPrivate bool `yaml:"allow_private"`
	// IgnoreRobots turns off robots.txt (it is obeyed by default).
	IgnoreRobots bool `yaml:"ignore_robots"`
	// Render fetches the source's pages with headless Chromium, so posts
	// built by JavaScript are seen; RenderOptions tune it.
	Render        bool          `yaml:"render"`
	RenderOptions RenderOptions `yaml:"render_options"`
	// List and Detail hold the CSS selectors of html sources.
	List   ListSelectors   `yaml:"list"`
	Detail DetailSelectors `yaml:"detail"`
}

// ListSelectors find the item links and the next page on a list page.
type ListSelectors struct {
	Items    string `yaml:"items"`
	Next     string `yaml:"next"`
	MaxPages int    `yaml:"max_pages"`
}

// DetailSelectors override the generic extractor on detail pages.
type DetailSelectors struct {
	Title  string `yaml:"title"`
	Body   string `yaml:"body"`
	Time   string `yaml:"time"`
	Author string `yaml:"author"`
}

func defaultCrawler() Crawler {
	return Crawler{
		ContactURL:    "https://example.org/riskmine",
		Timeout:       Duration(30 * time.Second),
		MaxBodyBytes:  10 << 20,
		MaxRedirects:  5,
		Retries:       3,
		RetryBackoff:  Duration(500 * time.Millisecond),
		MaxRetryAfter: Duration(2 * time.Minute),
		Jitter:        Duration(30 * time.Second),
		LeaseTTL:      Duration(30 * time.Second),
		MaxCrawlDelay: Duration(30 * time.Second),
		Health:        CrawlerHealth{EmptyRuns: 3},
		Render: Render{Tabs: 2, PageTimeout: Duration(time.Minute), MaxDOMBytes: 10 << 20,
			MaxPageBytes: 50 << 20},
	}
}

func (c *Config) validateCrawler() error {
	cr := &c.Crawler
	if err := c.validateCrawlerHealth(); err != nil {
		return err
	}
	if cr.Timeout.D() <= 0 {
		return c.errAt("crawler.timeout", "must be a positive duration such as 30s")
	}
	if cr.MaxBodyBytes < 1024 {
		return c.errAt("crawler.max_body_bytes", "must be at least 1024, got %d", cr.MaxBodyBytes)
	}
	if cr.MaxDecompressedBytes != 0 && cr.MaxDecompressedBytes < cr.MaxBodyBytes {
		return c.errAt("crawler.max_decompressed_bytes", "must be 0 (four times max_body_bytes) or at least max_body_bytes (%d), got %d", cr.MaxBodyBytes, cr.MaxDecompressedBytes)
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"retry_backoff", cr.RetryBackoff}, {"max_retry_after", cr.MaxRetryAfter}, {"jitter", cr.Jitter}} {
		if d.v < 0 {
			return c.errAt("crawler."+d.key, "must not be negative, got %v", d.v.D())
		}
	}
	if cr.LeaseTTL.D() < 3*time.Second || cr.LeaseTTL.D() > 10*time.Minute {
		return c.errAt("crawler.lease_ttl", "must be between 3s and 10m, got %v", cr.LeaseTTL.D())
	}
	if cr.MaxCrawlDelay.D() <= 0 {
		return c.errAt("crawler.max_crawl_delay", "must be a positive duration such as 30s")
	}
	if cr.MaxRedirects < 0 {
		return c.errAt("crawler.max_redirects", "must be 0 (follow none) or more, got %d", cr.MaxRedirects)
	}
	if cr.Retries < 0 {
		return c.errAt("crawler.retries", "must be 0 (no retries) or more, got %d", cr.Retries)
	}
	if err := c.validateRender(); err != nil {
		return err
	}
	names := map[string]bool{}
	for i := range cr.Sources {
		s := &cr.Sources[i]
		key := func(k string) string { return "crawler.sources[" + itoa(i) + "]." + k }
		if s.Name == "" {
			return c.errAt(key("name"), "is required")
		}
		if names[s.Name] {
			return c.errAt(key("name"), "duplicate source name %q", s.Name)
		}
		names[s.Name] = true
		switch s.Kind {
		case "html", "rss", "atom", "sitemap":
		default:
			return c.errAt(key("kind"), "got %q, expected html, rss, atom or sitemap", s.Kind)
		}
		if len(s.Seeds) == 0 {
			return c.errAt(key("seeds"), "at least one seed URL is required")
		}
		for j, seed := range s.Seeds {
			u, err := url.Parse(seed)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return c.errAt(key("seeds")+"["+itoa(j)+"]", "expected an http:// or https:// URL, got %q", seed)
			}
		}
		if s.Kind == "html" && s.List.Items == "" {
			return c.errAt(key("list.items"), "html sources need a CSS selector for the item links")
		}
		for _, sel := range []struct{ key, v string }{
			{"list.items", s.List.Items}, {"list.next", s.List.Next}, {"detail.title", s.Detail.Title},
			{"detail.body", s.Detail.Body}, {"detail.time", s.Detail.Time}, {"detail.author", s.Detail.Author},
		} {
			if sel.v == "" {
				continue
			}
			if _, err := cascadia.Compile(sel.v); err != nil {
				return c.errAt(key(sel.key), "invalid CSS selector %q (%v)", sel.v, err)
			}
		}
		if s.Schedule != "" {
			if err := checkCron(s.Schedule); err != nil {
				return c.errAt(key("schedule"), "%v", err)
			}
		}
		if s.Proxy != "" {
			if u, err := url.Parse(s.Proxy); err != nil || u.Host == "" {
				return c.errAt(key("proxy"), "expected a proxy URL such as http://host:3128, got %q", s.Proxy)
			}
		}
		for _, n := range []struct {
			key string
			v   int
		}{{"max_depth", s.MaxDepth}, {"max_pages", s.MaxPages}, {"parallelism", s.Parallelism}, {"list.max_pages", s.List.MaxPages}} {
			if n.v < 0 {
				return c.errAt(key(n.key), "must be 0 (the default) or more, got %d", n.v)
			}
		}
		if s.Parallelism == 0 {
			s.Parallelism = 2
		}
		if s.MaxDepth == 0 {
			s.MaxDepth = 2
		}
		if s.MaxPages == 0 {
			s.MaxPages = 500
		}
		if s.List.MaxPages == 0 {
			s.List.MaxPages = 5
		}
		if s.Delay == nil {
			d := Duration(time.Second)
			s.Delay = &d
		} else if s.Delay.D() < 0 {
			return c.errAt(key("delay"), "must not be negative, got %v (0s turns the delay off)", s.Delay.D())
		}
		if err := c.validateSourceRender(s, key); err != nil {
			return err
		}
		if s.Revisit == nil {
			d := Duration(24 * time.Hour)
			s.Revisit = &d
		} else if s.Revisit.D() < 0 {
			return c.errAt(key("revisit"), "must not be negative, got %v (0s fetches every detail page again, conditionally, on each run)", s.Revisit.D())
		}
	}
	return nil
}

// checkCron parses a cron spec the way the scheduler will.
func checkCron(spec string) error {
	p := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	if _, err := p.Parse(spec); err != nil {
		return &cronError{spec: spec, err: err}
	}
	return nil
}

type cronError struct {
	spec string
	err  error
}

func (e *cronError) Error() string {
	return "invalid cron spec " + strconv.Quote(e.spec) + " (" + e.err.Error() + "); expected 5 fields like \"*/10 * * * *\" or @every 10m"
}

// maxScroll bounds render_options.scroll.
const maxScroll = 50

func (c *Config) validateRender() error {
	r := &c.Crawler.Render
	if r.Tabs < 0 || r.Tabs > 64 {
		return c.errAt("crawler.render.tabs", "must be between 1 and 64 (0: the default 2), got %d", r.Tabs)
	}
	if r.Tabs == 0 {
		r.Tabs = 2
	}
	if r.PageTimeout < 0 {
		return c.errAt("crawler.render.page_timeout", "must be a positive duration such as 60s, got %v", r.PageTimeout.D())
	}
	if r.PageTimeout == 0 {
		r.PageTimeout = Duration(time.Minute)
	}
	if r.MaxDOMBytes != 0 && r.MaxDOMBytes < 1024 {
		return c.errAt("crawler.render.max_dom_bytes", "must be at least 1024 (0: the default 10 MiB), got %d", r.MaxDOMBytes)
	}
	if r.MaxDOMBytes == 0 {
		r.MaxDOMBytes = 10 << 20
	}
	if r.MaxPageBytes != 0 && r.MaxPageBytes < 1024 {
		return c.errAt("crawler.render.max_page_bytes", "must be at least 1024 (0: the default 50 MiB), got %d", r.MaxPageBytes)
	}
	if r.MaxPageBytes == 0 {
		r.MaxPageBytes = 50 << 20
	}
	return nil
}

// validateSourceRender checks a source's render keys and fills their
// defaults.
func (c *Config) validateSourceRender(s *Source, key func(string) string) error {
	o := &s.RenderOptions
	if !s.Render {
		if o.WaitFor != "" || o.NetworkIdle != nil || o.IdleTimeout != nil || o.Scroll != 0 || o.Media {
			return c.errAt(key("render_options"), "is set but render is not: add render: true to fetch the pages with a browser")
		}
		return nil
	}
	if o.WaitFor != "" {
		if _, err := cascadia.Compile(o.WaitFor); err != nil {
			return c.errAt(key("render_options.wait_for"), "invalid CSS selector %q (%v)", o.WaitFor, err)
		}
	}
	if o.Scroll < 0 || o.Scroll > maxScroll {
		return c.errAt(key("render_options.scroll"), "must be between 0 and %d, got %d", maxScroll, o.Scroll)
	}
	if o.NetworkIdle == nil {
		d := Duration(500 * time.Millisecond)
		o.NetworkIdle = &d
	} else if o.NetworkIdle.D() <= 0 {
		return c.errAt(key("render_options.network_idle"), "must be a positive duration such as 500ms, got %v", o.NetworkIdle.D())
	}
	if o.IdleTimeout == nil {
		d := Duration(10 * time.Second)
		o.IdleTimeout = &d
	} else if o.IdleTimeout.D() < o.NetworkIdle.D() {
		return c.errAt(key("render_options.idle_timeout"), "must be at least network_idle (%v), got %v", o.NetworkIdle.D(), o.IdleTimeout.D())
	}
	if pt := c.Crawler.Render.PageTimeout.D(); pt > 0 && o.IdleTimeout.D() >= pt {
		return c.errAt(key("render_options.idle_timeout"), "must be shorter than crawler.render.page_timeout (%v), got %v", pt, o.IdleTimeout.D())
	}
	return nil
}
