package web

import (
	"net/url"
	"testing"
	"time"
)

// FuzzParseQueries feeds arbitrary query strings to the parsers of the
// leads queue, the search and the delivery log: they return an error or a
// value, never panic, and keep page sizes in bounds.
func FuzzParseQueries(f *testing.F) {
	for _, s := range []string{"state=new&level=high,critical&page=2", "q=火灾&since=2024-05-01&until=2024-05-02&size=1000", "page=-1", "limit=99999999999999999999", "overdue=maybe", "state=,,,", "page=9223372036854775807", "offset=9223372036854775807&page=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		if lf, err := parseLeadFilter(v); err == nil && (lf.Limit < 1 || lf.Limit > 1000 || lf.Offset < 0) {
			t.Fatalf("lead filter out of bounds: %+v", lf)
		}
		if q, err := parseSearchQuery(v, time.UTC); err == nil && (q.Size < 1 || q.Size > 1000 || q.From < 0) {
			t.Fatalf("search query out of bounds: %+v", q)
		}
		parseDeliveryFilter(v)
	})
}
