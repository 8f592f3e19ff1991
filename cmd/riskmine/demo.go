package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"riskmine/alerts"
	"riskmine/config"
	"riskmine/service"
	"riskmine/web"
)

func init() {
	register(&command{
		name:    "demo",
		summary: "run serve on a bundled demo world of Chinese sites on loopback",
		run:     runDemo,
	})
}

// The demo's login. The demo listens on loopback only, so a known password
// is a convenience, not a hole; serve never creates it.
const (
	demoUser     = "admin"
	demoPassword = "harbour-lantern-demo"
)

// demoSchedule is how often the demo's sources are scanned, with at most
// demoJitter of random delay.
const (
	demoSchedule = "@every 1m"
	demoJitter   = 5 * time.Second
)

func runDemo(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "demo", "demo [--addr 127.0.0.1:8080] [--data DIR] [--webhook-url URL --webhook-secret whsec_…]", `
Runs serve on a bundled demo world served on loopback: a local forum, a city
news site with GBK pages, an RSS feed and a government notice board, whose
posts include fires, a gas leak, a missing manhole cover, fraud and a wage
arrears gathering, as well as evasive spellings, rumour rebuttals, a fire drill
and ordinary chatter. New posts appear over the first minutes; the sources are
scanned every minute. Webhooks go to a built-in receiver that verifies their
signatures and logs them, unless --webhook-url points elsewhere.
Data goes to <data_dir>/demo unless --data is given, so a restart keeps
everything and a production data folder is left alone.`)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address of the UI")
	hookURL := fs.String("webhook-url", "", "deliver webhooks to this URL instead of the built-in receiver")
	hookSecret := fs.String("webhook-secret", "", "secret (whsec_…) of --webhook-url")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*hookURL == "") != (*hookSecret == "") {
		fmt.Fprintln(env.stderr, "riskmine demo: --webhook-url and --webhook-secret go together")
		return errUsage
	}
	dataFlag := cf.data
	cf.data = ""
	cfg, err := loadConfig(cf)
	if err != nil {
		return err
	}
	cfg.DataDir = filepath.Join(cfg.DataDir, "demo")
	if dataFlag != "" {
		cfg.DataDir = dataFlag
	}
	log, err := newLogger(env.stderr, cfg.Log)
	if err != nil {
		return err
	}
	d, err := startDemo(ctx, cfg, demoOptions{Addr: *addr, WebhookURL: *hookURL, WebhookSecret: *hookSecret, Logger: log, Out: env.stdout})
	if err != nil {
		return err
	}
	<-ctx.Done()
	return d.Shutdown()
}

// demoOptions configure startDemo.
type demoOptions struct {
	Addr                      string
	WebhookURL, WebhookSecret string
	// Schedule overrides demoSchedule (tests scan more often).
	Schedule string
	// Now is the demo world's clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	Out    io.Writer
}

// demo is a running demo: the world, the service and the built-in receiver.
type demo struct {
	world    *demoWorld
	svc      *service.Service
	receiver *demoReceiver
}

// startDemo starts the demo world and a service configured to crawl it.
func startDemo(ctx context.Context, cfg *config.Config, opts demoOptions) (*demo, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Schedule == "" {
		opts.Schedule = demoSchedule
	}
	// The world's start time and addresses are kept in the data folder, so a
	// restarted demo serves the same world at the same URLs and the crawler
	// finds its pages unchanged.
	state := loadDemoState(cfg.DataDir, opts.Now())
	w := newDemoWorld(state.Start, opts.Now)
	if err := w.Start(state.Addrs); err != nil {
		return nil, err
	}
	state.Addrs = w.Addrs()
	if err := saveDemoState(cfg.DataDir, state); err != nil {
		w.Close(ctx)
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		w.Close(ctx)
		return nil, fmt.Errorf("listen on %s: %w", opts.Addr, err)
	}
	addr := ln.Addr().String()
	cfg.Web.Addr = addr
	cfg.Crawler.Sources = demoSources(w, opts.Schedule)
	cfg.Crawler.Jitter = min(cfg.Crawler.Jitter, config.Duration(demoJitter))
	recv := &demoReceiver{log: opts.Logger}
	if opts.WebhookURL != "" {
		// A receiver on this machine is what a demo is tried with: the
		// guard lets loopback through for it, and only for it.
		cfg.Alerts.Webhooks = []config.Webhook{{Name: "demo", URL: opts.WebhookURL, Secret: opts.WebhookSecret, AllowPrivate: isLoopbackURL(opts.WebhookURL)}}
	} else {
		recv.secret = newWebhookSecret()
		cfg.Alerts.Webhooks = []config.Webhook{{Name: "demo-receiver", URL: "http://" + addr + demoReceiverPath, Secret: recv.secret, AllowPrivate: true}}
	}
	if err := cfg.Validate(); err != nil {
		ln.Close()
		w.Close(ctx)
		return nil, err
	}
	// The receiver's log holds whole lead bodies: reading it needs an admin
	// login or token, like the webhooks page. The web server exists only
	// once the service has started; until then the log answers 503.
	var webSrv atomic.Pointer[web.Server]
	recvLog := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		ws := webSrv.Load()
		if ws == nil {
			http.Error(rw, "starting", http.StatusServiceUnavailable)
			return
		}
		ws.Protect(web.RoleAdmin, recv).ServeHTTP(rw, r)
	})
	svc, err := service.Start(ctx, cfg, service.Options{
		Logger: opts.Logger, Listener: ln,
		ExtraRoutes: map[string]http.Handler{"POST " + demoReceiverPath: recv, "GET " + demoReceiverPath: recvLog},
	})
	if err != nil {
		w.Close(ctx)
		return nil, err
	}
	webSrv.Store(svc.Web())
	d := &demo{world: w, svc: svc, receiver: recv}
	created, err := ensureDemoUser(ctx, svc.Web().DataStore())
	if err != nil {
		_ = d.Shutdown()
		return nil, err
	}
	// Scan every source once now, so leads appear without waiting a minute.
	for _, s := range cfg.Crawler.Sources {
		if err := svc.Scheduler().Trigger(s.Name); err != nil && !errors.Is(err, context.Canceled) {
			opts.Logger.Warn("demo: first scan", "source", s.Name, "error", err)
		}
	}
	if opts.Out != nil {
		fmt.Fprintf(opts.Out, "riskmine ready at http://%s\n", addr)
		note := ""
		if created {
			note = " (created now)"
		}
		fmt.Fprintf(opts.Out, "log in as %s / %s%s; data in %s\n", demoUser, demoPassword, note, cfg.DataDir)
		if opts.WebhookURL == "" {
			fmt.Fprintf(opts.Out, "webhooks go to the built-in receiver at http://%s%s (signatures verified, events logged)\n", addr, demoReceiverPath)
		}
	}
	return d, nil
}

// Shutdown stops the service, then the demo world.
func (d *demo) Shutdown() error {
	err := d.svc.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d.world.Close(ctx)
	return err
}

// demoState is what a demo keeps of its world between runs.
type demoState struct {
	Start time.Time         `json:"start"`
	Addrs map[string]string `json:"addrs"`
}

func demoStatePath(dataDir string) string { return filepath.Join(dataDir, "demo-world.json") }

// loadDemoState reads the saved world, or starts a new one at now.
func loadDemoState(dataDir string, now time.Time) demoState {
	st := demoState{Start: now}
	raw, err := os.ReadFile(demoStatePath(dataDir))
	if err != nil || json.Unmarshal(raw, &st) != nil || st.Start.IsZero() {
		return demoState{Start: now}
	}
	return st
}

func saveDemoState(dataDir string, st demoState) error {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	raw, _ := json.Marshal(st)
	if err := os.WriteFile(demoStatePath(dataDir), raw, 0o640); err != nil {
		return fmt.Errorf("demo: save world: %w", err)
	}
	return nil
}

// demoSources are the four sources of the demo world.
func demoSources(w *demoWorld, schedule string) []config.Source {
	noDelay := config.Duration(0)
	src := func(name, kind, site, seed string) config.Source {
		return config.Source{Name: name, Kind: kind, Site: site, Seeds: []string{seed}, Schedule: schedule,
			AllowPrivate: true, Delay: &noDelay, MaxPages: 100}
	}
	forum := src("rongcheng-forum", "html", "榕城社区", w.URL(demoForum)+"/forum/list")
	forum.List = config.ListSelectors{Items: "a.thread-link", Next: "a.next", MaxPages: 10}
	forum.Detail = config.DetailSelectors{Title: "h1.post-title", Body: "div.post-body", Author: ".meta .author", Time: ".meta .time"}
	news := src("fuzhou-news", "html", "福州城市新闻网", w.URL(demoNews)+"/news/index.html")
	news.List = config.ListSelectors{Items: ".list .item a"}
	feed := src("fuzhou-feed", "rss", "福州城事", w.URL(demoFeed)+"/rss.xml")
	notice := src("gov-notices", "html", "福州市政务公开", w.URL(demoNotice)+"/notices/")
	notice.List = config.ListSelectors{Items: "table.notices a"}
	return []config.Source{forum, news, feed, notice}
}

// ensureDemoUser creates the demo login unless it exists.
func ensureDemoUser(ctx context.Context, st web.DataStore) (created bool, err error) {
	if _, err := st.UserByName(ctx, demoUser); err == nil {
		return false, nil
	} else if !errors.Is(err, web.ErrNotFound) {
		return false, err
	}
	if _, err := st.AddUser(ctx, demoUser, demoPassword, web.RoleAdmin); err != nil {
		return false, fmt.Errorf("demo user: %w", err)
	}
	return true, nil
}

func newWebhookSecret() string {
	key := make([]byte, 24)
	_, _ = rand.Read(key)
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// demoReceiverPath is where the built-in webhook receiver listens.
const demoReceiverPath = "/demo/webhook"

// demoReceiver plays the case platform: it verifies each webhook's signature
// as a receiver must and keeps what it received. GET lists the events (to
// admins: startDemo puts it behind the web login).
type demoReceiver struct {
	secret string
	log    *slog.Logger

	mu       sync.Mutex
	received []receivedHook
}

// receivedHook is one verified webhook.
type receivedHook struct {
	ID       string    `json:"webhook_id"`
	Type     string    `json:"type"`
	At       time.Time `json:"received_at"`
	Verified bool      `json:"verified"`
	Body     string    `json:"body"`
}

func (rc *demoReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		_ = writeJSON(w, rc.received)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	id := r.Header.Get("webhook-id")
	err = alerts.Verify(rc.secret, id, r.Header.Get("webhook-timestamp"), body, r.Header.Get("webhook-signature"), time.Now(), 5*time.Minute)
	if err != nil {
		rc.log.Warn("demo receiver: rejected webhook", "webhook_id", id, "error", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var msg struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &msg) // the signature is what matters; the type is for the log
	typ := msg.Type
	rc.mu.Lock()
	rc.received = append(rc.received, receivedHook{ID: id, Type: typ, At: time.Now(), Verified: true, Body: string(body)})
	rc.mu.Unlock()
	rc.log.Info("demo receiver: webhook verified", "webhook_id", id, "type", typ, "bytes", len(body))
	w.WriteHeader(http.StatusNoContent)
}

// hooks returns a copy of what was received.
func (rc *demoReceiver) hooks() []receivedHook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedHook(nil), rc.received...)
}

// isLoopbackURL reports whether u names localhost or a loopback address.
func isLoopbackURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	h := p.Hostname()
	if h == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.Unmap().IsLoopback()
}
