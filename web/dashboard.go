package web

import (
	"net/http"

	"riskmine/alerts"
	"riskmine/level"
)

type dashboardData struct {
	Stats   *alerts.Stats
	States  []countRow
	Levels  []countRow
	Chart   *chart
	Urgent  []alerts.Lead
	Overdue []alerts.Lead
	NoLeads bool
}

// countRow is one line of a small count table.
type countRow struct {
	Key   string
	Count int
}

// dashboard is the landing page: leads by state and level, overdue leads,
// the on-time closure rate, mentions per day by category and top places.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	data := &dashboardData{}
	v := s.newView(r, "dashboard", "dashboard.title", data)
	if s.deps.Leads == nil {
		data.NoLeads = true
		s.render(w, r, http.StatusOK, "dashboard", v)
		return
	}
	ctx := r.Context()
	st, err := s.deps.Leads.Stats(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data.Stats = st
	for _, state := range alerts.States {
		data.States = append(data.States, countRow{Key: state, Count: st.ByState[state]})
	}
	above := level.AboveNone()
	for i := len(above) - 1; i >= 0; i-- {
		data.Levels = append(data.Levels, countRow{Key: above[i], Count: st.ByLevel[above[i]]})
	}
	points := make([]dayPoint, 0, len(st.MentionsPerDay))
	for _, d := range st.MentionsPerDay {
		points = append(points, dayPoint{Day: d.Day, Series: d.Category, Count: d.Count})
	}
	data.Chart = stackedDays(points, v.L.Category, s.now().In(s.opts.Location), 30)
	data.Urgent, _, err = s.deps.Leads.ListLeads(ctx, alerts.LeadFilter{States: []string{alerts.StateNew}, Levels: []string{level.High, level.Critical}, Sort: "level", Limit: 10})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data.Overdue, _, err = s.deps.Leads.ListLeads(ctx, alerts.LeadFilter{Overdue: true, Sort: "due", Limit: 10})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	pv := s.piiFor(r)
	data.Urgent, data.Overdue = pv.leads(data.Urgent), pv.leads(data.Overdue)
	s.render(w, r, http.StatusOK, "dashboard", v)
}

// apiDashboard answers GET /api/v1/dashboard with the store's statistics.
func (s *Server) apiDashboard(w http.ResponseWriter, r *http.Request) {
	if !s.leadsAvailable(w) {
		return
	}
	st, err := s.deps.Leads.Stats(r.Context())
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
