package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"riskmine/crawler"
)

// triggerStatus maps a Trigger error to an HTTP status.
func triggerStatus(err error) int {
	switch {
	case errors.Is(err, crawler.ErrUnknownSource):
		return http.StatusNotFound
	case errors.Is(err, crawler.ErrRunning):
		return http.StatusConflict
	case errors.Is(err, crawler.ErrStopped):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// triggerQueuer is a SourceService whose Trigger may queue the run for a
// crawler node instead of starting it (*crawler.Scheduler on an api node
// of a cluster).
type triggerQueuer interface {
	TriggerQueues() bool
}

// triggerQueues reports whether a run asked for is queued, not started.
func (s *Server) triggerQueues() bool {
	q, ok := s.deps.Sources.(triggerQueuer)
	return ok && q.TriggerQueues()
}

// sourceRun starts a source now (the form's fallback without JavaScript).
func (s *Server) sourceRun(w http.ResponseWriter, r *http.Request) {
	if s.deps.Sources == nil {
		s.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	name := r.PathValue("name")
	if err := s.deps.Sources.Trigger(name); err != nil {
		status := triggerStatus(err)
		if status == http.StatusInternalServerError {
			s.serverError(w, r, err)
			return
		}
		v := s.newView(r, "sources", "error.title", nil)
		v.Error = err.Error()
		s.render(w, r, status, "error", v)
		return
	}
	s.log.Info("source run triggered", "source", name, "by", actor(r), "queued", s.triggerQueues())
	if s.triggerQueues() {
		http.Redirect(w, r, "/sources?ok=run_queued", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/sources?ok=run_started", http.StatusSeeOther)
}

// leaseConflict is the 409 answer to a run refused because another process
// holds the source's lease.
type leaseConflict struct {
	Error  string       `json:"error"`
	Holder *leaseHolder `json:"holder,omitempty"`
}

type leaseHolder struct {
	ID       string            `json:"id"`
	Instance *crawler.Instance `json:"instance,omitempty"`
	Since    time.Time         `json:"since"`
	Until    time.Time         `json:"until"`
}

// apiSourceRun answers POST /api/v1/sources/{name}/run: 202 when started
// (state "running"), or, on an api node of a cluster, queued for a crawler
// node (state "queued", with a message to show); 409 when the source is
// already running, here or in the process holding its lease (named in the
// answer).
func (s *Server) apiSourceRun(w http.ResponseWriter, r *http.Request) {
	if s.deps.Sources == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "the crawl scheduler is not available")
		return
	}
	name := r.PathValue("name")
	if err := s.deps.Sources.Trigger(name); err != nil {
		status := triggerStatus(err)
		if status == http.StatusInternalServerError {
			s.apiServerError(w, r, err)
			return
		}
		if held := (*crawler.LeaseHeldError)(nil); errors.As(err, &held) {
			writeJSON(w, status, leaseConflict{Error: err.Error(), Holder: &leaseHolder{ID: held.Holder, Instance: held.Instance, Since: held.Since, Until: held.Until}})
			return
		}
		writeJSONError(w, status, err.Error())
		return
	}
	s.log.Info("source run triggered", "source", name, "by", actor(r), "queued", s.triggerQueues())
	if s.triggerQueues() {
		writeJSON(w, http.StatusAccepted, map[string]any{"source": name, "state": "queued", "message": langFor(r).T("sources.queued")})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"source": name, "state": "running"})
}

// runProgress is the live state of a source polled by the sources page.
type runProgress struct {
	Source  string         `json:"source"`
	State   string         `json:"state"` // running or idle
	Done    bool           `json:"done"`
	Stats   *crawler.Stats `json:"stats,omitempty"`
	LastRun *crawler.Run   `json:"last_run,omitempty"`
	Message string         `json:"message"`
}

// apiSourceProgress answers GET /api/v1/sources/{name}/progress.
func (s *Server) apiSourceProgress(w http.ResponseWriter, r *http.Request) {
	if s.deps.Sources == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "the crawl scheduler is not available")
		return
	}
	name := r.PathValue("name")
	known := false
	for _, src := range s.deps.Sources.Sources() {
		known = known || src.Name == name
	}
	if !known {
		writeJSONError(w, http.StatusNotFound, fmt.Sprintf("no source named %q", name))
		return
	}
	l := langFor(r)
	out := runProgress{Source: name, State: "idle", Done: true}
	if st, ok := s.deps.Sources.Progress(name); ok {
		out.State, out.Done, out.Stats = "running", false, &st
		out.Message = l.T("sources.progress", st.Fetched, st.New, st.Changed, st.Unchanged, st.Failed)
	} else {
		run, ok, err := s.deps.Sources.LastRun(r.Context(), name)
		if err != nil {
			s.apiServerError(w, r, err)
			return
		}
		if ok {
			out.LastRun = &run
			out.Message = l.T("sources.finished", run.Fetched, run.New, run.Changed, run.Unchanged, run.Failed)
			if run.Error != "" {
				out.Message += " · " + run.Error
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}
