package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"riskmine/alerts"
	"riskmine/evidence"
)

type leadDetailData struct {
	Lead    *alerts.Lead
	Audit   []alerts.AuditEntry
	Similar []alerts.Lead
	Sources []sourcePost
	Actions []string
	Open    bool
	// Assignees are the users the lead can be assigned to.
	Assignees []string
	// CanMergeInto marks the similar leads this lead can be merged into
	// (both open), each offered with a button.
	CanMergeInto map[string]bool
	// Bundle offers the evidence bundle (evidence.go); KeyFingerprint
	// identifies the key that signs it.
	Bundle         bool
	KeyFingerprint string
	// Sources hold one page of the lead's SourceTotal sources
	// (leadSourcesPerPage each, newest first; SourcePages pages), numbered
	// SourceFrom to SourceTo; SourcesPrevURL and SourcesNextURL link the
	// neighbouring pages.
	SourcePages, SourceTotal int
	SourceFrom, SourceTo     int
	SourcesPrevURL           string
	SourcesNextURL           string
}

// leadSourcesPerPage is how many source posts the lead page shows at once:
// a lead a busy board joins a thousand times stays a page an analyst can
// read (and the archive is asked for the shown posts' copies only).
const leadSourcesPerPage = 50

// sourcesPageURL is the lead page showing page n of the lead's sources.
func sourcesPageURL(leadID string, n int) string {
	return "/leads/" + url.PathEscape(leadID) + "?sources=" + strconv.Itoa(n) + "#sources"
}

// sourcePost is one post of a lead with its evidence marked in place.
type sourcePost struct {
	Src   alerts.Source
	Title []segment
	Text  []segment
	// Unplaced is evidence whose offsets do not fall inside the stored
	// text (the snippet is the opening of the post); it is listed instead.
	Unplaced []alerts.Evidence
	// Archive is the source's archived copy (evidence.go).
	Archive sourceArchive
}

// leadDetail is the page of one lead.
func (s *Server) leadDetail(w http.ResponseWriter, r *http.Request) {
	s.showLead(w, r, r.PathValue("id"), http.StatusOK, "")
}

func (s *Server) showLead(w http.ResponseWriter, r *http.Request, id string, status int, errMsg string) {
	if s.deps.Leads == nil {
		s.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	ctx := r.Context()
	page := 1
	if n, err := strconv.Atoi(r.URL.Query().Get("sources")); err == nil && n > 1 {
		page = n
	}
	lead, total, err := s.deps.Leads.GetLeadWindow(ctx, id, alerts.SourceWindow{Offset: (page - 1) * leadSourcesPerPage, Limit: leadSourcesPerPage})
	if pages := sourcePages(total); err == nil && page > pages {
		// Past the last page (the lead shrank, or a hand-made link): show the last.
		page = pages
		lead, total, err = s.deps.Leads.GetLeadWindow(ctx, id, alerts.SourceWindow{Offset: (page - 1) * leadSourcesPerPage, Limit: leadSourcesPerPage})
	}
	if errors.Is(err, alerts.ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	audit, err := s.deps.Leads.Audit(ctx, id)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	similar, err := s.deps.Leads.SimilarLeads(ctx, id, 5)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	assignees, err := s.assignees(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	pages := sourcePages(total)
	from := (page - 1) * leadSourcesPerPage
	archives := s.leadArchives(r, lead)
	pv := s.piiFor(r)
	lead, audit, similar = pv.lead(lead), pv.audit(audit), pv.leads(similar)
	data := &leadDetailData{Lead: lead, Audit: audit, Similar: similar, Open: alerts.IsOpen(lead.State),
		Actions: actionsByState[lead.State], Assignees: assignees,
		SourcePages: pages, SourceFrom: from + 1, SourceTo: from + len(lead.Sources), SourceTotal: total}
	if page > 1 {
		data.SourcesPrevURL = sourcesPageURL(lead.ID, page-1)
	}
	if page < pages {
		data.SourcesNextURL = sourcesPageURL(lead.ID, page+1)
	}
	data.CanMergeInto = map[string]bool{}
	for _, sim := range similar {
		data.CanMergeInto[sim.ID] = data.Open && alerts.IsOpen(sim.State) && sim.ID != lead.ID
	}
	for i, src := range lead.Sources {
		sp := placeEvidence(src)
		sp.Archive = archives[i]
		data.Sources = append(data.Sources, sp)
	}
	data.Bundle = s.deps.Evidence != nil && s.mayOpenEvidence(r)
	if data.Bundle {
		data.KeyFingerprint = evidence.KeyFingerprint(s.deps.Evidence.PublicKey())
	}
	v := s.newView(r, "leads", "lead.title", data)
	v.Title = lead.Title
	v.Error = errMsg
	s.render(w, r, status, "lead", v)
	s.recordRead(r, ReadEvent{Kind: ReadView, Target: lead.ID, Rows: len(lead.Sources), PII: pv.unmaskedShown()})
}

// sourcePages is how many pages of the lead page a lead of total posts
// fills (one at least).
func sourcePages(total int) int {
	return max(1, (total+leadSourcesPerPage-1)/leadSourcesPerPage)
}

// placeEvidence marks each evidence span, and each phrase that set the
// post's level, in the title or the stored text of a source when the text
// at its rune offsets is the span's text.
func placeEvidence(src alerts.Source) sourcePost {
	p := sourcePost{Src: src}
	var inTitle, inText []evSpan
	titleRunes, textRunes := []rune(src.Title), []rune(src.Snippet)
	for _, ev := range src.Evidence {
		sp := evSpan{start: ev.Start, end: ev.End, label: ev.Rule}
		switch {
		case ev.Field == "title" && fits(titleRunes, ev.Start, ev.End, ev.Text):
			inTitle = append(inTitle, sp)
		case ev.Field != "title" && fits(textRunes, ev.Start, ev.End, ev.Text):
			inText = append(inText, sp)
		default:
			p.Unplaced = append(p.Unplaced, ev)
		}
	}
	// The phrases that set the level are marked too (listed under the
	// post whether or not they fall inside the stored text).
	for _, q := range src.LevelCues {
		if q.Level == "" {
			continue // modifiers and negations say why, but set no level
		}
		sp := evSpan{start: q.Start, end: q.End, label: "level/" + q.Kind, sev: true}
		switch {
		case q.Field == "title" && fits(titleRunes, q.Start, q.End, q.Text):
			inTitle = append(inTitle, sp)
		case q.Field != "title" && fits(textRunes, q.Start, q.End, q.Text):
			inText = append(inText, sp)
		}
	}
	p.Title = markSpans(src.Title, inTitle)
	p.Text = markSpans(src.Snippet, inText)
	return p
}

// fits reports whether text lies at the rune offsets [start, end) of runes.
func fits(runes []rune, start, end int, text string) bool {
	return start >= 0 && end > start && end <= len(runes) && string(runes[start:end]) == text
}
