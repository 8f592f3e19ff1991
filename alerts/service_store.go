package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ServiceStore is everything a riskmine service asks of its lead store
// beyond Store: what web type-asserts on its Leads dependency (the inbound
// claims, the places page, the live lead events), what the pipeline hands
// to the crawler and the burst scanner (source health, burst counting and
// filing) and the verdicts `riskmine model train --with-verdicts` reads.
// *SQLStore and alerts/pgstore's *Store both have it.
type ServiceStore interface {
	Store

	// Inbound webhook ids of the case platforms, claimed once per id
	// (web.InboundStore).
	InboundAnswer(ctx context.Context, platform, webhookID string) (status int, answer []byte, ok bool, err error)
	ClaimInbound(ctx context.Context, platform, webhookID string) (claimed bool, status int, answer []byte, seen bool, err error)
	RecordInbound(ctx context.Context, platform, webhookID string, status int, answer []byte) error
	ReleaseInbound(ctx context.Context, platform, webhookID string) error

	// Verdicts are the reviewed leads as training examples.
	Verdicts(ctx context.Context) ([]Verdict, error)

	// OpenLeadsByPlace and PlaceTrend feed the places page
	// (web.PlaceService).
	OpenLeadsByPlace(ctx context.Context, parent string) ([]PlaceCount, error)
	PlaceTrend(ctx context.Context, code string, days int) ([]DayCount, error)

	// SubscribeLeads tells the open UI of every lead created from now on
	// (web.LeadSubscriber); a backend shared by several nodes reports
	// the leads any node creates.
	SubscribeLeads() (<-chan LeadEvent, func())

	// NotifySourceHealth queues a source health change for the endpoints
	// that opted in (pipeline.HealthSink).
	NotifySourceHealth(ctx context.Context, ev SourceHealthEvent) (int, error)

	// The burst counts and burst leads (pipeline.BurstRecorder and
	// pipeline.BurstStore).
	RecordBurstPost(ctx context.Context, p BurstPost) error
	BurstSince(ctx context.Context) (time.Time, error)
	BurstSeriesSince(ctx context.Context, from, to time.Time, minPosts int) ([]BurstSeries, error)
	BurstHistory(ctx context.Context, category, county string, from, to time.Time) ([]time.Time, error)
	LastBurst(ctx context.Context, category, county string) (string, time.Time, error)
	FileBurst(ctx context.Context, f BurstFiling) (FileResult, error)
	PruneBurstPosts(ctx context.Context, cutoff time.Time) (int64, error)
}

var _ ServiceStore = (*SQLStore)(nil)

// VerdictReader is what the verdict export reads of a lead store.
type VerdictReader interface {
	Verdicts(ctx context.Context) ([]Verdict, error)
}

// What another backend needs to keep bursts, places and source health as
// the SQLite store does: the checks, the burst lead it opens and the rows
// a health change queues. The SQLite store uses them too.

// PlaceChildLen checks a division code ("" for the country) and returns
// the code length of the divisions just below it (0 when there are none).
func PlaceChildLen(parent string) (int, error) {
	if err := CheckPlaceCode(parent); err != nil {
		return 0, err
	}
	return childCodeLen(len(parent)), nil
}

// CheckPlaceCode refuses a division code that is not all digits.
func CheckPlaceCode(code string) error {
	if strings.Trim(code, "0123456789") != "" {
		return fmt.Errorf("alerts: place %q: %w: expected a division code", code, ErrInvalid)
	}
	return nil
}

// PrepareBurstPost checks p as RecordBurstPost does and returns it as
// counted: the canonical URL filled in (the URL when empty), seen at now
// when unset, counted at its seen time when its time is unset or later,
// the snippet cut to what a burst lead's list shows. A post without a URL
// is ErrInvalid.
func PrepareBurstPost(p BurstPost, now time.Time) (BurstPost, error) {
	if p.CanonicalURL == "" {
		p.CanonicalURL = p.URL
	}
	if p.CanonicalURL == "" {
		return p, fmt.Errorf("alerts: burst post: no url: %w", ErrInvalid)
	}
	if p.SeenAt.IsZero() {
		p.SeenAt = now
	}
	if p.At.IsZero() || p.At.After(p.SeenAt) {
		p.At = p.SeenAt
	}
	p.Snippet = truncateRunes(p.Snippet, burstSnippetRunes)
	return p, nil
}

// CheckBurst checks a burst filing as FileBurst does: its series needs a
// category and a county code, its level (opts' lead level when empty) must
// be known. opts must be Prepared.
func CheckBurst(f BurstFiling, opts Options) (BurstFiling, error) {
	info := f.Info
	if info.Category == "" || len(info.County) < 6 {
		return f, fmt.Errorf("alerts: file burst: series %q/%q needs a category and a county code: %w", info.Category, info.County, ErrInvalid)
	}
	if f.Level == "" {
		f.Level = opts.LeadLevel
	}
	if LevelRank(f.Level) < 1 {
		return f, fmt.Errorf("alerts: file burst: level %q, expected low, medium, high or critical: %w", f.Level, ErrInvalid)
	}
	return f, nil
}

// NewBurstLead is the burst lead f opens at now, before its posts are
// added (no sources, its span empty: FirstSeen after LastSeen).
func NewBurstLead(f BurstFiling, opts Options, now time.Time) *Lead {
	info := f.Info
	l := &Lead{
		ID:          newID(now),
		Kind:        KindBurst,
		Burst:       &info,
		Title:       burstTitle(info),
		Summary:     burstSummary(info),
		Level:       f.Level,
		Score:       burstScore(info.Tail),
		Categories:  []CategoryScore{{Code: info.Category, Score: burstScore(info.Tail)}},
		Locations:   []Location{{Code: info.County, Name: info.CountyName}},
		Terms:       []string{},
		FirstSeen:   info.To.UTC(),
		LastSeen:    info.From.UTC(),
		SourceCount: 0,
		State:       StateNew,
		CreatedAt:   now.UTC(),
		UpdatedAt:   now.UTC(),
		Version:     1,
	}
	if d, ok := opts.SLA[l.Level]; ok {
		due := now.Add(d).UTC()
		l.DueAt = &due
	}
	return l
}

// StrengthenBurst makes an existing burst lead explain the burst at its
// strongest: info replaces its explanation, summary and score when info
// saw more posts.
func StrengthenBurst(l *Lead, info BurstInfo) {
	if l.Burst == nil || info.Seen > l.Burst.Seen {
		l.Burst = &info
		l.Summary = burstSummary(info)
		l.Score = burstScore(info.Tail)
	}
}

// BurstNote is the audit note of a burst filed or extended.
func BurstNote(info BurstInfo) string { return burstNote(info) }

// SourceHealthRows checks ev as NotifySourceHealth does (an unknown
// problem is ErrInvalid) and renders it into one outbox row per endpoint
// of opts that opted in to source health, at now.
func SourceHealthRows(opts Options, ev SourceHealthEvent, now time.Time) ([]OutboxRow, error) {
	switch ev.Problem {
	case HealthNoItems, HealthSelectors, HealthRobots:
	default:
		return nil, fmt.Errorf("alerts: source health problem %q, expected no_items, selectors or robots: %w", ev.Problem, ErrInvalid)
	}
	var out []OutboxRow
	var body []byte
	for _, e := range opts.Endpoints {
		if !e.wantsHealth() {
			continue
		}
		if body == nil {
			var err error
			if body, err = json.Marshal(healthBody{Type: SourceHealthType, Timestamp: now.UTC(), Data: &ev}); err != nil {
				return nil, fmt.Errorf("alerts: source health of %s: %w", ev.Source, err)
			}
		}
		out = append(out, OutboxRow{ID: "msg_" + newID(now), Endpoint: e.Name, Event: EventSourceHealth, Body: body})
	}
	return out, nil
}
