package crawler

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrTooLarge is returned (wrapped) when a body exceeds MaxBodyBytes on the
// wire or MaxDecompressedBytes after decompression.
var ErrTooLarge = errors.New("crawler: body exceeds the size limit")

// ErrTooManyRedirects is returned (wrapped) when a request is redirected
// more than MaxRedirects times, which also ends redirect loops.
var ErrTooManyRedirects = errors.New("crawler: too many redirects")

// origContentType carries the server's Content-Type past colly, which would
// otherwise transcode a body whose header names a charset before our
// extractor sees the raw bytes (and mangle a page that declares gb2312 but
// is UTF-8).
const origContentType = "X-Riskmine-Content-Type"

// fetchLimits are the transport settings of one run.
type fetchLimits struct {
	timeout       time.Duration
	maxBody       int64
	maxDecoded    int64
	retries       int
	backoffBase   time.Duration
	backoffMax    time.Duration
	maxRetryAfter time.Duration
}

// retryTransport wraps an http.Transport with a per-attempt timeout that also
// covers the body, size limits checked while reading, bounded gzip
// decompression, and retries with exponential backoff and jitter on network
// errors, 5xx and 429 (honouring Retry-After).
type retryTransport struct {
	base   *http.Transport
	lim    fetchLimits
	sleep  func(ctx context.Context, d time.Duration) error
	now    func() time.Time
	jitter func() float64 // in [0,1)
	// retried counts the retries made, for run statistics.
	retried *atomic.Int64
	// guard and lookup check target hosts before each request when a proxy
	// dials for us: the dial-time check then only sees the proxy.
	guard    *addrGuard
	lookup   func(ctx context.Context, host string) ([]net.IPAddr, error)
	viaProxy bool
	// pace, when set, waits for the host's turn before each attempt.
	pace func(ctx context.Context, u *url.URL) error
	// wires keeps the final response of the fetches that ask for it (by
	// wireHeader) as it came off the connection, for the evidence archive.
	wires *wireTaps
}

// RoundTrip makes the request, repeating it after retryable failures.
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.viaProxy {
		if err := t.guard.checkHost(req.Context(), req.URL.Hostname(), portOf(req.URL), t.lookup); err != nil {
			return nil, err
		}
	}
	idempotent := req.Method == http.MethodGet || req.Method == http.MethodHead
	for attempt := 0; ; attempt++ {
		if t.pace != nil {
			if err := t.pace(req.Context(), req.URL); err != nil {
				return nil, err
			}
		}
		resp, err := t.once(req)
		canRetry := idempotent && attempt < t.lim.retries && req.Context().Err() == nil
		if err != nil {
			if !canRetry || !retryableError(err) {
				return nil, err
			}
			if err := t.sleep(req.Context(), t.backoff(attempt)); err != nil {
				return nil, err
			}
			t.retried.Add(1)
			continue
		}
		if !canRetry || !(resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented) {
			return resp, nil
		}
		wait := t.backoff(attempt)
		if ra, ok := retryAfter(resp.Header.Get("Retry-After"), t.now()); ok {
			if ra > t.lim.maxRetryAfter {
				// The server asks for a longer pause than a run should
				// hold a worker: give up on this URL for now.
				return resp, nil
			}
			wait = ra
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err := t.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		t.retried.Add(1)
	}
}

// once makes one attempt with its own deadline, which stays armed until the
// body is closed so a server that trickles bytes is cut off.
func (t *retryTransport) once(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.lim.timeout)
	tap := req.Header.Get(wireHeader)
	var w *wire
	if tap != "" && t.wires != nil {
		// Each attempt (retries, redirect hops) gets its own record; the
		// last one stored is the final response's.
		w = &wire{}
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
			if i.Conn != nil {
				w.remote = i.Conn.RemoteAddr().String()
			}
		}})
	}
	r := req.Clone(ctx)
	if tap != "" {
		r.Header.Del(wireHeader)
	}
	if r.Header.Get("Accept-Encoding") == "" && r.Method != http.MethodHead {
		r.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && req.Context().Err() == nil {
			return nil, fmt.Errorf("crawler: %s: timeout after %s: %w", req.URL.Redacted(), t.lim.timeout, err)
		}
		return nil, err
	}
	if resp.ContentLength > t.lim.maxBody {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("%w: %s declares %d bytes, limit %d", ErrTooLarge, req.URL.Redacted(), resp.ContentLength, t.lim.maxBody)
	}
	var body io.Reader = &limitReader{r: resp.Body, n: t.lim.maxBody, what: "body"}
	gzipped := isGzip(resp, req.URL)
	if w != nil {
		w.keep(r, resp)
		if gzipped {
			// The wire bytes are kept beside the decoded ones only when
			// they differ; the tap sits behind the size limit, so it never
			// holds more than maxBody bytes.
			w.raw = &bytes.Buffer{}
			if resp.ContentLength > 0 {
				w.raw.Grow(int(resp.ContentLength))
			}
			body = io.TeeReader(body, w.raw)
		}
		t.wires.put(tap, w)
	}
	var gz *gzip.Reader
	if gzipped {
		gz, err = gzip.NewReader(body)
		if err != nil {
			resp.Body.Close()
			cancel()
			return nil, fmt.Errorf("crawler: %s: gzip: %w", req.URL.Redacted(), err)
		}
		body = &limitReader{r: gz, n: t.lim.maxDecoded, what: "decompressed body"}
		resp.Header.Del("Content-Encoding")
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
		resp.Uncompressed = true
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		resp.Header.Set(origContentType, ct)
		if mt, _, err := mime.ParseMediaType(ct); err == nil {
			resp.Header.Set("Content-Type", mt)
		} else {
			resp.Header.Del("Content-Type")
		}
	}
	resp.Body = &deadlineBody{r: body, c: resp.Body, cancel: cancel, timeout: t.lim.timeout, ctx: ctx, url: req.URL}
	return resp, nil
}

// isGzip reports whether the body is gzip-compressed: by Content-Encoding, or
// a .gz file (sitemaps) served as such.
func isGzip(resp *http.Response, u *url.URL) bool {
	ce := strings.ToLower(resp.Header.Get("Content-Encoding"))
	if ce == "gzip" || ce == "x-gzip" {
		return true
	}
	if ce != "" && ce != "identity" {
		return false
	}
	ct := strings.ToLower(resp.Header.Get("Content-Type"))
	return strings.Contains(ct, "application/gzip") || strings.Contains(ct, "application/x-gzip") ||
		strings.HasSuffix(strings.ToLower(u.Path), ".gz")
}

// backoff is base·2^attempt, capped, with "full jitter" in [d/2, d).
func (t *retryTransport) backoff(attempt int) time.Duration {
	d := t.lim.backoffBase << min(attempt, 20)
	if d > t.lim.backoffMax || d <= 0 {
		d = t.lim.backoffMax
	}
	return d/2 + time.Duration(t.jitter()*float64(d/2))
}

// retryAfter parses a Retry-After header: delta seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		d := at.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// retryableError reports whether a failed attempt may succeed when repeated:
// network and timeout errors, but not the SSRF guard, size limits or a
// cancelled run.
func retryableError(err error) bool {
	switch {
	case errors.Is(err, ErrBlockedAddress), errors.Is(err, ErrTooLarge), errors.Is(err, context.Canceled):
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, context.DeadlineExceeded)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// limitReader fails with ErrTooLarge once more than n bytes are read, rather
// than truncating silently.
type limitReader struct {
	r    io.Reader
	n    int64
	what string
}

// Read reads at most the remaining allowance, then fails if more follows.
func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: %s", ErrTooLarge, l.what)
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// deadlineBody releases the attempt's context when the body is closed and
// names the timeout when a slow body is cut.
type deadlineBody struct {
	r       io.Reader
	c       io.Closer
	cancel  context.CancelFunc
	ctx     context.Context
	timeout time.Duration
	url     *url.URL
}

// Read reads the body, naming the timeout when the deadline cut it.
func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && errors.Is(b.ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("crawler: %s: body not read within %s: %w", b.url.Redacted(), b.timeout, context.DeadlineExceeded)
	}
	return n, err
}

// Close closes the body and releases the attempt's deadline.
func (b *deadlineBody) Close() error {
	err := b.c.Close()
	b.cancel()
	return err
}

// newBaseTransport builds the dialling transport: every connection goes
// through the SSRF guard after DNS resolution.
func newBaseTransport(guard *addrGuard, lookup func(ctx context.Context, host string) ([]net.IPAddr, error), proxy *url.URL, timeout time.Duration, conns int) *http.Transport {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: guard.control}
	dial := d.DialContext
	if lookup != nil {
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if net.ParseIP(host) != nil {
				return d.DialContext(ctx, network, addr)
			}
			ips, err := lookup(ctx, host)
			if err != nil {
				return nil, err
			}
			var first error
			for _, ip := range ips {
				c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.IP.String(), port))
				if err == nil {
					return c, nil
				}
				if first == nil {
					first = err
				}
			}
			if first == nil {
				first = fmt.Errorf("crawler: no address for %s", host)
			}
			return nil, first
		}
	}
	tr := &http.Transport{
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   max(conns, 2),
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // decompressed by retryTransport, with a limit
	}
	if proxy != nil {
		tr.Proxy = http.ProxyURL(proxy)
	}
	return tr
}

// wireHeader is the request header by which a fetch asks the transport to
// keep its final response as received (its value names the tap). The
// transport removes it before the request leaves.
const wireHeader = "X-Riskmine-Wire"

// wire is one response as it came off the connection: what the evidence
// archive stores, where the crawler itself reads the decoded body.
type wire struct {
	// method, url and reqHeader are the request as sent (Accept-Encoding
	// included, which the transport adds).
	method    string
	url       string
	reqHeader http.Header
	// proto, status and header are the response as received; Go's HTTP
	// client moves Transfer-Encoding out of the header, and it is put back.
	proto  string
	status int
	header http.Header
	// remote is the address of the connection the response came on.
	remote string
	// raw is the body before content decoding (after HTTP/1.1 chunked
	// de-framing, which Go's transport always does), kept only when the
	// transport decodes the body; nil when the body is passed on as it
	// came.
	raw *bytes.Buffer
}

// keep notes the request as sent and the response's head.
func (w *wire) keep(r *http.Request, resp *http.Response) {
	w.method, w.url, w.reqHeader = r.Method, r.URL.String(), r.Header.Clone()
	w.proto, w.status, w.header = resp.Proto, resp.StatusCode, resp.Header.Clone()
	if len(resp.TransferEncoding) > 0 {
		w.header["Transfer-Encoding"] = append([]string(nil), resp.TransferEncoding...)
	}
}

// fill puts the wire record into c, whose Body holds the decoded body.
func (w *wire) fill(c *Capture) {
	c.Method, c.RequestHeader = w.method, w.reqHeader
	c.Proto, c.ResponseHeader, c.RemoteAddr = w.proto, w.header, w.remote
	if w.raw != nil {
		c.RawBody = w.raw.Bytes()
	} else {
		c.RawBody = c.Body
	}
}

// wireTaps holds the wire records of the fetches under way that asked for
// one. A fetch opens a tap, the transport fills it, the fetch takes it.
type wireTaps struct {
	mu   sync.Mutex
	next uint64
	m    map[string]*wire
}

func newWireTaps() *wireTaps { return &wireTaps{m: map[string]*wire{}} }

// open returns a new tap's name, to be sent in wireHeader.
func (w *wireTaps) open() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.next++
	id := strconv.FormatUint(w.next, 36)
	w.m[id] = nil
	return id
}

// put records x under an open tap; a tap closed meanwhile is left closed.
func (w *wireTaps) put(id string, x *wire) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.m[id]; ok {
		w.m[id] = x
	}
}

// take closes the tap and returns what it holds (nil when no response
// came). The body must have been read to its end.
func (w *wireTaps) take(id string) *wire {
	w.mu.Lock()
	defer w.mu.Unlock()
	x := w.m[id]
	delete(w.m, id)
	return x
}

// len reports how many taps are open, for tests.
func (w *wireTaps) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.m)
}

// defaultJitter is the jitter source outside tests.
func defaultJitter() float64 { return rand.Float64() }
