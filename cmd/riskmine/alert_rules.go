package main

import (
	"context"
	"errors"
	"fmt"
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

// runAlertRules runs the analysts' alert rules (saved searches turned into
// rules in the UI) whenever they are due, until ctx ends.
func (s *service) runAlertRules(ctx context.Context) error {
	tick := time.NewTicker(alertRuleTick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		rules, err := s.web.AlertRules(ctx)
		if err != nil {
			s.log.Warn("alert rules: list", "error", err)
			continue
		}
		now := time.Now()
		for _, r := range rules {
			if !r.Due(now) {
				continue
			}
			n, err := s.runAlertRule(ctx, r, now)
			if errors.Is(err, index.ErrBadQuery) || errors.Is(err, index.ErrTimeout) {
				// The same bounds as every search: a refused query is
				// reported and counted as run, so it is tried again
				// after its interval, not at every tick.
				s.log.Error("alert rule refused: its query is out of the search bounds; edit the saved search", "rule", r.Name, "error", err)
				if err := s.web.Store().MarkAlertRuleRefused(ctx, r.ID, now, refusal(err)); err != nil {
					s.log.Warn("alert rule: mark run", "rule", r.Name, "error", err)
				}
				continue
			}
			if err != nil {
				s.log.Warn("alert rule failed", "rule", r.Name, "error", err)
				continue
			}
			if err := s.web.Store().MarkAlertRuleRun(ctx, r.ID, now); err != nil {
				s.log.Warn("alert rule: mark run", "rule", r.Name, "error", err)
			}
			if n > 0 {
				s.log.Info("alert rule filed leads", "rule", r.Name, "posts", n)
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

// runAlertRule searches for the posts a rule matches since its last run and
// files each one. A post the rule matches becomes a lead even below the lead
// level: the analyst asked for it. Its level is raised to the lead level and
// an evidence item names the rule, so the lead says why it exists. Filing is
// keyed by canonical URL, so a post that is already a lead only counts once.
func (s *service) runAlertRule(ctx context.Context, r web.AlertRule, now time.Time) (int, error) {
	q, err := r.Query(s.loc)
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
	res, err := s.index.Search(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("search: %w", err)
	}
	leadLevel := s.leadLevel
	filed := 0
	for _, h := range res.Hits {
		as := s.analyzer.Analyze(nlp.Input{ID: h.Key, Title: h.Title, Ref: h.PublishedAt})
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
		res, err := s.leads.File(ctx, c)
		if err != nil {
			return filed, fmt.Errorf("file %s: %w", h.Key, err)
		}
		if res.Outcome != alerts.OutcomeDuplicate {
			filed++
		}
	}
	return filed, nil
}
