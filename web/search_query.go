package web

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"riskmine/index"
)

const searchPageSize = 20

// searchParams are the query parameters of the search page, the search API
// and saved searches (which store them URL-encoded).
var searchParams = []string{"q", "category", "level", "source", "site", "location", "since", "until", "sort"}

// parseSearchQuery turns query parameters into an index query. Dates are
// YYYY-MM-DD (UTC) or RFC 3339; until is inclusive of its day.
func parseSearchQuery(v url.Values, loc *time.Location) (index.Query, error) {
	q := index.Query{
		Text:       strings.TrimSpace(v.Get("q")),
		Categories: multi(v, "category"),
		MinLevel:   v.Get("level"),
		Sources:    multi(v, "source"),
		Sites:      multi(v, "site"),
		Locations:  multi(v, "location"),
		Location:   loc,
		Sort:       v.Get("sort"),
		Size:       searchPageSize,
	}
	var err error
	for i, l := range q.Locations {
		if q.Locations[i], err = placeCode(l); err != nil {
			return q, err
		}
	}
	if q.Since, err = parseDay(v.Get("since"), false, loc); err != nil {
		return q, fmt.Errorf("since: %w", err)
	}
	if q.Until, err = parseDay(v.Get("until"), true, loc); err != nil {
		return q, fmt.Errorf("until: %w", err)
	}
	if s := v.Get("size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > index.MaxSize {
			return q, fmt.Errorf("size must be a number from 1 to %d, got %q", index.MaxSize, s)
		}
		q.Size = n
	}
	if s := v.Get("from"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return q, fmt.Errorf("from must be a number >= 0, got %q", s)
		}
		q.From = n
	}
	if s := v.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100000 {
			return q, fmt.Errorf("page must be a number from 1 to 100000, got %q", s)
		}
		q.From = (n - 1) * q.Size
	}
	return q, nil
}

// parseDay reads a filter date: an RFC 3339 time as given, or a day
// (2024-05-01) taken in loc, from its midnight (or the next midnight when
// endOfDay).
func parseDay(s string, endOfDay bool, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if loc == nil {
		loc = time.UTC
	}
	t, err := time.ParseInLocation("2006-01-02", s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("expected a date like 2024-05-01, got %q", s)
	}
	if endOfDay {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// searchValues keeps only the search parameters of v, for saving.
func searchValues(v url.Values) url.Values {
	out := url.Values{}
	for _, k := range searchParams {
		for _, x := range v[k] {
			if strings.TrimSpace(x) != "" {
				out.Add(k, x)
			}
		}
	}
	return out
}
