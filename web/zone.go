package web

import (
	"context"

	"time"
	_ "time/tzdata" // zone names resolve on a minimal container too

	"riskmine/index"
)

// DefaultTimezone is the zone used when Options.Location is nil.
const DefaultTimezone = "Asia/Shanghai"

// zoneLabel names the configured zone with its current offset, e.g.
// "Asia/Shanghai (UTC+08:00)", for the page footer.
func (s *Server) zoneLabel() string {
	return s.opts.Location.String() + " (UTC" + s.now().In(s.opts.Location).Format("-07:00") + ")"
}

// inZone returns t in the configured zone (the zero time stays zero).
func (s *Server) inZone(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(s.opts.Location)
}

// search runs q and returns the hits' times in the configured zone, so
// pages, the API and exports all show one zone.
func (s *Server) search(ctx context.Context, q index.Query) (*index.Result, error) {
	res, err := s.deps.Search.Search(ctx, q)
	if err != nil {
		return res, err
	}
	for i := range res.Hits {
		res.Hits[i].PublishedAt = s.inZone(res.Hits[i].PublishedAt)
	}
	return res, nil
}
