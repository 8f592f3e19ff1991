package alerts

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"riskmine/netguard"
)

// DispatcherOptions tune webhook delivery. Zero fields take the defaults.
type DispatcherOptions struct {
	// Workers is how many requests run at once (default 4).
	Workers int
	// PollInterval is how often the outbox is polled when no in-process
	// signal arrives (default 1s).
	PollInterval time.Duration
	// LeaseMargin is added to the longest endpoint timeout to make the
	// visibility timeout of claimed rows (default 30s): a delivery whose
	// process died mid-request is retried after it.
	LeaseMargin time.Duration
	// RetrySchedule is the wait after each failed attempt: after attempt n
	// the dispatcher waits RetrySchedule[n-1], repeating the last step when
	// an endpoint allows more attempts than the schedule has steps
	// (default RetrySchedule, the Standard Webhooks schedule).
	RetrySchedule []time.Duration
	// MaxRetryAfter caps the wait a receiver can ask for with Retry-After
	// (default 24h).
	MaxRetryAfter time.Duration
	// Client sends the requests to every endpoint (default: keep-alive
	// transports behind the SSRF guard, one for endpoints that allow
	// private addresses, no redirects, no proxy). A Client given here
	// bypasses the guard: the caller answers for it.
	Client *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand returns a number in [0,1) for jitter (default math/rand/v2).
	Rand func() float64
	// Logger (default discards).
	Logger *slog.Logger
	// ShutdownGrace is how long Run lets requests in flight finish after
	// its context ends (default 5s).
	ShutdownGrace time.Duration
	// Location is the zone notification messages show times in (default
	// Asia/Shanghai).
	Location *time.Location
	// PublicURL, when set, is the web UI's address: notification messages
	// link to the lead under it.
	PublicURL string
	// SMTPTLS is the TLS configuration email endpoints use for STARTTLS
	// (default: the system roots; the server name is always the SMTP host).
	SMTPTLS *tls.Config
}

// Dispatcher delivers the outbox: claim due rows, sign, POST, classify the
// answer as delivered, retry or dead, record the attempt.
type Dispatcher struct {
	store Store
	eps   map[string]endpointKey
	opts  DispatcherOptions
	lease time.Duration
	log   *slog.Logger

	mu       sync.Mutex
	disabled map[string]string
	// rates are the notification channels' windows (notify.go).
	rates map[string]*rateWindow
	// strict reaches public addresses only; private also loopback and
	// private ones (endpoints with AllowPrivate). Neither reaches cloud
	// metadata.
	strict, private *http.Client
}

// guardedClient sends requests through a dialer checked by g.
func guardedClient(g *netguard.Guard, workers int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = workers * 2
	// Direct connections only: through a proxy the guard would judge the
	// proxy's address, not the receiver's.
	tr.Proxy = nil
	tr.DialContext = g.Dialer(30 * time.Second).DialContext
	return &http.Client{
		Transport: tr,
		// A redirect is an answer, not something to follow with a
		// re-sent signed body.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// client returns the HTTP client for ep and checks its host first, so a
// refused address gives a clear error before any connection (the dial-time
// check stays the authority: it also covers DNS rebinding).
func (d *Dispatcher) client(ctx context.Context, ep endpointKey) (*http.Client, error) {
	c := d.strict
	if ep.AllowPrivate {
		c = d.private
	}
	if d.opts.Client != nil {
		return c, nil
	}
	u, err := url.Parse(ep.URL)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: url: %w", ep.Name, err)
	}
	port := u.Port()
	if port == "" {
		port = map[bool]string{true: "443", false: "80"}[u.Scheme == "https"]
	}
	g := netguard.Guard{AllowPrivate: ep.AllowPrivate}
	if err := g.CheckHost(ctx, u.Hostname(), port, net.DefaultResolver.LookupIPAddr); err != nil {
		hint := ""
		if !ep.AllowPrivate && !strings.Contains(err.Error(), "metadata") {
			hint = " (set allow_private: true on this webhook to reach an intranet receiver)"
		}
		return nil, fmt.Errorf("webhook %s: %w%s", ep.Name, err, hint)
	}
	return c, nil
}

type endpointKey struct {
	Endpoint
	key []byte
}

// NewDispatcher returns a dispatcher for the store's outbox. Every
// endpoint's secret must parse.
func NewDispatcher(store Store, endpoints []Endpoint, opts DispatcherOptions) (*Dispatcher, error) {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.LeaseMargin <= 0 {
		opts.LeaseMargin = 30 * time.Second
	}
	if len(opts.RetrySchedule) == 0 {
		opts.RetrySchedule = RetrySchedule
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 5 * time.Second
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Location == nil {
		opts.Location = defaultLocation()
	}
	d := &Dispatcher{store: store, eps: map[string]endpointKey{}, opts: opts, log: opts.Logger.With("component", "webhooks")}
	if opts.Client != nil {
		d.strict, d.private = opts.Client, opts.Client
	} else {
		d.strict = guardedClient(&netguard.Guard{}, opts.Workers)
		d.private = guardedClient(&netguard.Guard{AllowPrivate: true}, opts.Workers)
	}
	var longest time.Duration
	for _, e := range endpoints {
		key, err := e.signingKey()
		if err != nil {
			return nil, fmt.Errorf("alerts: webhook %s: %w", e.Name, err)
		}
		if e.Format == "" {
			e.Format = "standard"
		}
		d.eps[e.Name] = endpointKey{e, key}
		longest = max(longest, e.timeout())
	}
	d.lease = longest + opts.LeaseMargin
	return d, nil
}

func (d *Dispatcher) refreshDisabled(ctx context.Context) error {
	m, err := d.store.DisabledEndpoints(ctx)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.disabled = m
	d.mu.Unlock()
	return nil
}

func (d *Dispatcher) isDisabled(name string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.disabled[name]
	return r, ok
}

// lane is the delivery loop of one endpoint: its own claims, workers and
// in-flight budget, so a receiver that hangs until its timeout holds up
// only its own deliveries.
type lane struct {
	name   string
	claim  ClaimRequest // Endpoint or ExceptEndpoints set
	wake   chan struct{}
	freed  chan struct{}
	inflow atomic.Int64
}

type laneResult struct {
	rec  AttemptRecord
	lane *lane
}

// Run delivers until ctx ends, then lets requests in flight finish for up
// to ShutdownGrace and records them. Each endpoint gets its own claimer and
// Workers workers; rows for endpoints no longer configured are
// dead-lettered by one more lane.
func (d *Dispatcher) Run(ctx context.Context) error {
	if err := d.refreshDisabled(ctx); err != nil {
		return fmt.Errorf("alerts: dispatcher: %w", err)
	}
	var lanes []*lane
	var names []string
	for name := range d.eps {
		names = append(names, name)
		lanes = append(lanes, &lane{name: name, claim: ClaimRequest{Endpoint: name}})
	}
	lanes = append(lanes, &lane{name: "(unconfigured)", claim: ClaimRequest{ExceptEndpoints: names}})
	for _, l := range lanes {
		l.wake = make(chan struct{}, 1)
		l.freed = make(chan struct{}, 1)
	}
	bg := context.WithoutCancel(ctx)
	results := make(chan laneResult, 64)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		for r := range results {
			batch := []laneResult{r}
		drain:
			for len(batch) < 256 {
				select {
				case r2, ok := <-results:
					if !ok {
						break drain
					}
					batch = append(batch, r2)
				default:
					break drain
				}
			}
			recs := make([]AttemptRecord, len(batch))
			for i, b := range batch {
				recs[i] = b.rec
			}
			if err := d.store.RecordAttempts(bg, recs); err != nil {
				// The leases run out and the rows are tried again.
				d.log.Error("record delivery attempts", "count", len(recs), "error", err)
			}
			for _, b := range batch {
				b.lane.inflow.Add(-1)
				select {
				case b.lane.freed <- struct{}{}:
				default:
				}
			}
		}
	}()

	var loops sync.WaitGroup
	for _, l := range lanes {
		loops.Go(func() { d.runLane(ctx, l, results) })
	}
	// Fan the store's signal out to every lane; refresh the disabled
	// endpoints every poll so one re-enabled elsewhere is noticed.
	tick := time.NewTicker(d.opts.PollInterval)
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-d.store.OutboxSignal():
			for _, l := range lanes {
				select {
				case l.wake <- struct{}{}:
				default:
				}
			}
		case <-tick.C:
			if err := d.refreshDisabled(ctx); err != nil && ctx.Err() == nil {
				d.log.Error("load disabled endpoints", "error", err)
			}
		}
	}
	tick.Stop()
	loops.Wait()
	close(results)
	<-recorded
	return nil
}

// runLane claims and delivers one lane's rows until ctx ends, then waits for
// its workers.
func (d *Dispatcher) runLane(ctx context.Context, l *lane, results chan<- laneResult) {
	maxInflight := d.opts.Workers * 4
	jobs := make(chan []Delivery, maxInflight)
	// Requests in flight at shutdown get ShutdownGrace to finish; one cut
	// short, like a claimed row never started, is not recorded: its lease
	// runs out and it is retried, by this process or the next.
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()
	stopGrace := context.AfterFunc(ctx, func() {
		t := time.NewTimer(d.opts.ShutdownGrace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelReqs()
		case <-reqCtx.Done():
		}
	})
	defer stopGrace()
	var workers sync.WaitGroup
	for range d.opts.Workers {
		workers.Go(func() {
			for group := range jobs {
				if ctx.Err() != nil {
					l.inflow.Add(-int64(len(group)))
					continue
				}
				recs := d.attempt(reqCtx, group)
				if reqCtx.Err() != nil {
					l.inflow.Add(-int64(len(group)))
					continue
				}
				for _, rec := range recs {
					results <- laneResult{rec, l}
				}
			}
		})
	}
	tick := time.NewTicker(d.opts.PollInterval)
	defer tick.Stop()
	ep, notify := d.eps[l.name]
	notify = notify && IsNotification(ep.Format)
	for ctx.Err() == nil {
		if notify {
			// A channel at its rate claims nothing until a slot frees
			// (looked at again every poll, should the clock jump).
			w := d.rateFor(ep.Endpoint)
			if now := d.opts.Now(); w.free(now) == 0 {
				t := time.NewTimer(min(max(w.next(now).Sub(now), 10*time.Millisecond), d.opts.PollInterval))
				select {
				case <-ctx.Done():
				case <-t.C:
				}
				t.Stop()
				continue
			}
		}
		limit := maxInflight - int(l.inflow.Load())
		claimed := 0
		if limit > 0 {
			req := l.claim
			req.Now, req.Limit, req.Lease = d.opts.Now(), limit, d.lease
			ds, err := d.store.ClaimDeliveries(ctx, req)
			if err != nil && ctx.Err() == nil {
				d.log.Error("claim deliveries", "endpoint", l.name, "error", err)
			}
			claimed = len(ds)
			l.inflow.Add(int64(claimed))
			for _, group := range d.plan(ds, req.Now) {
				jobs <- group
			}
		}
		switch {
		case limit <= 0:
			// Every slot is busy: wait for results to be recorded.
			select {
			case <-ctx.Done():
			case <-l.freed:
			}
		case claimed == limit:
			// There may be more due right now.
		default:
			// All that is due is claimed: wait for new rows or the poll.
			select {
			case <-ctx.Done():
			case <-l.wake:
			case <-tick.C:
			}
		}
	}
	close(jobs)
	workers.Wait()
}

// ProcessDue delivers every delivery due now, once each, and returns how
// many attempts it made. Retries scheduled for later are left for later.
// Tests and the CLI use it; a server runs Run.
func (d *Dispatcher) ProcessDue(ctx context.Context) (int, error) {
	if err := d.refreshDisabled(ctx); err != nil {
		return 0, fmt.Errorf("alerts: dispatcher: %w", err)
	}
	total := 0
	for {
		now := d.opts.Now()
		ds, err := d.store.ClaimDeliveries(ctx, ClaimRequest{Now: now, Limit: d.opts.Workers * 4, Lease: d.lease, ExceptEndpoints: d.fullChannels(now)})
		if err != nil {
			return total, err
		}
		if len(ds) == 0 {
			return total, nil
		}
		recs := d.attemptAll(ctx, d.plan(ds, now))
		if err := d.store.RecordAttempts(ctx, recs); err != nil {
			return total, err
		}
		total += len(recs)
	}
}

func (d *Dispatcher) attemptAll(ctx context.Context, groups [][]Delivery) []AttemptRecord {
	out := make([][]AttemptRecord, len(groups))
	sem := make(chan struct{}, d.opts.Workers)
	var wg sync.WaitGroup
	for i, group := range groups {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i] = d.attempt(ctx, group)
		})
	}
	wg.Wait()
	var recs []AttemptRecord
	for _, r := range out {
		recs = append(recs, r...)
	}
	return recs
}

// DeliverNow attempts one pending delivery immediately (if no one else
// holds it) and returns the logged attempt.
func (d *Dispatcher) DeliverNow(ctx context.Context, id string) (*AttemptRecord, error) {
	if err := d.refreshDisabled(ctx); err != nil {
		return nil, fmt.Errorf("alerts: dispatcher: %w", err)
	}
	ds, err := d.store.ClaimDeliveries(ctx, ClaimRequest{Now: d.opts.Now(), Limit: 1, Lease: d.lease, ID: id})
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("alerts: delivery %s is not pending and due, or another dispatcher holds it: %w", id, ErrInvalid)
	}
	// A delivery sent by hand goes alone, whatever its channel's rate; it
	// still counts against it.
	if ep, ok := d.eps[ds[0].Endpoint]; ok && IsNotification(ep.Format) {
		d.rateFor(ep.Endpoint).take(d.opts.Now(), 1)
	}
	rec := d.attempt(ctx, ds[:1])[0]
	if err := d.store.RecordAttempts(ctx, []AttemptRecord{rec}); err != nil {
		return nil, err
	}
	return &rec, nil
}

// Replay re-queues a dead or delivered delivery under its original id and
// wakes the dispatcher.
func (d *Dispatcher) Replay(ctx context.Context, deliveryID string) error {
	return d.store.Replay(ctx, deliveryID)
}

// Outcomes of an attempt.
const (
	outcomeDelivered = "delivered"
	outcomeRetry     = "retry"
	outcomeDead      = "dead"
	// outcomeDigest is a delivery of a notification channel that went out
	// folded into a digest with others (the channel was over its rate).
	outcomeDigest = "delivered_by_digest"
)

// attempt sends one delivery, or one digest of several deliveries of a
// notification endpoint, classifies the answer and returns a record per
// delivery.
func (d *Dispatcher) attempt(ctx context.Context, group []Delivery) []AttemptRecord {
	now := d.opts.Now()
	recs := make([]AttemptRecord, len(group))
	for i, del := range group {
		recs[i] = AttemptRecord{Attempt: Attempt{DeliveryID: del.ID, N: del.Attempts + 1, At: now}}
	}
	first := group[0]
	fail := func(msg string) []AttemptRecord {
		for i := range recs {
			recs[i].Outcome, recs[i].Error = outcomeDead, msg
		}
		return recs
	}
	ep, ok := d.eps[first.Endpoint]
	if !ok {
		return fail("endpoint " + first.Endpoint + " is not configured")
	}
	if reason, off := d.isDisabled(first.Endpoint); off {
		return fail("endpoint disabled: " + reason)
	}
	start := time.Now()
	var status int
	var header http.Header
	var err error
	if IsNotification(ep.Format) {
		status, header, err = d.notifyGroup(ctx, ep, group, now)
	} else {
		status, header, err = d.send(ctx, ep, first.ID, first.Body, now)
	}
	latency := time.Since(start)
	for i, del := range group {
		recs[i].Latency = latency
		d.classify(&recs[i], ep, del, status, header, err, now)
		if len(group) > 1 && recs[i].Outcome == outcomeDelivered {
			recs[i].Outcome = outcomeDigest
			recs[i].Error = fmt.Sprintf("sent in digest %s with %d deliveries", first.ID, len(group))
		}
	}
	return recs
}

// classify turns an answer (or the error of sending) into the record's
// outcome: delivered, retry at a time, or dead.
func (d *Dispatcher) classify(rec *AttemptRecord, ep endpointKey, del Delivery, status int, header http.Header, err error, now time.Time) {
	rec.Status = status
	retryable := false
	switch {
	case err != nil:
		rec.Error = err.Error()
		// A refused address is the config's fault; retrying changes
		// nothing. Replay the delivery after fixing the webhook.
		retryable = !errors.Is(err, netguard.ErrBlocked) && !errors.Is(err, errFinal)
	case status >= 200 && status < 300:
		rec.Outcome = outcomeDelivered
		return
	case status == http.StatusGone:
		rec.Outcome, rec.Error = outcomeDead, "410 Gone: endpoint disabled"
		rec.DisableEndpoint = ep.Name
		d.mu.Lock()
		if d.disabled == nil {
			d.disabled = map[string]string{}
		}
		d.disabled[ep.Name] = rec.Error
		d.mu.Unlock()
		d.log.Warn("webhook endpoint answered 410, disabled", "endpoint", ep.Name, "delivery_id", del.ID)
		return
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		rec.Error = "HTTP " + strconv.Itoa(status)
		retryable = true
	default:
		rec.Outcome, rec.Error = outcomeDead, "HTTP "+strconv.Itoa(status)+" (not retried)"
		return
	}
	if !retryable || rec.N >= ep.maxAttempts() {
		rec.Outcome = outcomeDead
		rec.Error = fmt.Sprintf("gave up after %d attempts: %s", rec.N, rec.Error)
		return
	}
	rec.Outcome = outcomeRetry
	delay := d.backoff(rec.N)
	if ra, ok := parseRetryAfter(header.Get("Retry-After"), now); ok {
		delay = min(ra, d.opts.MaxRetryAfter)
	}
	rec.NextAttemptAt = now.Add(delay)
	d.log.Debug("webhook delivery failed, will retry", "endpoint", ep.Name, "delivery_id", del.ID, "attempt", rec.N, "status", status, "retry_in", delay.String(), "error", rec.Error)
}

// RetrySchedule is the default wait after each failed attempt, the
// Standard Webhooks schedule: the first attempt goes out at once, then
// retries follow 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after the
// failure before, 8 attempts over about 28 h. A passing 503 costs seconds;
// a receiver down for a day still gets the delivery.
var RetrySchedule = []time.Duration{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// backoff is the delay after failed attempt n (1-based): step n of the
// retry schedule (its last step once n runs past it), with ±20% jitter so
// deliveries failed together do not all come back at the same instant.
func (d *Dispatcher) backoff(n int) time.Duration {
	sched := d.opts.RetrySchedule
	step := sched[min(max(n, 1), len(sched))-1]
	delay := float64(step) * (0.8 + 0.4*d.opts.Rand())
	return max(time.Duration(delay), time.Second)
}

// maxRetryAfterSeconds bounds a Retry-After in seconds (30 days); the
// dispatcher caps the delay at its MaxRetryAfter anyway.
const maxRetryAfterSeconds = 30 * 24 * 3600

// parseRetryAfter reads delta-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
		// Cap before multiplying: a huge value would overflow into the past.
		return time.Duration(min(secs, maxRetryAfterSeconds)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// send POSTs a signed body; it returns the status and headers, or the
// network error (timeouts included).
func (d *Dispatcher) send(ctx context.Context, ep endpointKey, id string, body []byte, now time.Time) (int, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, ep.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "riskmine-webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(ep.key, id, ts, body))
	c, err := d.client(ctx, ep)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	// Drain a little so the connection can be reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, resp.Header, nil
}

// TestResult is the receiver's answer to SendTest: its status and
// headers. The body is not kept: a test must not become a way to read
// what an address answers.
type TestResult struct {
	ID      string        `json:"id"`
	Status  int           `json:"status"`
	Header  http.Header   `json:"header"`
	Latency time.Duration `json:"latency_ns"`
}

// SendTest sends a signed risk_lead.test event with a sample lead to the
// named endpoint (not through the outbox) and returns the answer.
func (d *Dispatcher) SendTest(ctx context.Context, name string) (*TestResult, error) {
	ep, ok := d.eps[name]
	if !ok {
		names := make([]string, 0, len(d.eps))
		for n := range d.eps {
			names = append(names, n)
		}
		return nil, fmt.Errorf("alerts: no webhook named %q (configured: %s): %w", name, strings.Join(names, ", "), ErrNotFound)
	}
	now := d.opts.Now().UTC()
	sample := &Lead{
		ID: "test_" + newID(now), Title: "riskmine webhook test", Summary: "A sample lead sent by riskmine webhooks test.",
		Level: "medium", Score: 3, Categories: []CategoryScore{{Code: "fire", Score: 3}},
		Locations: []Location{}, Terms: []string{}, FirstSeen: now, LastSeen: now, SourceCount: 1,
		State: StateNew, CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	if IsNotification(ep.Format) {
		return d.sendTestNotification(ctx, ep, "msg_"+newID(now), sample, now)
	}
	var body []byte
	var err error
	if ep.Format == "thehive" {
		body, err = renderBody(ep.Format, "test", sample, now)
	} else {
		body, err = json.Marshal(standardBody{Type: "risk_lead.test", Timestamp: now, Data: sample})
	}
	if err != nil {
		return nil, err
	}
	id := "msg_" + newID(now)
	ctx, cancel := context.WithTimeout(ctx, ep.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("alerts: webhook %s: %w", name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "riskmine-webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", Sign(ep.key, id, now.Unix(), body))
	start := time.Now()
	c, err := d.client(ctx, ep)
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("alerts: webhook %s: %w", name, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return &TestResult{ID: id, Status: resp.StatusCode, Header: resp.Header, Latency: time.Since(start)}, nil
}
