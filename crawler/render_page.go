package crawler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/gocolly/colly/v2"
)

// maxShotHeight caps the height of a page's screenshot in CSS pixels: an
// endless list would otherwise give an image of any size.
const maxShotHeight = 16384

// tabPage is one page being rendered: the tab's requests are paused by the
// Fetch domain and each is made, or refused, by the crawler's own transport
// (robots.txt, the host gate, the SSRF guard, time and size limits), so the
// browser itself reaches no server.
type tabPage struct {
	r     *run
	rd    *renderer
	opts  RenderOptions
	list  bool // a list page, not a detail page
	began time.Time
	ctx   context.Context // the tab, with the page time limit

	mu       sync.Mutex
	inflight int
	lastNet  time.Time
	bytes    int64
	docs     map[cdp.FrameID]*Capture // the last document response per frame
	docErrs  map[cdp.FrameID]error    // why a frame's document was refused
	handlers sync.WaitGroup
}

// renderPage renders u in a new tab of b, in the run's browser context (no
// cookie or storage of one run reaches another).
func (rd *renderer) renderPage(r *run, b *browserProc, u string, list bool) (*fetched, error) {
	t0 := time.Now()
	bc, err := rd.contextFor(b.ctx, r, b)
	if err != nil {
		return nil, err
	}
	tab, closeTab := chromedp.NewContext(b.ctx, chromedp.WithExistingBrowserContext(bc))
	defer closeTab()
	ctx, cancel := context.WithTimeout(tab, rd.cfg.PageTimeout)
	defer cancel()
	stop := context.AfterFunc(r.ctx, cancel)
	defer stop()
	timeout := func(err error) error {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && r.ctx.Err() == nil {
			return fmt.Errorf("%w: %s: not rendered within %s (crawler.render.page_timeout): %w", ErrRenderTimeout, u, rd.cfg.PageTimeout, context.DeadlineExceeded)
		}
		return err
	}
	// The first call opens the tab and ties it to the context it gets: the
	// tab's own, with the time limit kept by the select.
	opened := make(chan error, 1)
	go func() { opened <- chromedp.Do(tab) }()
	select {
	case err := <-opened:
		if err != nil {
			return nil, fmt.Errorf("crawler: %s: open a tab: %w", u, err)
		}
	case <-ctx.Done():
		return nil, timeout(ctx.Err())
	}
	p := &tabPage{r: r, rd: rd, opts: r.src.RenderOptions, list: list, ctx: ctx, lastNet: time.Now(), began: time.Now(),
		docs: map[cdp.FrameID]*Capture{}, docErrs: map[cdp.FrameID]error{}}
	defer p.handlers.Wait()
	defer cancel() // ends the handlers before they are waited for
	f, err := p.run(u)
	if err != nil {
		return nil, timeout(err)
	}
	p.r.log.Debug("page ready", "url", u, "tab_opened_in", p.began.Sub(t0).Round(time.Millisecond).String(),
		"ready_in", time.Since(p.began).Round(time.Millisecond).String())
	return f, nil
}

func (p *tabPage) run(u string) (*fetched, error) {
	ctx := p.ctx
	events := chromedp.Events(ctx, fetch.RequestPaused)
	// The loop counts as a handler, so the wait for the handlers cannot
	// start while it may still add one.
	p.handlers.Add(1)
	go func() {
		defer p.handlers.Done()
		for ev, err := range events {
			if err != nil {
				return
			}
			p.started()
			p.handlers.Add(1)
			go func() {
				defer p.handlers.Done()
				defer p.finished()
				p.handle(&ev)
			}()
		}
	}()
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*"}}}); err != nil {
		return nil, fmt.Errorf("crawler: %s: intercept requests: %w", u, err)
	}
	nav, err := chromedp.Call(ctx, page.Navigate, page.NavigateParams{URL: u})
	if err != nil {
		return nil, fmt.Errorf("crawler: %s: navigate: %w", u, err)
	}
	p.mu.Lock()
	doc, docErr := p.docs[nav.FrameID], p.docErrs[nav.FrameID]
	p.mu.Unlock()
	if nav.ErrorText != "" || doc == nil {
		if docErr != nil {
			return nil, docErr
		}
		return nil, fmt.Errorf("crawler: %s: navigation failed: %s", u, nav.ErrorText)
	}
	final, err := url.Parse(doc.RequestURL)
	if err != nil {
		return nil, err
	}
	f := &fetched{status: doc.Status, header: doc.ResponseHeader.Clone(), finalURL: final, capture: doc}
	f.contentType = f.header.Get("Content-Type")
	if doc.Status < 200 || doc.Status > 299 {
		// An error page is not rendered.
		f.body = doc.Body
		return f, nil
	}
	if err := p.waitReady(); err != nil {
		return nil, err
	}
	for i := 0; p.list && i < p.opts.Scroll; i++ {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("window.scrollTo(0, document.documentElement.scrollHeight), true")); err != nil {
			return nil, fmt.Errorf("crawler: %s: scroll: %w", u, err)
		}
		p.waitIdle()
	}
	dom, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`(document.doctype ? new XMLSerializer().serializeToString(document.doctype) + "\n" : "") + document.documentElement.outerHTML`))
	if err != nil {
		return nil, fmt.Errorf("crawler: %s: read the rendered DOM: %w", u, err)
	}
	if int64(len(dom)) > p.rd.cfg.MaxDOMBytes {
		return nil, fmt.Errorf("%w: %s: rendered DOM of %d bytes, limit %d (crawler.render.max_dom_bytes)", ErrTooLarge, u, len(dom), p.rd.cfg.MaxDOMBytes)
	}
	// A script may have navigated the page on: the capture follows it.
	p.mu.Lock()
	if d := p.docs[nav.FrameID]; d != nil && d != doc && d.Status >= 200 && d.Status <= 299 {
		doc = d
		if u, err := url.Parse(d.RequestURL); err == nil {
			f.finalURL, f.status, f.header, f.capture = u, d.Status, d.ResponseHeader.Clone(), d
		}
	}
	p.mu.Unlock()
	doc.RenderedDOM = []byte(dom)
	if shot, err := p.screenshot(); err != nil {
		p.r.log.Debug("no screenshot of a rendered page", "url", u, "error", err)
	} else {
		doc.Screenshot = shot
	}
	f.body = doc.RenderedDOM
	f.contentType = "text/html; charset=utf-8"
	return f, nil
}

// waitReady waits until the page is ready. A detail page is ready when
// the source's wait_for selector matches (the time limit applies), or
// without one when the document is parsed and the network idle. A list
// page is ready when its item selector matches or idle_timeout passed
// (a list may be empty), and then the network is idle.
func (p *tabPage) waitReady() error {
	if p.list {
		if _, err := p.waitSelector(p.r.src.List.Items, time.Now().Add(p.opts.IdleTimeout)); err != nil {
			return err
		}
	} else if sel := p.opts.WaitFor; sel != "" {
		_, err := p.waitSelector(sel, time.Time{})
		return err
	}
	for {
		state, err := chromedp.Run(p.ctx, chromedp.Evaluate[string]("document.readyState"))
		if err != nil {
			return fmt.Errorf("crawler: wait for the document: %w", err)
		}
		if state != "loading" {
			break
		}
		if err := sleepCtx(p.ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	p.waitIdle()
	return p.ctx.Err()
}

// waitSelector polls until sel matches; false when until (if not zero)
// passed first.
func (p *tabPage) waitSelector(sel string, until time.Time) (bool, error) {
	q, _ := json.Marshal(sel)
	expr := "document.querySelector(" + string(q) + ") !== null"
	for {
		ok, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			return false, fmt.Errorf("crawler: wait for %s: %w", sel, err)
		}
		if ok {
			return true, nil
		}
		if !until.IsZero() && time.Now().After(until) {
			return false, nil
		}
		if err := sleepCtx(p.ctx, 100*time.Millisecond); err != nil {
			return false, err
		}
	}
}

// waitIdle waits until no request was in flight for NetworkIdle, at most
// IdleTimeout; a page still busy then is taken as it is.
func (p *tabPage) waitIdle() {
	end := time.Now().Add(p.opts.IdleTimeout)
	for time.Now().Before(end) {
		p.mu.Lock()
		quiet := p.inflight == 0 && time.Since(p.lastNet) >= p.opts.NetworkIdle
		p.mu.Unlock()
		if quiet {
			return
		}
		if sleepCtx(p.ctx, 50*time.Millisecond) != nil {
			return
		}
	}
	p.r.log.Debug("network not idle in time; page taken as it is", "idle_timeout", p.opts.IdleTimeout)
}

func (p *tabPage) started() {
	p.mu.Lock()
	p.inflight++
	p.lastNet = time.Now()
	p.mu.Unlock()
}

func (p *tabPage) finished() {
	p.mu.Lock()
	p.inflight--
	p.lastNet = time.Now()
	p.mu.Unlock()
}

// screenshot takes a PNG of the whole page, cut at maxShotHeight.
func (p *tabPage) screenshot() ([]byte, error) {
	m, err := chromedp.Call(p.ctx, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return nil, err
	}
	w, h := 1280.0, 900.0
	if cs := m.CSSContentSize; cs != nil {
		w, h = math.Ceil(cs.Width), math.Ceil(cs.Height)
	}
	h = min(max(h, 1), maxShotHeight)
	w = min(max(w, 1), 4096)
	beyond := true
	res, err := chromedp.Call(p.ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format: page.CaptureScreenshotFormatPng, CaptureBeyondViewport: &beyond,
		Clip: &page.Viewport{Width: w, Height: h, Scale: 1}})
	if err != nil {
		return nil, err
	}
	return res.Data, nil
}

// media are the resource types refused unless the source asks for them.
var media = map[network.ResourceType]bool{
	network.ResourceTypeImage: true, network.ResourceTypeMedia: true, network.ResourceTypeFont: true,
}

// handle answers one paused request: fetched through the run's transport
// and fulfilled, or failed when a rule refuses it.
func (p *tabPage) handle(ev *fetch.EventRequestPaused) {
	req := ev.Request
	u, err := url.Parse(req.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https"):
		p.refuse(ev, "scheme", network.ErrorReasonBlockedByClient, fmt.Errorf("crawler: %s: only http and https are fetched", req.URL))
		return
	case media[ev.ResourceType] && !p.opts.Media:
		p.refuse(ev, "media", network.ErrorReasonBlockedByClient, nil)
		return
	case ev.ResourceType == network.ResourceTypeDocument && !p.r.src.allowsHost(u.Hostname()):
		p.refuse(ev, "domain", network.ErrorReasonBlockedByClient, fmt.Errorf("%w: %s: page outside allowed_domains", colly.ErrForbiddenDomain, u.Redacted()))
		return
	}
	p.mu.Lock()
	over := p.bytes >= p.rd.cfg.MaxPageBytes
	p.mu.Unlock()
	if over {
		p.refuse(ev, "too_large", network.ErrorReasonBlockedByClient,
			fmt.Errorf("%w: %s: the page loaded %d bytes already (crawler.render.max_page_bytes)", ErrTooLarge, u.Redacted(), p.rd.cfg.MaxPageBytes))
		return
	}
	hr, err := p.request(ev, u)
	if err != nil {
		p.refuse(ev, "invalid", network.ErrorReasonFailed, err)
		return
	}
	doc := ev.ResourceType == network.ResourceTypeDocument
	var tap string
	if doc {
		// A document may become the page's evidence: the transport keeps
		// its response as received (raw body, remote address).
		tap = p.r.tr.wires.open()
		defer p.r.tr.wires.take(tap)
		hr.Header.Set(wireHeader, tap)
	}
	resp, err := p.r.polite.RoundTrip(hr)
	if err != nil {
		p.refuse(ev, errKind(err), reasonOf(err), err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		p.refuse(ev, errKind(err), reasonOf(err), fmt.Errorf("crawler: %s: %w", u.Redacted(), err))
		return
	}
	p.mu.Lock()
	over = p.bytes+int64(len(body)) > p.rd.cfg.MaxPageBytes
	if !over {
		p.bytes += int64(len(body))
	}
	p.mu.Unlock()
	if over {
		p.refuse(ev, "too_large", network.ErrorReasonBlockedByClient,
			fmt.Errorf("%w: %s: %d more bytes would pass the page's %d (crawler.render.max_page_bytes)", ErrTooLarge, u.Redacted(), len(body), p.rd.cfg.MaxPageBytes))
		return
	}
	hdr := resp.Header.Clone()
	if ct := hdr.Get(origContentType); ct != "" {
		hdr.Set("Content-Type", ct)
	}
	hdr.Del(origContentType)
	// The body is decoded already; its length is the bytes sent.
	hdr.Del("Content-Encoding")
	hdr.Del("Content-Length")
	hdr.Del("Transfer-Encoding")
	if doc {
		robots := "allowed"
		if p.r.src.IgnoreRobots {
			robots = "not checked"
		}
		c := &Capture{Method: hr.Method, RequestURL: u.String(), RequestHeader: hr.Header.Clone(), Status: resp.StatusCode,
			ResponseHeader: hdr.Clone(), Body: body, RawBody: body, FetchedAt: p.r.c.opts.Now(), Robots: robots}
		c.RequestHeader.Del(wireHeader)
		if w := p.r.tr.wires.take(tap); w != nil && w.status == resp.StatusCode {
			w.fill(c)
		}
		p.mu.Lock()
		p.docs[ev.FrameID] = c
		p.mu.Unlock()
	}
	var entries []*fetch.HeaderEntry
	for k, vs := range hdr {
		for _, v := range vs {
			entries = append(entries, &fetch.HeaderEntry{Name: k, Value: v})
		}
	}
	if _, err := chromedp.Call(p.ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
		RequestID: ev.RequestID, ResponseCode: int64(resp.StatusCode), ResponseHeaders: entries, Body: body}); err != nil {
		p.r.log.Debug("render: fulfil request", "url", u.Redacted(), "error", err)
	}
}

// request builds the crawler's request for a paused one: the browser's
// headers, less those the transport sets itself, with the source's
// User-Agent and headers on its own hosts.
func (p *tabPage) request(ev *fetch.EventRequestPaused, u *url.URL) (*http.Request, error) {
	req := ev.Request
	var body io.Reader
	if len(req.PostDataEntries) > 0 {
		var b strings.Builder
		for _, e := range req.PostDataEntries {
			b.Write(e.Bytes)
		}
		body = strings.NewReader(b.String())
	}
	hr, err := http.NewRequestWithContext(p.ctx, req.Method, u.String(), body)
	if err != nil {
		return nil, err
	}
	for k, v := range req.Headers {
		s, ok := v.(string)
		if !ok {
			continue
		}
		switch strings.ToLower(k) {
		case "accept-encoding", "connection", "host", "content-length", "user-agent":
			continue
		}
		hr.Header.Set(k, s)
	}
	hr.Header.Set("User-Agent", p.r.ua)
	if p.r.src.allowsHost(u.Hostname()) {
		for k, v := range p.r.src.Headers {
			hr.Header.Set(k, v)
		}
	}
	return hr, nil
}

// refuse fails a paused request and counts it; the crawler's rules (robots,
// the SSRF guard, domains, size) are logged at info level, the rest at debug.
func (p *tabPage) refuse(ev *fetch.EventRequestPaused, kind string, reason network.ErrorReason, err error) {
	p.rd.countRefused(kind)
	switch kind {
	case "robots", "blocked", "domain", "too_large":
		p.r.log.Info("render: request refused", "url", ev.Request.URL, "kind", kind, "type", ev.ResourceType, "error", err)
	default:
		p.r.log.Debug("render: request refused", "url", ev.Request.URL, "kind", kind, "type", ev.ResourceType, "error", err)
	}
	if ev.ResourceType == network.ResourceTypeDocument && err != nil {
		p.mu.Lock()
		p.docErrs[ev.FrameID] = err
		p.mu.Unlock()
	}
	if _, cerr := chromedp.Call(p.ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: reason}); cerr != nil {
		p.r.log.Debug("render: fail request", "url", ev.Request.URL, "error", cerr)
	}
}

// reasonOf maps a transport error to the browser's network error.
func reasonOf(err error) network.ErrorReason {
	switch errKind(err) {
	case "robots", "domain":
		return network.ErrorReasonBlockedByClient
	case "blocked":
		return network.ErrorReasonAddressUnreachable
	case "timeout":
		return network.ErrorReasonTimedOut
	}
	return network.ErrorReasonFailed
}
