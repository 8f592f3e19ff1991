package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"riskmine/alerts"
	"riskmine/index"
	"riskmine/nlp"
	"riskmine/web"
)

// alertRuleTick is how often due alert rules are looked for.
const alertRuleTick = 15 * time.Second

// alertRuleFirstWindow is how far back a rule's first run looks.
const alertRuleFirstWindow = 24 * time.Hour

// AlertRuleStore is what the alert-rule runner needs of web's store
// (web.AlertRuleStore): the rules, and marking a run.
type AlertRuleStore interface {
	AlertRules(ctx context.Context) ([]web.AlertRule, error)
	MarkAlertRuleRun(ctx context.Context, id int64, t time.Time) error
	MarkAlertRuleRefused(ctx context.Context, id int64, t time.Time, reason string) error
}

// Searcher runs a query on the index (*index.Index).
type Searcher interface {
	Search(ctx context.Context, q index.Query) (*index.Result, error)
}

// Filer files lead candidates (alerts.Store).
type Filer interface {
	File(ctx context.Context, c alerts.Candidate) (alerts.FileResult, error)
}

// AlertRules runs the analysts' alert rules: saved searches turned into
// rules in the UI, which file the posts they find as leads.
type AlertRules struct {
	Rules    AlertRuleStore
	Index    Searcher
	Analyzer Analyzer
	Leads    Filer
	// LeadLevel is alerts.lead_level: a post a rule finds below it is
	// filed at it.
	LeadLevel string
	// Location is the configured zone, in which days typed without one
	// are read.
	Location *time.Location
	Logger   *slog.Logger
}

// Run runs the rules whenever they are due, until ctx ends.
func (s *AlertRules) Run(ctx context.Context) error {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tick := time.NewTicker(alertRuleTick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		rules, err := s.Rules.AlertRules(ctx)
		if err != nil {
			log.Warn("alert rules: list", "error", err)
			continue
		}
		now := time.Now()
		for _, r := range rules {
			if !r.Due(now) {
				continue
			}
			n, err := s.RunRule(ctx, r, now)
			if errors.Is(err, index.ErrBadQuery) || errors.Is(err, index.ErrTimeout) {
				// The same bounds as every search: a refused query is
				// reported and counted as run, so it is tried again
				// after its interval, not at every tick.
				log.Error("alert rule refused: its query is out of the search bounds; edit the saved search", "rule", r.Name, "error", err)
				if err := s.Rules.MarkAlertRuleRefused(ctx, r.ID, now, refusal(err)); err != nil {
					log.Warn("alert rule: mark run", "rule", r.Name, "error", err)
				}
				continue
			}
			if err != nil {
				log.Warn("alert rule failed", "rule", r.Name, "error", err)
				continue
			}
			if err := s.Rules.MarkAlertRuleRun(ctx, r.ID, now); err != nil {
				log.Warn("alert rule: mark run", "rule", r.Name, "error", err)
			}
			if n > 0 {
				log.Info("alert rule filed leads", "rule", r.Name, "posts", n)
			}
		}
	}
}

// refusal is the part of a search error an analyst can act on: what the
// search bounds refused, without the package prefixes.
func refusal(err error) string {
	msg := err.Error()
	for _, p := range []string{"index: ", "search: "} {
		if i := strings.LastIndex(msg, p); i >= 0 {
			msg = msg[i+len(p):]
		}
	}
	return msg
}

// alertRuleMaxHits bounds the posts one run of a rule files.
const alertRuleMaxHits = 200

// RunRule searches for the posts a rule matches since its last run and
// files each one. A post the rule matches becomes a lead even below the lead
// level: the analyst asked for it. Its level is raised to the lead level and
// an evidence item names the rule, so the lead says why it exists. Filing is
// keyed by canonical URL, so a post that is already a lead only counts once.
func (s *AlertRules) RunRule(ctx context.Context, r web.AlertRule, now time.Time) (int, error) {
	q, err := r.Query(s.Location)
	if err != nil {
		return 0, err
	}
	q.Since = r.LastRunAt.Add(-r.Interval) // overlap: late-indexed posts are not missed
	if r.LastRunAt.IsZero() {
		q.Since = now.Add(-alertRuleFirstWindow)
	}
	if r.MinLevel != "" {
		q.MinLevel = r.MinLevel
	}
	q.Size, q.NoFacets, q.Sort = alertRuleMaxHits, true, index.SortTime
	res, err := s.Index.Search(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("search: %w", err)
	}
	leadLevel := s.LeadLevel
	filed := 0
	for _, h := range res.Hits {
		as := s.Analyzer.Analyze(nlp.Input{ID: h.Key, Title: h.Title, Ref: h.PublishedAt})
		c := alerts.Candidate{
			URL: h.URL, CanonicalURL: h.Key, Site: h.Site, Source: h.Source, Title: h.Title,
			PublishedAt: h.PublishedAt, SeenAt: now, Level: h.Level, Score: h.RiskScore,
			SimHash: as.SimHash, Terms: as.Keywords,
		}
		if alerts.LevelRank(c.Level) < alerts.LevelRank(leadLevel) {
			c.Level = leadLevel
		}
		top := "alert_rule"
		for i, code := range h.Categories {
			if i == 0 {
				top = code
			}
			c.Categories = append(c.Categories, alerts.CategoryScore{Code: code, Score: h.RiskScore})
		}
		c.Evidence = append(c.Evidence, alerts.Evidence{
			Rule: "alert_rule/" + r.Name, Category: top, Field: "title",
			Text: h.Title, Start: 0, End: len([]rune(h.Title)), Weight: 0,
		})
		for _, e := range as.Evidence {
			c.Evidence = append(c.Evidence, alerts.Evidence{Rule: e.Rule, Category: e.Category, Field: e.Field, Text: e.Text, Start: e.Start, End: e.End, Weight: e.Weight})
		}
		res, err := s.Leads.File(ctx, c)
		if err != nil {
			return filed, fmt.Errorf("file %s: %w", h.Key, err)
		}
		if res.Outcome != alerts.OutcomeDuplicate {
			filed++
		}
	}
	return filed, nil
}
