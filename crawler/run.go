package crawler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"github.com/gocolly/colly/v2"
)

type taskKind int

const (
	taskList taskKind = iota
	taskDetail
	taskFeed
	taskSitemap
)

// task is one URL to fetch in a run.
type task struct {
	kind  taskKind
	url   string // canonical URL, also fetched
	depth int
	// listPage counts the list pages followed from the seed (pagination).
	listPage int
	// state is the crawl state read when a detail page was queued.
	state PageState
	// hint carries what a feed said about the entry.
	hint *feedItem
}

// frontier is the run's queue. It is bounded by the source's MaxPages plus
// its list pages, so it needs no spilling.
type frontier struct {
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []task
	pending int // queued or being processed
}

func newFrontier() *frontier {
	f := &frontier{}
	f.cond = sync.NewCond(&f.mu)
	return f
}

func (f *frontier) push(t task) {
	f.mu.Lock()
	f.queue = append(f.queue, t)
	f.pending++
	f.mu.Unlock()
	f.cond.Signal()
}

// pop waits for a task; ok is false when nothing is queued or in progress.
func (f *frontier) pop() (task, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.queue) == 0 && f.pending > 0 {
		f.cond.Wait()
	}
	if len(f.queue) == 0 {
		return task{}, false
	}
	t := f.queue[0]
	f.queue[0] = task{}
	f.queue = f.queue[1:]
	return t, true
}

func (f *frontier) done() {
	f.mu.Lock()
	f.pending--
	last := f.pending == 0
	f.mu.Unlock()
	if last {
		f.cond.Broadcast()
	}
}

// maxSeen caps the per-run set of URLs seen; past it, URLs fetched in this
// run are recognised through their state row instead.
const maxSeen = 200_000

// run is the state of one Run call.
type run struct {
	c     *Crawler
	ctx   context.Context
	stop  context.CancelCauseFunc
	src   Source
	emit  EmitFunc
	prog  *Progress
	coll  *colly.Collector
	tr    *retryTransport
	guard *addrGuard
	front *frontier
	ua    string
	start time.Time
	log   *slog.Logger

	// polite is the transport of the run's requests (robots.txt, the host
	// gate, tr); rendered pages make theirs through it too.
	polite http.RoundTripper

	mu      sync.Mutex
	seen    map[string]struct{}
	details int // detail pages queued (or emitted inline from feeds)
	// handed holds the canonical URLs handed on in this run, so a page
	// reached under two addresses (rel=canonical) is handed on once.
	handed map[string]struct{}

	// emits tracks the pages being handed on; emitSlots bounds them.
	emits     sync.WaitGroup
	emitSlots chan struct{}
}

// maxPendingEmits bounds the pages of a run being handed on at once. Emit
// returns only once a page is stored durably, which takes a disk write;
// handing pages on in the background lets the fetchers go on meanwhile and
// lets the pipeline write many pages at once.
const maxPendingEmits = 256

func (c *Crawler) newRun(ctx context.Context, src Source, emit EmitFunc, prog *Progress) (*run, error) {
	proxy, err := proxyURL(src.Proxy)
	if err != nil {
		return nil, fmt.Errorf("crawler: source %s: %w", src.Name, err)
	}
	guard := &addrGuard{allowPrivate: src.AllowPrivate, exempt: c.opts.guardExempt}
	o := c.opts
	tr := &retryTransport{
		base: newBaseTransport(guard, o.lookup, proxy, o.Timeout, src.Parallelism),
		lim: fetchLimits{timeout: o.Timeout, maxBody: o.MaxBodyBytes, maxDecoded: o.MaxDecompressedBytes,
			retries: o.Retries, backoffBase: o.BackoffBase, backoffMax: o.BackoffMax, maxRetryAfter: o.MaxRetryAfter},
		sleep: o.Sleep, now: o.Now, jitter: o.Jitter, retried: &prog.retries, wires: newWireTaps(),
		guard: guard, lookup: o.lookup, viaProxy: proxy != nil,
	}
	if tr.lookup == nil {
		tr.lookup = net.DefaultResolver.LookupIPAddr
	}
	ua := src.UserAgent
	if ua == "" {
		ua = o.UserAgent
	}
	coll := colly.NewCollector(colly.UserAgent(ua), colly.AllowURLRevisit(), colly.StdlibContext(ctx))
	// robots.txt (RFC 9309) and the per-host delay live in the transport,
	// where they also see robots.txt fetches, redirect hops and retries.
	coll.IgnoreRobotsTxt = true
	coll.AllowedDomains = src.AllowedDomains
	coll.ParseHTTPErrorResponse = true
	coll.MaxBodySize = 0 // the transport enforces the limits, before and after decompression
	polite := c.politeTransport(tr, src, ua)
	coll.WithTransport(polite)
	// Each attempt carries its own deadline in the transport; a client-wide
	// timeout would also count the backoff pauses.
	coll.SetRequestTimeout(0)
	coll.SetRedirectHandler(func(req *http.Request, via []*http.Request) error {
		if len(via) > o.MaxRedirects {
			return fmt.Errorf("%w: more than %d following %s", ErrTooManyRedirects, o.MaxRedirects, via[0].URL.Redacted())
		}
		return guard.checkHost(req.Context(), req.URL.Hostname(), portOf(req.URL), tr.lookup)
	})
	var rules []*colly.LimitRule
	for _, d := range src.AllowedDomains {
		rules = append(rules, &colly.LimitRule{DomainRegexp: `^` + regexp.QuoteMeta(d) + `(:\d+)?$`,
			Parallelism: src.Parallelism})
	}
	rules = append(rules, &colly.LimitRule{DomainGlob: "*", Parallelism: src.Parallelism})
	if err := coll.Limits(rules); err != nil {
		return nil, fmt.Errorf("crawler: source %s: limit rules: %w", src.Name, err)
	}
	coll.OnResponse(func(r *colly.Response) { r.Ctx.Put("resp", r) })
	// An emit error wrapping ErrStopRun ends the run with that error.
	ctx, stop := context.WithCancelCause(ctx)
	return &run{
		c: c, ctx: ctx, stop: stop, src: src, emit: emit, prog: prog, coll: coll, tr: tr, polite: polite, guard: guard,
		front: newFrontier(), ua: ua, start: o.Now(), log: c.log.With("source", src.Name),
		seen: map[string]struct{}{}, handed: map[string]struct{}{},
		emitSlots: make(chan struct{}, maxPendingEmits),
	}, nil
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// crawl queues the seeds and works the frontier until it is empty.
func (r *run) crawl() error {
	for _, seed := range r.src.Seeds {
		canon, err := Canonicalize(nil, seed)
		if err != nil {
			return err
		}
		t := task{url: canon}
		switch r.src.Kind {
		case KindHTML:
			t.kind = taskList
		case KindRSS, KindAtom:
			t.kind = taskFeed
		case KindSitemap:
			t.kind = taskSitemap
		}
		if r.markSeen(canon) {
			r.front.push(t)
		}
	}
	workers := min(max(r.src.Parallelism*len(r.src.AllowedDomains), 1), 64)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				t, ok := r.front.pop()
				if !ok {
					return
				}
				if r.ctx.Err() == nil {
					r.process(t)
				}
				r.front.done()
			}
		}()
	}
	wg.Wait()
	r.emits.Wait()
	// Release the run's context (and its link to the caller's) once done.
	defer r.stop(nil)
	if err := context.Cause(r.ctx); errors.Is(err, ErrStopRun) {
		return err
	}
	return r.ctx.Err()
}

// markSeen records canon as seen in this run; false when it already was.
func (r *run) markSeen(canon string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.seen[canon]; ok {
		return false
	}
	if len(r.seen) < maxSeen {
		r.seen[canon] = struct{}{}
	}
	return true
}

func (r *run) process(t task) {
	switch t.kind {
	case taskList:
		r.processList(t)
	case taskFeed:
		r.processFeed(t)
	case taskSitemap:
		r.processSitemap(t)
	case taskDetail:
		r.processDetail(t)
	}
}

// fetched is a response as the run sees it.
type fetched struct {
	status      int
	body        []byte
	contentType string // as the server sent it, charset included
	finalURL    *url.URL
	header      http.Header
	// capture is the raw exchange, handed on as Page.Capture; nil when
	// none was kept.
	capture *Capture
}

// get fetches u through colly (robots.txt, allowed domains, per-host limits,
// redirects) with the given extra headers.
func (r *run) get(u string, st *PageState) (*fetched, error) {
	hdr := http.Header{}
	for k, v := range r.src.Headers {
		hdr.Set(k, v)
	}
	if hdr.Get("User-Agent") == "" {
		hdr.Set("User-Agent", r.ua)
	}
	if hdr.Get("Accept") == "" {
		hdr.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	}
	if st != nil && st.Found && st.ContentHash != "" {
		if st.ETag != "" {
			hdr.Set("If-None-Match", st.ETag)
		}
		if st.LastModified != "" {
			hdr.Set("If-Modified-Since", st.LastModified)
		}
	}
	// The transport keeps the final response as received under this tap;
	// closing it on every path lets nothing of a failed fetch linger.
	tap := r.tr.wires.open()
	defer r.tr.wires.take(tap)
	hdr.Set(wireHeader, tap)
	cctx := colly.NewContext()
	err := r.coll.Request(http.MethodGet, u, nil, cctx, hdr)
	resp, _ := cctx.GetAny("resp").(*colly.Response)
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, fmt.Errorf("crawler: %s: no response", u)
	}
	r.prog.fetched.Add(1)
	f := &fetched{status: resp.StatusCode, body: resp.Body, header: *resp.Headers, finalURL: resp.Request.URL}
	f.contentType = f.header.Get(origContentType)
	if f.contentType == "" {
		f.contentType = f.header.Get("Content-Type")
	}
	f.capture = r.capture(resp, f, r.tr.wires.take(tap))
	return f, nil
}

// capture keeps the exchange behind f for the evidence archive: the
// request as sent and the response as received (w, the transport's record
// of the final response), with the body still content-coded. The decoded
// body is shared with f, not copied, and so is the raw one when the body
// was not content-coded. robots.txt was obeyed on the way (a disallowed
// URL never gets here) unless the source ignores it.
func (r *run) capture(resp *colly.Response, f *fetched, w *wire) *Capture {
	c := &Capture{Method: http.MethodGet, RequestURL: f.finalURL.String(), Status: f.status, Body: f.body,
		RawBody: f.body, FetchedAt: r.c.opts.Now(), Robots: "allowed"}
	if r.src.IgnoreRobots {
		c.Robots = "not checked"
	}
	if w != nil && w.status == f.status {
		w.fill(c)
		return c
	}
	// No record of the wire (none is expected): the response as colly
	// passed it, decoded and with the server's own Content-Type put back.
	if resp.Request.Method != "" {
		c.Method = resp.Request.Method
	}
	if resp.Request.Headers != nil {
		c.RequestHeader = resp.Request.Headers.Clone()
		c.RequestHeader.Del(wireHeader)
	}
	c.ResponseHeader = f.header.Clone()
	c.ResponseHeader.Del(origContentType)
	if f.contentType != "" {
		c.ResponseHeader.Set("Content-Type", f.contentType)
	}
	return c
}

// fail counts a failed URL and logs it at debug level.
func (r *run) fail(t task, kind string, err error) {
	r.prog.fail(kind)
	if kind == "robots" && t.kind != taskDetail {
		r.prog.health.robotsLists.Add(1)
	}
	r.log.Debug("crawl url failed", "url", t.url, "kind", kind, "error", err)
}

// errKind names the kind of a fetch error for the run's statistics.
func errKind(err error) string {
	var ae *colly.AlreadyVisitedError
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, colly.ErrRobotsTxtBlocked):
		return "robots"
	case errors.Is(err, colly.ErrForbiddenDomain), errors.Is(err, colly.ErrForbiddenURL), errors.Is(err, colly.ErrNoURLFiltersMatch):
		return "domain"
	case errors.Is(err, ErrBlockedAddress):
		return "blocked"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrTooManyRedirects):
		return "redirect"
	case errors.Is(err, ErrNoBrowser):
		return "browser"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &ae):
		return "domain"
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "network"
}

// statusKind names the failure kind of an HTTP status.
func statusKind(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "rate_limited"
	case status >= 500:
		return "http_5xx"
	default:
		return "http_4xx"
	}
}

// fetchOK fetches t and counts the failure when it does not yield a 2xx
// (or a 304 when allowed). On an HTTP error status f is returned with ok
// false; on a transport error f is nil.
func (r *run) fetchOK(t task, st *PageState) (f *fetched, ok bool) {
	var err error
	if r.src.Render && (t.kind == taskList || t.kind == taskDetail) {
		f, err = r.renderGet(t.url, t.kind == taskList)
	} else {
		f, err = r.get(t.url, st)
	}
	if err != nil {
		r.fail(t, errKind(err), err)
		return nil, false
	}
	if f.status == http.StatusNotModified && st != nil {
		return f, true
	}
	if f.status < 200 || f.status > 299 {
		r.fail(t, statusKind(f.status), fmt.Errorf("crawler: %s: HTTP %d", t.url, f.status))
		return f, false
	}
	return f, true
}

// processList reads a list page: item links become detail tasks, the next
// page link a list task while list.max_pages allows.
func (r *run) processList(t task) {
	f, ok := r.fetchOK(t, nil)
	if !ok {
		return
	}
	body, _, _ := DecodeCharset(f.body, f.contentType)
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		r.fail(t, "parse", err)
		return
	}
	base := baseURL(doc, f.finalURL)
	found := 0
	doc.Find(r.src.List.Items).Each(func(_ int, s *goquery.Selection) {
		href, ok := s.Attr("href")
		if !ok || !s.Is("a") {
			href, ok = s.Find("a[href]").First().Attr("href")
		}
		if ok {
			found++
			r.addDetail(base, href, t.depth+1, nil, time.Time{})
		}
	})
	r.prog.health.listRead(found, true)
	if r.src.List.Next == "" || t.listPage+1 >= r.src.List.MaxPages || r.full() {
		return
	}
	if href, ok := doc.Find(r.src.List.Next).First().Attr("href"); ok {
		canon, err := Canonicalize(base, href)
		if err != nil || !r.hostAllowed(canon) || !r.markSeen(canon) {
			return
		}
		r.front.push(task{kind: taskList, url: canon, depth: t.depth, listPage: t.listPage + 1})
	}
}

// baseURL honours <base href>.
func baseURL(doc *goquery.Document, u *url.URL) *url.URL {
	if href, ok := doc.Find("base[href]").First().Attr("href"); ok {
		if b, err := u.Parse(strings.TrimSpace(href)); err == nil {
			return b
		}
	}
	return u
}

// full reports whether the run has queued MaxPages detail pages.
func (r *run) full() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.details >= r.src.MaxPages
}

func (r *run) hostAllowed(canon string) bool {
	u, err := url.Parse(canon)
	return err == nil && r.src.allowsHost(u.Hostname())
}

// addDetail queues a detail page unless it was seen in this run, lies
// beyond MaxDepth or MaxPages, or is within its revisit interval (or not
// modified since lastmod): then it is counted as skipped.
func (r *run) addDetail(base *url.URL, href string, depth int, hint *feedItem, lastmod time.Time) {
	if depth > r.src.MaxDepth || r.full() {
		return
	}
	canon, err := Canonicalize(base, href)
	if err != nil {
		return
	}
	if !r.hostAllowed(canon) {
		r.log.Debug("link outside allowed_domains ignored", "url", canon)
		return
	}
	if !r.markSeen(canon) {
		return
	}
	st, err := r.c.store.Page(r.ctx, canon)
	if err != nil {
		r.fail(task{url: canon}, "state", err)
		return
	}
	if st.Found && !st.LastFetched.IsZero() {
		if r.src.Revisit > 0 && r.start.Sub(st.LastFetched) < r.src.Revisit {
			r.prog.skipped.Add(1)
			return
		}
		if !lastmod.IsZero() && !lastmod.After(st.LastFetched) {
			r.prog.skipped.Add(1)
			return
		}
	}
	r.mu.Lock()
	if r.details >= r.src.MaxPages {
		r.mu.Unlock()
		return
	}
	r.details++
	r.mu.Unlock()
	r.front.push(task{kind: taskDetail, url: canon, depth: depth, state: st, hint: hint})
}

// processDetail fetches a detail page conditionally, extracts it and hands
// it on when it is new or changed.
func (r *run) processDetail(t task) {
	if r.wasHanded(t.url) {
		r.prog.skipped.Add(1)
		return
	}
	f, ok := r.fetchOK(t, &t.state)
	if !ok {
		if t.state.Found {
			status := 0 // no HTTP answer
			if f != nil {
				status = f.status
			}
			if err := r.c.store.SaveStatus(r.ctx, t.url, status); err != nil {
				r.log.Debug("crawl state", "error", err)
			}
		}
		return
	}
	now := r.c.opts.Now()
	st := t.state
	st.LastStatus = f.status
	if et := f.header.Get("ETag"); et != "" {
		st.ETag = et
	}
	if lm := f.header.Get("Last-Modified"); lm != "" {
		st.LastModified = lm
	}
	if f.status == http.StatusNotModified {
		r.prog.unchanged.Add(1)
		if err := r.c.store.SaveFetched(r.ctx, t.url, r.src.Name, st, now); err != nil {
			r.fail(t, "state", err)
		}
		return
	}
	if !isPageType(f.contentType) {
		r.fail(t, "not_html", fmt.Errorf("crawler: %s: content type %q is not a web page", t.url, f.contentType))
		return
	}
	p, err := r.extractPage(f)
	if err != nil {
		r.fail(t, "extract", err)
		return
	}
	if h := t.hint; h != nil {
		if p.Title == "" {
			p.Title = h.Title
		}
		if h.Published.IsZero() == false && p.PublishedAt.IsZero() {
			p.PublishedAt = h.Published
		}
		if p.Author == "" {
			p.Author = h.Author
		}
	}
	if strings.TrimSpace(p.Text) == "" {
		r.fail(t, "empty", fmt.Errorf("crawler: %s: no main text found", t.url))
		return
	}
	p.FetchedAt = now
	if p.CanonicalURL == "" {
		p.CanonicalURL = t.url
	}
	r.hand(t, p, st, now)
}

// isPageType reports whether a Content-Type may hold a page worth
// extracting; an absent or unparsable one is given the benefit of the doubt.
func isPageType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil {
		return true
	}
	return strings.HasPrefix(mt, "text/") || strings.Contains(mt, "html") || strings.Contains(mt, "xml")
}

// wasHanded reports whether canon was handed on in this run.
func (r *run) wasHanded(canon string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.handed[canon]
	return ok
}

// claim marks canon as handed on; false when it already was.
func (r *run) claim(canon string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.handed[canon]; ok {
		return false
	}
	if len(r.handed) < maxSeen {
		r.handed[canon] = struct{}{}
	}
	return true
}

func (r *run) unclaim(canon string) {
	r.mu.Lock()
	delete(r.handed, canon)
	r.mu.Unlock()
}

// ErrStopRun, wrapped by an error of the emit function, ends the run: no
// more URLs are fetched and the run fails with that error, recorded in the
// run history. The pipeline returns it when storage refuses every page
// (the data folder is short of space), so the run stops at once and says
// why instead of fetching pages that cannot be kept.
var ErrStopRun = errors.New("crawler: run stopped")

// hand emits p unless its content hash is unchanged, and records the state
// only after emit succeeded.
func (r *run) hand(t task, p Page, st PageState, now time.Time) {
	p.Source, p.Site = r.src.Name, r.src.Site
	p.ContentHash = contentHash(p.Title, p.Text)
	known := t.state.Found && t.state.ContentHash != ""
	if known && t.state.ContentHash == p.ContentHash {
		r.prog.unchanged.Add(1)
		if err := r.c.store.SaveFetched(r.ctx, t.url, r.src.Name, st, now); err != nil {
			r.fail(t, "state", err)
		}
		return
	}
	if !r.claim(p.CanonicalURL) {
		r.prog.skipped.Add(1) // the same page under another address
		return
	}
	select {
	case r.emitSlots <- struct{}{}:
	case <-r.ctx.Done():
		r.unclaim(p.CanonicalURL)
		r.fail(t, "cancelled", r.ctx.Err())
		return
	}
	r.emits.Add(1)
	go func() {
		defer r.emits.Done()
		defer func() { <-r.emitSlots }()
		r.emitAndRecord(t, p, st, now, known)
	}()
}

// emitAndRecord hands p on and records its state once emit returned nil,
// that is once the page is stored.
func (r *run) emitAndRecord(t task, p Page, st PageState, now time.Time, known bool) {
	if err := r.emit(r.ctx, p); err != nil {
		r.unclaim(p.CanonicalURL)
		r.fail(t, "emit", err)
		if errors.Is(err, ErrStopRun) {
			r.stop(err)
		}
		return
	}
	st.ContentHash = p.ContentHash
	if err := r.c.store.SaveFetched(context.WithoutCancel(r.ctx), t.url, r.src.Name, st, now); err != nil {
		r.fail(t, "state", err)
		return
	}
	if known {
		r.prog.changed.Add(1)
	} else {
		r.prog.new.Add(1)
	}
}

// A feed entry's content is taken as the article (and its page not
// fetched) when it is content:encoded or Atom <content> of at least
// feedFullText runes, or any content of at least feedLongText runes;
// shorter content is a teaser.
const (
	feedFullText = 80
	feedLongText = 400
)

// processFeed reads an RSS or Atom feed (always re-read): entries with full
// text are handed on directly, the others fetched as detail pages.
func (r *run) processFeed(t task) {
	f, ok := r.fetchOK(t, nil)
	if !ok {
		return
	}
	items, err := parseFeed(f.body)
	if err != nil {
		r.fail(t, "parse", err)
		return
	}
	r.prog.health.listRead(len(items), false)
	for _, it := range items {
		if it.Link == "" {
			continue
		}
		text := htmlToText(it.Content)
		n := utf8.RuneCountInString(text)
		if n < feedLongText && (!it.Full || n < feedFullText) {
			hint := it
			r.addDetail(f.finalURL, it.Link, t.depth+1, &hint, time.Time{})
			continue
		}
		r.addInline(f.finalURL, it, text, t.depth+1, f.capture)
	}
}

// addInline hands on a feed entry that carries its full text, without
// fetching its page. Its capture is the feed's response, the exchange the
// text came in (shared by the feed's inline entries, not copied).
func (r *run) addInline(base *url.URL, it feedItem, text string, depth int, feed *Capture) {
	if depth > r.src.MaxDepth || r.full() {
		return
	}
	canon, err := Canonicalize(base, it.Link)
	if err != nil || !r.hostAllowed(canon) || !r.markSeen(canon) {
		return
	}
	r.mu.Lock()
	if r.details >= r.src.MaxPages {
		r.mu.Unlock()
		return
	}
	r.details++
	r.mu.Unlock()
	st, err := r.c.store.Page(r.ctx, canon)
	if err != nil {
		r.fail(task{url: canon}, "state", err)
		return
	}
	link, _ := base.Parse(it.Link)
	now := r.c.opts.Now()
	p := Page{URL: link.String(), CanonicalURL: canon, Title: it.Title, Text: text, PublishedAt: it.Published,
		Author: it.Author, FetchedAt: now, Capture: feed}
	st2 := st
	st2.LastStatus = http.StatusOK
	r.hand(task{kind: taskDetail, url: canon, state: st}, p, st2, now)
}

// processSitemap reads a sitemap or sitemap index (always re-read).
func (r *run) processSitemap(t task) {
	f, ok := r.fetchOK(t, nil)
	if !ok {
		return
	}
	urls, children, err := parseSitemap(f.body)
	if err != nil {
		r.fail(t, "parse", err)
		return
	}
	r.prog.health.listRead(len(urls)+len(children), false)
	for _, c := range children {
		if t.depth+1 > r.src.MaxDepth {
			break
		}
		canon, err := Canonicalize(f.finalURL, c.Loc)
		if err != nil || !r.hostAllowed(canon) || !r.markSeen(canon) {
			continue
		}
		r.front.push(task{kind: taskSitemap, url: canon, depth: t.depth + 1})
	}
	for _, u := range urls {
		if r.full() {
			break
		}
		r.addDetail(f.finalURL, u.Loc, t.depth+1, nil, u.LastMod)
	}
}
