package alerts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// PlaceCount is the number of open leads placed under one division.
type PlaceCount struct {
	Code  string `json:"code"`
	Leads int    `json:"leads"`
}

// childCodeLen is the code length of the divisions just below one whose
// code has n digits (provinces 2, cities 4, counties 6, townships 9); 0
// when there are none.
func childCodeLen(n int) int {
	switch n {
	case 0:
		return 2
	case 2:
		return 4
	case 4:
		return 6
	case 6:
		return 9
	}
	return 0
}

// OpenLeadsByPlace counts the open leads under each division just below
// parent ("" for the provinces), most leads first. A lead placed in several
// divisions counts once in each.
func (s *SQLStore) OpenLeadsByPlace(ctx context.Context, parent string) ([]PlaceCount, error) {
	n, err := PlaceChildLen(parent)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return []PlaceCount{}, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT substr(ll.code, 1, ?) AS p, count(DISTINCT ll.lead_id) AS n
		FROM alerts_lead_location ll JOIN alerts_lead l ON l.id = ll.lead_id
		WHERE l.state IN `+openStatesSQL+` AND length(ll.code) >= ? AND ll.code LIKE ? || '%'
		GROUP BY p ORDER BY n DESC, p`, n, n, parent)
	if err != nil {
		return nil, fmt.Errorf("alerts: leads by place: %w", err)
	}
	defer rows.Close()
	out := []PlaceCount{}
	for rows.Next() {
		var pc PlaceCount
		if err := rows.Scan(&pc.Code, &pc.Leads); err != nil {
			return nil, fmt.Errorf("alerts: leads by place: %w", err)
		}
		out = append(out, pc)
	}
	return out, rows.Err()
}

// PlaceTrend counts the leads placed under code ("" for all) first seen on
// each of the last days days, counted in the store's zone, oldest first;
// days without leads are left out.
func (s *SQLStore) PlaceTrend(ctx context.Context, code string, days int) ([]DayCount, error) {
	if err := CheckPlaceCode(code); err != nil {
		return nil, err
	}
	since := s.now().Add(-time.Duration(days) * 24 * time.Hour)
	rows, err := s.r.QueryContext(ctx, `SELECT l.first_seen FROM alerts_lead l
		WHERE l.first_seen >= ? AND l.state <> 'merged' AND EXISTS (SELECT 1 FROM alerts_lead_location ll
			WHERE ll.lead_id = l.id AND ll.code LIKE ? || '%')`, ms(since), code)
	if err != nil {
		return nil, fmt.Errorf("alerts: place trend: %w", err)
	}
	defer rows.Close()
	perDay := map[string]int{}
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return nil, fmt.Errorf("alerts: place trend: %w", err)
		}
		perDay[s.at(at).Format(time.DateOnly)]++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerts: place trend: %w", err)
	}
	out := make([]DayCount, 0, len(perDay))
	for d, n := range perDay {
		out = append(out, DayCount{Day: d, Category: "leads", Count: n})
	}
	slices.SortFunc(out, func(a, b DayCount) int { return strings.Compare(a.Day, b.Day) })
	return out, nil
}
