package pipeline

import (
	"context"

	"riskmine/alerts"
	"riskmine/crawler"
)

// HealthSink takes source health changes (an alerts.ServiceStore: its
// webhook outbox, to the endpoints with source_health: true).
type HealthSink interface {
	NotifySourceHealth(ctx context.Context, ev alerts.SourceHealthEvent) (int, error)
}

// HealthNotifier hands the crawler's source health changes to the sink
// sink returns at the time of the change. With none (nil: a dry run, or a
// crawl whose stores are not open yet) the changes are only logged by the
// crawler.
func HealthNotifier(sink func() HealthSink) func(context.Context, crawler.HealthChange) error {
	return func(ctx context.Context, ch crawler.HealthChange) error {
		s := sink()
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
