package web

import "net/http"

// dashboard is the landing page.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "dashboard", s.newView(r, "dashboard", "dashboard.title", nil))
}
