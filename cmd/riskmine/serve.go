package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/robfig/cron/v3"

	"riskmine/alerts"
	"riskmine/config"
	"riskmine/crawler"
	"riskmine/evidence"
	"riskmine/index"
	"riskmine/nlp"
	"riskmine/pipeline"
	"riskmine/web"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "run the scheduler, the pipeline, the webhook dispatcher and the web UI",
		run:     runServe,
	})
}

// shutdownGrace bounds how long a stop waits for running scans to finish
// before cancelling them (their unfinished pages are fetched again next run).
const shutdownGrace = 20 * time.Second

func runServe(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "serve", "serve [--addr ADDR] [--data DIR] [--config FILE]", `
Loads the config, opens the store and the index, starts the crawl scheduler,
the pipeline (crawler → nlp → index + leads), the webhook dispatcher and the web
UI with its JSON API at /api/v1, /metrics, /healthz and /readyz. SIGINT or
SIGTERM stops it gracefully: scheduling stops, running scans finish or are
abandoned (to be fetched again next run), the index is flushed, exit 0.
The environment variable RISKMINE_API_TOKEN, when set, is accepted as an
admin bearer token.`)
	addr := fs.String("addr", "", "listen address (default from config web.addr, 127.0.0.1:8080)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(cf)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Web.Addr = *addr
	}
	log, err := newLogger(env.stderr, cfg.Log)
	if err != nil {
		return err
	}
	svc, err := startService(ctx, cfg, serviceOptions{Logger: log, Reconfig: func() (*config.Config, error) { return loadConfig(cf) }})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "riskmine ready at http://%s\n", svc.Addr())
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return svc.Shutdown()
		case <-hup:
			// A new detection model goes live without a restart; the
			// config file is read again for nlp.model.
			_, _ = svc.analyzer.ReloadModel()
			// and the boundary layer of web.map, fetched again from its URL.
			svc.reloadMap(ctx)
		}
	}
}

// serviceOptions adjust startService for the demo and tests.
type serviceOptions struct {
	Logger *slog.Logger
	// Listener, when set, is served instead of listening on cfg.Web.Addr.
	Listener net.Listener
	// ExtraRoutes are mounted beside the UI (the demo's webhook receiver).
	ExtraRoutes map[string]http.Handler
	// Reconfig reads the config again for a model reload from the UI
	// (default: the config the service started with).
	Reconfig func() (*config.Config, error)
}

// service is a running riskmine: every component of serve and how to stop it.
type service struct {
	log       *slog.Logger
	loc       *time.Location // the configured zone
	pprof     *pprofServer
	analyzer  *pipeline.LiveAnalyzer
	reconfig  func() (*config.Config, error) // reads the config again (SIGHUP, reload buttons)
	index     *index.Index
	leads     *alerts.SQLStore
	evidence  *evidence.Archive // nil when evidence.enabled is off
	crawl     *crawler.Store
	sched     *crawler.Scheduler
	crawler   *crawler.Crawler // closed at shutdown: it stops the headless browser
	pipe      *pipeline.Pipeline
	web       *web.Server
	http      *http.Server
	ln        net.Listener
	metrics   *metrics
	disk      *diskFloor
	cron      *cron.Cron
	cancel    context.CancelFunc // stops the background loops
	loops     sync.WaitGroup
	ready     chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// startService opens everything cfg names and starts serving. On error,
// what was opened is closed again.
func startService(ctx context.Context, cfg *config.Config, opts serviceOptions) (_ *service, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := prepareDataDir(cfg.DataDir, log); err != nil {
		return nil, err
	}
	dbPath := filepath.Join(cfg.DataDir, "riskmine.db")
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &service{log: log, loc: cfg.Location(), metrics: newMetrics(), cancel: cancel, ready: make(chan struct{}),
		disk: newDiskFloor(cfg.DataDir, cfg.Data.MinFreeBytes)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()

	// The segmenter's dictionary takes about a second to load; the stores
	// open meanwhile. It is loaded before the first search: the search
	// analyser uses it, and loading it inside a search would spend that
	// search's deadline.
	type analyzerResult struct {
		a   *nlp.Analyzer
		err error
	}
	analyzerCh := make(chan analyzerResult, 1)
	go func() {
		nlp.WarmUp()
		a, err := newAnalyzerFromConfig(cfg)
		analyzerCh <- analyzerResult{a, err}
	}()

	if s.leads, err = alerts.OpenSQLite(dbPath, alertsOptions(cfg, log.With("component", "alerts"))); err != nil {
		return nil, err
	}
	if s.crawl, err = crawler.OpenStore(dbPath); err != nil {
		return nil, err
	}
	if s.evidence, err = openEvidence(ctx, cfg, log.With("component", "evidence")); err != nil {
		return nil, err
	}
	if s.index, err = openSearchIndex(cfg, log.With("component", "index")); err != nil {
		return nil, err
	}
	ar := <-analyzerCh
	if ar.err != nil {
		return nil, ar.err
	}
	s.reconfig = opts.Reconfig
	if s.reconfig == nil {
		s.reconfig = func() (*config.Config, error) { return cfg, nil }
	}
	s.analyzer = pipeline.NewLiveAnalyzer(ar.a, s.reconfig, log)

	s.pipe = pipeline.New(pipeline.Options{
		Analyzer: s.analyzer, Index: s.index, Leads: s.leads, LeadLevel: cfg.Alerts.LeadLevel, LeadLevels: cfg.Alerts.LeadLevels,
		Workers: cfg.NLP.Workers, Metrics: s.metrics.pipeline, Logger: log.With("component", "pipeline"), SpaceCheck: s.disk.check,
		Bursts: pipeline.BurstRecorderOf(cfg, s.leads), BurstLevel: cfg.Alerts.Burst.MinLevel,
		Evidence: s.evidenceArchiver(),
	})
	copts := crawlerOptions(cfg, s.crawl, log)
	copts.OnHealth = pipeline.HealthNotifier(func() pipeline.HealthSink { return s.leads })
	c, err := crawler.New(copts)
	if err != nil {
		return nil, err
	}
	s.crawler = c
	s.metrics.watchRender(c.RenderStats)
	s.sched, err = crawler.NewScheduler(c, crawlerSources(cfg), s.pipe.Emit, crawler.SchedulerOptions{
		Jitter: cfg.Crawler.Jitter.D(), Logger: log.With("component", "scheduler"), Location: cfg.Location(),
	})
	if err != nil {
		return nil, err
	}
	disp, err := alerts.NewDispatcher(s.leads, webhookEndpoints(cfg), alerts.DispatcherOptions{Logger: log.With("component", "dispatcher"), PublicURL: cfg.Web.PublicURL, Location: cfg.Location()})
	if err != nil {
		return nil, err
	}
	s.web, err = web.New(web.Options{
		DBPath:           dbPath,
		Location:         cfg.Location(),
		Profiling:        cfg.Web.Pprof,
		SecureCookies:    cfg.Web.SecureCookies,
		PublicURL:        cfg.Web.PublicURL,
		TrustedProxies:   cfg.Web.TrustedProxies,
		TokenTTL:         cfg.Web.TokenTTL.D(),
		WriteTimeout:     cfg.Web.WriteTimeout.D(),
		SessionTTL:       cfg.Web.SessionTTL.D(),
		AdminToken:       os.Getenv("RISKMINE_API_TOKEN"),
		LoginMaxFailures: cfg.Web.LoginMaxFailures,
		LoginWindow:      cfg.Web.LoginWindow.D(),
		SearchesPerUser:  cfg.Index.SearchesPerUser,
		PIIRoles:         piiRoles(cfg.Web.PIIRoles),
		ReadAuditTTL:     readAuditTTL(cfg.Web.ReadAuditDays),
		Logger:           log.With("component", "web"),
	}, web.Deps{
		Leads: s.leads, Outbox: s.leads, Dispatcher: disp, Endpoints: webhookEndpoints(cfg),
		Search: s.index, Sources: s.sched, SourceEditor: s.sched, Analyzer: s.analyzer, Platforms: platformSecrets(cfg),
		Lexicons: pipeline.LexiconFiles(cfg, s.analyzer),
		Evidence: s.webEvidence(),
	})
	if err != nil {
		return nil, err
	}
	s.setMap(ctx, cfg)
	// The sources added in the UI join the config file's (which win on a
	// name); one that cannot be scheduled is logged, not fatal.
	if err := s.web.SyncSources(bg); err != nil {
		log.Error("UI sources not scheduled", "error", err)
	}
	s.metrics.watchStores(s.leads, s.index, log)

	// Background loops: webhook delivery, run metrics, retention, alert
	// rules, backups asked for by `riskmine backup`.
	s.goLoop("dispatcher", func(ctx context.Context) error { return disp.Run(ctx) }, bg)
	s.goLoop("run metrics", s.watchRuns, bg)
	rules := &pipeline.AlertRules{Rules: s.web.Store(), Index: s.index, Analyzer: s.analyzer, Leads: s.leads,
		LeadLevel: cfg.Alerts.LeadLevel, Location: cfg.Location(), Logger: log}
	s.goLoop("alert rules", rules.Run, bg)
	if cfg.Alerts.Burst.Enabled {
		bs := pipeline.NewBurstScanner(cfg, s.leads, log.With("component", "burst"))
		bs.Lexicons = s.analyzer.Lexicons
		s.goLoop("burst scan", func(ctx context.Context) error { return bs.Run(ctx, cfg.Alerts.Burst.Interval.D()) }, bg)
	}
	if s.evidence != nil {
		s.goLoop("evidence retention", func(ctx context.Context) error {
			runEvidenceRetention(ctx, s.evidence, s.leads, cfg.Evidence.Retention.D(), log.With("component", "evidence"))
			return nil
		}, bg)
	}
	s.goLoop("backup socket", startBackupSocket(cfg.DataDir, s.index, log.With("component", "backup")), bg)
	s.cron = cron.New(cron.WithLocation(cfg.Location()))
	if cfg.Index.RetentionDays > 0 {
		days := cfg.Index.RetentionDays
		if _, err := s.cron.AddFunc(cfg.Index.RetentionSchedule, func() { s.applyRetention(bg, days) }); err != nil {
			return nil, fmt.Errorf("index.retention_schedule: %w", err)
		}
	}
	s.cron.Start()
	s.sched.Start()

	// The web server last: /readyz answers once everything above is up.
	mux := http.NewServeMux()
	mux.Handle("/", s.refuseWritesWhenDiskLow(s.web.Handler()))
	if err := s.metrics.mount(mux, cfg.Web, log); err != nil {
		return nil, err
	}
	if s.pprof, err = startPprof(cfg.Web, log); err != nil {
		return nil, err
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", s.readyz)
	for pattern, h := range opts.ExtraRoutes {
		mux.Handle(pattern, h)
	}
	s.ln = opts.Listener
	if s.ln == nil {
		if s.ln, err = net.Listen("tcp", cfg.Web.Addr); err != nil {
			return nil, fmt.Errorf("listen on %s: %w", cfg.Web.Addr, err)
		}
	}
	s.http = newHTTPServer(cfg.Web, mux)
	s.http.RegisterOnShutdown(s.web.EndStreams) // open event streams end so shutdown need not wait on them
	go func() {
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("web server stopped", "error", err)
		}
	}()
	close(s.ready)
	log.Info("riskmine serving", "addr", s.ln.Addr().String(), "data_dir", cfg.DataDir, "sources", len(cfg.Crawler.Sources), "webhooks", len(cfg.Alerts.Webhooks))
	return s, nil
}

// Addr is the address the web server listens on.
func (s *service) Addr() string { return s.ln.Addr().String() }

func (s *service) readyz(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.ready:
	default:
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	if err := s.disk.check(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if err := s.index.WriteFailure(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if _, err := s.leads.Stats(r.Context()); err != nil {
		http.Error(w, "lead store: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	if _, err := s.index.Count(); err != nil {
		http.Error(w, "index: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// refuseWritesWhenDiskLow answers API writes with 503 and the reason while
// the data folder is under its free-space floor, instead of letting them
// fail halfway with an internal error; reads go on.
func (s *service) refuseWritesWhenDiskLow(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if err := s.disk.check(); err != nil {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "60")
				w.WriteHeader(http.StatusServiceUnavailable)
				json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// goLoop runs f until the service stops, logging its error if it ends early.
func (s *service) goLoop(name string, f func(context.Context) error, ctx context.Context) {
	s.loops.Add(1)
	go func() {
		defer s.loops.Done()
		if err := f(ctx); err != nil && ctx.Err() == nil {
			s.log.Error(name+" stopped", "error", err)
		}
	}()
}

// watchRuns turns finished runs of the run history into metrics.
func (s *service) watchRuns(ctx context.Context) error {
	var last int64
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		runs, err := s.sched.Runs(ctx, "", 100)
		if err == nil {
			for i := len(runs) - 1; i >= 0; i-- {
				if r := runs[i]; r.ID > last && !r.Ended.IsZero() {
					s.metrics.observeRun(r)
					last = r.ID
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// applyRetention deletes documents older than the retention period.
func (s *service) applyRetention(ctx context.Context, days int) {
	cutoff := time.Now().AddDate(0, 0, -days)
	n, err := s.index.DeleteOlderThan(ctx, cutoff)
	if err != nil {
		s.log.Error("retention", "error", err)
		return
	}
	s.log.Info("retention applied", "deleted", n, "older_than", cutoff.Format(time.DateOnly))
}

// Shutdown stops the service gracefully and returns the first error met.
func (s *service) Shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if s.http != nil {
		if err := s.http.Shutdown(ctx); err != nil {
			s.log.Warn("web server shutdown", "error", err)
		}
	}
	if err := s.metrics.shutdown(ctx); err != nil {
		s.log.Warn("metrics server shutdown", "error", err)
	}
	if err := s.pprof.shutdown(ctx); err != nil {
		s.log.Warn("profiler server shutdown", "error", err)
	}
	if s.sched != nil {
		// Running scans get the grace period; then they are cancelled and
		// their unfinished pages are fetched again next run.
		if err := s.sched.Stop(ctx); err != nil {
			s.log.Warn("scans cancelled at shutdown", "error", err)
		}
	}
	if s.crawler != nil {
		s.crawler.Close()
	}
	s.close()
	if s.closeErr == nil {
		s.log.Info("riskmine stopped")
	}
	return s.closeErr
}

// close releases everything that was opened, in dependency order.
func (s *service) close() {
	s.closeOnce.Do(func() {
		if s.pipe != nil {
			s.pipe.Close()
		}
		if s.cron != nil {
			<-s.cron.Stop().Done()
		}
		s.cancel()
		s.loops.Wait()
		if s.metrics.server != nil {
			s.metrics.server.Close()
		}
		var errs []error
		if s.web != nil {
			errs = append(errs, s.web.Close())
		}
		if s.evidence != nil {
			errs = append(errs, s.evidence.Close())
		}
		if s.index != nil {
			errs = append(errs, s.index.Close())
		}
		if s.leads != nil {
			errs = append(errs, s.leads.Close())
		}
		if s.crawl != nil {
			errs = append(errs, s.crawl.Close())
		}
		s.closeErr = errors.Join(errs...)
	})
}

// evidenceArchiver and webEvidence hand the archive on, or nothing (not
// an interface holding a nil pointer) when it is off.
func (s *service) evidenceArchiver() pipeline.Archiver {
	if s.evidence == nil {
		return nil
	}
	return s.evidence
}

func (s *service) webEvidence() web.EvidenceStore {
	if s.evidence == nil {
		return nil
	}
	return s.evidence
}

// piiRoles turns web.pii_roles into the server's option; an empty list
// stays an empty list (personal data masked for every role).
func piiRoles(names []string) []web.Role {
	roles := make([]web.Role, 0, len(names))
	for _, n := range names {
		roles = append(roles, web.Role(n))
	}
	return roles
}

// readAuditTTL turns web.read_audit_days into the server's option: 0 days
// keeps every read.
func readAuditTTL(days int) time.Duration {
	if days == 0 {
		return -1
	}
	return time.Duration(days) * 24 * time.Hour
}

// platformSecrets maps each case platform of alerts.platforms to its secret
// for the inbound API.
func platformSecrets(cfg *config.Config) map[string]string {
	m := make(map[string]string, len(cfg.Alerts.Platforms))
	for _, p := range cfg.Alerts.Platforms {
		m[p.Name] = p.Secret
	}
	return m
}
