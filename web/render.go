package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// pageTemplate is one page parsed together with the layout.
type pageTemplate struct {
	t *template.Template
}

// view is what every page template receives.
type view struct {
	L      loc
	User   *User
	CSRF   string
	Active string // navigation entry to highlight
	Zone   string // the zone times are shown in, with its offset
	Title  string // already translated
	Path   string // request URI, for the language switch
	Flash  string // translated notice, e.g. after a redirect
	Error  string // translated or plain error shown above the content
	Data   any
}

// CanEdit reports whether the user may change leads and searches.
func (v view) CanEdit() bool { return v.User != nil && v.User.Role.AtLeast(RoleAnalyst) }

// IsAdmin reports whether the user may change configuration and users.
func (v view) IsAdmin() bool { return v.User != nil && v.User.Role.AtLeast(RoleAdmin) }

// timeLayout is how pages show a time: to the minute, with the offset of
// the configured zone so nobody has to guess which zone it is.
const timeLayout = "2006-01-02 15:04 -07:00"

// zoneFuncs are the template functions that depend on the configured zone.
func zoneFuncs(loc *time.Location) template.FuncMap {
	return template.FuncMap{
		"fmtTime": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(loc).Format(timeLayout)
		},
	}
}

var templateFuncs = template.FuncMap{
	"fmtDur": func(d time.Duration) string {
		if d <= 0 {
			return "—"
		}
		return d.Round(time.Millisecond).String()
	},
	"pct":    func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	"f2":     func(f float64) string { return fmt.Sprintf("%.2f", f) },
	"mul100": func(f float64) float64 { return f * 100 },
	"join": func(xs []string, sep string) string {
		return strings.Join(xs, sep)
	},
	"add":           func(a, b int) int { return a + b },
	"categoryCodes": func() []string { return categoryCodes },
	"list":          func(xs ...string) []string { return xs },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			m[k] = kv[i+1]
		}
		return m
	},
	"queryWith": func(base string, kv ...string) string {
		return queryWith(base, kv...)
	},
	// exportLink turns the current page's URL into an export URL with the
	// same filters, all rows and the given format.
	"exportLink": func(current, exportPath, format string) string {
		u, err := url.Parse(current)
		if err != nil {
			return exportPath + "?format=" + url.QueryEscape(format)
		}
		q := u.Query()
		q.Del("page")
		q.Del("offset")
		q.Del("ok")
		q.Set("format", format)
		return exportPath + "?" + q.Encode()
	},
	"assigneeOptions": assigneeOptions,
	"deref": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
}

// assigneeOption is one choice of an assignee select.
type assigneeOption struct {
	Name     string
	Selected bool
}

// assigneeOptions lists the assignable users with current selected; a
// current assignee who is no longer assignable (disabled, or typed before
// assignees were checked) stays listed so the page shows the truth.
func assigneeOptions(names []string, current string) []assigneeOption {
	out := make([]assigneeOption, 0, len(names)+1)
	found := current == ""
	for _, n := range names {
		out = append(out, assigneeOption{Name: n, Selected: n == current})
		found = found || n == current
	}
	if !found {
		out = append(out, assigneeOption{Name: current, Selected: true})
	}
	return out
}

// parsePages parses templates/layout.html with each other page template.
func parsePages(loc *time.Location) (map[string]*pageTemplate, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: list templates: %w", err)
	}
	pages := map[string]*pageTemplate{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		files := []string{"templates/layout.html", n}
		partials, _ := fs.Glob(templateFS, "templates/_*.html")
		files = append(files, partials...)
		t, err := template.New("layout.html").Funcs(templateFuncs).Funcs(zoneFuncs(loc)).ParseFS(templateFS, files...)
		if err != nil {
			return nil, fmt.Errorf("web: parse template %s: %w", n, err)
		}
		pages[base] = &pageTemplate{t: t}
	}
	return pages, nil
}

// newView fills the fields every page needs.
func (s *Server) newView(r *http.Request, active, titleKey string, data any) *view {
	l := langFor(r)
	v := &view{L: l, Active: active, Title: l.T(titleKey), Path: r.URL.RequestURI(), Data: data, Zone: s.zoneLabel()}
	if p := principalFrom(r.Context()); p != nil {
		v.User = p.User
		if p.Session != nil {
			v.CSRF = p.Session.CSRF
		}
	}
	if k := r.URL.Query().Get("ok"); k != "" {
		if m, ok := catalog[l.Lang]["flash."+k]; ok {
			v.Flash = m
		}
	}
	return v
}

// render executes a page into a buffer first, so a template error yields a
// clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	p, ok := s.pages[name]
	if !ok {
		s.serverError(w, r, fmt.Errorf("web: no template %q", name))
		return
	}
	var buf bytes.Buffer
	if err := p.t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("render page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderError shows an error page with a translated message.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, key string) {
	v := s.newView(r, "", "error.title", nil)
	v.Error = v.L.T(key)
	s.render(w, r, status, "error", v)
}

// serverError logs err and shows a generic error page.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	s.renderError(w, r, http.StatusInternalServerError, "error.internal")
}

// writeJSON writes v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// apiError is the body of every API error.
type apiError struct {
	Error string `json:"error"`
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}

// apiServerError logs err and answers 500 without internal details.
func (s *Server) apiServerError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	writeJSONError(w, http.StatusInternalServerError, "internal error")
}

// queryWith returns base (a path with an optional query) with the given
// key/value pairs set; an empty value removes the key.
func queryWith(base string, kv ...string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	u.RawQuery = q.Encode()
	return u.RequestURI()
}
