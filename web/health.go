package web

import (
	"context"
	"net/http"

	"riskmine/crawler"
)

// sourceHealthReader is implemented by a scheduler that judges its
// sources' health after each run (*crawler.Scheduler); the sources page
// shows it beside each source's status.
type sourceHealthReader interface {
	SourceHealth(ctx context.Context) (map[string]crawler.SourceHealth, error)
}

// sourceHealth returns the judged health by source name; nil when the
// scheduler does not judge it.
func (s *Server) sourceHealth(r *http.Request) (map[string]crawler.SourceHealth, error) {
	h, ok := s.deps.Sources.(sourceHealthReader)
	if !ok {
		return nil, nil
	}
	return h.SourceHealth(r.Context())
}
