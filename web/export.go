package web

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"riskmine/alerts"
	"riskmine/index"
)

// maxExportSearch caps a search export; narrow the search for more.
const maxExportSearch = 10000

type exportData struct {
	Categories []string
	States     []string
}

// exportPage offers the exports with their filters.
func (s *Server) exportPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "export", s.newView(r, "export", "export.title", &exportData{Categories: categoryCodes, States: alerts.States}))
}

// exportFail answers an export error as JSON on the API and as a page in the UI.
func (s *Server) exportFail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSONError(w, status, msg)
		return
	}
	v := s.newView(r, "export", "error.title", nil)
	v.Error = msg
	s.render(w, r, status, "error", v)
}

func exportFormat(r *http.Request) (string, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "jsonl":
		return "jsonl", nil
	case "csv":
		return "csv", nil
	default:
		return "", fmt.Errorf("format must be csv or jsonl, got %q", f)
	}
}

func startDownload(w http.ResponseWriter, name, format string) {
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, name, format))
	w.Header().Set("Cache-Control", "no-store")
}

// csvCell keeps spreadsheet programs from running crawled text that starts
// like a formula.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// exportedLead is one line of the leads export: the lead with all its
// sources, notes and audit trail.
type exportedLead struct {
	*alerts.Lead
	Audit []alerts.AuditEntry `json:"audit"`
}

// exportLeads streams the leads matching the queue's filters (all pages)
// as CSV or JSON Lines.
func (s *Server) exportLeads(w http.ResponseWriter, r *http.Request) {
	w = s.streaming(w)
	if s.deps.Leads == nil {
		s.exportFail(w, r, http.StatusServiceUnavailable, "the lead store is not available")
		return
	}
	format, err := exportFormat(r)
	if err != nil {
		s.exportFail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	q := r.URL.Query()
	q.Del("page")
	q.Del("limit")
	q.Del("offset")
	f, err := parseLeadFilter(q)
	if err != nil {
		s.exportFail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	ctx := r.Context()
	f.Limit, f.Offset = 500, 0
	// Collect the ids first so the pages stay stable while we load details.
	var ids []string
	for {
		page, total, err := s.deps.Leads.ListLeads(ctx, f)
		if err != nil {
			s.exportFail(w, r, http.StatusInternalServerError, "listing leads failed")
			s.log.Error("export leads", "error", err)
			return
		}
		for _, l := range page {
			ids = append(ids, l.ID)
		}
		f.Offset += len(page)
		if len(page) == 0 || f.Offset >= total {
			break
		}
	}
	startDownload(w, "riskmine-leads-"+s.now().In(s.opts.Location).Format("20060102-1504"), format)
	pv := s.piiFor(r)
	written := 0
	defer func() {
		s.recordRead(r, ReadEvent{Kind: ReadExport, Target: "leads", Query: r.URL.Query().Get("q"), Filters: readFilters(r.URL.Query()), Rows: written, PII: pv.unmaskedShown()})
	}()
	var cw *csv.Writer
	enc := json.NewEncoder(w)
	xl := exportLabels(r)
	if format == "csv" {
		io.WriteString(w, "\ufeff") // lets spreadsheet programs detect UTF-8
		cw = csv.NewWriter(w)
		cw.Write(xl.header(leadColumns))
	}
	for _, id := range ids {
		lead, err := s.deps.Leads.GetLead(ctx, id)
		if err != nil {
			s.log.Error("export lead", "lead_id", id, "error", err)
			return // the client sees a truncated file; the log says why
		}
		audit, err := s.deps.Leads.Audit(ctx, id)
		if err != nil {
			s.log.Error("export lead audit", "lead_id", id, "error", err)
			return
		}
		lead, audit = pv.lead(lead), pv.audit(audit)
		written++
		if cw == nil {
			enc.Encode(exportedLead{Lead: lead, Audit: audit})
			continue
		}
		var cats, locs, urls, trail []string
		for _, c := range lead.Categories {
			cats = append(cats, xl.category(c.Code))
		}
		for _, l := range lead.Locations {
			locs = append(locs, l.Name)
		}
		for _, src := range lead.Sources {
			urls = append(urls, src.URL)
		}
		for _, a := range audit {
			e := a.At.In(s.opts.Location).Format(time.RFC3339) + " " + a.Actor + " " + xl.action(a.Action)
			if a.From != "" || a.To != "" {
				e += " " + xl.state(a.From) + "→" + xl.state(a.To)
			}
			if n := xl.note(a); n != "" {
				e += ": " + n
			}
			trail = append(trail, e)
		}
		due := ""
		if lead.DueAt != nil {
			due = lead.DueAt.In(s.opts.Location).Format(time.RFC3339)
		}
		row := []string{lead.ID, lead.Title, xl.level(lead.Level), strconv.FormatFloat(lead.Score, 'f', 2, 64), xl.state(lead.State),
			strings.Join(cats, " "), strings.Join(locs, "; "), lead.Assignee, lead.Unit,
			lead.FirstSeen.In(s.opts.Location).Format(time.RFC3339), lead.LastSeen.In(s.opts.Location).Format(time.RFC3339), due,
			xl.yesNo(lead.Overdue), lead.Resolution, strconv.Itoa(lead.SourceCount), strings.Join(urls, " "),
			lead.Summary, strings.Join(trail, " | "), lead.Place, lead.PlaceCode, lead.CaseNumber, xl.levelWhy(lead)}
		for i := range row {
			row[i] = csvCell(row[i])
		}
		cw.Write(row)
	}
	if cw != nil {
		cw.Flush()
	}
}

// plainFragment strips the <mark> tags of a fragment and unescapes it.
func plainFragment(f string) string {
	f = strings.ReplaceAll(strings.ReplaceAll(f, "<mark>", ""), "</mark>", "")
	return html.UnescapeString(f)
}

// exportSearch streams the hits of a search (up to maxExportSearch) as CSV
// or as JSON Lines of the search API's hit objects.
func (s *Server) exportSearch(w http.ResponseWriter, r *http.Request) {
	w = s.streaming(w)
	if s.deps.Search == nil {
		s.exportFail(w, r, http.StatusServiceUnavailable, "the search index is not available")
		return
	}
	format, err := exportFormat(r)
	if err != nil {
		s.exportFail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	v := r.URL.Query()
	v.Del("page")
	v.Del("size")
	v.Del("from")
	q, err := parseSearchQuery(v, s.opts.Location)
	if err != nil {
		s.exportFail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	// Pages as large as the index gives: each page collects every hit
	// before it again, so fewer pages cost less.
	q.Size, q.From, q.NoFacets = index.MaxSize, 0, true
	if q.Sort == "" {
		q.Sort = index.SortTime
	}
	// An export is a run of searches: it holds one of the user's search
	// places until its last page is written.
	leave, ok, err := s.searches.enter(r.Context(), searcherName(r))
	if err != nil {
		s.exportFail(w, r, http.StatusInternalServerError, "the search slots cannot be read; try again")
		s.log.Error("search slot", "error", err)
		return
	}
	if !ok {
		w.Header().Set("Retry-After", "1")
		s.exportFail(w, r, http.StatusTooManyRequests, fmt.Sprintf("too many searches at once: a user may run %d at the same time; wait for one to finish and try again", s.searches.max))
		return
	}
	defer leave()
	ctx := r.Context()
	first, err := s.search(ctx, q)
	switch {
	case errors.Is(err, index.ErrBadQuery):
		s.exportFail(w, r, http.StatusBadRequest, "bad query: "+queryProblem(err))
		return
	case errors.Is(err, index.ErrTimeout):
		s.exportFail(w, r, http.StatusServiceUnavailable, queryProblem(err))
		return
	case err != nil:
		s.log.Error("export search", "error", err)
		s.exportFail(w, r, http.StatusInternalServerError, "the search failed; the server log says why")
		return
	}
	startDownload(w, "riskmine-search-"+s.now().In(s.opts.Location).Format("20060102-1504"), format)
	pv := s.piiFor(r)
	written := 0
	defer func() {
		s.recordRead(r, ReadEvent{Kind: ReadExport, Target: "search", Query: q.Text, Filters: readFilters(r.URL.Query()), Rows: written, PII: pv.unmaskedShown()})
	}()
	var cw *csv.Writer
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // the same hit objects as the search API
	xl := exportLabels(r)
	if format == "csv" {
		io.WriteString(w, "\ufeff")
		cw = csv.NewWriter(w)
		cw.Write(xl.header(searchColumns))
	}
	res, n := first, 0
	for {
		for _, h := range res.Hits {
			h = pv.hit(h)
			written++
			if cw == nil {
				enc.Encode(h)
				continue
			}
			frag := ""
			if fs := h.Fragments["body"]; len(fs) > 0 {
				frag = plainFragment(fs[0])
			}
			pub := ""
			if !h.PublishedAt.IsZero() {
				pub = h.PublishedAt.In(s.opts.Location).Format(time.RFC3339)
			}
			cats := make([]string, len(h.Categories))
			for i, c := range h.Categories {
				cats[i] = xl.category(c)
			}
			row := []string{h.ID, h.URL, h.Title, h.Source, h.Site, pub, xl.level(h.Level), strconv.FormatFloat(h.RiskScore, 'f', 2, 64),
				strings.Join(cats, " "), strings.Join(h.LocationNames, "; "), h.LeadID, strconv.FormatFloat(h.Score, 'f', 4, 64), frag}
			for i := range row {
				row[i] = csvCell(row[i])
			}
			cw.Write(row)
		}
		n += len(res.Hits)
		if len(res.Hits) == 0 || uint64(n) >= res.Total || n >= maxExportSearch {
			break
		}
		q.From = n
		if res, err = s.search(ctx, q); err != nil {
			s.log.Error("export search", "error", err)
			break
		}
	}
	if cw != nil {
		cw.Flush()
	}
}
