package crawler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gocolly/colly/v2"
)

// robotsMaxRedirects is how many redirects a robots.txt fetch follows
// (RFC 9309 §2.3.1.2: at least five); past them the file is unavailable.
const robotsMaxRedirects = 5

// robotsKeepGood is how long the last good copy of a robots.txt stands in
// for one that cannot be fetched (§2.4: up to 24 hours).
const robotsKeepGood = 24 * time.Hour

// errRobotsRedirects ends a robots.txt fetch redirected too often.
var errRobotsRedirects = errors.New("crawler: robots.txt redirected more than 5 times")

// robotsMemory keeps the last good robots.txt of every authority for the
// life of the Crawler, across runs and sources.
type robotsMemory struct {
	mu    sync.Mutex
	files map[string]robotsCopy
}

type robotsCopy struct {
	rt *robotsTxt
	at time.Time
}

func (m *robotsMemory) keep(key string, rt *robotsTxt, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.files == nil {
		m.files = map[string]robotsCopy{}
	}
	if len(m.files) >= 4096 {
		for k, c := range m.files {
			if now.Sub(c.at) >= robotsKeepGood {
				delete(m.files, k)
			}
		}
	}
	m.files[key] = robotsCopy{rt: rt, at: now}
}

// good returns the last good copy when it is younger than robotsKeepGood.
func (m *robotsMemory) good(key string, now time.Time) (*robotsTxt, time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.files[key]
	if !ok || now.Sub(c.at) >= robotsKeepGood {
		return nil, time.Time{}, false
	}
	return c.rt, c.at, true
}

// robotsRun holds the robots.txt policies of one run: each authority's file
// is fetched once per run, when the run first asks for a URL there.
type robotsRun struct {
	client *http.Client
	token  string
	header http.Header
	memory *robotsMemory
	now    func() time.Time

	mu    sync.Mutex
	hosts map[string]*robotsSlot
}

// robotsSlot is one authority's policy; ready is closed once it is known.
type robotsSlot struct {
	ready  chan struct{}
	policy robotsPolicy
	// why says why everything is disallowed (robots.txt unreachable).
	why string
	// err, when set, is returned for every URL: robots.txt was refused by
	// the SSRF guard, which is counted as blocked, not robots.
	err error
	// cancelled is the context error that stopped the fetch.
	cancelled error
}

// newRobotsRun prepares robots.txt for a run. Its fetches go through a copy
// of the run's transport (SSRF guard, retries, the per-host delay on every
// attempt and redirect hop) with the robots.txt body cap instead of the
// page limits.
func (c *Crawler) newRobotsRun(tr *retryTransport, ua string, headers map[string]string) *robotsRun {
	rtr := *tr
	// parseRobots reads at most robotsMaxBytes; a longer file is cut, not refused.
	rtr.lim.maxBody, rtr.lim.maxDecoded = math.MaxInt64, math.MaxInt64
	hdr := http.Header{}
	for k, v := range headers {
		hdr.Set(k, v)
	}
	// A User-Agent among the source's headers is the one its pages are
	// fetched with, so its product token is the one robots.txt speaks to.
	if hdr.Get("User-Agent") == "" {
		hdr.Set("User-Agent", ua)
	}
	hdr.Set("Accept", "text/plain,*/*;q=0.5")
	return &robotsRun{
		client: &http.Client{Transport: &rtr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > robotsMaxRedirects {
				return errRobotsRedirects
			}
			return nil
		}},
		token: productToken(hdr.Get("User-Agent")), header: hdr, memory: c.robots, now: c.opts.Now,
		hosts: map[string]*robotsSlot{},
	}
}

// robotsAuthority names the robots.txt that governs u: scheme, host and
// port (§2.3: each authority has its own), without a default port.
func robotsAuthority(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Host)
	if scheme == "http" {
		host = strings.TrimSuffix(host, ":80")
	} else if scheme == "https" {
		host = strings.TrimSuffix(host, ":443")
	}
	return scheme + "://" + host
}

// check returns nil when robots.txt lets the run fetch u, else an error
// wrapping colly.ErrRobotsTxtBlocked (counted as kind robots).
func (r *robotsRun) check(ctx context.Context, u *url.URL) error {
	slot, err := r.slot(ctx, u)
	if err != nil {
		return err
	}
	pq := u.EscapedPath()
	if u.RawQuery != "" {
		pq += "?" + u.RawQuery
	}
	if slot.policy.allowed(pq) {
		return nil
	}
	if slot.err != nil {
		return slot.err
	}
	if slot.why != "" {
		return fmt.Errorf("%w: %s: %s", colly.ErrRobotsTxtBlocked, u.Redacted(), slot.why)
	}
	return fmt.Errorf("%w: %s", colly.ErrRobotsTxtBlocked, u.Redacted())
}

// crawlDelay is the Crawl-delay that u's robots.txt asks of the run, or 0
// while it is not known yet (its own fetch is under way); it never waits.
func (r *robotsRun) crawlDelay(u *url.URL) time.Duration {
	r.mu.Lock()
	slot := r.hosts[robotsAuthority(u)]
	r.mu.Unlock()
	if slot == nil {
		return 0
	}
	select {
	case <-slot.ready:
		return slot.policy.crawlDelay
	default:
		return 0
	}
}

// slot returns u's authority's policy, fetching its robots.txt the first
// time; concurrent callers wait for the one fetch.
func (r *robotsRun) slot(ctx context.Context, u *url.URL) (*robotsSlot, error) {
	key := robotsAuthority(u)
	r.mu.Lock()
	slot, ok := r.hosts[key]
	if !ok {
		slot = &robotsSlot{ready: make(chan struct{})}
		r.hosts[key] = slot
	}
	r.mu.Unlock()
	if ok {
		select {
		case <-slot.ready:
			if slot.cancelled != nil {
				return nil, slot.cancelled
			}
			return slot, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	err := r.fetch(ctx, key, slot)
	if err != nil {
		// Cancelled: let a later request try again.
		slot.cancelled = err
		r.mu.Lock()
		delete(r.hosts, key)
		r.mu.Unlock()
	}
	close(slot.ready)
	if err != nil {
		return nil, err
	}
	return slot, nil
}

// fetch reads key's robots.txt into slot, as RFC 9309 §2.3.1 says: a 2xx
// is parsed (its first robotsMaxBytes), redirects are followed up to five
// hops, a 4xx or too many redirects mean no rules, and a 429, a 5xx or a
// network failure mean everything is disallowed unless a good copy younger
// than robotsKeepGood stands in. It fails only when ctx ends.
func (r *robotsRun) fetch(ctx context.Context, key string, slot *robotsSlot) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, key+"/robots.txt", nil)
	if err != nil {
		slot.policy, slot.why = robotsPolicy{disallowAll: true}, "robots.txt URL: "+err.Error()
		return nil
	}
	req.Header = r.header.Clone()
	resp, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errRobotsRedirects) {
			slot.policy = allowAll
			return nil
		}
		if errors.Is(err, ErrBlockedAddress) {
			slot.policy, slot.err = robotsPolicy{disallowAll: true}, fmt.Errorf("crawler: %s/robots.txt: %w", key, err)
			return nil
		}
		r.unreachable(key, slot, err.Error())
		return nil
	}
	defer resp.Body.Close()
	switch s := resp.StatusCode; {
	case s >= 200 && s <= 299:
		body, err := io.ReadAll(io.LimitReader(resp.Body, robotsMaxBytes+1))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.unreachable(key, slot, "reading robots.txt: "+err.Error())
			return nil
		}
		rt := parseRobots(body)
		r.memory.keep(key, rt, r.now())
		slot.policy = rt.policy(r.token)
	case s == http.StatusTooManyRequests, s >= 500:
		// A site that rate-limits or fails its robots.txt is not to be
		// crawled meanwhile; 429 is read as unreachable, not unavailable.
		r.unreachable(key, slot, fmt.Sprintf("robots.txt answered HTTP %d", s))
	case s >= 400:
		rt := &robotsTxt{}
		r.memory.keep(key, rt, r.now())
		slot.policy = allowAll
	default:
		r.unreachable(key, slot, fmt.Sprintf("robots.txt answered HTTP %d", s))
	}
	return nil
}

// unreachable disallows everything on key unless a recent good copy of its
// robots.txt stands in.
func (r *robotsRun) unreachable(key string, slot *robotsSlot, why string) {
	if rt, _, ok := r.memory.good(key, r.now()); ok {
		slot.policy = rt.policy(r.token)
		return
	}
	slot.policy = robotsPolicy{disallowAll: true}
	slot.why = why + "; everything disallowed (RFC 9309 §2.3.1.4)"
}

// robotsTransport checks robots.txt before every request the run makes,
// each redirect hop included: a redirect into a disallowed path is not
// followed.
type robotsTransport struct {
	next   http.RoundTripper
	robots *robotsRun
}

// RoundTrip refuses a disallowed request before it is sent.
func (t *robotsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.robots.check(req.Context(), req.URL); err != nil {
		return nil, err
	}
	return t.next.RoundTrip(req)
}

// politeTransport wires robots.txt and the per-host gate into a run's
// transport: every attempt of every request (robots.txt fetches, redirect
// hops and retries included) waits its turn at the host, spaced by the
// larger of the source's delay and the host's Crawl-delay (capped at
// MaxCrawlDelay).
func (c *Crawler) politeTransport(tr *retryTransport, src Source, ua string) http.RoundTripper {
	var robots *robotsRun
	tr.pace = func(ctx context.Context, u *url.URL) error {
		d := src.Delay
		if robots != nil {
			d = max(d, min(robots.crawlDelay(u), c.opts.MaxCrawlDelay))
		}
		return c.gate.wait(ctx, strings.ToLower(u.Hostname()), d)
	}
	if src.IgnoreRobots {
		return tr
	}
	// After pace is set: the robots.txt fetches use a copy of tr.
	robots = c.newRobotsRun(tr, ua, src.Headers)
	return &robotsTransport{next: tr, robots: robots}
}
