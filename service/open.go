package service

// What the config names, opened and wired: the lead store's options, the
// webhooks, the search index with nlp's analysis, the analyzers and the
// crawler's options and sources. Every command and the service open
// components through these, so they are all set up the same way.

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"riskmine/alerts"
	"riskmine/config"
	"riskmine/crawler"
	"riskmine/index"
	"riskmine/nlp"
	"riskmine/web"
)

// AlertsOptions maps the config's alerts section to the alerts package
// options; every command that opens the lead store uses it.
func AlertsOptions(cfg *config.Config, logger *slog.Logger) alerts.Options {
	a := cfg.Alerts
	sla := make(map[string]time.Duration, len(a.SLA))
	for lvl, d := range a.SLA {
		sla[lvl] = d.D()
	}
	return alerts.Options{
		Location:        cfg.Location(),
		LeadLevel:       a.LeadLevel,
		ClusterWindow:   a.ClusterWindow.D(),
		SimhashDistance: a.SimhashDistance,
		SLA:             sla,
		Endpoints:       WebhookEndpoints(cfg),
		Logger:          logger,
	}
}

// WebhookEndpoints maps the configured webhooks to alerts endpoints.
func WebhookEndpoints(cfg *config.Config) []alerts.Endpoint {
	var eps []alerts.Endpoint
	for _, w := range cfg.Alerts.Webhooks {
		eps = append(eps, alerts.Endpoint{
			Name:             w.Name,
			URL:              EndpointURL(w),
			Secret:           w.Secret,
			Format:           w.Format,
			RateLimit:        w.RateLimit,
			Email:            EmailSettings(w),
			Categories:       w.Categories,
			MinLevel:         w.MinLevel,
			LocationPrefixes: w.LocationPrefixes,
			Events:           w.Events,
			Timeout:          w.Timeout.D(),
			MaxAttempts:      w.MaxAttempts,
			AllowPrivate:     w.AllowPrivate,
			Bursts:           w.Bursts,
			SourceHealth:     w.SourceHealth,
		})
	}
	return eps
}

// EndpointURL is where a webhook goes; for email, smtp://host:port, shown
// on the webhooks page (the dispatcher reads the SMTP settings instead).
func EndpointURL(w config.Webhook) string {
	if w.Format == alerts.FormatEmail {
		return "smtp://" + w.SMTP
	}
	return w.URL
}

// EmailSettings are the SMTP settings of an email webhook (nil for other
// formats).
func EmailSettings(w config.Webhook) *alerts.EmailSettings {
	if w.Format != alerts.FormatEmail {
		return nil
	}
	return &alerts.EmailSettings{Addr: w.SMTP, From: w.From, To: w.To, Username: w.Username, Password: w.Password, StartTLS: w.StartTLS}
}

// IndexPath is where the index lives inside the data folder.
func IndexPath(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "index") }

// IndexTokenize adapts nlp's search-mode segmenter to the index tokenizer:
// every index of riskmine (Bleve and PostgreSQL) analyses text with it.
func IndexTokenize(s string) []index.Token {
	toks := nlp.CutSearch(s)
	out := make([]index.Token, len(toks))
	for i, t := range toks {
		out[i] = index.Token{Text: t.Text, Start: t.Start, End: t.End}
	}
	return out
}

// OpenIndex opens (or creates) the index of the data folder with the
// Chinese analyzer of nlp wired in. Every command and the pipeline open the
// index through it, so they all analyse text the same way.
func OpenIndex(cfg *config.Config, log *slog.Logger) (*index.Index, error) {
	return index.Open(index.Options{
		Path:          IndexPath(cfg),
		BatchSize:     cfg.Index.BatchSize,
		FlushInterval: cfg.Index.FlushInterval.D(),
		Shards:        cfg.Index.Shards,
		PersistPause:  cfg.Index.PersistPause.D(),
		SearchTimeout: cfg.Index.SearchTimeout.D(),
		Location:      cfg.Location(),
		Tokenize:      IndexTokenize,
		Normalize:     nlp.NormalizeText,
		Logger:        log,
	})
}

// NewAnalyzer builds the analyzer of the config's nlp section.
func NewAnalyzer(cfg *config.Config) (*nlp.Analyzer, error) {
	return newConfiguredAnalyzer(cfg, false)
}

// NewScoringAnalyzer is NewAnalyzer for commands that print scores
// only: SimHash and keywords need the segmenter's dictionary (~200 MB, most
// of a second to load), scoring does not.
func NewScoringAnalyzer(cfg *config.Config) (*nlp.Analyzer, error) {
	return newConfiguredAnalyzer(cfg, true)
}

// NewLexiconAnalyzer scores with the lexicons alone, for the lexicon
// commands (test, eval): they measure the lexicons, not the model.
func NewLexiconAnalyzer(cfg *config.Config) (*nlp.Analyzer, error) {
	t := cfg.NLP.Thresholds
	return nlp.NewAnalyzer(nlp.Options{LexiconDir: cfg.NLP.LexiconDir, NoFingerprint: true, LexiconOnly: true,
		Thresholds: nlp.Thresholds{Low: t.Low, Medium: t.Medium, High: t.High, Critical: t.Critical}})
}

func newConfiguredAnalyzer(cfg *config.Config, noFingerprint bool) (*nlp.Analyzer, error) {
	t := cfg.NLP.Thresholds
	opts := nlp.Options{
		LexiconDir:    cfg.NLP.LexiconDir,
		Thresholds:    nlp.Thresholds{Low: t.Low, Medium: t.Medium, High: t.High, Critical: t.Critical},
		NoFingerprint: noFingerprint,
	}
	switch cfg.NLP.Model {
	case "none":
		opts.LexiconOnly = true
	case "", "default":
	default:
		m, err := nlp.ReadModel(cfg.NLP.Model)
		if err != nil {
			return nil, fmt.Errorf("nlp.model: %w", err)
		}
		opts.Model = m
	}
	return nlp.NewAnalyzer(opts)
}

// CrawlerOptions maps the crawler section of the config to crawler.Options.
func CrawlerOptions(cfg *config.Config, store crawler.State, log *slog.Logger) crawler.Options {
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
		HealthEmptyRuns:      cr.Health.EmptyRuns,
		LeaseTTL:             cr.LeaseTTL.D(),
		Render: crawler.RenderConfig{Tabs: cr.Render.Tabs, Chromium: cr.Render.Chromium, PageTimeout: cr.Render.PageTimeout.D(),
			MaxDOMBytes: cr.Render.MaxDOMBytes, MaxPageBytes: cr.Render.MaxPageBytes},
		Logger: log.With("component", "crawler"),
	}
}

// redirectsOption maps the config's max_redirects (0 = follow none) to the
// crawler option (0 = default, negative = none).
func redirectsOption(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// CrawlerSources maps config sources to crawler sources; serve and demo use
// it as well.
func CrawlerSources(cfg *config.Config) []crawler.Source {
	out := make([]crawler.Source, 0, len(cfg.Crawler.Sources))
	for _, s := range cfg.Crawler.Sources {
		out = append(out, web.CrawlerSource(s))
	}
	return out
}
