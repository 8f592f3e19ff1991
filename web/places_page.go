package web

import (
	"context"
	"net/http"

	"riskmine/alerts"
	"riskmine/nlp"
)

// PlaceService is what the places page needs from the lead store (every
// alerts.ServiceStore has it: *alerts.SQLStore, alerts/pgstore's *Store);
// a lead store without it makes the page say the feature is not
// available.
type PlaceService interface {
	OpenLeadsByPlace(ctx context.Context, parent string) ([]alerts.PlaceCount, error)
	PlaceTrend(ctx context.Context, code string, days int) ([]alerts.DayCount, error)
}

type placeRow struct {
	Code, Name string
	Leads      int
	Drill      bool // has divisions below it
}

type placesData struct {
	Code   string     // the division shown ("" for the whole country)
	Crumbs []placeRow // the way down to it
	Rows   []placeRow // the divisions below it, most open leads first
	Chart  *chart     // leads first seen per day under it, last 30 days
	Total  int        // open leads under the shown divisions
	Map    *placeMap  // the counties of the customer's layer, or why none
}

// placesPage counts open leads by province → city → county → township,
// each row drilling down, with the trend of new leads under the division
// shown. /places?code=3501 shows 福州市's districts.
func (s *Server) placesPage(w http.ResponseWriter, r *http.Request) {
	data := &placesData{Chart: &chart{Empty: true}}
	v := s.newView(r, "places", "places.title", data)
	ps, ok := s.deps.Leads.(PlaceService)
	if !ok || s.deps.Leads == nil {
		s.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	code, err := placeCode(r.URL.Query().Get("code"))
	if err != nil || len(code) > 9 || (code != "" && childCodeLenOf(code) < 0) {
		v.Error = v.L.T("places.bad_code")
		s.render(w, r, http.StatusBadRequest, "places", v)
		return
	}
	data.Code = code
	for _, n := range []int{2, 4, 6, 9} {
		if len(code) >= n {
			c := code[:n]
			data.Crumbs = append(data.Crumbs, placeRow{Code: c, Name: shortPlaceName(c)})
		}
	}
	ctx := r.Context()
	counts, err := ps.OpenLeadsByPlace(ctx, code)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	for _, c := range counts {
		data.Rows = append(data.Rows, placeRow{Code: c.Code, Name: shortPlaceName(c.Code), Leads: c.Leads, Drill: len(c.Code) < 9})
		data.Total += c.Leads
	}
	if data.Map, err = s.placesMap(ctx, ps, code); err != nil {
		s.serverError(w, r, err)
		return
	}
	trend, err := ps.PlaceTrend(ctx, code, 30)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	points := make([]dayPoint, 0, len(trend))
	for _, d := range trend {
		points = append(points, dayPoint{Day: d.Day, Series: "leads", Count: d.Count})
	}
	data.Chart = stackedDays(points, func(string) string { return v.L.T("places.new_leads") }, s.now().In(s.opts.Location), 30)
	s.render(w, r, http.StatusOK, "places", v)
}

// childCodeLenOf is 0 for a code of a known length, -1 otherwise.
func childCodeLenOf(code string) int {
	switch len(code) {
	case 2, 4, 6, 9:
		return 0
	}
	return -1
}

// shortPlaceName is a division's own name (仓山区), or its code.
func shortPlaceName(code string) string {
	if d, ok := nlp.DivisionByCode(code); ok {
		return d.Name
	}
	return code
}

// placesMap draws the counties of the configured boundary layer under
// code, or says why there is no map.
func (s *Server) placesMap(ctx context.Context, ps PlaceService, code string) (*placeMap, error) {
	layer := s.mapLayer.Load()
	if layer == nil {
		return &placeMap{Missing: "places.map_unconfigured"}, nil
	}
	if layer.Failed {
		return &placeMap{Missing: "places.map_failed"}, nil
	}
	areas, prefix, current := mapCounties(layer, code)
	if len(areas) == 0 {
		return &placeMap{Missing: "places.map_no_counties", Attribution: layer.Attribution}, nil
	}
	leads, err := countyLeads(ctx, ps, areas)
	if err != nil {
		return nil, err
	}
	return colourMap(layer, layer.drawing(areas, prefix, current), leads), nil
}
