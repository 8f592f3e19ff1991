package web

import (
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/text/language"

	"riskmine/alerts"
)

// Languages offered by the UI; the first is the default.
var languages = []string{"zh-CN", "en"}

// loc translates message keys for one language. Templates call
// {{.L.T "key"}}; a missing key shows itself so gaps are visible (and a test
// checks that every key used by a template exists in every language).
type loc struct {
	Lang string
}

// T returns the message for key, formatted with args when given.
func (l loc) T(key string, args ...any) string {
	m, ok := catalog[l.Lang][key]
	if !ok {
		m, ok = catalog[languages[0]][key]
		if !ok {
			return key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(m, args...)
	}
	return m
}

// Other is the language the switch in the header offers.
func (l loc) Other() string {
	if l.Lang == "en" {
		return "zh-CN"
	}
	return "en"
}

// langFor picks the language: the cookie set by the switch, then the
// browser's Accept-Language, then Chinese.
func langFor(r *http.Request) loc {
	if c, err := r.Cookie(langCookie); err == nil {
		for _, l := range languages {
			if c.Value == l {
				return loc{Lang: l}
			}
		}
	}
	if h := r.Header.Get("Accept-Language"); h != "" {
		tags, _, err := language.ParseAcceptLanguage(h)
		if err == nil {
			for _, t := range tags {
				base, _ := t.Base()
				switch base.String() {
				case "zh":
					return loc{Lang: "zh-CN"}
				case "en":
					return loc{Lang: "en"}
				}
			}
		}
	}
	return loc{Lang: languages[0]}
}

// setLanguage stores the chosen language in a cookie and goes back.
func (s *Server) setLanguage(w http.ResponseWriter, r *http.Request) {
	l := r.URL.Query().Get("l")
	ok := false
	for _, x := range languages {
		ok = ok || x == l
	}
	if ok {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure})
	}
	http.Redirect(w, r, localRedirect(r.URL.Query().Get("next")), http.StatusSeeOther)
}

// levelName and stateName translate enumerations shown in many places.
func (l loc) Level(level string) string { return l.T("level." + level) }

// Cue names a severity cue's kind (nlp.CueKinds); an unknown kind is
// shown as it is.
func (l loc) Cue(kind string) string {
	if m, ok := catalog[l.Lang]["cue."+kind]; ok {
		return m
	}
	return kind
}

// State translates a lead state.
func (l loc) State(state string) string { return l.T("state." + state) }

// StateOr translates s when it is a lead state and returns it unchanged
// otherwise (audit entries hold states, assignees or lead ids).
func (l loc) StateOr(s string) string {
	if m, ok := catalog[l.Lang]["state."+s]; ok {
		return m
	}
	return s
}

// Category translates a category code, falling back to the code.
func (l loc) Category(code string) string {
	if m, ok := catalog[l.Lang]["cat."+code]; ok {
		return m
	}
	return code
}

// Suppression translates the reason nlp gives for a hit that does not
// count ("excluded: 消防演练", "negated: 没有").
func (l loc) Suppression(reason string) string {
	for _, k := range []string{"excluded", "negated"} {
		if rest, ok := strings.CutPrefix(reason, k+": "); ok {
			return l.T("suppressed."+k, rest)
		}
	}
	return reason
}

// AuditNote is an audit entry's note as the actor typed it, followed by
// the transition's reason, merge target and unit under labels in the
// user's language: 已核实（原因：重复）, or 已核实 (reason: 重复) in English.
// A capture's note (alerts.CaptureNote) is stated whole.
func (l loc) AuditNote(a alerts.AuditEntry) string {
	if s, ok := l.CaptureNote(a.Note); ok {
		return s
	}
	out := a.Note
	for _, p := range []struct{ v, key string }{{a.Reason, "audit.note_reason"}, {a.MergeInto, "audit.note_into"}, {a.Unit, "audit.note_unit"}} {
		if p.v != "" {
			out += l.T(p.key, p.v)
		}
	}
	return strings.TrimSpace(out)
}
