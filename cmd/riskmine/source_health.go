package main

import (
	"context"

	"riskmine/alerts"
	"riskmine/crawler"
)

// healthNotifier hands the crawler's source health changes to the webhook
// outbox (the endpoints with source_health: true). With no lead store (a
// dry run) the changes are only logged by the crawler.
func healthNotifier(leads func() *alerts.SQLStore) func(context.Context, crawler.HealthChange) error {
	return func(ctx context.Context, ch crawler.HealthChange) error {
		s := leads()
		if s == nil {
			return nil
		}
		_, err := s.NotifySourceHealth(ctx, alerts.SourceHealthEvent{
			Source: ch.Source, Site: ch.Site, Problem: ch.Problem, Failing: ch.Failing, Since: ch.Since, At: ch.At,
			Runs: ch.Runs, ListPages: ch.ListPages, EmptyLists: ch.EmptyLists, Items: ch.Items, RobotsRefused: ch.RobotsRefused,
		})
		return err
	}
}
