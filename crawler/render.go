package crawler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/andybalholm/cascadia"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// RenderConfig configures the headless Chromium that fetches the pages of
// sources with Render set. Zero values take the defaults noted.
type RenderConfig struct {
	// Tabs is the number of pages rendered at once over all runs (default 2).
	Tabs int
	// Chromium is the browser binary; empty looks for chromium,
	// chromium-browser, google-chrome and google-chrome-stable on PATH.
	Chromium string
	// PageTimeout bounds one page: loading, waiting, scrolling, the DOM and
	// the screenshot (default 60s).
	PageTimeout time.Duration
	// MaxDOMBytes is the largest rendered DOM kept (default 10 MiB).
	MaxDOMBytes int64
	// MaxPageBytes bounds the bytes of all the responses one page loads
	// (default 50 MiB); past it the page's further requests are refused.
	MaxPageBytes int64
}

func (c RenderConfig) withDefaults() RenderConfig {
	if c.Tabs <= 0 {
		c.Tabs = 2
	}
	if c.PageTimeout <= 0 {
		c.PageTimeout = time.Minute
	}
	if c.MaxDOMBytes <= 0 {
		c.MaxDOMBytes = 10 << 20
	}
	if c.MaxPageBytes <= 0 {
		c.MaxPageBytes = 50 << 20
	}
	return c
}

// RenderOptions tune how the pages of a rendered source are judged ready.
// Zero values take the defaults noted.
type RenderOptions struct {
	// WaitFor is a CSS selector: the page is ready once it matches. Without
	// it the page is ready once the network was quiet for NetworkIdle.
	WaitFor string
	// NetworkIdle is how long no request of the page may be in flight for
	// the network to count as idle (default 500ms).
	NetworkIdle time.Duration
	// IdleTimeout bounds each wait for network idle (default 10s); a page
	// that keeps polling is taken as it is then.
	IdleTimeout time.Duration
	// Scroll is how many times the page is scrolled to its bottom, each
	// followed by a wait for network idle, so lazy lists load more.
	Scroll int
	// Media lets the page load images, audio, video and fonts; they are
	// refused by default.
	Media bool
}

// withDefaults fills o's defaults, or names the first bad field.
func (o RenderOptions) withDefaults() (RenderOptions, error) {
	if o.WaitFor != "" {
		if _, err := cascadia.Compile(o.WaitFor); err != nil {
			return o, fmt.Errorf("render_options.wait_for: invalid CSS selector %q: %w", o.WaitFor, err)
		}
	}
	if o.Scroll < 0 || o.Scroll > 50 {
		return o, fmt.Errorf("render_options.scroll: %d, expected 0 to 50", o.Scroll)
	}
	if o.NetworkIdle <= 0 {
		o.NetworkIdle = 500 * time.Millisecond
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 10 * time.Second
	}
	if o.IdleTimeout < o.NetworkIdle {
		o.IdleTimeout = o.NetworkIdle
	}
	return o, nil
}

// ErrNoBrowser is returned (wrapped) when the headless browser cannot be
// found or started; the message carries an install hint.
var ErrNoBrowser = errors.New("crawler: headless browser not available")

// installHint ends the message of ErrNoBrowser.
const installHint = "install it with apt-get install chromium, or set crawler.render.chromium"

// RenderStats count the work of the headless browser since the crawler
// started.
type RenderStats struct {
	// Pages rendered, and pages that failed.
	Pages, Failed int64
	// Starts of the browser; Restarts those after a crash or hang.
	Starts, Restarts int64
	// Retried counts the pages tried a second time after a restart.
	Retried int64
	// Tabs is the most pages rendered at once (crawler.render.tabs);
	// TabsInUse those being rendered now.
	Tabs, TabsInUse int
	// Refused counts the page requests the crawler's rules refused, by
	// kind: robots, blocked (SSRF guard), domain, too_large, media, scheme.
	Refused map[string]int64
	// Outside counts connections the browser tried outside the request
	// interception (WebSocket, service workers, …), all refused.
	Outside int64
}

// renderer is the crawler's headless browser: one Chromium process, started
// when a rendered source first needs it, with at most cfg.Tabs pages open.
type renderer struct {
	cfg   RenderConfig
	log   *slog.Logger
	slots chan struct{}

	mu     sync.Mutex
	b      *browserProc
	proxy  *refuseProxy
	closed bool

	// runs holds each run's browser context: the pages of one run share
	// cookies and storage, as one visitor would, and nothing outlives it.
	runs  map[*run]runContext
	ctxMu sync.Mutex

	pages, failed, starts, restarts, retried atomic.Int64
	refusedMu                                sync.Mutex
	refused                                  map[string]int64
}

// browserProc is one running Chromium.
type browserProc struct {
	ctx    context.Context // the browser's chromedp context
	cancel func()
	pid    int
}

func newRenderer(cfg RenderConfig, log *slog.Logger) *renderer {
	cfg = cfg.withDefaults()
	return &renderer{cfg: cfg, log: log, slots: make(chan struct{}, cfg.Tabs), refused: map[string]int64{},
		runs: map[*run]runContext{}}
}

// RenderStats returns the counters of the headless browser.
func (c *Crawler) RenderStats() RenderStats {
	rd := c.render
	s := RenderStats{Pages: rd.pages.Load(), Failed: rd.failed.Load(), Starts: rd.starts.Load(),
		Restarts: rd.restarts.Load(), Retried: rd.retried.Load(), Tabs: cap(rd.slots), TabsInUse: len(rd.slots),
		Refused: map[string]int64{}}
	rd.refusedMu.Lock()
	for k, v := range rd.refused {
		s.Refused[k] = v
	}
	rd.refusedMu.Unlock()
	rd.mu.Lock()
	if rd.proxy != nil {
		s.Outside = rd.proxy.refused.Load()
	}
	rd.mu.Unlock()
	return s
}

// Close stops the headless browser, if one was started. The crawler can
// still render afterwards only by being created anew.
func (c *Crawler) Close() error {
	rd := c.render
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.closed = true
	if rd.b != nil {
		rd.b.stop()
		rd.b = nil
	}
	if rd.proxy != nil {
		rd.proxy.close()
		rd.proxy = nil
	}
	return nil
}

func (rd *renderer) countRefused(kind string) {
	rd.refusedMu.Lock()
	rd.refused[kind]++
	rd.refusedMu.Unlock()
}

// findChromium looks for a Chromium or Chrome binary on PATH.
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser returns the running browser, starting one when there is none or
// the last one died.
func (rd *renderer) browser() (*browserProc, error) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.closed {
		return nil, fmt.Errorf("%w: the crawler is closed", ErrNoBrowser)
	}
	if rd.b != nil {
		if rd.b.ctx.Err() == nil {
			return rd.b, nil
		}
		rd.b.stop()
		rd.b = nil
	}
	path := rd.cfg.Chromium
	if path == "" {
		path = findChromium()
		if path == "" {
			return nil, fmt.Errorf("%w: no chromium, chromium-browser or google-chrome on PATH; %s", ErrNoBrowser, installHint)
		}
	} else if p, err := exec.LookPath(path); err != nil {
		return nil, fmt.Errorf("%w: %s: %v; %s", ErrNoBrowser, path, firstLine(err.Error()), installHint)
	} else {
		path = p
	}
	if rd.proxy == nil {
		p, err := newRefuseProxy(rd.log)
		if err != nil {
			return nil, fmt.Errorf("crawler: render: %w", err)
		}
		rd.proxy = p
	}
	b, err := startBrowser(path, rd.proxy.addr())
	if err != nil && !errors.Is(err, errStartTimeout) {
		// Chromium sometimes exits at start on a loaded machine, with
		// nothing on its output; a second start usually succeeds.
		rd.log.Warn("headless browser did not start; trying once more", "path", path, "error", firstLine(err.Error()))
		b, err = startBrowser(path, rd.proxy.addr())
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cannot start %s: %s; %s", ErrNoBrowser, path, firstLine(err.Error()), installHint)
	}
	rd.b = b
	rd.starts.Add(1)
	rd.log.Info("headless browser started", "path", path, "pid", b.pid, "tabs", rd.cfg.Tabs)
	return b, nil
}

// browserStartTimeout bounds the start of Chromium.
const browserStartTimeout = 30 * time.Second

// errStartTimeout is a start that got no answer: not worth a second wait.
var errStartTimeout = errors.New("no answer")

// startBrowser starts Chromium with every connection it makes outside the
// request interception sent to proxy, which refuses it.
func startBrowser(path, proxy string) (*browserProc, error) {
	dir, err := os.MkdirTemp("", "riskmine-render-")
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		// Chromium's sandbox needs user namespaces, which containers and
		// root often lack; the network is confined by the interception.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 900),
		// Anything not intercepted (WebSocket, service workers, the
		// browser's own traffic) goes to the refusing proxy, loopback
		// included, and WebRTC may not send UDP around it.
		chromedp.ProxyServer("http://"+proxy),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
		chromedp.Flag("force-webrtc-ip-handling-policy", "disable_non_proxied_udp"),
		chromedp.Flag("webrtc-ip-handling-policy", "disable_non_proxied_udp"),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("dns-prefetch-disable", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions"),
		chromedp.Flag("hide-scrollbars", true),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	stop := func() {
		// The allocator's cancel kills the process; the browser context's
		// then waits for it to be gone (a frozen browser would never close
		// on its own).
		acancel()
		bcancel()
		os.RemoveAll(dir)
	}
	// The first call must not carry a deadline (it would end the
	// browser), so its wait is bounded here.
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(bctx) }()
	select {
	case err = <-done:
	case <-time.After(browserStartTimeout):
		err = fmt.Errorf("%w within %s", errStartTimeout, browserStartTimeout)
	}
	if err != nil {
		stop()
		return nil, err
	}
	b := &browserProc{ctx: bctx, cancel: stop}
	if c := chromedp.FromContext(bctx); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		b.pid = c.Browser.Process().Pid
	}
	return b, nil
}

func (b *browserProc) stop() { b.cancel() }

// alive reports whether the browser still answers within a few seconds.
func (b *browserProc) alive() bool {
	if b.ctx.Err() != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	_, err := chromedp.CallBrowser(ctx, target.GetTargets, target.GetTargetsParams{})
	return err == nil
}

// retire stops b after a crash or hang unless another page did already.
func (rd *renderer) retire(b *browserProc, why error) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.b == b {
		rd.log.Warn("headless browser crashed or hung; restarting it", "pid", b.pid, "error", why)
		rd.b = nil
		rd.restarts.Add(1)
		b.stop()
	}
}

// runContext is a run's browser context in one browser.
type runContext struct {
	b  *browserProc
	id cdp.BrowserContextID
}

// contextFor returns r's browser context in b, creating it the first time
// (and again after a browser restart). Its connections outside the
// interception go to the refusing proxy like the browser's own.
func (rd *renderer) contextFor(ctx context.Context, r *run, b *browserProc) (cdp.BrowserContextID, error) {
	// One creation at a time, so two tabs of a run get the same context.
	rd.ctxMu.Lock()
	defer rd.ctxMu.Unlock()
	rd.mu.Lock()
	rc, ok := rd.runs[r]
	proxy := ""
	if rd.proxy != nil {
		proxy = "http://" + rd.proxy.addr()
	}
	rd.mu.Unlock()
	if ok && rc.b == b {
		return rc.id, nil
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	res, err := chromedp.CallBrowser(cctx, target.CreateBrowserContext, target.CreateBrowserContextParams{
		ProxyServer: proxy, ProxyBypassList: "<-loopback>"})
	if err != nil {
		return "", fmt.Errorf("crawler: render: new browser context: %w", err)
	}
	rd.mu.Lock()
	rd.runs[r] = runContext{b: b, id: res.BrowserContextID}
	rd.mu.Unlock()
	return res.BrowserContextID, nil
}

// endRun disposes of r's browser context.
func (rd *renderer) endRun(r *run) {
	rd.mu.Lock()
	rc, ok := rd.runs[r]
	delete(rd.runs, r)
	rd.mu.Unlock()
	if !ok || rc.b.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(rc.b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.CallBrowser(ctx, target.DisposeBrowserContext, target.DisposeBrowserContextParams{BrowserContextID: rc.id}); err != nil {
		rd.log.Debug("render: dispose of a browser context", "error", err)
	}
}

// ErrRenderTimeout is returned (wrapped, with context.DeadlineExceeded)
// when a page is not rendered within the page time limit.
var ErrRenderTimeout = errors.New("crawler: page not rendered in time")

// render fetches u in a tab for run r: a crashed or hung browser is
// restarted and the page tried once more.
func (rd *renderer) render(r *run, u string, list bool) (*fetched, error) {
	select {
	case rd.slots <- struct{}{}:
	case <-r.ctx.Done():
		return nil, r.ctx.Err()
	}
	defer func() { <-rd.slots }()
	for attempt := 0; ; attempt++ {
		b, err := rd.browser()
		if err != nil {
			return nil, err
		}
		began := time.Now()
		f, err := rd.renderPage(r, b, u, list)
		if err == nil {
			rd.pages.Add(1)
			r.log.Debug("page rendered", "url", u, "duration", time.Since(began).Round(time.Millisecond).String(),
				"dom_bytes", len(f.body), "screenshot_bytes", len(f.capture.Screenshot))
			return f, nil
		}
		if r.ctx.Err() != nil {
			return nil, err
		}
		if attempt == 0 && !b.alive() {
			rd.retire(b, err)
			rd.retried.Add(1)
			r.log.Info("page retried after a browser restart", "url", u, "error", err)
			continue
		}
		rd.failed.Add(1)
		return nil, err
	}
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// renderGet fetches u with the headless browser for run r. A browser that
// cannot start stops the run with ErrNoBrowser's one-line message.
func (r *run) renderGet(u string, list bool) (*fetched, error) {
	f, err := r.c.render.render(r, u, list)
	if err != nil {
		if errors.Is(err, ErrNoBrowser) {
			r.log.Error("rendered source cannot run", "error", err)
			r.stop(fmt.Errorf("%w: %w", ErrStopRun, err))
		}
		return nil, err
	}
	r.prog.fetched.Add(1)
	return f, nil
}
