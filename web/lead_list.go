package web

import (
	"net/http"

	"riskmine/alerts"
)

type leadListData struct {
	Leads      []alerts.Lead
	Total      int
	Filter     alerts.LeadFilter
	Q          map[string]string // current query values, for the form
	Overdue    bool
	States     []string
	Levels     []string
	Sorts      []string
	Categories []string
	Page       int
	Pages      int
	PrevURL    string
	NextURL    string
	// Assignees are the users leads can be assigned to (bulk form).
	Assignees []string
}

// leadList is the leads queue with filters, sorting and bulk actions.
func (s *Server) leadList(w http.ResponseWriter, r *http.Request) {
	if s.deps.Leads == nil {
		s.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	q := r.URL.Query()
	data := &leadListData{States: alerts.States, Levels: levels[1:], Sorts: leadSorts, Categories: categoryCodes,
		Q: map[string]string{}}
	for _, k := range []string{"state", "level", "category", "location", "assignee", "q", "sort"} {
		data.Q[k] = q.Get(k)
	}
	v := s.newView(r, "leads", "leads.title", data)
	f, err := parseLeadFilter(q)
	if err != nil {
		v.Error = err.Error()
		s.render(w, r, http.StatusBadRequest, "leads", v)
		return
	}
	data.Filter, data.Overdue = f, f.Overdue
	leads, total, err := s.deps.Leads.ListLeads(r.Context(), f)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data.Leads, data.Total = leads, total
	if data.Assignees, err = s.assignees(r.Context()); err != nil {
		s.serverError(w, r, err)
		return
	}
	data.Page = f.Offset/f.Limit + 1
	data.Pages = max(1, (total+f.Limit-1)/f.Limit)
	if data.Page > 1 {
		data.PrevURL = queryWith(r.URL.RequestURI(), "page", itoa(data.Page-1), "offset", "")
	}
	if data.Page < data.Pages {
		data.NextURL = queryWith(r.URL.RequestURI(), "page", itoa(data.Page+1), "offset", "")
	}
	s.render(w, r, http.StatusOK, "leads", v)
}
