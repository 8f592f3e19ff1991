package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"riskmine/config"
	"riskmine/crawler"
)

func init() {
	register(&command{
		name:    "crawl",
		summary: "crawl one configured source once (progress on stderr, pages with --jsonl)",
		run:     runCrawl,
	})
}

func runCrawl(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "crawl", "crawl SOURCE [--jsonl] [--config FILE] [--data DIR]",
		`Runs the configured source SOURCE once, exactly as its schedule would: robots.txt,
per-host limits, conditional requests and the crawl state in <data>/riskmine.db, so
only new or changed pages count as new/changed. Progress (pages/s, new, changed,
failed) goes to stderr at most once a second, and a summary at the end. With --jsonl
each new or changed page is printed on stdout as one JSON object:
{"url","canonical_url","source","site","title","text","published_at","author",
"fetched_at","content_hash","charset"}. The run is recorded in the run history.`)
	jsonl := fs.Bool("jsonl", false, "print each new or changed page as a JSON line on stdout")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.stderr, "riskmine crawl: expected exactly one SOURCE name")
		fs.Usage()
		return errUsage
	}
	cfg, err := loadConfig(cf)
	if err != nil {
		return err
	}
	log, err := newLogger(env.stderr, cfg.Log)
	if err != nil {
		return err
	}
	var src *crawler.Source
	sources := crawlerSources(cfg)
	for i := range sources {
		if sources[i].Name == pos[0] {
			src = &sources[i]
		}
	}
	if src == nil {
		names := make([]string, len(sources))
		for i, s := range sources {
			names[i] = s.Name
		}
		sort.Strings(names)
		if len(names) == 0 {
			return fmt.Errorf("no source %q: the config has no crawler.sources", pos[0])
		}
		return fmt.Errorf("no source %q in crawler.sources (configured: %s)", pos[0], strings.Join(names, ", "))
	}
	store, err := openCrawlStore(cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	c, err := crawler.New(crawlerOptions(cfg, store, log))
	if err != nil {
		return err
	}
	var mu sync.Mutex
	enc := json.NewEncoder(env.stdout)
	enc.SetEscapeHTML(false)
	emit := func(_ context.Context, p crawler.Page) error {
		if !*jsonl {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		return enc.Encode(p)
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
	run, err := c.Run(ctx, *src, emit, prog)
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
		return fmt.Errorf("interrupted; pages not yet handed on are fetched again next run (%w)", err)
	}
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

// crawlerOptions maps the crawler section of the config to crawler.Options.
func crawlerOptions(cfg *config.Config, store *crawler.Store, log *slog.Logger) crawler.Options {
	cr := cfg.Crawler
	return crawler.Options{
		Store:                store,
		UserAgent:            cr.UserAgent,
		ContactURL:           cr.ContactURL,
		Timeout:              cr.Timeout.D(),
		MaxBodyBytes:         cr.MaxBodyBytes,
		MaxDecompressedBytes: cr.MaxDecompressedBytes,
		MaxRedirects:         redirectsOption(cr.MaxRedirects),
		Retries:              cr.Retries,
		BackoffBase:          cr.RetryBackoff.D(),
		MaxRetryAfter:        cr.MaxRetryAfter.D(),
		MaxCrawlDelay:        cr.MaxCrawlDelay.D(),
		Logger:               log.With("component", "crawler"),
	}
}

// newCrawlScheduler builds the scheduler over every configured source; the
// scheduled runs and `riskmine crawl` both end in crawler.Crawler.Run.
func newCrawlScheduler(cfg *config.Config, store *crawler.Store, log *slog.Logger, emit crawler.EmitFunc) (*crawler.Scheduler, error) {
	c, err := crawler.New(crawlerOptions(cfg, store, log))
	if err != nil {
		return nil, err
	}
	return crawler.NewScheduler(c, crawlerSources(cfg), emit, crawler.SchedulerOptions{
		Jitter: cfg.Crawler.Jitter.D(),
		Logger: log.With("component", "scheduler"),
	})
}

// redirectsOption maps the config's max_redirects (0 = follow none) to the
// crawler option (0 = default, negative = none).
func redirectsOption(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// crawlerSources maps config sources to crawler sources; serve and demo use
// it as well.
func crawlerSources(cfg *config.Config) []crawler.Source {
	out := make([]crawler.Source, 0, len(cfg.Crawler.Sources))
	for _, s := range cfg.Crawler.Sources {
		delay := time.Second
		if s.Delay != nil {
			delay = s.Delay.D()
		}
		out = append(out, crawler.Source{
			Name:           s.Name,
			Kind:           s.Kind,
			Site:           s.Site,
			Seeds:          append([]string(nil), s.Seeds...),
			Schedule:       s.Schedule,
			AllowedDomains: append([]string(nil), s.AllowedDomains...),
			MaxDepth:       s.MaxDepth,
			MaxPages:       s.MaxPages,
			Headers:        s.Headers,
			UserAgent:      s.UserAgent,
			Delay:          delay,
			Parallelism:    s.Parallelism,
			Proxy:          s.Proxy,
			Revisit:        s.Revisit.D(),
			AllowPrivate:   s.AllowPrivate,
			IgnoreRobots:   s.IgnoreRobots,
			List:           crawler.ListSelectors{Items: s.List.Items, Next: s.List.Next, MaxPages: s.List.MaxPages},
			Detail:         crawler.DetailSelectors{Title: s.Detail.Title, Body: s.Detail.Body, Time: s.Detail.Time, Author: s.Detail.Author},
		})
	}
	return out
}
