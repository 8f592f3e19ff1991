package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"riskmine/config"
	"riskmine/crawler"
)

// SourceEditor is what the sources admin page needs from the scheduler to
// put UI sources live (*crawler.Scheduler).
type SourceEditor interface {
	// BaseSources are the config file's sources.
	BaseSources() []crawler.Source
	// SetExtraSources replaces the sources added at run time; a name of a
	// base source is skipped (the config file wins).
	SetExtraSources(srcs []crawler.Source) error
}

type sourceAdminData struct {
	ConfigSources []crawler.Source
	UISources     []UISource
	Audit         []SourceChange
	YAML          string // the add form's text, kept after an error
	Test          *sourceTestData
	CanTest       bool
}

// sourceErrorText is a one-line validation error naming the key (and line).
func sourceErrorText(err error) string {
	var ce *config.Error
	if errors.As(err, &ce) {
		msg := ce.Msg
		if ce.Key != "" {
			msg = ce.Key + ": " + msg
		}
		if ce.Line > 0 {
			msg = fmt.Sprintf("line %d: %s", ce.Line, msg)
		}
		return msg
	}
	return err.Error()
}

// configSourceNames are the names of the config file's sources.
func (s *Server) configSources() []crawler.Source {
	if s.deps.SourceEditor != nil {
		return s.deps.SourceEditor.BaseSources()
	}
	if s.deps.Sources != nil {
		return s.deps.Sources.Sources()
	}
	return nil
}

func (s *Server) isConfigSource(name string) bool {
	for _, c := range s.configSources() {
		if c.Name == name {
			return true
		}
	}
	return false
}

// SyncSources puts the UI sources that are not paused live in the
// scheduler; the service calls it at start, the handlers after a change.
func (s *Server) SyncSources(ctx context.Context) error {
	if s.deps.SourceEditor == nil {
		return nil
	}
	all, err := s.store.UISources(ctx)
	if err != nil {
		return err
	}
	var live []crawler.Source
	for _, u := range all {
		if u.Paused || s.isConfigSource(u.Name) {
			continue
		}
		src, err := ParseUISource(u.YAML)
		if err != nil {
			s.log.Warn("UI source no longer valid; not scheduled", "source", u.Name, "error", sourceErrorText(err))
			continue
		}
		live = append(live, src)
	}
	return s.deps.SourceEditor.SetExtraSources(live)
}

// errSourceInput is a refusal to show the user (400 or 409).
type errSourceInput struct {
	status int
	msg    string
}

func (e *errSourceInput) Error() string { return e.msg }

// saveSource validates text and creates (name "") or updates the UI source.
func (s *Server) saveSource(r *http.Request, name, text string) (UISource, error) {
	src, err := ParseUISource(text)
	if err != nil {
		return UISource{}, &errSourceInput{http.StatusBadRequest, sourceErrorText(err)}
	}
	if name != "" && src.Name != name {
		return UISource{}, &errSourceInput{http.StatusBadRequest, fmt.Sprintf("name: must stay %q (delete the source and add it again to rename it)", name)}
	}
	if s.isConfigSource(src.Name) {
		return UISource{}, &errSourceInput{http.StatusConflict, fmt.Sprintf("name: %q is a source of the config file", src.Name)}
	}
	var u UISource
	if name == "" {
		u, err = s.store.CreateUISource(r.Context(), actor(r), src.Name, text)
	} else {
		u, err = s.store.UpdateUISource(r.Context(), actor(r), name, text)
	}
	switch {
	case errors.Is(err, ErrSourceExists):
		return u, &errSourceInput{http.StatusConflict, fmt.Sprintf("name: a source named %q exists", src.Name)}
	case errors.Is(err, ErrNotFound):
		return u, &errSourceInput{http.StatusNotFound, fmt.Sprintf("no UI source named %q", name)}
	case err != nil:
		return u, err
	}
	s.log.Info("UI source saved", "source", src.Name, "by", actor(r))
	return u, s.SyncSources(r.Context())
}

// setSource pauses, resumes or deletes the UI source name.
func (s *Server) setSource(r *http.Request, name, action string) error {
	var err error
	switch action {
	case "pause", "resume":
		_, err = s.store.PauseUISource(r.Context(), actor(r), name, action == "pause")
	case "delete":
		err = s.store.DeleteUISource(r.Context(), actor(r), name)
	}
	if errors.Is(err, ErrNotFound) {
		return &errSourceInput{http.StatusNotFound, fmt.Sprintf("no UI source named %q", name)}
	}
	if err != nil {
		return err
	}
	s.log.Info("UI source changed", "source", name, "action", action, "by", actor(r))
	return s.SyncSources(r.Context())
}

// sourceAdminPage is the admins' page of config and UI sources.
func (s *Server) sourceAdminPage(w http.ResponseWriter, r *http.Request) {
	s.renderSourceAdmin(w, r, http.StatusOK, "", "")
}

func (s *Server) renderSourceAdmin(w http.ResponseWriter, r *http.Request, status int, errMsg, yaml string) {
	if errMsg != "" {
		errMsg = langFor(r).T("srcadmin.invalid", errMsg)
	}
	s.renderSourceAdminTest(w, r, status, errMsg, &sourceTestData{YAML: yaml})
}

// renderSourceAdminTest renders the page with the tester's form and result
// (td.YAML also fills the add form); errText is shown as is.
func (s *Server) renderSourceAdminTest(w http.ResponseWriter, r *http.Request, status int, errText string, td *sourceTestData) {
	data := &sourceAdminData{ConfigSources: s.configSources(), YAML: td.YAML, Test: td, CanTest: s.sourceTester() != nil}
	v := s.newView(r, "sources", "srcadmin.title", data)
	var err error
	if data.UISources, err = s.store.UISources(r.Context()); err != nil {
		s.serverError(w, r, err)
		return
	}
	if data.Audit, err = s.store.SourceAudit(r.Context(), 100); err != nil {
		s.serverError(w, r, err)
		return
	}
	v.Error = errText
	s.render(w, r, status, "source_admin", v)
}

func (s *Server) sourceAdminError(w http.ResponseWriter, r *http.Request, err error, yaml string) {
	var in *errSourceInput
	if errors.As(err, &in) {
		s.renderSourceAdmin(w, r, in.status, in.msg, yaml)
		return
	}
	s.serverError(w, r, err)
}

// sourceAdminCreate answers POST /sources/manage (form field yaml).
func (s *Server) sourceAdminCreate(w http.ResponseWriter, r *http.Request) {
	text := r.PostFormValue("yaml")
	if _, err := s.saveSource(r, "", text); err != nil {
		s.sourceAdminError(w, r, err, text)
		return
	}
	http.Redirect(w, r, "/sources/manage?ok=source_saved", http.StatusSeeOther)
}

// sourceAdminUpdate answers POST /sources/manage/{name}/save (form field yaml).
func (s *Server) sourceAdminUpdate(w http.ResponseWriter, r *http.Request) {
	if _, err := s.saveSource(r, r.PathValue("name"), r.PostFormValue("yaml")); err != nil {
		s.sourceAdminError(w, r, err, "")
		return
	}
	http.Redirect(w, r, "/sources/manage?ok=source_saved", http.StatusSeeOther)
}

// sourceAdminAction answers POST /sources/manage/{name}/{action}.
func (s *Server) sourceAdminAction(action string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.setSource(r, r.PathValue("name"), action); err != nil {
			s.sourceAdminError(w, r, err, "")
			return
		}
		http.Redirect(w, r, "/sources/manage?ok=source_"+action, http.StatusSeeOther)
	}
}

func readSourceBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxSourceYAML))
	if err != nil {
		writeJSONError(w, http.StatusRequestEntityTooLarge, "body: the source is longer than 64 KiB")
		return "", false
	}
	if strings.TrimSpace(string(b)) == "" {
		writeJSONError(w, http.StatusBadRequest, "body: the source's YAML or JSON is required")
		return "", false
	}
	return string(b), true
}

func (s *Server) apiSourceError(w http.ResponseWriter, r *http.Request, err error) {
	var in *errSourceInput
	if errors.As(err, &in) {
		writeJSONError(w, in.status, in.msg)
		return
	}
	s.apiServerError(w, r, err)
}

// apiUISourceList answers GET /api/v1/sources/ui.
func (s *Server) apiUISourceList(w http.ResponseWriter, r *http.Request) {
	all, err := s.store.UISources(r.Context())
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": len(all), "items": all})
}

// apiSourceAudit answers GET /api/v1/sources/audit.
func (s *Server) apiSourceAudit(w http.ResponseWriter, r *http.Request) {
	all, err := s.store.SourceAudit(r.Context(), 1000)
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": len(all), "items": all})
}

// apiSourceCreate answers POST /api/v1/sources; the body is the source as
// YAML or JSON, the shape of a crawler.sources entry of the config file.
func (s *Server) apiSourceCreate(w http.ResponseWriter, r *http.Request) {
	text, ok := readSourceBody(w, r)
	if !ok {
		return
	}
	u, err := s.saveSource(r, "", text)
	if err != nil {
		s.apiSourceError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/sources/"+url.PathEscape(u.Name))
	writeJSON(w, http.StatusCreated, u)
}

// apiSourceUpdate answers PUT /api/v1/sources/{name}.
func (s *Server) apiSourceUpdate(w http.ResponseWriter, r *http.Request) {
	text, ok := readSourceBody(w, r)
	if !ok {
		return
	}
	u, err := s.saveSource(r, r.PathValue("name"), text)
	if err != nil {
		s.apiSourceError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// apiSourceAction answers DELETE /api/v1/sources/{name} and POST
// /api/v1/sources/{name}/pause and /resume.
func (s *Server) apiSourceAction(action string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.setSource(r, r.PathValue("name"), action); err != nil {
			s.apiSourceError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": action})
	}
}
