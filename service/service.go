// Package service is a running riskmine: it opens the stores the config
// names, starts the crawl scheduler with the pipeline, the webhook
// dispatcher, the alert rules, burst scans, retention, the backup socket
// and the web server, reloads the model and the boundary layer, and stops
// it all gracefully. `riskmine serve` and `riskmine demo` run it; the
// functions of open.go set up the same components for the other commands.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
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
	webpg "riskmine/web/pgstore"
)

// shutdownGrace bounds how long a stop waits for running scans to finish
// before cancelling them (their unfinished pages are fetched again next run).
const shutdownGrace = 20 * time.Second

// Options adjust Start for the demo and tests.
type Options struct {
	Logger *slog.Logger
	// Listener, when set, is served instead of listening on cfg.Web.Addr.
	Listener net.Listener
	// ExtraRoutes are mounted beside the UI (the demo's webhook receiver).
	ExtraRoutes map[string]http.Handler
	// Reconfig reads the config again for a model reload from the UI
	// (default: the config the service started with).
	Reconfig func() (*config.Config, error)
}

// Service is a running riskmine: every component of serve and how to stop it.
type Service struct {
	log       *slog.Logger
	pprof     *pprofServer
	analyzer  *pipeline.LiveAnalyzer
	reconfig  func() (*config.Config, error) // reads the config again (SIGHUP, reload buttons)
	search    SearchIndex
	bleve     *index.Index // the embedded index (backups); nil on PostgreSQL
	leads     LeadStore
	evidence  *evidence.Archive // nil when evidence.enabled is off
	crawl     CrawlState
	pg        *pgStores     // the PostgreSQL stores and their pool; nil when embedded
	files     *clusterFiles // lexicon and model files shared through PostgreSQL; nil when embedded
	leader    atomic.Bool   // holds the leader lock (PostgreSQL) or runs alone
	sched     *crawler.Scheduler
	crawler   *crawler.Crawler // closed at shutdown: it stops the headless browser
	pipe      *pipeline.Pipeline
	web       *web.Server
	http      *http.Server
	ln        net.Listener
	metrics   *metrics
	disk      *DiskFloor
	cancel    context.CancelFunc // stops the background loops
	loops     sync.WaitGroup
	ready     chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Start opens everything cfg names and starts serving. On error,
// what was opened is closed again.
func Start(ctx context.Context, cfg *config.Config, opts Options) (_ *Service, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := PrepareDataDir(cfg.DataDir, log); err != nil {
		return nil, err
	}
	dbPath := filepath.Join(cfg.DataDir, "riskmine.db")
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Service{log: log, metrics: newMetrics(), cancel: cancel, ready: make(chan struct{}),
		disk: NewDiskFloor(cfg.DataDir, cfg.Data.MinFreeBytes)}
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
		a, err := NewAnalyzer(cfg)
		analyzerCh <- analyzerResult{a, err}
	}()

	if err := s.openStores(ctx, cfg, dbPath); err != nil {
		return nil, err
	}
	if s.pg != nil {
		s.evidence, err = OpenEvidencePG(ctx, cfg, s.pg.pool, log.With("component", "evidence"))
	} else {
		s.evidence, err = OpenEvidence(ctx, cfg, log.With("component", "evidence"))
	}
	if err != nil {
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
		Analyzer: s.analyzer, Index: s.search, Leads: s.leads, LeadLevel: cfg.Alerts.LeadLevel, LeadLevels: cfg.Alerts.LeadLevels,
		Workers: cfg.NLP.Workers, Metrics: s.metrics.pipeline, Logger: log.With("component", "pipeline"), SpaceCheck: s.disk.Check,
		Bursts: s.burstRecorder(cfg), BurstLevel: cfg.Alerts.Burst.MinLevel,
		Evidence: s.evidenceArchiver(),
	})
	copts := CrawlerOptions(cfg, s.crawl, log)
	copts.OnHealth = pipeline.HealthNotifier(func() pipeline.HealthSink { return s.leads })
	c, err := crawler.New(copts)
	if err != nil {
		return nil, err
	}
	s.crawler = c
	s.metrics.watchRender(c.RenderStats)
	s.sched, err = crawler.NewScheduler(c, CrawlerSources(cfg), s.pipe.Emit, s.schedulerOptions(cfg))
	if err != nil {
		return nil, err
	}
	disp, err := alerts.NewDispatcher(s.leads, WebhookEndpoints(cfg), alerts.DispatcherOptions{Logger: log.With("component", "dispatcher"), PublicURL: cfg.Web.PublicURL, Location: cfg.Location()})
	if err != nil {
		return nil, err
	}
	var webStore web.DataStore // nil: web opens its SQLite store at DBPath
	if s.pg != nil {
		if webStore, err = webpg.New(ctx, s.pg.pool); err != nil {
			return nil, err
		}
	}
	s.web, err = web.New(web.Options{
		Store:            webStore,
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
		Leads: s.leads, Outbox: s.leads, Dispatcher: disp, Endpoints: WebhookEndpoints(cfg),
		Search: s.search, Sources: s.sched, SourceEditor: s.sched, Analyzer: s.webAnalyzer(), Platforms: platformSecrets(cfg),
		Lexicons: s.lexiconFiles(cfg),
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
	s.metrics.watchStores(s.leads, s.search, log)

	// Background loops: webhook delivery (on every node: the outbox is
	// claimed row by row), run metrics, retention, alert rules, backups
	// asked for by `riskmine backup`. On PostgreSQL the loops that must
	// run once per installation (alert rules, burst scans, index
	// retention) run on the crawling node that holds the leader lock.
	s.goLoop("dispatcher", func(ctx context.Context) error { return disp.Run(ctx) }, bg)
	s.goLoop("run metrics", s.watchRuns, bg)
	crawls := cfg.Cluster.Crawls()
	rules := &pipeline.AlertRules{Rules: s.web.DataStore(), Index: s.search, Analyzer: s.analyzer, Leads: s.leads,
		LeadLevel: cfg.Alerts.LeadLevel, Location: cfg.Location(), Logger: log}
	var singles []func(context.Context)
	singles = append(singles, func(ctx context.Context) {
		if err := rules.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("alert rules stopped", "error", err)
		}
	})
	if cfg.Alerts.Burst.Enabled {
		bs := pipeline.NewBurstScanner(cfg, s.leads, log.With("component", "burst"))
		bs.Lexicons = s.analyzer.Lexicons
		singles = append(singles, func(ctx context.Context) {
			if err := bs.Run(ctx, cfg.Alerts.Burst.Interval.D()); err != nil && ctx.Err() == nil {
				log.Error("burst scan stopped", "error", err)
			}
		})
	}
	if cfg.Index.RetentionDays > 0 {
		days, sched := cfg.Index.RetentionDays, cfg.Index.RetentionSchedule
		retention := cron.New(cron.WithLocation(cfg.Location()))
		if _, err := retention.AddFunc(sched, func() { s.applyRetention(bg, days) }); err != nil {
			return nil, fmt.Errorf("index.retention_schedule: %w", err)
		}
		singles = append(singles, func(ctx context.Context) {
			retention.Start()
			<-ctx.Done()
			<-retention.Stop().Done()
		})
	}
	if s.evidence != nil && s.pg != nil {
		// One node prunes the shared evidence folder.
		singles = append(singles, EvidenceRetention(s.evidence, s.leads, cfg.Evidence.Retention.D(), log.With("component", "evidence")))
	}
	if crawls {
		s.runSingletons(bg, singles)
	}
	if s.evidence != nil && s.pg == nil {
		s.goLoop("evidence retention", func(ctx context.Context) error {
			runEvidenceRetention(ctx, s.evidence, s.leads, cfg.Evidence.Retention.D(), log.With("component", "evidence"))
			return nil
		}, bg)
	}
	if s.bleve != nil {
		s.goLoop("backup socket", startBackupSocket(cfg.DataDir, s.bleve, log.With("component", "backup")), bg)
	}
	if s.pg != nil {
		// Sources added or changed in the UI of any node reach this one.
		s.goLoop("UI sources", func(ctx context.Context) error { return s.resyncSources(ctx) }, bg)
		// So do lexicons edited and models put live on any node.
		if s.files, err = newClusterFiles(ctx, s.pg.pool, s.crawl.Instance().String(), cfg.NLP.LexiconDir, cfg.NLP.Model,
			s.analyzer.ReloadLexicons, s.analyzer.ReloadModel, log.With("component", "cluster files")); err != nil {
			return nil, err
		}
		if err := s.files.start(bg); err != nil {
			return nil, fmt.Errorf("cluster files: %w", err)
		}
	}
	if crawls {
		s.sched.Start()
	}

	// The web server last: /readyz answers once everything above is up.
	mux := http.NewServeMux()
	if cfg.Cluster.Serves() {
		mux.Handle("/", s.refuseWritesWhenDiskLow(s.web.Handler()))
	} else {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "this riskmine node has the role "+cfg.Cluster.Role+": it crawls and serves no UI; use an api node", http.StatusNotFound)
		})
	}
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
	log.Info("riskmine serving", "addr", s.ln.Addr().String(), "data_dir", cfg.DataDir, "role", cfg.Cluster.Role, "store", storeName(cfg), "sources", len(cfg.Crawler.Sources), "webhooks", len(cfg.Alerts.Webhooks))
	return s, nil
}

// Addr is the address the web server listens on.
func (s *Service) Addr() string { return s.ln.Addr().String() }

// Reload reads the config again and puts its detection model and its
// boundary layer in place (SIGHUP). A new model goes live without a
// restart; one that fails to load leaves the running one, and a layer
// that fails leaves the map off, both logged.
func (s *Service) Reload(ctx context.Context) {
	if _, err := s.analyzer.ReloadModel(); err == nil {
		s.publishModel(ctx)
	}
	s.reloadMap(ctx)
}

// publishModel sends the model just put live to the other nodes
// (PostgreSQL), logging a failure.
func (s *Service) publishModel(ctx context.Context) {
	if s.files == nil {
		return
	}
	if err := s.files.publishModel(ctx); err != nil {
		s.log.Error("model not sent to the other nodes", "error", err)
	}
}

// webAnalyzer is the analyzer the UI sees: on PostgreSQL its model reload
// also puts the model live on every other node.
func (s *Service) webAnalyzer() web.Analyzer {
	return sharedReload{LiveAnalyzer: s.analyzer, s: s}
}

// sharedReload is the live analyzer whose ReloadModel also publishes the
// model (nothing more when embedded).
type sharedReload struct {
	*pipeline.LiveAnalyzer
	s *Service
}

func (a sharedReload) ReloadModel() (string, error) {
	v, err := a.LiveAnalyzer.ReloadModel()
	if err == nil {
		a.s.publishModel(context.Background())
	}
	return v, err
}

// lexiconFiles is the UI's lexicon editor: on PostgreSQL a saved file is
// also sent to the other nodes, which reload it.
func (s *Service) lexiconFiles(cfg *config.Config) *web.LexiconFiles {
	lf := pipeline.LexiconFiles(cfg, s.analyzer)
	reload := lf.Reload
	lf.Reload = func() error {
		if err := reload(); err != nil {
			return err
		}
		if s.files != nil {
			if err := s.files.publishLexicons(context.Background()); err != nil {
				return fmt.Errorf("the lexicons changed here but did not reach the other nodes: %w", err)
			}
		}
		return nil
	}
	return lf
}

// Pipeline is the pipeline the scheduler's runs emit into.
func (s *Service) Pipeline() *pipeline.Pipeline { return s.pipe }

// Scheduler runs the crawl sources.
func (s *Service) Scheduler() *crawler.Scheduler { return s.sched }

// Web is the web UI and API server.
func (s *Service) Web() *web.Server { return s.web }

// Index is the embedded search index (nil on PostgreSQL).
func (s *Service) Index() *index.Index { return s.bleve }

// Leads is the lead store.
func (s *Service) Leads() LeadStore { return s.leads }

// Evidence is the evidence archive, nil when evidence.enabled is off.
func (s *Service) Evidence() *evidence.Archive { return s.evidence }

func (s *Service) readyz(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.ready:
	default:
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	if err := s.disk.Check(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if err := s.search.Healthy(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if _, err := s.leads.Stats(r.Context()); err != nil {
		http.Error(w, "lead store: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	if _, err := s.search.Count(r.Context()); err != nil {
		http.Error(w, "index: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// refuseWritesWhenDiskLow answers API writes with 503 and the reason while
// the data folder is under its free-space floor, instead of letting them
// fail halfway with an internal error; reads go on.
func (s *Service) refuseWritesWhenDiskLow(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if err := s.disk.Check(); err != nil {
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
func (s *Service) goLoop(name string, f func(context.Context) error, ctx context.Context) {
	s.loops.Add(1)
	go func() {
		defer s.loops.Done()
		if err := f(ctx); err != nil && ctx.Err() == nil {
			s.log.Error(name+" stopped", "error", err)
		}
	}()
}

// watchRuns turns finished runs of the run history into metrics.
func (s *Service) watchRuns(ctx context.Context) error {
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
func (s *Service) applyRetention(ctx context.Context, days int) {
	cutoff := time.Now().AddDate(0, 0, -days)
	n, err := s.search.DeleteOlderThan(ctx, cutoff)
	if err != nil {
		s.log.Error("retention", "error", err)
		return
	}
	s.log.Info("retention applied", "deleted", n, "older_than", cutoff.Format(time.DateOnly))
}

// Shutdown stops the service gracefully and returns the first error met.
func (s *Service) Shutdown() error {
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
func (s *Service) close() {
	s.closeOnce.Do(func() {
		if s.pipe != nil {
			s.pipe.Close()
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
		if s.search != nil {
			errs = append(errs, s.search.Close())
		}
		if s.leads != nil {
			errs = append(errs, s.leads.Close())
		}
		if s.crawl != nil {
			errs = append(errs, s.crawl.Close())
		}
		if s.pg != nil {
			s.pg.pool.Close()
		}
		s.closeErr = errors.Join(errs...)
	})
}

// evidenceArchiver and webEvidence hand the archive on, or nothing (not
// an interface holding a nil pointer) when it is off.
func (s *Service) evidenceArchiver() pipeline.Archiver {
	if s.evidence == nil {
		return nil
	}
	return s.evidence
}

func (s *Service) webEvidence() web.EvidenceStore {
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
