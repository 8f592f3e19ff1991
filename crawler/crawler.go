package crawler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"time"
)

// Options configure a Crawler. Zero values take the defaults noted.
type Options struct {
	// Store keeps crawl state and run history; required.
	Store State
	// UserAgent is sent unless a source names its own; default
	// DefaultUserAgent(ContactURL).
	UserAgent  string
	ContactURL string
	// Timeout bounds one attempt of one request, body included (default 30s).
	Timeout time.Duration
	// MaxBodyBytes is the largest body read off the wire (default 10 MiB).
	MaxBodyBytes int64
	// MaxDecompressedBytes is the largest body after gzip decompression
	// (default 4 × MaxBodyBytes): a small gzip bomb is cut here.
	MaxDecompressedBytes int64
	// MaxRedirects is the number of redirects followed per request
	// (0: default 5; negative: none).
	MaxRedirects int
	// Retries is the number of repeated attempts after a network error, a
	// 5xx or a 429 (0: none).
	Retries int
	// BackoffBase and BackoffMax shape the exponential backoff between
	// attempts (defaults 500ms and 30s); each wait is jittered.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; a longer one gives
	// the URL up for this run (default 2m).
	MaxRetryAfter time.Duration
	// MaxCrawlDelay caps the Crawl-delay of robots.txt that is honoured
	// (default 30s): a host is requested at most once per the larger of
	// the source's Delay and its Crawl-delay up to this cap.
	MaxCrawlDelay time.Duration
	// HealthEmptyRuns is how many runs in a row without any item make a
	// source's no_items problem (default DefaultHealthEmptyRuns).
	HealthEmptyRuns int
	// OnHealth, when set, is told of each change of a source's health
	// (health.go); an error makes the change be told again after the next
	// run.
	OnHealth func(ctx context.Context, ch HealthChange) error
	// LeaseTTL is how long a run's lease on its source lasts without
	// renewal (default LeaseTTL; renewed every third of it). Every node
	// sharing a database should use the same; tests shorten it.
	LeaseTTL time.Duration
	// Render configures the headless browser of sources with Render set.
	Render RenderConfig
	// Logger receives per-URL failures at debug level and run summaries.
	Logger *slog.Logger

	// Now, Sleep and Jitter are the clock, the pause between attempts and
	// the random source in [0,1) for backoff; tests replace them.
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error
	Jitter func() float64

	// lookup resolves host names for the dialer (nil: the system resolver).
	lookup func(ctx context.Context, host string) ([]net.IPAddr, error)
	// guardExempt lets tests stand a loopback address in for a public one.
	guardExempt func(netip.AddrPort) bool
}

// Crawler runs sources. One Crawler serves any number of sources and runs;
// it is safe for concurrent use.
type Crawler struct {
	opts  Options
	store State
	log   *slog.Logger
	// gate spaces the requests to each host across all runs.
	gate *hostGate
	// robots keeps the last good robots.txt of each host.
	robots *robotsMemory
	// render is the headless browser, started when first needed.
	render *renderer
}

// New returns a Crawler with opts' defaults filled in.
func New(opts Options) (*Crawler, error) {
	if st, ok := opts.Store.(*Store); opts.Store == nil || (ok && st == nil) {
		return nil, errors.New("crawler: options without a store")
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent(opts.ContactURL)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 10 << 20
	}
	if opts.MaxDecompressedBytes <= 0 {
		opts.MaxDecompressedBytes = 4 * opts.MaxBodyBytes
	}
	if opts.MaxRedirects == 0 {
		opts.MaxRedirects = 5
	}
	if opts.MaxRedirects < 0 {
		opts.MaxRedirects = 0
	}
	if opts.Retries < 0 {
		opts.Retries = 0
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = 500 * time.Millisecond
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 30 * time.Second
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = 2 * time.Minute
	}
	if opts.MaxCrawlDelay <= 0 {
		opts.MaxCrawlDelay = 30 * time.Second
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = LeaseTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	if opts.Jitter == nil {
		opts.Jitter = defaultJitter
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Crawler{opts: opts, store: opts.Store, log: opts.Logger, gate: newHostGate(), robots: &robotsMemory{},
		render: newRenderer(opts.Render, opts.Logger.With("component", "render"))}, nil
}

// Store returns the crawl state (run history for the UI).
func (c *Crawler) Store() State { return c.store }

// Run crawls src once: it fetches the seeds, follows item links, feed
// entries or sitemap URLs, and hands every new or changed page to emit.
// progress, when not nil, is updated as the run goes. The run is recorded in
// crawl_runs whatever its outcome. Run returns an error when the source is
// invalid, the state store fails or ctx ends, and a *LeaseHeldError (which
// is ErrRunning) when another process holds the source's lease;
// failures of single URLs are counted in the returned Run, not returned.
func (c *Crawler) Run(ctx context.Context, src Source, emit EmitFunc, progress *Progress) (Run, error) {
	src, err := src.withDefaults()
	if err != nil {
		return Run{}, err
	}
	if emit == nil {
		return Run{}, fmt.Errorf("crawler: source %s: no emit function", src.Name)
	}
	if progress == nil {
		progress = &Progress{}
	}
	lease, err := acquireLease(ctx, c.store, src.Name, c.opts.Now, c.opts.LeaseTTL)
	if err != nil {
		return Run{}, err
	}
	return c.runHeld(ctx, src, emit, progress, lease)
}

// runHeld runs a valid src under its lease, renewing it as the run goes
// and releasing it at the end. A lease taken over by another holder (after
// missed heartbeats) cancels the run.
func (c *Crawler) runHeld(ctx context.Context, src Source, emit EmitFunc, progress *Progress, lease *Lease) (Run, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	lease.keep(cancel, c.log.Warn)
	defer func() {
		if err := lease.Release(context.WithoutCancel(ctx)); err != nil {
			c.log.Warn("crawl lease not released", "source", src.Name, "error", err)
		}
	}()
	started := c.opts.Now()
	id, err := c.store.StartRun(ctx, src.Name, started)
	if err != nil {
		return Run{}, err
	}
	r, err := c.newRun(ctx, src, emit, progress)
	var runErr error
	if err != nil {
		runErr = err
	} else {
		runErr = r.crawl()
		r.tr.base.CloseIdleConnections()
		c.render.endRun(r)
	}
	run := Run{ID: id, Source: src.Name, Started: started, Ended: c.opts.Now(), Stats: progress.Snapshot()}
	if errors.Is(context.Cause(ctx), errLeaseLost) {
		runErr = errLeaseLost
	}
	if runErr != nil {
		run.Error = runErr.Error()
	}
	// Record the end even when ctx was cancelled (shutdown).
	if err := c.store.FinishRun(context.WithoutCancel(ctx), run); err != nil && runErr == nil {
		runErr = err
	}
	c.observeHealth(ctx, src, run, progress, runErr)
	c.log.Info("crawl run finished", "source", src.Name, "fetched", run.Fetched, "new", run.New,
		"changed", run.Changed, "unchanged", run.Unchanged, "skipped", run.Skipped, "failed", run.Failed,
		"duration", run.Ended.Sub(run.Started).Round(time.Millisecond).String())
	return run, runErr
}

// proxyURL parses a source's proxy setting.
func proxyURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("proxy %q is not a URL such as http://host:3128", s)
	}
	return u, nil
}
