package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"riskmine/nlp"
)

// MaxLexiconYAML is the largest lexicon text accepted from the UI or API.
const MaxLexiconYAML = 256 << 10

// LexiconFiles lets administrators edit the lexicons in the UI. An edit of
// category CODE is written to Dir/CODE.yaml — Dir is nlp.lexicon_dir, so
// serve, score, `lexicon test` and model training all read it, and a
// restart keeps it — after it parsed and every lexicon case passed with it
// in place; then Reload puts the lexicons live. Restoring removes the file,
// so the embedded lexicon counts again.
type LexiconFiles struct {
	// Dir is nlp.lexicon_dir; empty turns editing off (the page says so).
	Dir string
	// Thresholds are the configured levels, as `lexicon test` uses them.
	Thresholds nlp.Thresholds
	// Reload rebuilds the running analyzer from the lexicon files (the
	// model reload path); on an error the running analyzer stays.
	Reload func() error

	mu sync.Mutex // one edit at a time
}

// lexiconRefusal is an edit refused for its content: the parse error (file,
// line, key) or the failed cases. Nothing was changed.
type lexiconRefusal struct {
	Parse    string
	Failures []nlp.LexiconCaseFailure
}

func (e *lexiconRefusal) Error() string {
	if e.Parse != "" {
		return e.Parse
	}
	var parts []string
	for i, f := range e.Failures {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Failures)-5))
			break
		}
		parts = append(parts, f.Code+" "+f.Kind+": "+f.Text)
	}
	return fmt.Sprintf("%d lexicon cases failed: %s", len(e.Failures), strings.Join(parts, "; "))
}

// errLexiconsReadOnly refuses edits when nlp.lexicon_dir is not set.
var errLexiconsReadOnly = errors.New("web: lexicon editing needs nlp.lexicon_dir")

// lexiconText is a category's lexicon as in effect.
type lexiconText struct {
	Code string `json:"code"`
	YAML string `json:"yaml"`
	// Origin is "lexicon_dir" (a file of nlp.lexicon_dir, edited here or
	// by hand) or "embedded".
	Origin      string `json:"origin"`
	HasEmbedded bool   `json:"has_embedded"`
	Editable    bool   `json:"editable"`
}

func (lf *LexiconFiles) path(code string) string { return filepath.Join(lf.Dir, code+".yaml") }

// current returns the lexicon of code in effect.
func (lf *LexiconFiles) current(code string) (lexiconText, error) {
	emb, hasEmb := nlp.EmbeddedLexicon(code)
	t := lexiconText{Code: code, HasEmbedded: hasEmb, Editable: lf.Dir != ""}
	if lf.Dir != "" {
		if b, err := os.ReadFile(lf.path(code)); err == nil {
			t.YAML, t.Origin = string(b), "lexicon_dir"
			return t, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return t, err
		}
	}
	if !hasEmb {
		return t, ErrNotFound
	}
	t.YAML, t.Origin = string(emb), "embedded"
	return t, nil
}

// check builds the lexicons as they would be with text as code's file
// (text nil: without the file) and runs every case, as `riskmine lexicon
// test` does. Nothing is written to Dir.
func (lf *LexiconFiles) check(code string, text []byte) (int, error) {
	if text != nil {
		if _, err := nlp.ParseCategoryLexicon(code, text); err != nil {
			return 0, &lexiconRefusal{Parse: strings.TrimPrefix(err.Error(), "nlp: ")}
		}
	}
	tmp, err := os.MkdirTemp("", "riskmine-lexicon-check-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	names, err := filepath.Glob(filepath.Join(lf.Dir, "*.yaml"))
	if err != nil {
		return 0, err
	}
	for _, name := range names {
		base := filepath.Base(name)
		if strings.HasSuffix(base, ".cases.yaml") || base == code+".yaml" {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(tmp, base), b, 0o600); err != nil {
			return 0, err
		}
	}
	if text != nil {
		if err := os.WriteFile(filepath.Join(tmp, code+".yaml"), text, 0o600); err != nil {
			return 0, err
		}
	}
	an, err := nlp.NewAnalyzer(nlp.Options{LexiconDir: tmp, NoFingerprint: true, LexiconOnly: true, Thresholds: lf.Thresholds})
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "nlp: ")
		return 0, &lexiconRefusal{Parse: strings.ReplaceAll(msg, tmp+string(filepath.Separator), "")}
	}
	cases, err := nlp.LoadLexiconCases(lf.Dir)
	if err != nil {
		return 0, &lexiconRefusal{Parse: strings.TrimPrefix(err.Error(), "nlp: ")}
	}
	n, failures := nlp.CheckLexiconCases(an, cases)
	if len(failures) > 0 {
		return n, &lexiconRefusal{Failures: failures}
	}
	return n, nil
}

// apply writes text (nil: removes the file) after check passed and
// reloads; when the reload fails the previous file is put back.
func (lf *LexiconFiles) apply(code string, text []byte) (before string, cases int, err error) {
	if lf.Dir == "" {
		return "", 0, errLexiconsReadOnly
	}
	lf.mu.Lock()
	defer lf.mu.Unlock()
	cur, err := lf.current(code)
	if err != nil && !(errors.Is(err, ErrNotFound) && text != nil) {
		return "", 0, err
	}
	if text == nil && !cur.HasEmbedded {
		return "", 0, &lexiconRefusal{Parse: fmt.Sprintf("code: %q has no embedded lexicon to restore", code)}
	}
	if cases, err = lf.check(code, text); err != nil {
		return "", cases, err
	}
	path := lf.path(code)
	old, oldErr := os.ReadFile(path)
	if text == nil {
		err = os.Remove(path)
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
	} else {
		err = writeFileAtomic(path, text)
	}
	if err != nil {
		return "", cases, fmt.Errorf("web: write lexicon %s: %w", code, err)
	}
	if lf.Reload != nil {
		if rerr := lf.Reload(); rerr != nil {
			if oldErr == nil {
				writeFileAtomic(path, old)
			} else {
				os.Remove(path)
			}
			return "", cases, fmt.Errorf("web: lexicons not reloaded, the previous file is back: %w", rerr)
		}
	}
	return cur.YAML, cases, nil
}

// writeFileAtomic writes b to path through a temporary file and a rename,
// so a reader sees the old file or the new one, never half of one.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".lexicon-*.tmp")
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}

// LexiconChange is one audited lexicon edit.
type LexiconChange struct {
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"` // save or restore
	Code    string    `json:"code"`
	Summary string    `json:"summary"` // what changed, in Chinese
	Before  string    `json:"before"`
	After   string    `json:"after"`
}

// lexiconAuditTable is a migration step; earlier releases created the
// table on first use, so it says IF NOT EXISTS to adopt theirs.
const lexiconAuditTable = `CREATE TABLE IF NOT EXISTS web_lexicon_audit (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	at      INTEGER NOT NULL,
	actor   TEXT NOT NULL,
	action  TEXT NOT NULL,
	code    TEXT NOT NULL,
	summary TEXT NOT NULL,
	before  TEXT NOT NULL,
	after   TEXT NOT NULL
)`

// recordLexiconChange writes an audit row.
func (s *Store) recordLexiconChange(ctx context.Context, c LexiconChange) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO web_lexicon_audit (at, actor, action, code, summary, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.At.Unix(), c.Actor, c.Action, c.Code, c.Summary, c.Before, c.After)
	return err
}

// LexiconAudit returns the latest lexicon edits, newest first.
func (s *Store) LexiconAudit(ctx context.Context, limit int) ([]LexiconChange, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT at, actor, action, code, summary, before, after FROM web_lexicon_audit ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []LexiconChange{}
	for rows.Next() {
		var c LexiconChange
		var at int64
		if err := rows.Scan(&at, &c.Actor, &c.Action, &c.Code, &c.Summary, &c.Before, &c.After); err != nil {
			return nil, err
		}
		c.At = time.Unix(at, 0)
		out = append(out, c)
	}
	return out, rows.Err()
}

// lexiconDiff summarises what changed between two lexicon texts in
// Chinese, for the audit: terms and rules added, removed or changed.
func lexiconDiff(code, before, after string) string {
	parse := func(s string) *nlp.Lexicon {
		if s == "" {
			return &nlp.Lexicon{}
		}
		lx, err := nlp.ParseLexicon(code+".yaml", []byte(s))
		if err != nil {
			return &nlp.Lexicon{}
		}
		return lx
	}
	b, a := parse(before), parse(after)
	terms := func(lx *nlp.Lexicon) map[string]string {
		m := map[string]string{}
		for _, t := range lx.Terms {
			m[t.Term] = fmt.Sprintf("%v|%v|%d", t.Weight, t.Variants, t.MaxFieldRunes)
		}
		return m
	}
	rules := func(lx *nlp.Lexicon) map[string]string {
		m := map[string]string{}
		for _, r := range lx.Rules {
			m[r.Name] = fmt.Sprintf("%v|%v|%d", r.Weight, r.Groups, r.MaxFieldRunes)
		}
		return m
	}
	var parts []string
	section := func(label string, bm, am map[string]string) {
		var add, del, mod []string
		for k, v := range am {
			if old, ok := bm[k]; !ok {
				add = append(add, k)
			} else if old != v {
				mod = append(mod, k)
			}
		}
		for k := range bm {
			if _, ok := am[k]; !ok {
				del = append(del, k)
			}
		}
		for _, x := range []struct {
			sign string
			l    []string
		}{{"新增", add}, {"删除", del}, {"修改", mod}} {
			if len(x.l) == 0 {
				continue
			}
			sort.Strings(x.l)
			list := x.l
			if len(list) > 8 {
				list = append(list[:8:8], "等")
			}
			parts = append(parts, label+x.sign+" "+strconv.Itoa(len(x.l))+"（"+strings.Join(list, "、")+"）")
		}
	}
	section("词条", terms(b), terms(a))
	section("规则", rules(b), rules(a))
	other := func(lx *nlp.Lexicon) string {
		return fmt.Sprintf("%s|%v|%v|%v|%v|%v", lx.Name, lx.Severity, lx.TitleWeight, lx.Negations, lx.Exclusions, lx.Intensifiers)
	}
	if other(b) != other(a) {
		parts = append(parts, "名称、权重系数或否定/排除/加强词有改动")
	}
	if len(parts) == 0 {
		return "内容未变（仅格式或注释）"
	}
	return strings.Join(parts, "；")
}

// lexiconEditData is the edit page.
type lexiconEditData struct {
	Text     lexiconText
	YAML     string // the text in the form (kept after a refusal)
	Refusal  *lexiconRefusal
	Cases    int
	Audit    []LexiconChange
	Dir      bool // nlp.lexicon_dir is set
	Category string
}

func (s *Server) lexiconFiles() *LexiconFiles { return s.deps.Lexicons }

// lexiconEditPage answers GET /lexicons/edit/{code}.
func (s *Server) lexiconEditPage(w http.ResponseWriter, r *http.Request) {
	s.renderLexiconEdit(w, r, http.StatusOK, r.PathValue("code"), nil, "", 0)
}

func (s *Server) renderLexiconEdit(w http.ResponseWriter, r *http.Request, status int, code string, refusal *lexiconRefusal, yaml string, cases int) {
	lf := s.lexiconFiles()
	if lf == nil {
		s.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	cur, err := lf.current(code)
	if errors.Is(err, ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data := &lexiconEditData{Text: cur, YAML: cur.YAML, Refusal: refusal, Cases: cases, Dir: lf.Dir != ""}
	if yaml != "" {
		data.YAML = yaml
	}
	all, err := s.store.LexiconAudit(r.Context(), 200)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	for _, c := range all {
		if c.Code == code {
			data.Audit = append(data.Audit, c)
		}
	}
	v := s.newView(r, "lexicons", "lexedit.title", data)
	data.Category = v.L.Category(code)
	v.Title = v.L.T("lexedit.title_of", data.Category, code)
	if refusal != nil {
		v.Error = v.L.T("lexedit.refused")
	}
	s.render(w, r, status, "lexicon_edit", v)
}

// saveLexicon applies an edit (text nil: restore) and audits it.
func (s *Server) saveLexicon(r *http.Request, code string, text []byte) (int, error) {
	lf := s.lexiconFiles()
	if lf == nil {
		return 0, errLexiconsReadOnly
	}
	before, cases, err := lf.apply(code, text)
	if err != nil {
		return cases, err
	}
	action, after := "save", string(text)
	if text == nil {
		action = "restore"
		emb, _ := nlp.EmbeddedLexicon(code)
		after = string(emb)
	}
	c := LexiconChange{At: s.now(), Actor: actor(r), Action: action, Code: code, Summary: lexiconDiff(code, before, after), Before: before, After: after}
	if text == nil {
		c.Summary = "恢复内置词库；" + c.Summary
	}
	if err := s.store.recordLexiconChange(r.Context(), c); err != nil {
		return cases, err
	}
	s.log.Info("lexicon changed", "code", code, "action", action, "by", c.Actor, "summary", c.Summary)
	return cases, nil
}

// lexiconEditSave answers POST /lexicons/edit/{code} (form field yaml).
func (s *Server) lexiconEditSave(w http.ResponseWriter, r *http.Request) {
	s.lexiconEditDo(w, r, []byte(r.PostFormValue("yaml")))
}

// lexiconEditRestore answers POST /lexicons/edit/{code}/restore.
func (s *Server) lexiconEditRestore(w http.ResponseWriter, r *http.Request) {
	s.lexiconEditDo(w, r, nil)
}

func (s *Server) lexiconEditDo(w http.ResponseWriter, r *http.Request, text []byte) {
	code := r.PathValue("code")
	if len(text) > MaxLexiconYAML {
		s.renderLexiconEdit(w, r, http.StatusRequestEntityTooLarge, code, &lexiconRefusal{Parse: "the lexicon is longer than 256 KiB"}, "", 0)
		return
	}
	cases, err := s.saveLexicon(r, code, text)
	var ref *lexiconRefusal
	switch {
	case errors.As(err, &ref):
		s.renderLexiconEdit(w, r, http.StatusUnprocessableEntity, code, ref, string(text), cases)
		return
	case errors.Is(err, errLexiconsReadOnly):
		s.renderLexiconEdit(w, r, http.StatusConflict, code, nil, string(text), 0)
		return
	case errors.Is(err, ErrNotFound):
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/lexicons/edit/"+code+"?ok=lexicon_saved", http.StatusSeeOther)
}

// apiLexiconGet answers GET /api/v1/lexicons/{code}: the text in effect.
func (s *Server) apiLexiconGet(w http.ResponseWriter, r *http.Request) {
	lf := s.lexiconFiles()
	if lf == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "lexicon editing is not available in this process")
		return
	}
	t, err := lf.current(r.PathValue("code"))
	if errors.Is(err, ErrNotFound) {
		writeJSONError(w, http.StatusNotFound, "no lexicon of that category")
		return
	}
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// apiLexiconPut answers PUT /api/v1/lexicons/{code} (body: the YAML) and
// POST /api/v1/lexicons/{code}/restore.
func (s *Server) apiLexiconPut(restore bool) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		var text []byte
		if !restore {
			b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxLexiconYAML))
			if err != nil {
				writeJSONError(w, http.StatusRequestEntityTooLarge, "body: the lexicon is longer than 256 KiB")
				return
			}
			text = b
		}
		cases, err := s.saveLexicon(r, r.PathValue("code"), text)
		var ref *lexiconRefusal
		switch {
		case errors.As(err, &ref):
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": ref.Error(), "parse_error": ref.Parse, "failures": ref.Failures})
			return
		case errors.Is(err, errLexiconsReadOnly):
			writeJSONError(w, http.StatusConflict, "nlp.lexicon_dir is not set: lexicon edits are written there")
			return
		case errors.Is(err, ErrNotFound):
			writeJSONError(w, http.StatusNotFound, "no lexicon of that category")
			return
		case err != nil:
			s.apiServerError(w, r, err)
			return
		}
		t, err := s.lexiconFiles().current(r.PathValue("code"))
		if err != nil {
			s.apiServerError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"lexicon": t, "cases": cases})
	}
}

// apiLexiconAudit answers GET /api/v1/lexicons/audit.
func (s *Server) apiLexiconAudit(w http.ResponseWriter, r *http.Request) {
	all, err := s.store.LexiconAudit(r.Context(), 1000)
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": len(all), "items": all})
}
