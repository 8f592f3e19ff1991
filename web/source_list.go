package web

import (
	"net/http"
	"sort"
	"time"

	"riskmine/crawler"
)

// sourceRow is one source with its status and last run.
type sourceRow struct {
	Name     string         `json:"name"`
	Kind     string         `json:"kind"`
	Site     string         `json:"site"`
	Seeds    []string       `json:"seeds"`
	Schedule string         `json:"schedule"`
	Running  bool           `json:"running"`
	Progress *crawler.Stats `json:"progress,omitempty"`
	NextRun  time.Time      `json:"next_run,omitzero"`
	LastRun  *crawler.Run   `json:"last_run,omitempty"`
	// Health is the source's health judged after its runs (nil: not yet).
	Health    *crawler.SourceHealth `json:"health,omitempty"`
	Duration  time.Duration         `json:"-"`
	ErrorList []errorCount          `json:"-"`
}

type errorCount struct {
	Kind  string
	Count int64
}

type sourceListData struct {
	Sources []sourceRow
	Recent  []crawler.Run
}

func (s *Server) sourceRows(r *http.Request) ([]sourceRow, error) {
	var rows []sourceRow
	health, err := s.sourceHealth(r)
	if err != nil {
		return nil, err
	}
	for _, src := range s.deps.Sources.Sources() {
		row := sourceRow{Name: src.Name, Kind: src.Kind, Site: src.Site, Seeds: src.Seeds, Schedule: src.Schedule}
		if h, ok := health[src.Name]; ok {
			row.Health = &h
		}
		if p, ok := s.deps.Sources.Progress(src.Name); ok {
			row.Running, row.Progress = true, &p
		}
		if t, ok := s.deps.Sources.NextRun(src.Name); ok {
			row.NextRun = t
		}
		run, ok, err := s.deps.Sources.LastRun(r.Context(), src.Name)
		if err != nil {
			return nil, err
		}
		if ok {
			row.LastRun = &run
			if !run.Ended.IsZero() {
				row.Duration = run.Ended.Sub(run.Started)
			}
			for k, n := range run.Errors {
				row.ErrorList = append(row.ErrorList, errorCount{Kind: k, Count: n})
			}
			sort.Slice(row.ErrorList, func(i, j int) bool { return row.ErrorList[i].Count > row.ErrorList[j].Count })
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// sourceList shows every source with status, last-run figures, errors, the
// next run and a "run now" button with live progress.
func (s *Server) sourceList(w http.ResponseWriter, r *http.Request) {
	data := &sourceListData{}
	v := s.newView(r, "sources", "sources.title", data)
	if s.deps.Sources == nil {
		v.Error = v.L.T("error.unavailable")
		s.render(w, r, http.StatusServiceUnavailable, "sources", v)
		return
	}
	var err error
	if data.Sources, err = s.sourceRows(r); err != nil {
		s.serverError(w, r, err)
		return
	}
	if data.Recent, err = s.deps.Sources.Runs(r.Context(), "", 20); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "sources", v)
}

// apiSourceList answers GET /api/v1/sources with each source's status and
// last-run statistics.
func (s *Server) apiSourceList(w http.ResponseWriter, r *http.Request) {
	if s.deps.Sources == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "the crawl scheduler is not available")
		return
	}
	rows, err := s.sourceRows(r)
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	if rows == nil {
		rows = []sourceRow{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": len(rows), "items": rows})
}
