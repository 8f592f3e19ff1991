package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"riskmine/alerts"
	"riskmine/config"
	"riskmine/crawler"
	"riskmine/evidence"
	"riskmine/index"
	"riskmine/pipeline"
	"riskmine/service"
)

func init() {
	register(&command{
		name:    "crawl",
		summary: "crawl one configured source once (progress on stderr, pages with --jsonl)",
		run:     runCrawl,
	})
}

func runCrawl(ctx context.Context, env *cmdEnv, args []string) (err error) {
	fs, cf := newFlagSet(env, "crawl", "crawl SOURCE [--jsonl] [--dry-run] [--config FILE] [--data DIR]",
		`Runs the configured source SOURCE once, exactly as its schedule would: robots.txt,
per-host limits, conditional requests and the crawl state in <data>/riskmine.db, so
only new or changed pages count as new/changed. Every new or changed page goes
through the whole pipeline, as in serve: it is scored, filed as a lead when risky,
and indexed; its crawl state is recorded only once the post is on disk in the index
and the lead store, so a page of an interrupted run is fetched again next run.
Progress (pages/s, new, changed, failed) goes to stderr at most once a second, and
a summary at the end. With --jsonl each new or changed page is also printed on
stdout as one JSON object:
{"url","canonical_url","source","site","title","text","published_at","author",
"fetched_at","content_hash","charset"}. The run is recorded in the run history.
With --dry-run the pages are printed (as with --jsonl) and nothing else happens:
no scoring, no leads, no index, and no crawl state or run history is recorded; the
crawl state is read, so the pages printed are those a real run would hand on.`)
	jsonl := fs.Bool("jsonl", false, "print each new or changed page as a JSON line on stdout")
	dryRun := fs.Bool("dry-run", false, "print the pages a run would hand on; store nothing and record no crawl state")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.stderr, "riskmine crawl: expected exactly one SOURCE name")
		fs.Usage()
		return errUsage
	}
	cfg, err := loadEmbeddedConfig(cf)
	if err != nil {
		return err
	}
	log, err := newLogger(env.stderr, cfg.Log)
	if err != nil {
		return err
	}
	src, err := findSource(cfg, pos[0])
	if err != nil {
		return err
	}
	var store *crawler.Store
	if *dryRun {
		var done func()
		if store, done, err = openDryRunStore(ctx, cfg); err != nil {
			return err
		}
		defer done()
	} else {
		if store, err = openCrawlStore(cfg); err != nil {
			return err
		}
		defer store.Close()
	}
	copts := service.CrawlerOptions(cfg, store, log)
	var healthTo *alerts.SQLStore // set once the pipeline is open
	copts.OnHealth = pipeline.HealthNotifier(func() pipeline.HealthSink {
		if healthTo == nil {
			return nil
		}
		return healthTo
	})
	c, err := crawler.New(copts)
	if err != nil {
		return err
	}
	defer c.Close()
	var mu sync.Mutex
	enc := json.NewEncoder(env.stdout)
	enc.SetEscapeHTML(false)
	printPage := func(p crawler.Page) error {
		mu.Lock()
		defer mu.Unlock()
		return enc.Encode(p)
	}
	var emit crawler.EmitFunc
	if *dryRun {
		emit = func(_ context.Context, p crawler.Page) error { return printPage(p) }
	} else {
		pipe, perr := openCrawlPipeline(cfg, log)
		if perr != nil {
			return perr
		}
		healthTo = pipe.leads
		// Closing drains the pipeline and waits for the index to be on disk.
		defer func() {
			if cerr := pipe.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}()
		emit = func(ctx context.Context, p crawler.Page) error {
			if err := pipe.Emit(ctx, p); err != nil {
				return err
			}
			if *jsonl {
				return printPage(p)
			}
			return nil
		}
	}
	prog := &crawler.Progress{}
	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				printCrawlProgress(env.stderr, src.Name, "", prog.Snapshot(), time.Since(start))
			}
		}
	}()
	run, err := c.Run(ctx, src, emit, prog)
	close(stop)
	wg.Wait()
	printCrawlProgress(env.stderr, src.Name, "done: ", run.Stats, time.Since(start))
	if len(run.Errors) > 0 {
		kinds := make([]string, 0, len(run.Errors))
		for k, n := range run.Errors {
			kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
		}
		sort.Strings(kinds)
		fmt.Fprintf(env.stderr, "crawl %s: failures by kind: %s (details with log.level debug)\n", src.Name, strings.Join(kinds, " "))
	}
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("interrupted; pages not yet stored are fetched again next run (%w)", err)
	}
	return err
}

// findSource returns the configured source called name.
func findSource(cfg *config.Config, name string) (crawler.Source, error) {
	sources := service.CrawlerSources(cfg)
	for _, s := range sources {
		if s.Name == name {
			return s, nil
		}
	}
	names := make([]string, len(sources))
	for i, s := range sources {
		names[i] = s.Name
	}
	sort.Strings(names)
	if len(names) == 0 {
		return crawler.Source{}, fmt.Errorf("no source %q: the config has no crawler.sources", name)
	}
	return crawler.Source{}, fmt.Errorf("no source %q in crawler.sources (configured: %s)", name, strings.Join(names, ", "))
}

// crawlPipeline is the pipeline of `riskmine crawl` with the stores it
// writes to, closed together.
type crawlPipeline struct {
	*pipeline.Pipeline
	index    *index.Index
	leads    *alerts.SQLStore
	evidence *evidence.Archive
}

// openCrawlPipeline opens the lead store, the index and the analyzer of
// the data dir and starts the pipeline serve would run.
func openCrawlPipeline(cfg *config.Config, log *slog.Logger) (_ *crawlPipeline, err error) {
	p := &crawlPipeline{}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if p.leads, err = alerts.OpenSQLite(filepath.Join(cfg.DataDir, "riskmine.db"), service.AlertsOptions(cfg, log.With("component", "alerts"))); err != nil {
		return nil, err
	}
	if p.index, err = service.OpenIndex(cfg, log.With("component", "index")); err != nil {
		return nil, err
	}
	if p.evidence, err = service.OpenEvidence(context.Background(), cfg, log.With("component", "evidence")); err != nil {
		return nil, err
	}
	var ev pipeline.Archiver // nil, not a nil *evidence.Archive, when off
	if p.evidence != nil {
		ev = p.evidence
	}
	a, err := service.NewAnalyzer(cfg)
	if err != nil {
		return nil, err
	}
	p.Pipeline = pipeline.New(pipeline.Options{
		Analyzer: a, Index: p.index, Leads: p.leads, LeadLevel: cfg.Alerts.LeadLevel, LeadLevels: cfg.Alerts.LeadLevels,
		Workers: cfg.NLP.Workers, Logger: log.With("component", "pipeline"),
		SpaceCheck: service.NewDiskFloor(cfg.DataDir, cfg.Data.MinFreeBytes).Check,
		Bursts:     pipeline.BurstRecorderOf(cfg, p.leads), BurstLevel: cfg.Alerts.Burst.MinLevel,
		Evidence: ev,
	})
	return p, nil
}

// Close drains the pipeline and closes the index and the lead store.
func (p *crawlPipeline) Close() error {
	if p.Pipeline != nil {
		p.Pipeline.Close()
	}
	var errs []error
	if p.index != nil {
		errs = append(errs, p.index.Close())
	}
	if p.evidence != nil {
		errs = append(errs, p.evidence.Close())
	}
	if p.leads != nil {
		errs = append(errs, p.leads.Close())
	}
	return errors.Join(errs...)
}

// openDryRunStore opens a copy of the crawl state in a temporary folder,
// so a dry run reads the state (conditional requests, revisit intervals)
// but records nothing in the data dir. done closes the copy and removes it.
func openDryRunStore(ctx context.Context, cfg *config.Config) (store *crawler.Store, done func(), err error) {
	tmp, err := os.MkdirTemp("", "riskmine-dry-run-")
	if err != nil {
		return nil, nil, fmt.Errorf("dry run: %w", err)
	}
	copyPath := filepath.Join(tmp, "riskmine.db")
	dbPath := filepath.Join(cfg.DataDir, "riskmine.db")
	if _, err := os.Stat(dbPath); err == nil {
		if err := copyDatabase(ctx, dbPath, copyPath); err != nil {
			os.RemoveAll(tmp)
			return nil, nil, fmt.Errorf("dry run: copy the crawl state of %s: %w", dbPath, err)
		}
	}
	store, err = crawler.OpenStore(copyPath)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, nil, err
	}
	return store, func() { store.Close(); os.RemoveAll(tmp) }, nil
}

// copyDatabase writes a consistent copy of the SQLite database at src to
// dst (VACUUM INTO reads a snapshot; it writes nothing to src).
func copyDatabase(ctx context.Context, src, dst string) error {
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: src}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `VACUUM INTO ?`, dst)
	return err
}

// printCrawlProgress writes one progress line.
func printCrawlProgress(w io.Writer, name, prefix string, s crawler.Stats, elapsed time.Duration) {
	rate := 0.0
	if sec := elapsed.Seconds(); sec > 0 {
		rate = float64(s.Fetched) / sec
	}
	fmt.Fprintf(w, "crawl %s: %s%s, %d fetched (%.1f pages/s), %d new, %d changed, %d unchanged, %d skipped, %d failed\n",
		name, prefix, elapsed.Round(100*time.Millisecond), s.Fetched, rate, s.New, s.Changed, s.Unchanged, s.Skipped, s.Failed)
}

// openCrawlStore opens the crawl tables in <data_dir>/riskmine.db.
func openCrawlStore(cfg *config.Config) (*crawler.Store, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	return crawler.OpenStore(filepath.Join(cfg.DataDir, "riskmine.db"))
}

// newCrawlScheduler builds the scheduler over every configured source; the
// scheduled runs and `riskmine crawl` both end in crawler.Crawler.Run.
func newCrawlScheduler(cfg *config.Config, store *crawler.Store, log *slog.Logger, emit crawler.EmitFunc) (*crawler.Scheduler, error) {
	c, err := crawler.New(service.CrawlerOptions(cfg, store, log))
	if err != nil {
		return nil, err
	}
	return crawler.NewScheduler(c, service.CrawlerSources(cfg), emit, crawler.SchedulerOptions{
		Jitter:   cfg.Crawler.Jitter.D(),
		Logger:   log.With("component", "scheduler"),
		Location: cfg.Location(),
	})
}
