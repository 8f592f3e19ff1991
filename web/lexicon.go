package web

import (
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"riskmine/alerts"
	"riskmine/nlp"
)

// maxTryRunes bounds the try-a-sentence box.
const maxTryRunes = 20000

type lexiconData struct {
	// Model is the detection model beside the lexicons, nil without one.
	Model      *nlp.ModelInfo
	Categories []lexiconCategory
	Full       bool // terms come from the analyzer, not only from verdicts
	// Editable: administrators may edit the lexicons (Deps.Lexicons).
	Editable   bool
	Try        string
	TryTitle   string
	Assessment *nlp.Assessment
	Segments   []segment
	TitleSegs  []segment
	// reloadErr is why a model reload failed ("" when none did).
	reloadErr string
}

// lexiconCategory is one category with its terms and rules, each with the
// precision of analyst verdicts on the leads it contributed to.
type lexiconCategory struct {
	Code     string
	Name     string
	Severity float64
	Rules    []ruleRow
}

type ruleRow struct {
	Rule     string // "<code>/<term or rule name>"
	Label    string // the term or rule name
	Kind     string // term, rule or fired
	Weight   float64
	Variants string
	// MaxRunes > 0: the entry counts only in a title or text of at most
	// that many letters and digits (max_field_runes).
	MaxRunes int
	Stat     *alerts.RuleStat
}

// lexiconRows builds the categories, merging the analyzer's lexicons (when
// it can list them) with the rule statistics from analyst verdicts.
func (s *Server) lexiconRows(r *http.Request) ([]lexiconCategory, bool, error) {
	stats := map[string]*alerts.RuleStat{}
	if s.deps.Leads != nil {
		rs, err := s.deps.Leads.RuleStats(r.Context())
		if err != nil {
			return nil, false, err
		}
		for i := range rs {
			stats[rs[i].Rule] = &rs[i]
		}
	}
	cats := map[string]*lexiconCategory{}
	var order []string
	get := func(code string) *lexiconCategory {
		if c, ok := cats[code]; ok {
			return c
		}
		c := &lexiconCategory{Code: code, Name: code}
		cats[code] = c
		order = append(order, code)
		return c
	}
	full := false
	if s.deps.Analyzer != nil {
		for _, code := range s.deps.Analyzer.Categories() {
			get(code)
		}
		if ll, ok := s.deps.Analyzer.(lexiconLister); ok {
			full = true
			for _, lx := range ll.Lexicons() {
				c := get(lx.Code)
				c.Name, c.Severity = lx.Name, lx.Severity
				for _, t := range lx.Terms {
					id := lx.Code + "/" + t.Term
					c.Rules = append(c.Rules, ruleRow{Rule: id, Label: t.Term, Kind: "term", Weight: t.Weight, Variants: strings.Join(t.Variants, "、"), MaxRunes: t.MaxFieldRunes, Stat: stats[id]})
					delete(stats, id)
				}
				for _, ru := range lx.Rules {
					id := lx.Code + "/" + ru.Name
					var groups []string
					for _, g := range ru.Groups {
						groups = append(groups, "["+strings.Join(g, " ")+"]")
					}
					c.Rules = append(c.Rules, ruleRow{Rule: id, Label: ru.Name, Kind: "rule", Weight: ru.Weight, Variants: strings.Join(groups, " + "), MaxRunes: ru.MaxFieldRunes, Stat: stats[id]})
					delete(stats, id)
				}
			}
		}
	}
	// Rules with verdicts that the lexicons no longer list (or all of them
	// when the analyzer cannot list its lexicons).
	for id, st := range stats {
		code, label, _ := strings.Cut(id, "/")
		c := get(code)
		c.Rules = append(c.Rules, ruleRow{Rule: id, Label: label, Kind: "fired", Stat: st})
	}
	out := make([]lexiconCategory, 0, len(order))
	sort.Strings(order)
	for _, code := range order {
		c := cats[code]
		sort.SliceStable(c.Rules, func(i, j int) bool {
			li, lj := c.Rules[i].Stat != nil, c.Rules[j].Stat != nil
			if li != lj {
				return li
			}
			if li && c.Rules[i].Stat.Leads != c.Rules[j].Stat.Leads {
				return c.Rules[i].Stat.Leads > c.Rules[j].Stat.Leads
			}
			return false
		})
		out = append(out, *c)
	}
	return out, full, nil
}

// lexiconPage lists categories, terms and rules with their precision, and
// the try-a-sentence box.
func (s *Server) lexiconPage(w http.ResponseWriter, r *http.Request) {
	s.showLexicons(w, r, http.StatusOK, &lexiconData{})
}

func (s *Server) showLexicons(w http.ResponseWriter, r *http.Request, status int, data *lexiconData) {
	v := s.newView(r, "lexicons", "lexicons.title", data)
	cats, full, err := s.lexiconRows(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data.Categories, data.Full = cats, full
	data.Editable = s.deps.Lexicons != nil
	if ml, ok := s.deps.Analyzer.(modelHolder); ok {
		if m := ml.Model(); m != nil {
			data.Model = &m.Info
		}
	}
	if s.deps.Analyzer == nil {
		v.Error = v.L.T("error.unavailable")
	}
	if data.reloadErr != "" {
		v.Error = v.L.T("lexicons.model_reload_failed", data.reloadErr)
	}
	s.render(w, r, status, "lexicons", v)
}

// modelReload reads the detection model file again (admins only): a
// model trained from analysts' verdicts goes live without a restart.
func (s *Server) modelReload(w http.ResponseWriter, r *http.Request) {
	mr, ok := s.deps.Analyzer.(ModelReloader)
	if !ok {
		s.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	if _, err := mr.ReloadModel(); err != nil {
		s.log.Warn("model reload", "error", err)
		s.showLexicons(w, r, http.StatusUnprocessableEntity, &lexiconData{reloadErr: err.Error()})
		return
	}
	http.Redirect(w, r, "/lexicons?ok=model_reloaded", http.StatusSeeOther)
}

// lexiconTry scores the submitted sentence and shows the assessment with
// its evidence marked.
func (s *Server) lexiconTry(w http.ResponseWriter, r *http.Request) {
	data := &lexiconData{Try: r.PostFormValue("text"), TryTitle: r.PostFormValue("title")}
	if s.deps.Analyzer == nil {
		s.showLexicons(w, r, http.StatusServiceUnavailable, data)
		return
	}
	if utf8.RuneCountInString(data.Try)+utf8.RuneCountInString(data.TryTitle) > maxTryRunes {
		v := s.newView(r, "lexicons", "lexicons.title", data)
		v.Error = v.L.T("lexicons.too_long", maxTryRunes)
		s.render(w, r, http.StatusBadRequest, "lexicons", v)
		return
	}
	a := s.deps.Analyzer.Analyze(nlp.Input{Title: data.TryTitle, Text: data.Try})
	data.Assessment = a
	var inText, inTitle []evSpan
	for _, ev := range a.Evidence {
		sp := evSpan{start: ev.Start, end: ev.End, label: ev.Rule}
		if ev.Field == "title" {
			inTitle = append(inTitle, sp)
		} else {
			inText = append(inText, sp)
		}
	}
	data.Segments = markSpans(data.Try, inText)
	data.TitleSegs = markSpans(data.TryTitle, inTitle)
	s.showLexicons(w, r, http.StatusOK, data)
}

// apiLexiconList answers GET /api/v1/lexicons.
func (s *Server) apiLexiconList(w http.ResponseWriter, r *http.Request) {
	cats, full, err := s.lexiconRows(r)
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	type rule struct {
		Rule      string  `json:"rule"`
		Kind      string  `json:"kind"`
		Weight    float64 `json:"weight,omitempty"`
		Leads     int     `json:"leads"`
		Confirmed int     `json:"confirmed"`
		Dismissed int     `json:"dismissed"`
		Precision float64 `json:"precision"`
	}
	type cat struct {
		Code  string `json:"code"`
		Name  string `json:"name"`
		Rules []rule `json:"rules"`
	}
	out := []cat{}
	for _, c := range cats {
		oc := cat{Code: c.Code, Name: c.Name, Rules: []rule{}}
		for _, ru := range c.Rules {
			x := rule{Rule: ru.Rule, Kind: ru.Kind, Weight: ru.Weight, Precision: -1}
			if ru.Stat != nil {
				x.Leads, x.Confirmed, x.Dismissed, x.Precision = ru.Stat.Leads, ru.Stat.Confirmed, ru.Stat.Dismissed, ru.Stat.Precision
			}
			oc.Rules = append(oc.Rules, x)
		}
		out = append(out, oc)
	}
	writeJSON(w, http.StatusOK, map[string]any{"complete": full, "categories": out})
}

// apiLexiconTry answers POST /api/v1/lexicons/try {"title","text"} with the
// analyzer's assessment (the JSON of riskmine score).
func (s *Server) apiLexiconTry(w http.ResponseWriter, r *http.Request) {
	if s.deps.Analyzer == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "the analyzer is not available")
		return
	}
	var in struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	if utf8.RuneCountInString(in.Text)+utf8.RuneCountInString(in.Title) > maxTryRunes {
		writeJSONError(w, http.StatusBadRequest, "text too long: at most 20000 characters")
		return
	}
	writeJSON(w, http.StatusOK, s.deps.Analyzer.Analyze(nlp.Input{Title: in.Title, Text: in.Text}))
}
