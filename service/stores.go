package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"riskmine/alerts"
	alertspg "riskmine/alerts/pgstore"
	"riskmine/config"
	"riskmine/crawler"
	"riskmine/crawler/pgstate"
	"riskmine/index"
	"riskmine/index/pgsearch"
	"riskmine/internal/pgdb"
	"riskmine/nlp"
	"riskmine/pipeline"
	"riskmine/web"
)

// LeadStore is what a running service needs of the lead store
// (alerts.ServiceStore): *alerts.SQLStore and alerts/pgstore's *Store.
type LeadStore = alerts.ServiceStore

// CrawlState is the crawler's state with its Close.
type CrawlState interface {
	crawler.State
	Close() error
}

// SearchIndex is what a running service needs of the search index: the
// Bleve index under data_dir (embedded) or the posts table of PostgreSQL.
type SearchIndex interface {
	pipeline.Index
	web.Searcher
	// Count returns the number of posts (readiness, metrics).
	Count(ctx context.Context) (uint64, error)
	// Healthy returns why the index cannot take writes, or nil.
	Healthy() error
	// DeleteOlderThan removes the posts older than t (retention).
	DeleteOlderThan(ctx context.Context, t time.Time) (int, error)
	Close() error
}

// bleveSearch is the embedded Bleve index as a SearchIndex.
type bleveSearch struct{ *index.Index }

func (b bleveSearch) Count(context.Context) (uint64, error) { return b.Index.Count() }
func (b bleveSearch) Healthy() error                        { return b.Index.WriteFailure() }

// pgSearch is index/pgsearch as a SearchIndex. The pipeline's posts are
// written in groups: Add keeps a post, and Sync writes every post kept so
// far in one transaction (the pipeline's group commit: it records a page's
// crawl state only after Sync returned). Retention drops whole months.
type pgSearch struct {
	*pgsearch.Store

	flush sync.Mutex // one Sync at a time
	mu    sync.Mutex
	kept  []index.Doc
}

// Add keeps d until the next Sync. The pipeline, the one writer, syncs
// each group it has stored (a group is bounded by its queue), so what is
// kept stays small.
func (p *pgSearch) Add(ctx context.Context, d index.Doc) error {
	p.mu.Lock()
	p.kept = append(p.kept, d)
	p.mu.Unlock()
	return nil
}

// Sync writes the posts kept so far and returns once they are committed.
// On an error they are dropped: their pages' crawl state is not recorded,
// so they are fetched again.
func (p *pgSearch) Sync(ctx context.Context) error {
	p.flush.Lock()
	defer p.flush.Unlock()
	p.mu.Lock()
	docs := p.kept
	p.kept = nil
	p.mu.Unlock()
	if len(docs) == 0 {
		return nil
	}
	return p.Store.Add(ctx, docs...)
}

func (p *pgSearch) Healthy() error { return nil }
func (p *pgSearch) Close() error   { return nil } // the pool is the service's

// DeleteOlderThan drops the month partitions that end before t: retention
// on PostgreSQL works in whole months (a month is kept until all of it is
// older than t). It returns the number of months dropped.
func (p *pgSearch) DeleteOlderThan(ctx context.Context, t time.Time) (int, error) {
	dropped, err := p.Store.DropBefore(ctx, t)
	return len(dropped), err
}

var (
	_ SearchIndex = bleveSearch{}
	_ SearchIndex = (*pgSearch)(nil)
	_ LeadStore   = (*alerts.SQLStore)(nil)
	_ CrawlState  = (*crawler.Store)(nil)
)

// errNoBackup is returned by the embedded-only operations on a PostgreSQL
// installation.
var errNoBackup = errors.New("this installation keeps its state in PostgreSQL: back it up with PostgreSQL's own tools (pg_dump, base backups); riskmine backup covers the embedded mode")

// pgStores are the PostgreSQL stores of a node, sharing one pool.
type pgStores struct {
	pool   *pgxpool.Pool
	leads  *alertspg.Store
	crawl  *pgstate.Store
	search *pgsearch.Store
}

// pgPoolConns is the pool of a node: connections held for the instance
// lock, the outbox listener and the jobs leader, plus the pipeline's
// writers, the dispatcher and the UI's requests.
const pgPoolConns = 24

// openStores opens the lead store, the crawl state and the search index
// the config names: SQLite and Bleve under data_dir, or PostgreSQL.
func (s *Service) openStores(ctx context.Context, cfg *config.Config, dbPath string) error {
	aopts := AlertsOptions(cfg, s.log.With("component", "alerts"))
	if !cfg.Cluster.Postgres() {
		leads, err := alerts.OpenSQLite(dbPath, aopts)
		if err != nil {
			return err
		}
		s.leads = leads
		crawl, err := crawler.OpenStore(dbPath)
		if err != nil {
			return err
		}
		s.crawl = crawl
		if s.bleve, err = OpenIndex(cfg, s.log.With("component", "index")); err != nil {
			return err
		}
		s.search = bleveSearch{s.bleve}
		return nil
	}
	pool, err := pgdb.Open(ctx, cfg.Cluster.Store, pgdb.Options{MaxConns: pgPoolConns})
	if err != nil {
		return fmt.Errorf("cluster.store: %w", err)
	}
	s.pg = &pgStores{pool: pool}
	if s.pg.leads, err = alertspg.New(ctx, pool, aopts); err != nil {
		return err
	}
	s.leads = s.pg.leads
	if s.pg.crawl, err = pgstate.New(ctx, pool); err != nil {
		return err
	}
	s.crawl = s.pg.crawl
	if s.pg.search, err = pgsearch.Open(ctx, pool, pgsearch.Options{
		Tokenize: IndexTokenize, Normalize: nlp.NormalizeText,
		SearchTimeout: cfg.Index.SearchTimeout.D(), Location: cfg.Location(),
	}); err != nil {
		return err
	}
	s.search = &pgSearch{Store: s.pg.search}
	return nil
}

// burstRecorder is the lead store when alerts.burst is enabled, else nil
// (posts are not counted).
func (s *Service) burstRecorder(cfg *config.Config) pipeline.BurstRecorder {
	if !cfg.Alerts.Burst.Enabled {
		return nil
	}
	return s.leads
}

// storeName names where the state lives, for the log.
func storeName(cfg *config.Config) string {
	if cfg.Cluster.Postgres() {
		return cfg.Cluster.StoreRedacted()
	}
	return "embedded"
}

// leaderLock is the name of the leader lock of the loops that run once per
// installation.
const leaderLock = "singletons"

// runSingletons runs the loops that must run once per installation: here
// (embedded), or on PostgreSQL on whichever node holds the leader lock,
// moving to another node when it stops or dies.
func (s *Service) runSingletons(ctx context.Context, loops []func(context.Context)) {
	run := func(ctx context.Context) {
		var wg sync.WaitGroup
		for _, f := range loops {
			wg.Go(func() { f(ctx) })
		}
		wg.Wait()
	}
	if s.pg == nil {
		s.leader.Store(true)
		s.goLoop("singletons", func(ctx context.Context) error { run(ctx); return nil }, ctx)
		return
	}
	s.goLoop("leader", func(ctx context.Context) error {
		pgdb.Lead(ctx, s.pg.pool, leaderLock, run, func(leader bool) {
			s.leader.Store(leader)
			s.log.Info("leader lock", "held", leader)
		})
		return nil
	}, ctx)
}

// sourceResync is how often a node on PostgreSQL reads the UI's sources
// again, so a source added or changed on another node is scheduled here.
const sourceResync = 15 * time.Second

func (s *Service) resyncSources(ctx context.Context) error {
	tick := time.NewTicker(sourceResync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := s.web.SyncSources(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("UI sources not read again", "error", err)
			}
		}
	}
}

// schedulerOptions set the crawl scheduler by the node's role. Embedded,
// each tick runs here. On PostgreSQL runs go through the shared job queue:
// a crawling node (worker, all) may become the leader whose cron enqueues
// one job per tick, and claims and runs jobs; an api node only enqueues
// (an analyst's "run now" is taken by a worker).
func (s *Service) schedulerOptions(cfg *config.Config) crawler.SchedulerOptions {
	o := crawler.SchedulerOptions{Jitter: cfg.Crawler.Jitter.D(), Logger: s.log.With("component", "scheduler"), Location: cfg.Location()}
	if s.pg == nil {
		return o
	}
	o.Jobs = s.pg.crawl
	o.Elect = cfg.Cluster.Crawls()
	o.Work = cfg.Cluster.Crawls()
	ttl := cfg.Crawler.LeaseTTL.D()
	o.JobTTL, o.LeaderTTL = ttl, ttl
	return o
}
