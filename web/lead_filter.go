package web

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"riskmine/alerts"
	"riskmine/level"
)

// leadSorts are the orders the leads queue offers.
var leadSorts = []string{"last_seen", "first_seen", "level", "score", "due", "sources"}

const leadPageSize = 50

// parseLeadFilter reads the leads queue's query parameters; the same ones
// serve the page, the API and the export. Several values of state, level
// and category may be given (repeated or comma-separated).
func parseLeadFilter(q url.Values) (alerts.LeadFilter, error) {
	f := alerts.LeadFilter{
		States:         multi(q, "state"),
		Levels:         multi(q, "level"),
		Categories:     multi(q, "category"),
		LocationPrefix: strings.TrimSpace(q.Get("location")),
		Assignee:       strings.TrimSpace(q.Get("assignee")),
		Query:          strings.TrimSpace(q.Get("q")),
		Sort:           q.Get("sort"),
		Limit:          leadPageSize,
	}
	var err error
	if f.LocationPrefix, err = placeCode(f.LocationPrefix); err != nil {
		return f, err
	}
	for _, st := range f.States {
		if !slices.Contains(alerts.States, st) {
			return f, fmt.Errorf("state %q is not one of %s", st, strings.Join(alerts.States, ", "))
		}
	}
	for _, l := range f.Levels {
		if !level.Known(l) {
			return f, fmt.Errorf("level %q is not one of %s", l, strings.Join(level.All(), ", "))
		}
	}
	if f.Sort != "" && !slices.Contains(leadSorts, f.Sort) {
		return f, fmt.Errorf("sort %q is not one of %s", f.Sort, strings.Join(leadSorts, ", "))
	}
	if v := q.Get("overdue"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, fmt.Errorf("overdue must be true or false, got %q", v)
		}
		f.Overdue = b
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, fmt.Errorf("limit must be a number from 1 to 1000, got %q", v)
		}
		f.Limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return f, fmt.Errorf("offset must be a number >= 0, got %q", v)
		}
		f.Offset = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000000 {
			return f, fmt.Errorf("page must be a number from 1 to 1000000, got %q", v)
		}
		f.Offset = (n - 1) * f.Limit
	}
	return f, nil
}

// multi returns the non-empty values of a repeated or comma-separated key.
func multi(q url.Values, key string) []string {
	var out []string
	for _, v := range q[key] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
