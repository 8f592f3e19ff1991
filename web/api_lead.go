package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"riskmine/alerts"
)

// leadWithAudit is the API form of one lead: the lead with its audit trail
// and similar leads.
type leadWithAudit struct {
	*alerts.Lead
	Audit   []alerts.AuditEntry `json:"audit"`
	Similar []leadRef           `json:"similar"`
	// SourcesTotal is how many sources the lead has; sources holds all of
	// them, or the window sources_limit and sources_offset asked for.
	SourcesTotal int `json:"sources_total"`
}

// leadRef is a short reference to another lead.
type leadRef struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Level string `json:"level"`
	State string `json:"state"`
}

func (s *Server) leadsAvailable(w http.ResponseWriter) bool {
	if s.deps.Leads == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "the lead store is not available")
		return false
	}
	return true
}

// apiLeadList answers GET /api/v1/leads with {"total","items"}.
func (s *Server) apiLeadList(w http.ResponseWriter, r *http.Request) {
	if !s.leadsAvailable(w) {
		return
	}
	f, err := parseLeadFilter(r.URL.Query())
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	leads, total, err := s.deps.Leads.ListLeads(r.Context(), f)
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	pv := s.piiFor(r)
	leads = pv.leads(leads)
	if leads == nil {
		leads = []alerts.Lead{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "items": leads})
	s.recordRead(r, ReadEvent{Kind: ReadList, Query: r.URL.Query().Get("q"), Filters: readFilters(r.URL.Query()), Rows: total, PII: pv.unmaskedShown()})
}

// apiLeadGet answers GET /api/v1/leads/{id}.
func (s *Server) apiLeadGet(w http.ResponseWriter, r *http.Request) {
	if !s.leadsAvailable(w) {
		return
	}
	ctx, id := r.Context(), r.PathValue("id")
	limit, offset, err := sourcesWindow(r.URL.Query())
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	lead, total, err := s.deps.Leads.GetLeadWindow(ctx, id, alerts.SourceWindow{Offset: offset, Limit: limit})
	if errors.Is(err, alerts.ErrNotFound) {
		writeJSONError(w, http.StatusNotFound, "no lead "+id)
		return
	}
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	audit, err := s.deps.Leads.Audit(ctx, id)
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	similar, err := s.deps.Leads.SimilarLeads(ctx, id, 5)
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	pv := s.piiFor(r)
	lead, audit, similar = pv.lead(lead), pv.audit(audit), pv.leads(similar)
	out := leadWithAudit{Lead: lead, Audit: audit, Similar: []leadRef{}, SourcesTotal: total}
	if out.Audit == nil {
		out.Audit = []alerts.AuditEntry{}
	}
	for _, l := range similar {
		out.Similar = append(out.Similar, leadRef{ID: l.ID, Title: l.Title, Level: l.Level, State: l.State})
	}
	writeJSON(w, http.StatusOK, out)
	s.recordRead(r, ReadEvent{Kind: ReadView, Target: lead.ID, Rows: len(lead.Sources), PII: pv.unmaskedShown()})
}

// apiLeadTransition answers POST /api/v1/leads/{id}/transition with a
// leadAction body; it returns the updated lead. A stale version is 409.
func (s *Server) apiLeadTransition(w http.ResponseWriter, r *http.Request) {
	if !s.leadsAvailable(w) {
		return
	}
	var a leadAction
	if !decodeJSON(w, r, &a) {
		return
	}
	lead, err := s.applyLeadAction(r.Context(), actor(r), r.PathValue("id"), a)
	if err != nil {
		status, _ := actionStatus(err)
		if status == http.StatusInternalServerError {
			s.apiServerError(w, r, err)
			return
		}
		writeJSONError(w, status, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.piiFor(r).lead(lead))
}

// apiLeadBulk answers POST /api/v1/leads/bulk:
// {"leads":[{"id","version"},…],"action",…}. Each lead carries the version
// its author saw; a lead changed meanwhile fails alone with a conflict.
func (s *Server) apiLeadBulk(w http.ResponseWriter, r *http.Request) {
	if !s.leadsAvailable(w) {
		return
	}
	var in struct {
		Leads []bulkLead `json:"leads"`
		// IDs without versions were accepted before version checks; they
		// are refused with a message saying what to send instead.
		IDs []string `json:"ids"`
		leadAction
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	if len(in.IDs) > 0 {
		writeJSONError(w, http.StatusBadRequest, `"ids" has no versions: send "leads": [{"id": …, "version": …}] with the version of each lead you saw`)
		return
	}
	if in.Version != 0 {
		writeJSONError(w, http.StatusBadRequest, `a bulk action takes a version per lead in "leads", not one "version"`)
		return
	}
	ok := false
	for _, b := range bulkActions {
		ok = ok || in.Action == b
	}
	if !ok || len(in.Leads) == 0 || len(in.Leads) > 1000 {
		writeJSONError(w, http.StatusBadRequest, "expected 1 to 1000 leads and an action of confirm, dismiss or assign")
		return
	}
	for _, l := range in.Leads {
		if l.ID == "" || l.Version <= 0 {
			writeJSONError(w, http.StatusBadRequest, `every lead needs an "id" and the "version" you saw (1 or more)`)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": s.runBulk(r.Context(), langFor(r), actor(r), in.Leads, in.leadAction)})
}

// sourcesWindow reads the optional sources_limit and sources_offset of a
// lead request: which of the lead's sources (newest first) to return. A
// lead a busy board joins thousands of times can then be read in pages;
// without them every source is returned, as before.
func sourcesWindow(q url.Values) (limit, offset int, err error) {
	if v := q.Get("sources_limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return 0, 0, fmt.Errorf("sources_limit must be a number from 1 to 1000, got %q", v)
		}
	}
	if v := q.Get("sources_offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, fmt.Errorf("sources_offset must be a number >= 0, got %q", v)
		}
	}
	return limit, offset, nil
}
