package web

import (
	"net/http"
	"net/url"

	"riskmine/alerts"
	"riskmine/level"
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
	// Bulk is the outcome of a bulk action with failures, shown above the
	// queue; nil otherwise.
	Bulk *bulkReport
}

// bulkReport is a bulk action's outcome: how many went through and why
// each of the others did not.
type bulkReport struct {
	Action  string
	Done    int
	Results []bulkResult
}

// Failed lists the leads the action failed on.
func (b *bulkReport) Failed() []bulkResult {
	var out []bulkResult
	for _, r := range b.Results {
		if !r.OK {
			out = append(out, r)
		}
	}
	return out
}

// leadList is the leads queue with filters, sorting and bulk actions.
func (s *Server) leadList(w http.ResponseWriter, r *http.Request) {
	if s.deps.Leads == nil {
		s.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	s.showLeads(w, r, r.URL.RequestURI(), nil)
}

// showLeads renders the queue at uri (the queue's own address, or the one
// a bulk form came from) with an optional bulk report.
func (s *Server) showLeads(w http.ResponseWriter, r *http.Request, uri string, report *bulkReport) {
	u, err := url.Parse(uri)
	if err != nil || u.Path != "/leads" {
		u = &url.URL{Path: "/leads"}
	}
	q := u.Query()
	q.Del("ok")
	u.RawQuery = q.Encode()
	data := &leadListData{States: alerts.States, Levels: level.AboveNone(), Sorts: leadSorts, Categories: categoryCodes,
		Q: map[string]string{}, Bulk: report}
	for _, k := range []string{"state", "level", "category", "location", "assignee", "q", "sort"} {
		data.Q[k] = q.Get(k)
	}
	v := s.newView(r, "leads", "leads.title", data)
	v.Path = u.RequestURI()
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
	pv := s.piiFor(r)
	data.Leads, data.Total = pv.leads(leads), total
	if data.Assignees, err = s.assignees(r.Context()); err != nil {
		s.serverError(w, r, err)
		return
	}
	data.Page = f.Offset/f.Limit + 1
	data.Pages = max(1, (total+f.Limit-1)/f.Limit)
	if data.Page > 1 {
		data.PrevURL = queryWith(v.Path, "page", itoa(data.Page-1), "offset", "")
	}
	if data.Page < data.Pages {
		data.NextURL = queryWith(v.Path, "page", itoa(data.Page+1), "offset", "")
	}
	s.render(w, r, http.StatusOK, "leads", v)
	s.recordRead(r, ReadEvent{Kind: ReadList, Query: q.Get("q"), Filters: readFilters(q), Rows: total, PII: pv.unmaskedShown()})
}
