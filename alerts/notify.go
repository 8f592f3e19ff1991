package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Endpoint formats. standard and thehive are machine webhooks; dingtalk,
// wecom and email are notification channels that people read: the
// outbox keeps the standard body of each event (the lead as it was), and
// the dispatcher renders it as a Chinese message when it sends, so that
// DingTalk's signature is fresh and a channel over its rate can fold the
// waiting events into one digest.
const (
	FormatStandard = "standard"
	FormatTheHive  = "thehive"
	FormatDingTalk = "dingtalk"
	FormatWeCom    = "wecom"
	FormatEmail    = "email"
)

// DefaultRateLimit is how many messages a notification channel sends a
// minute when its endpoint sets none: what DingTalk and WeCom robots accept.
const DefaultRateLimit = 20

// IsNotification reports whether format is a notification channel
// (dingtalk, wecom or email) rather than a machine webhook.
func IsNotification(format string) bool {
	return format == FormatDingTalk || format == FormatWeCom || format == FormatEmail
}

func (e Endpoint) rateLimit() int {
	if e.RateLimit <= 0 {
		return DefaultRateLimit
	}
	return e.RateLimit
}

// signingKey returns the key a standard or thehive endpoint signs with
// (its whsec_ secret). A DingTalk robot signs with its SEC… secret as is;
// WeCom robots and email have no signing secret.
func (e Endpoint) signingKey() ([]byte, error) {
	switch e.Format {
	case FormatDingTalk:
		if e.Secret == "" {
			return nil, errors.New("a dingtalk robot needs its signing secret (SEC…)")
		}
		return []byte(e.Secret), nil
	case FormatWeCom:
		return nil, nil
	case FormatEmail:
		if e.Email == nil || e.Email.Addr == "" || e.Email.From == "" || len(e.Email.To) == 0 {
			return nil, errors.New("an email endpoint needs an SMTP address, from and to")
		}
		if e.Email.Username != "" && e.Email.StartTLS == StartTLSOff {
			return nil, errors.New("an email endpoint with credentials needs starttls")
		}
		return nil, nil
	}
	return parseSecret(e.Secret)
}

// rateWindow counts a channel's messages over the last minute.
type rateWindow struct {
	mu    sync.Mutex
	limit int
	sent  []time.Time
	// until is when a robot that said it was rate-limited takes messages
	// again.
	until time.Time
}

func (w *rateWindow) prune(now time.Time) {
	cut := 0
	for cut < len(w.sent) && !w.sent[cut].After(now.Add(-time.Minute)) {
		cut++
	}
	w.sent = w.sent[cut:]
}

// free is how many messages may go now.
func (w *rateWindow) free(now time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now.Before(w.until) {
		return 0
	}
	w.prune(now)
	return max(w.limit-len(w.sent), 0)
}

// take counts n messages sent at now.
func (w *rateWindow) take(now time.Time, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for range n {
		w.sent = append(w.sent, now)
	}
}

// block refuses messages until t.
func (w *rateWindow) block(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t.After(w.until) {
		w.until = t
	}
}

// next is when a message may go again (now when one may).
func (w *rateWindow) next(now time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.prune(now)
	t := now
	if len(w.sent) >= w.limit && len(w.sent) > 0 {
		t = w.sent[len(w.sent)-w.limit].Add(time.Minute)
	}
	if w.until.After(t) {
		t = w.until
	}
	return t
}

// rateFor returns the window of a notification endpoint.
func (d *Dispatcher) rateFor(e Endpoint) *rateWindow {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rates == nil {
		d.rates = map[string]*rateWindow{}
	}
	w, ok := d.rates[e.Name]
	if !ok {
		w = &rateWindow{limit: e.rateLimit()}
		d.rates[e.Name] = w
	}
	return w
}

// fullChannels lists the notification endpoints that may send nothing now,
// so a claim leaves their deliveries queued.
func (d *Dispatcher) fullChannels(now time.Time) []string {
	var out []string
	for name, ep := range d.eps {
		if IsNotification(ep.Format) && d.rateFor(ep.Endpoint).free(now) == 0 {
			out = append(out, name)
		}
	}
	return out
}

// plan turns claimed deliveries into messages: one each, except that a
// notification channel sends at most its rate a minute. When more of its
// deliveries are due than its window has room for, all but one free slot
// go one by one and the last carries a digest of the rest. A channel with
// no room at all (it was claimed anyway) still sends one digest: nothing
// claimed is left without an attempt.
func (d *Dispatcher) plan(ds []Delivery, now time.Time) [][]Delivery {
	var out [][]Delivery
	byEndpoint := map[string][]Delivery{}
	var order []string
	for _, del := range ds {
		ep, ok := d.eps[del.Endpoint]
		if !ok || !IsNotification(ep.Format) {
			out = append(out, []Delivery{del})
			continue
		}
		if _, seen := byEndpoint[del.Endpoint]; !seen {
			order = append(order, del.Endpoint)
		}
		byEndpoint[del.Endpoint] = append(byEndpoint[del.Endpoint], del)
	}
	for _, name := range order {
		group := byEndpoint[name]
		w := d.rateFor(d.eps[name].Endpoint)
		free := max(w.free(now), 1)
		if len(group) <= free {
			for _, del := range group {
				out = append(out, []Delivery{del})
			}
			w.take(now, len(group))
			continue
		}
		for _, del := range group[:free-1] {
			out = append(out, []Delivery{del})
		}
		out = append(out, group[free-1:])
		w.take(now, free)
	}
	return out
}

// queuedEvent decodes an outbox body of a notification endpoint: the
// standard body, with the lead as it was when the event happened.
func queuedEvent(del Delivery) (*Lead, error) {
	var b standardBody
	if err := json.Unmarshal(del.Body, &b); err != nil || b.Data == nil {
		return nil, fmt.Errorf("delivery %s: body is not a queued lead event: %w (%w)", del.ID, err, errFinal)
	}
	return b.Data, nil
}

// notifyGroup renders and sends one message for a group of deliveries of
// one notification endpoint: the lead's message for one, a digest for
// several. It returns the status, headers and error like send.
func (d *Dispatcher) notifyGroup(ctx context.Context, ep endpointKey, group []Delivery, now time.Time) (int, http.Header, error) {
	var m message
	if len(group) == 1 && group[0].Event == EventSourceHealth {
		ev, err := queuedHealth(group[0])
		if err != nil {
			return 0, nil, err
		}
		m = healthMessage(ev, d.opts.Location, d.opts.PublicURL)
	} else if len(group) == 1 {
		l, err := queuedEvent(group[0])
		if err != nil {
			return 0, nil, err
		}
		m = leadMessage(group[0].Event, l, d.opts.Location, d.opts.PublicURL)
	} else {
		leads := make([]*Lead, 0, len(group))
		var health []digestItem
		for _, del := range group {
			if del.Event == EventSourceHealth {
				if ev, err := queuedHealth(del); err == nil {
					health = append(health, digestItem{Line: healthDigestLine(ev, d.opts.Location)})
				}
				continue
			}
			l, err := queuedEvent(del)
			if err != nil {
				// One unreadable body must not hold up the rest; it fails
				// with them and is dead-lettered by its own attempts.
				continue
			}
			leads = append(leads, l)
		}
		m = digestMessage(leads, d.opts.Location, d.opts.PublicURL, ep.rateLimit())
		if len(health) > 0 {
			// Source health changes ride in the same digest, after the
			// leads, and are counted in its headline.
			m.Items = append(m.Items, health...)
			m.Title = fmt.Sprintf("另有 %d 条线索、%d 条采集源状态", len(m.Items)-len(health), len(health))
			m.Heading = m.Title
		}
	}
	return d.sendMessage(ctx, ep, group[0].ID, m, now)
}

// sendMessage sends a rendered message on the endpoint's channel.
func (d *Dispatcher) sendMessage(ctx context.Context, ep endpointKey, id string, m message, now time.Time) (int, http.Header, error) {
	if ep.Format == FormatEmail {
		status, err := d.sendEmail(ctx, ep, id, m, now)
		return status, nil, err
	}
	return d.postRobot(ctx, ep, m, now)
}

// sendTestNotification sends SendTest's sample lead as a message.
func (d *Dispatcher) sendTestNotification(ctx context.Context, ep endpointKey, id string, sample *Lead, now time.Time) (*TestResult, error) {
	start := time.Now()
	status, header, err := d.sendMessage(ctx, ep, id, leadMessage("test", sample, d.opts.Location, d.opts.PublicURL), now)
	if err != nil {
		return nil, fmt.Errorf("alerts: webhook %s: %w", ep.Name, err)
	}
	return &TestResult{ID: id, Status: status, Header: header, Latency: time.Since(start)}, nil
}
