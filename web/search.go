package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"riskmine/index"
	"riskmine/level"
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
	data := &searchData{Q: map[string]string{}, Levels: level.AboveNone(), Sorts: []string{index.SortRelevance, index.SortTime, index.SortScore}}
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
	q, err := parseSearchQuery(v, s.opts.Location)
	if err == nil {
		leave, ok, serr := s.searches.enter(r.Context(), searcherName(r))
		if serr != nil {
			s.serverError(w, r, serr)
			return
		}
		if !ok {
			w.Header().Set("Retry-After", "1")
			view.Error = view.L.T("search.busy")
			s.render(w, r, http.StatusTooManyRequests, "search", view)
			return
		}
		data.Result, err = s.search(r.Context(), q)
		leave()
		if errors.Is(err, index.ErrTimeout) {
			view.Error = view.L.T("search.timeout")
			s.render(w, r, http.StatusServiceUnavailable, "search", view)
			return
		}
		if err != nil && !errors.Is(err, index.ErrBadQuery) {
			s.serverError(w, r, err)
			return
		}
	}
	if err != nil {
		view.Error = view.L.T("search.bad_query") + " " + queryProblem(err)
		s.render(w, r, http.StatusBadRequest, "search", view)
		return
	}
	data.Ran = true
	pv := s.piiFor(r)
	res := data.Result
	for _, h := range res.Hits {
		h = pv.hit(h)
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
		group("search.facet_location", "location", res.Facets.Locations, placeName)
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
	s.recordRead(r, ReadEvent{Kind: ReadSearch, Query: q.Text, Filters: readFilters(v), Rows: int(res.Total), PII: pv.unmaskedShown()})
}

// apiSearch answers GET /api/v1/search with the index's search JSON, the
// same document riskmine search --json prints. A bad query is a 400.
func (s *Server) apiSearch(w http.ResponseWriter, r *http.Request) {
	if s.deps.Search == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "the search index is not available")
		return
	}
	q, err := parseSearchQuery(r.URL.Query(), s.opts.Location)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, "bad query: "+err.Error())
		return
	}
	leave, ok, err := s.searches.enter(r.Context(), searcherName(r))
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	if !ok {
		w.Header().Set("Retry-After", "1")
		writeJSONError(w, http.StatusTooManyRequests, fmt.Sprintf("too many searches at once: a user may run %d at the same time; wait for one to finish and try again", s.searches.max))
		return
	}
	res, err := s.search(r.Context(), q)
	leave()
	if errors.Is(err, index.ErrBadQuery) {
		writeJSONError(w, http.StatusBadRequest, "bad query: "+queryProblem(err))
		return
	}
	if errors.Is(err, index.ErrTimeout) {
		writeJSONError(w, http.StatusServiceUnavailable, queryProblem(err))
		return
	}
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	pv := s.piiFor(r)
	res = pv.result(res)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := res.WriteJSON(w); err != nil {
		s.log.Warn("write search result", "error", err)
	}
	s.recordRead(r, ReadEvent{Kind: ReadSearch, Query: q.Text, Filters: readFilters(r.URL.Query()), Rows: int(res.Total), PII: pv.unmaskedShown()})
}

// queryProblem is the part of a search error meant for the person who wrote
// the query: what is wrong and what to change, without the package and the
// query itself in front.
func queryProblem(err error) string {
	msg := err.Error()
	if errors.Is(err, index.ErrTimeout) {
		if i := strings.Index(msg, index.ErrTimeout.Error()); i >= 0 {
			return msg[i:]
		}
		return index.ErrTimeout.Error()
	}
	if _, after, ok := strings.Cut(msg, index.ErrBadQuery.Error()+": "); ok && errors.Is(err, index.ErrBadQuery) {
		return after
	}
	return msg
}

// searcherName is the user a search counts against.
func searcherName(r *http.Request) string {
	if p := principalFrom(r.Context()); p != nil && p.User != nil {
		return p.User.Name
	}
	return ""
}
