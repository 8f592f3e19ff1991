package web

import (
	"errors"
	"html/template"
	"net/http"
	"time"

	"riskmine/index"
)

type searchData struct {
	Q       map[string]string
	Ran     bool
	Result  *index.Result
	Hits    []searchHit
	Facets  []facetGroup
	Chart   *chart
	Saved   []SavedSearch
	Rules   []AlertRule
	Levels  []string
	Sorts   []string
	Page    int
	Pages   int
	PrevURL string
	NextURL string
	Encoded string // the search parameters, URL-encoded, for saving
}

// searchHit is a hit with its fragments made safe to show.
type searchHit struct {
	index.Hit
	SafeTitle template.HTML
	Snippets  []template.HTML
}

// facetGroup is one facet with links that add it as a filter.
type facetGroup struct {
	Key    string // message key of the heading
	Values []facetValue
}

type facetValue struct {
	Label string
	Count int
	URL   string
}

// searchPage is the full-text search with filters, facets, highlights, a
// per-day histogram and saved searches.
func (s *Server) searchPage(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	data := &searchData{Q: map[string]string{}, Levels: levels[1:], Sorts: []string{index.SortRelevance, index.SortTime, index.SortScore}}
	for _, k := range searchParams {
		data.Q[k] = v.Get(k)
	}
	data.Encoded = searchValues(v).Encode()
	view := s.newView(r, "search", "search.title", data)
	var err error
	if p := principalFrom(r.Context()); p != nil {
		if data.Saved, err = s.store.SavedSearches(r.Context(), p.User.Name); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	if data.Rules, err = s.store.AlertRules(r.Context()); err != nil {
		s.serverError(w, r, err)
		return
	}
	if s.deps.Search == nil {
		view.Error = view.L.T("error.unavailable")
		s.render(w, r, http.StatusServiceUnavailable, "search", view)
		return
	}
	q, err := parseSearchQuery(v)
	if err == nil {
		data.Result, err = s.deps.Search.Search(r.Context(), q)
		if err != nil && !errors.Is(err, index.ErrBadQuery) {
			s.serverError(w, r, err)
			return
		}
	}
	if err != nil {
		view.Error = view.L.T("search.bad_query") + " " + err.Error()
		s.render(w, r, http.StatusBadRequest, "search", view)
		return
	}
	data.Ran = true
	res := data.Result
	for _, h := range res.Hits {
		sh := searchHit{Hit: h, SafeTitle: template.HTML(template.HTMLEscapeString(h.Title))}
		if t := h.Fragments["title"]; len(t) > 0 {
			sh.SafeTitle = safeFragment(t[0])
		}
		for _, f := range h.Fragments["body"] {
			sh.Snippets = append(sh.Snippets, safeFragment(f))
		}
		data.Hits = append(data.Hits, sh)
	}
	base := r.URL.RequestURI()
	if res.Facets != nil {
		group := func(key, param string, terms []index.FacetCount, label func(string) string) {
			g := facetGroup{Key: key}
			for _, t := range terms {
				g.Values = append(g.Values, facetValue{Label: label(t.Term), Count: t.Count, URL: queryWith(base, param, t.Term, "page", "")})
			}
			if len(g.Values) > 0 {
				data.Facets = append(data.Facets, g)
			}
		}
		same := func(s string) string { return s }
		group("search.facet_category", "category", res.Facets.Categories, view.L.Category)
		group("search.facet_level", "level", res.Facets.Levels, view.L.Level)
		group("search.facet_source", "source", res.Facets.Sources, same)
		group("search.facet_location", "location", res.Facets.Locations, same)
		points := make([]dayPoint, 0, len(res.Facets.Days))
		for _, d := range res.Facets.Days {
			day := d.Term
			if len(day) > 10 {
				day = day[:10]
			}
			points = append(points, dayPoint{Day: day, Series: "posts", Count: d.Count})
		}
		data.Chart = stackedDays(points, func(string) string { return view.L.T("search.posts") }, time.Time{}, 7)
	}
	data.Page = q.From/q.Size + 1
	data.Pages = max(1, int((res.Total+uint64(q.Size)-1)/uint64(q.Size)))
	if data.Page > 1 {
		data.PrevURL = queryWith(base, "page", itoa(data.Page-1))
	}
	if data.Page < data.Pages && q.From+q.Size < 100000 {
		data.NextURL = queryWith(base, "page", itoa(data.Page+1))
	}
	s.render(w, r, http.StatusOK, "search", view)
}

// apiSearch answers GET /api/v1/search with the index's search JSON, the
// same document riskmine search --json prints. A bad query is a 400.
func (s *Server) apiSearch(w http.ResponseWriter, r *http.Request) {
	if s.deps.Search == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "the search index is not available")
		return
	}
	q, err := parseSearchQuery(r.URL.Query())
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, "bad query: "+err.Error())
		return
	}
	res, err := s.deps.Search.Search(r.Context(), q)
	if errors.Is(err, index.ErrBadQuery) {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := res.WriteJSON(w); err != nil {
		s.log.Warn("write search result", "error", err)
	}
}
