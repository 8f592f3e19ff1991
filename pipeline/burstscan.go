package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"riskmine/alerts"
	"riskmine/burst"
	"riskmine/config"
	"riskmine/nlp"
)

// BurstParams maps alerts.burst to the detector's parameters.
func BurstParams(cfg *config.Config) burst.Params {
	b := cfg.Alerts.Burst
	return burst.Params{
		Window:      b.Window.D(),
		MinPosts:    b.MinPosts,
		Sensitivity: b.Sensitivity,
		Location:    cfg.Location(), // days and weekdays of the configured zone
	}
}

// BurstRecorderOf returns the lead store (any alerts.ServiceStore, or
// another BurstRecorder) when alerts.burst is enabled, else nil: posts are
// not counted. Pass an untyped nil for no store, not a nil pointer in the
// interface.
func BurstRecorderOf(cfg *config.Config, store BurstRecorder) BurstRecorder {
	if !cfg.Alerts.Burst.Enabled || store == nil {
		return nil
	}
	return store
}

// BurstStore is what burst scans need of the lead store (an
// alerts.ServiceStore: *alerts.SQLStore, alerts/pgstore's *Store): the
// counted posts per category and county, the bursts filed so far, filing
// a burst and forgetting old counts.
type BurstStore interface {
	BurstSeriesSince(ctx context.Context, from, to time.Time, minPosts int) ([]alerts.BurstSeries, error)
	BurstSince(ctx context.Context) (time.Time, error)
	BurstHistory(ctx context.Context, category, county string, from, to time.Time) ([]time.Time, error)
	LastBurst(ctx context.Context, category, county string) (string, time.Time, error)
	FileBurst(ctx context.Context, f alerts.BurstFiling) (alerts.FileResult, error)
	PruneBurstPosts(ctx context.Context, cutoff time.Time) (int64, error)
}

// BurstScanner runs burst detection over the posts counted in the lead
// store and files what bursts.
type BurstScanner struct {
	store  BurstStore
	params burst.Params
	level  string
	log    *slog.Logger
	// Lexicons, when set, name the categories in burst leads.
	Lexicons func() []*nlp.Lexicon
}

// NewBurstScanner makes the scanner of alerts.burst over store.
func NewBurstScanner(cfg *config.Config, store BurstStore, log *slog.Logger) *BurstScanner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &BurstScanner{store: store, params: BurstParams(cfg), level: cfg.Alerts.Burst.Level, log: log}
}

// categoryName returns the display name of a category code, or "".
func (b *BurstScanner) categoryName(code string) string {
	if b.Lexicons == nil {
		return ""
	}
	for _, l := range b.Lexicons() {
		if l.Code == code {
			return l.Name
		}
	}
	return ""
}

// burstBaselineDays is how many days before a scan's day the baseline reads.
const burstBaselineDays = 28

// Scan looks at every series with enough posts in the window ending at
// now, files the bursts and returns how many leads it created or extended.
func (b *BurstScanner) Scan(ctx context.Context, now time.Time) (int, error) {
	p := b.params
	p.BaselineDays = burstBaselineDays
	window := p.Window
	if window <= 0 {
		window = 6 * time.Hour
	}
	minPosts := max(p.MinPosts, 2)
	series, err := b.store.BurstSeriesSince(ctx, now.Add(-window), now, minPosts)
	if err != nil {
		return 0, err
	}
	if len(series) == 0 {
		return 0, nil
	}
	since, err := b.store.BurstSince(ctx)
	if err != nil {
		return 0, err
	}
	// The baseline's first day starts at most this long before now.
	from := now.AddDate(0, 0, -burstBaselineDays-1)
	filed := 0
	for _, s := range series {
		posts, err := b.store.BurstHistory(ctx, s.Category, s.County, from, now)
		if err != nil {
			return filed, err
		}
		_, last, err := b.store.LastBurst(ctx, s.Category, s.County)
		if err != nil {
			return filed, err
		}
		d := p.Scan(posts, now, since, last)
		if !d.Burst {
			continue
		}
		res, err := b.store.FileBurst(ctx, alerts.BurstFiling{
			Info: alerts.BurstInfo{Category: s.Category, CategoryName: b.categoryName(s.Category), County: s.County, CountyName: s.CountyName,
				From: d.From, To: d.To, Seen: d.Seen, Expected: d.Expected, Threshold: d.Threshold, Tail: d.Tail},
			Level: b.level,
			New:   d.New,
		})
		if err != nil {
			return filed, err
		}
		if res.Outcome == alerts.OutcomeCreated || res.Outcome == alerts.OutcomeJoined {
			filed++
			b.log.Info("burst", "outcome", res.Outcome, "lead", res.LeadID, "category", s.Category, "county", s.County,
				"seen", d.Seen, "expected", fmt.Sprintf("%.2f", d.Expected), "threshold", d.Threshold)
		}
	}
	return filed, nil
}

// prune forgets counted posts older than any baseline reads.
func (b *BurstScanner) prune(ctx context.Context, now time.Time) error {
	_, err := b.store.PruneBurstPosts(ctx, now.AddDate(0, 0, -burstBaselineDays-2))
	return err
}

// Run scans for bursts every interval (alerts.burst.interval) until ctx
// ends.
func (b *BurstScanner) Run(ctx context.Context, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		now := time.Now()
		if _, err := b.Scan(ctx, now); err != nil && ctx.Err() == nil {
			b.log.Warn("burst scan", "error", err)
		}
		if now.Sub(lastPrune) > 24*time.Hour {
			if err := b.prune(ctx, now); err != nil && ctx.Err() == nil {
				b.log.Warn("burst prune", "error", err)
			}
			lastPrune = now
		}
	}
}
