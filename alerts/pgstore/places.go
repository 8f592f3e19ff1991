package pgstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"riskmine/alerts"
)

// OpenLeadsByPlace counts the open leads under each division just below
// parent ("" for the provinces), most leads first. A lead placed in
// several divisions counts once in each.
func (s *Store) OpenLeadsByPlace(ctx context.Context, parent string) ([]alerts.PlaceCount, error) {
	n, err := alerts.PlaceChildLen(parent)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return []alerts.PlaceCount{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT substr(ll.code, 1, $1) AS p, count(DISTINCT ll.lead_id) AS n
		FROM alerts_lead_location ll JOIN alerts_lead l ON l.id = ll.lead_id
		WHERE l.state = ANY($2) AND length(ll.code) >= $1 AND ll.code LIKE $3
		GROUP BY p ORDER BY n DESC, p`, n, s.open, likePrefix(parent))
	if err != nil {
		return nil, fmt.Errorf("alerts: leads by place: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerts.PlaceCount, error) {
		var pc alerts.PlaceCount
		return pc, r.Scan(&pc.Code, &pc.Leads)
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: leads by place: %w", err)
	}
	if out == nil {
		out = []alerts.PlaceCount{}
	}
	return out, nil
}

// PlaceTrend counts the leads placed under code ("" for all) first seen on
// each of the last days days, counted in the store's zone, oldest first;
// days without leads are left out, merged leads are not counted.
func (s *Store) PlaceTrend(ctx context.Context, code string, days int) ([]alerts.DayCount, error) {
	if err := alerts.CheckPlaceCode(code); err != nil {
		return nil, err
	}
	since := s.now().Add(-time.Duration(days) * 24 * time.Hour)
	rows, err := s.pool.Query(ctx, `SELECT l.first_seen FROM alerts_lead l
		WHERE l.first_seen >= $1 AND l.state <> $2 AND EXISTS (SELECT 1 FROM alerts_lead_location ll
			WHERE ll.lead_id = l.id AND ll.code LIKE $3)`, since, alerts.StateMerged, likePrefix(code))
	if err != nil {
		return nil, fmt.Errorf("alerts: place trend: %w", err)
	}
	firsts, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return nil, fmt.Errorf("alerts: place trend: %w", err)
	}
	perDay := map[string]int{}
	for _, at := range firsts {
		perDay[s.at(at).Format(time.DateOnly)]++
	}
	out := make([]alerts.DayCount, 0, len(perDay))
	for d, n := range perDay {
		out = append(out, alerts.DayCount{Day: d, Category: "leads", Count: n})
	}
	slices.SortFunc(out, func(a, b alerts.DayCount) int { return strings.Compare(a.Day, b.Day) })
	return out, nil
}
