package web

import (
	"net/http"
	"strings"

	"riskmine/alerts"
)

// The CSV columns of the exports, as stable codes. The API's exports
// (/api/v1/export/…) keep the codes in the header and the values, for
// programs; the UI's exports (/export/…) are for people and speak the
// user's language: Chinese headers, level, state, category and audit
// names, 是/否.
var (
	leadColumns = []string{"id", "title", "level", "score", "state", "categories", "locations", "assignee", "unit",
		"first_seen", "last_seen", "due_at", "overdue", "resolution", "source_count", "source_urls", "summary", "audit",
		"place", "place_code", "case_number", "level_why"}
	searchColumns = []string{"id", "url", "title", "source", "site", "published_at", "level", "risk_score", "categories",
		"locations", "lead_id", "relevance", "fragment"}
)

// labels translates an export's header and coded values, or keeps the
// codes when l is nil.
type labels struct{ l *loc }

// exportLabels picks codes for the API's exports and the user's language
// for the UI's.
func exportLabels(r *http.Request) labels {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return labels{}
	}
	l := langFor(r)
	return labels{&l}
}

func (x labels) header(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c
		if x.l != nil {
			out[i] = x.l.T("export.col." + c)
		}
	}
	return out
}

func (x labels) level(v string) string {
	if x.l == nil || v == "" {
		return v
	}
	return x.l.Level(v)
}

func (x labels) state(v string) string {
	if x.l == nil || v == "" {
		return v
	}
	return x.l.State(v)
}

func (x labels) category(v string) string {
	if x.l == nil {
		return v
	}
	return x.l.Category(v)
}

// levelWhy lists the cues behind a lead's level (Lead.LevelReasons): kind
// and phrase as codes, "trapped:两人被困; …", or named in the user's
// language, "人员被困「两人被困」; …".
func (x labels) levelWhy(l *alerts.Lead) string {
	var parts []string
	for _, q := range l.LevelReasons(8) {
		if x.l == nil {
			parts = append(parts, q.Kind+":"+q.Text)
		} else {
			parts = append(parts, x.l.Cue(q.Kind)+"「"+q.Text+"」")
		}
	}
	return strings.Join(parts, "; ")
}

func (x labels) action(v string) string {
	if x.l == nil {
		return v
	}
	return x.l.T("audit." + v)
}

// note is an audit entry's note with its reason, merge target and unit:
// labelled in the user's language, or as reason=…, into=…, unit=… codes.
func (x labels) note(a alerts.AuditEntry) string {
	if x.l != nil {
		return x.l.AuditNote(a)
	}
	out := a.Note
	for _, p := range []struct{ k, v string }{{"reason", a.Reason}, {"into", a.MergeInto}, {"unit", a.Unit}} {
		if p.v != "" {
			out += " " + p.k + "=" + p.v
		}
	}
	return strings.TrimSpace(out)
}

func (x labels) yesNo(b bool) string {
	switch {
	case x.l == nil:
		if b {
			return "true"
		}
		return "false"
	case b:
		return x.l.T("common.yes")
	}
	return x.l.T("common.no")
}
