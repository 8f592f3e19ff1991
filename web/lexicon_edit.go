package web

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"riskmine/internal/atomicfile"
	"riskmine/nlp"
)

// MaxLexiconYAML is the largest lexicon text accepted from the UI or API.
const MaxLexiconYAML = 256 << 10

// LexiconFiles lets administrators edit the lexicons in the UI: a
// category's lexicon, the shared cues (_common.yaml) and a category's
// cases. An edit is written to Dir — nlp.lexicon_dir, so serve, score,
// `lexicon test` and model training all read it, and a restart keeps it —
// after it parsed and every lexicon case of every category passed with it
// in place; then Reload puts the lexicons live. Restoring removes the
// file, so the embedded version counts again.
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

// The files of nlp.lexicon_dir the editor changes.
const (
	// lexKindLexicon is Dir/<code>.yaml, which replaces the category.
	lexKindLexicon = "lexicon"
	// lexKindCommon is Dir/_common.yaml, whose negations, exclusions and
	// intensifiers are added to the embedded shared cues of every
	// category.
	lexKindCommon = "common"
	// lexKindCases is Dir/<code>.cases.yaml, which replaces the
	// category's embedded cases.
	lexKindCases = "cases"
)

// commonCode names the shared cues where a category code goes (URLs,
// the API, the audit).
const commonCode = "_common"

// lexFile is one file of nlp.lexicon_dir the editor changes.
type lexFile struct {
	Kind string
	Code string // the category; "" for the shared cues
}

var editCodeRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// lexFileOf resolves the {code} of a URL ("_common" is the shared cues);
// cases asks for the category's cases file.
func lexFileOf(code string, cases bool) (lexFile, error) {
	switch {
	case code == commonCode && !cases:
		return lexFile{Kind: lexKindCommon}, nil
	case !editCodeRE.MatchString(code):
		return lexFile{}, ErrNotFound
	case cases:
		return lexFile{Kind: lexKindCases, Code: code}, nil
	}
	return lexFile{Kind: lexKindLexicon, Code: code}, nil
}

// Name is the file's name in nlp.lexicon_dir.
func (f lexFile) Name() string {
	switch f.Kind {
	case lexKindCommon:
		return commonCode + ".yaml"
	case lexKindCases:
		return f.Code + ".cases.yaml"
	}
	return f.Code + ".yaml"
}

// AuditCode is what the audit and the API call the file: fire, _common,
// fire.cases.
func (f lexFile) AuditCode() string { return strings.TrimSuffix(f.Name(), ".yaml") }

// EditPath is the file's page.
func (f lexFile) EditPath() string {
	switch f.Kind {
	case lexKindCommon:
		return "/lexicons/edit/" + commonCode
	case lexKindCases:
		return "/lexicons/edit/" + f.Code + "/cases"
	}
	return "/lexicons/edit/" + f.Code
}

// parse checks text as this file before the cases run.
func (f lexFile) parse(text []byte) error {
	var err error
	switch f.Kind {
	case lexKindCommon:
		_, err = nlp.ParseLexicon(f.Name(), text)
	case lexKindCases:
		var c nlp.LexiconCases
		c, err = nlp.ParseLexiconCases(f.Name(), text)
		if err == nil && len(c.Positive) == 0 {
			err = fmt.Errorf("%s: positive: expected at least one sentence the category must find", f.Name())
		}
	default:
		_, err = nlp.ParseCategoryLexicon(f.Code, text)
	}
	return err
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

// lexiconText is a lexicon file as in effect.
type lexiconText struct {
	// Code is the category, or _common for the shared cues.
	Code string `json:"code"`
	// Kind is lexicon, common or cases; File its name in nlp.lexicon_dir.
	Kind string `json:"kind"`
	File string `json:"file"`
	YAML string `json:"yaml"`
	// Origin is "lexicon_dir" (a file of nlp.lexicon_dir, edited here or
	// by hand), "embedded", or "none" (no file yet: YAML is a template).
	Origin      string `json:"origin"`
	HasEmbedded bool   `json:"has_embedded"`
	Editable    bool   `json:"editable"`
	// Restorable says a restore would remove the file of nlp.lexicon_dir.
	Restorable bool `json:"restorable"`
	// Builtin, for the shared cues, is the embedded _common.yaml, which
	// always counts: the file of nlp.lexicon_dir adds to it.
	Builtin string `json:"builtin,omitempty"`
}

// Templates offered when the file does not exist yet.
const (
	commonTemplate = "# 共用否定词、排除语境和加强词，与内置的合并，对所有类别生效。\n# Shared cues added to the embedded ones, for every category.\nnegations: []\nexclusions: []\nintensifiers: []\n"
	casesTemplate  = "# 正例须被识别为该类别（等级 ≥ medium），反例不得被识别。\npositive: []\nnegative: []\n"
)

func (lf *LexiconFiles) path(f lexFile) string { return filepath.Join(lf.Dir, f.Name()) }

// current returns the file f as in effect.
func (lf *LexiconFiles) current(f lexFile) (lexiconText, error) {
	emb, hasEmb := nlp.EmbeddedLexiconFile(f.Name())
	t := lexiconText{Code: f.Code, Kind: f.Kind, File: f.Name(), HasEmbedded: hasEmb, Editable: lf.Dir != ""}
	if f.Kind == lexKindCommon {
		t.Code, t.Builtin = commonCode, string(emb)
	}
	if lf.Dir != "" {
		if b, err := os.ReadFile(lf.path(f)); err == nil {
			t.YAML, t.Origin = string(b), "lexicon_dir"
			t.Restorable = t.Editable && (hasEmb || f.Kind == lexKindCommon)
			return t, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return t, err
		}
	}
	switch {
	case f.Kind == lexKindCommon:
		t.YAML, t.Origin = commonTemplate, "none"
	case hasEmb:
		t.YAML, t.Origin = string(emb), "embedded"
	case f.Kind == lexKindCases && lf.categoryExists(f.Code):
		t.YAML, t.Origin = casesTemplate, "none"
	default:
		return t, ErrNotFound
	}
	return t, nil
}

// categoryExists says whether code has a lexicon, embedded or in Dir.
func (lf *LexiconFiles) categoryExists(code string) bool {
	if _, ok := nlp.EmbeddedLexicon(code); ok {
		return true
	}
	if lf.Dir == "" {
		return false
	}
	_, err := os.Stat(lf.path(lexFile{Kind: lexKindLexicon, Code: code}))
	return err == nil
}

// check builds the lexicons and cases as they would be with text as the
// file f (text nil: without the file) and runs every case of every
// category, as `riskmine lexicon test` does. Nothing is written to Dir.
func (lf *LexiconFiles) check(f lexFile, text []byte) (int, error) {
	if text != nil {
		if err := f.parse(text); err != nil {
			return 0, &lexiconRefusal{Parse: strings.TrimPrefix(err.Error(), "nlp: ")}
		}
	}
	tmp, err := os.MkdirTemp("", "riskmine-lexicon-check-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	untmp := func(err error) *lexiconRefusal {
		msg := strings.TrimPrefix(err.Error(), "nlp: ")
		return &lexiconRefusal{Parse: strings.ReplaceAll(msg, tmp+string(filepath.Separator), "")}
	}
	names, err := filepath.Glob(filepath.Join(lf.Dir, "*.yaml"))
	if err != nil {
		return 0, err
	}
	for _, name := range names {
		base := filepath.Base(name)
		if base == f.Name() {
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
		if err := os.WriteFile(filepath.Join(tmp, f.Name()), text, 0o600); err != nil {
			return 0, err
		}
	}
	an, err := nlp.NewAnalyzer(nlp.Options{LexiconDir: tmp, NoFingerprint: true, LexiconOnly: true, Thresholds: lf.Thresholds})
	if err != nil {
		return 0, untmp(err)
	}
	cases, err := nlp.LoadLexiconCases(tmp)
	if err != nil {
		return 0, untmp(err)
	}
	n, failures := nlp.CheckLexiconCases(an, cases)
	for i := range failures {
		failures[i].Text = strings.ReplaceAll(failures[i].Text, tmp+string(filepath.Separator), "")
	}
	if len(failures) > 0 {
		return n, &lexiconRefusal{Failures: failures}
	}
	return n, nil
}

// apply writes text (nil: removes the file) after check passed and
// reloads; when the reload fails the previous file is put back. before is
// the text that counted before: the file, the embedded version, or "" for
// shared cues without a file.
func (lf *LexiconFiles) apply(f lexFile, text []byte) (before string, cases int, err error) {
	if lf.Dir == "" {
		return "", 0, errLexiconsReadOnly
	}
	lf.mu.Lock()
	defer lf.mu.Unlock()
	cur, err := lf.current(f)
	if err != nil && !(errors.Is(err, ErrNotFound) && text != nil && f.Kind == lexKindLexicon) {
		return "", 0, err
	}
	if text == nil && !cur.HasEmbedded && f.Kind != lexKindCommon {
		return "", 0, &lexiconRefusal{Parse: fmt.Sprintf("%s: there is no embedded version to restore", f.Name())}
	}
	if cur.Origin != "none" {
		before = cur.YAML
	}
	if cases, err = lf.check(f, text); err != nil {
		return "", cases, err
	}
	path := lf.path(f)
	old, oldErr := os.ReadFile(path)
	if text == nil {
		err = os.Remove(path)
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
	} else {
		err = atomicfile.Write(path, text)
	}
	if err != nil {
		return "", cases, fmt.Errorf("web: write lexicon file %s: %w", f.Name(), err)
	}
	if lf.Reload != nil {
		if rerr := lf.Reload(); rerr != nil {
			if oldErr == nil {
				atomicfile.Write(path, old)
			} else {
				os.Remove(path)
			}
			return "", cases, fmt.Errorf("web: lexicons not reloaded, the previous file is back: %w", rerr)
		}
	}
	return before, cases, nil
}

// LexiconChange is one audited lexicon edit.
type LexiconChange struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"` // save, restore or revert
	// Code is the file: the category (fire), _common for the shared cues,
	// <code>.cases for a category's cases.
	Code    string `json:"code"`
	Summary string `json:"summary"` // what changed, in Chinese
	Before  string `json:"before"`
	After   string `json:"after"`
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

// AddLexiconChange writes an audit row (at whole seconds).
func (s *Store) AddLexiconChange(ctx context.Context, c LexiconChange) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO web_lexicon_audit (at, actor, action, code, summary, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.At.Unix(), c.Actor, c.Action, c.Code, c.Summary, c.Before, c.After); err != nil {
		return fmt.Errorf("web: record lexicon change: %w", err)
	}
	return nil
}

// LexiconAudit returns the latest lexicon edits, newest first.
func (s *Store) LexiconAudit(ctx context.Context, limit int) ([]LexiconChange, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, actor, action, code, summary, before, after FROM web_lexicon_audit ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []LexiconChange{}
	for rows.Next() {
		var c LexiconChange
		var at int64
		if err := rows.Scan(&c.ID, &at, &c.Actor, &c.Action, &c.Code, &c.Summary, &c.Before, &c.After); err != nil {
			return nil, err
		}
		c.At = time.Unix(at, 0)
		out = append(out, c)
	}
	return out, rows.Err()
}

// LexiconChange returns the audited change id, or ErrNotFound.
func (s *Store) LexiconChange(ctx context.Context, id int64) (LexiconChange, error) {
	var c LexiconChange
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT id, at, actor, action, code, summary, before, after FROM web_lexicon_audit WHERE id = ?`, id).
		Scan(&c.ID, &at, &c.Actor, &c.Action, &c.Code, &c.Summary, &c.Before, &c.After)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	c.At = time.Unix(at, 0)
	return c, err
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

// sentencesDiff summarises added and removed entries of named lists, in
// Chinese, for the audit.
func sentencesDiff(parts []string, label string, before, after []string) []string {
	bm, am := map[string]bool{}, map[string]bool{}
	for _, x := range before {
		bm[x] = true
	}
	for _, x := range after {
		am[x] = true
	}
	var add, del []string
	for _, x := range after {
		if !bm[x] {
			add = append(add, x)
		}
	}
	for _, x := range before {
		if !am[x] {
			del = append(del, x)
		}
	}
	for _, x := range []struct {
		sign string
		l    []string
	}{{"新增", add}, {"删除", del}} {
		if len(x.l) == 0 {
			continue
		}
		list := x.l
		if len(list) > 3 {
			list = append(list[:3:3], "等")
		}
		for i, v := range list {
			if r := []rune(v); len(r) > 20 {
				list[i] = string(r[:20]) + "…"
			}
		}
		parts = append(parts, label+x.sign+" "+strconv.Itoa(len(x.l))+"（"+strings.Join(list, "、")+"）")
	}
	return parts
}

// commonDiff summarises a change of the shared cues.
func commonDiff(before, after string) string {
	parse := func(s string) *nlp.Lexicon {
		lx, err := nlp.ParseLexicon(commonCode+".yaml", []byte(s))
		if err != nil {
			return &nlp.Lexicon{}
		}
		return lx
	}
	b, a := parse(before), parse(after)
	words := func(ws []nlp.LexiconWeighted) []string {
		var out []string
		for _, w := range ws {
			out = append(out, fmt.Sprintf("%s×%v", w.Term, w.Weight))
		}
		return out
	}
	var parts []string
	parts = sentencesDiff(parts, "否定词", b.Negations, a.Negations)
	parts = sentencesDiff(parts, "排除语境", b.Exclusions, a.Exclusions)
	parts = sentencesDiff(parts, "加强词", words(b.Intensifiers), words(a.Intensifiers))
	if len(parts) == 0 {
		return "内容未变（仅格式或注释）"
	}
	return strings.Join(parts, "；")
}

// casesDiff summarises a change of a category's cases.
func casesDiff(code, before, after string) string {
	parse := func(s string) nlp.LexiconCases {
		c, _ := nlp.ParseLexiconCases(code+".cases.yaml", []byte(s))
		return c
	}
	b, a := parse(before), parse(after)
	var parts []string
	parts = sentencesDiff(parts, "正例", b.Positive, a.Positive)
	parts = sentencesDiff(parts, "反例", b.Negative, a.Negative)
	if len(parts) == 0 {
		return "内容未变（仅格式或注释）"
	}
	return strings.Join(parts, "；")
}

// lexiconEditData is the edit page.
type lexiconEditData struct {
	Text     lexiconText
	File     lexFile
	YAML     string // the text in the form (kept after a refusal)
	Refusal  *lexiconRefusal
	Cases    int
	Audit    []LexiconChange
	Dir      bool // nlp.lexicon_dir is set
	Category string
}

func (s *Server) lexiconFiles() *LexiconFiles { return s.deps.Lexicons }

// lexFileOfRequest resolves the file a page or API route is about: the
// routes with /cases after the code are a category's cases.
func lexFileOfRequest(r *http.Request) (lexFile, error) {
	return lexFileOf(r.PathValue("code"), strings.Contains(r.Pattern, "{code}/cases"))
}

// lexiconEditPage answers GET /lexicons/edit/{code}, /lexicons/edit/_common
// and /lexicons/edit/{code}/cases.
func (s *Server) lexiconEditPage(w http.ResponseWriter, r *http.Request) {
	f, err := lexFileOfRequest(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	s.renderLexiconEdit(w, r, http.StatusOK, f, nil, "", 0)
}

func (s *Server) renderLexiconEdit(w http.ResponseWriter, r *http.Request, status int, f lexFile, refusal *lexiconRefusal, yaml string, cases int) {
	lf := s.lexiconFiles()
	if lf == nil {
		s.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	cur, err := lf.current(f)
	if errors.Is(err, ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data := &lexiconEditData{Text: cur, File: f, YAML: cur.YAML, Refusal: refusal, Cases: cases, Dir: lf.Dir != ""}
	if yaml != "" {
		data.YAML = yaml
	}
	all, err := s.store.LexiconAudit(r.Context(), 200)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	for _, c := range all {
		if c.Code == f.AuditCode() {
			data.Audit = append(data.Audit, c)
		}
	}
	v := s.newView(r, "lexicons", "lexedit.title", data)
	switch f.Kind {
	case lexKindCommon:
		v.Title = v.L.T("lexedit.title_common")
	case lexKindCases:
		data.Category = v.L.Category(f.Code)
		v.Title = v.L.T("lexedit.title_cases", data.Category, f.Code)
	default:
		data.Category = v.L.Category(f.Code)
		v.Title = v.L.T("lexedit.title_of", data.Category, f.Code)
	}
	if refusal != nil {
		v.Error = v.L.T("lexedit.refused")
	}
	s.render(w, r, status, "lexicon_edit", v)
}

// saveLexicon applies an edit (text nil: restore) and audits it.
func (s *Server) saveLexicon(r *http.Request, f lexFile, text []byte) (int, error) {
	return s.changeLexicon(r, f, text, nil)
}

// changeLexicon applies an edit (text nil: restore the embedded version)
// and audits it; revert, when set, is the change whose earlier text this
// edit puts back.
func (s *Server) changeLexicon(r *http.Request, f lexFile, text []byte, revert *LexiconChange) (int, error) {
	lf := s.lexiconFiles()
	if lf == nil {
		return 0, errLexiconsReadOnly
	}
	before, cases, err := lf.apply(f, text)
	if err != nil {
		return cases, err
	}
	action, after := "save", string(text)
	if text == nil {
		action = "restore"
		after = ""
		if emb, ok := nlp.EmbeddedLexiconFile(f.Name()); ok && f.Kind != lexKindCommon {
			after = string(emb)
		}
	}
	if revert != nil {
		action = "revert"
	}
	c := LexiconChange{At: s.now(), Actor: actor(r), Action: action, Code: f.AuditCode(), Before: before, After: after}
	switch f.Kind {
	case lexKindCommon:
		c.Summary = commonDiff(before, after)
		if text == nil {
			c.Summary = "删除附加的共用词，只用内置的；" + c.Summary
		}
	case lexKindCases:
		c.Summary = casesDiff(f.Code, before, after)
		if text == nil {
			c.Summary = "恢复内置用例；" + c.Summary
		}
	default:
		c.Summary = lexiconDiff(f.Code, before, after)
		if text == nil {
			c.Summary = "恢复内置词库；" + c.Summary
		}
	}
	if revert != nil {
		c.Summary = "恢复到 " + revert.At.In(s.opts.Location).Format("2006-01-02 15:04:05") + " 修改前的版本；" + strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(c.Summary, "恢复内置词库；"), "恢复内置用例；"), "删除附加的共用词，只用内置的；")
	}
	if err := s.store.AddLexiconChange(r.Context(), c); err != nil {
		return cases, err
	}
	s.log.Info("lexicon changed", "file", f.Name(), "action", action, "by", c.Actor, "summary", c.Summary)
	return cases, nil
}

// lexiconEditSave answers POST /lexicons/edit/{code}[/cases] (form field yaml).
func (s *Server) lexiconEditSave(w http.ResponseWriter, r *http.Request) {
	s.lexiconEditDo(w, r, []byte(r.PostFormValue("yaml")), nil)
}

// lexiconEditRestore answers POST /lexicons/edit/{code}[/cases]/restore.
func (s *Server) lexiconEditRestore(w http.ResponseWriter, r *http.Request) {
	s.lexiconEditDo(w, r, nil, nil)
}

// lexiconEditRevert answers POST /lexicons/edit/{code}[/cases]/revert (form
// field id: an audited change of this file): the text before that change
// is put back through the same checks as an edit. A change made when the
// shared cues had no file of their own reverts to no file.
func (s *Server) lexiconEditRevert(w http.ResponseWriter, r *http.Request) {
	f, err := lexFileOfRequest(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	id, err := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	c, err := s.store.LexiconChange(r.Context(), id)
	if errors.Is(err, ErrNotFound) || (err == nil && c.Code != f.AuditCode()) {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	var text []byte
	if c.Before != "" || f.Kind != lexKindCommon {
		text = []byte(c.Before)
	}
	s.lexiconEditDo(w, r, text, &c)
}

func (s *Server) lexiconEditDo(w http.ResponseWriter, r *http.Request, text []byte, revert *LexiconChange) {
	f, err := lexFileOfRequest(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	if len(text) > MaxLexiconYAML {
		s.renderLexiconEdit(w, r, http.StatusRequestEntityTooLarge, f, &lexiconRefusal{Parse: "the lexicon is longer than 256 KiB"}, "", 0)
		return
	}
	cases, err := s.changeLexicon(r, f, text, revert)
	var ref *lexiconRefusal
	switch {
	case errors.As(err, &ref):
		s.renderLexiconEdit(w, r, http.StatusUnprocessableEntity, f, ref, string(text), cases)
		return
	case errors.Is(err, errLexiconsReadOnly):
		s.renderLexiconEdit(w, r, http.StatusConflict, f, nil, string(text), 0)
		return
	case errors.Is(err, ErrNotFound):
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, f.EditPath()+"?ok=lexicon_saved", http.StatusSeeOther)
}

// apiLexiconGet answers GET /api/v1/lexicons/{code} (_common: the shared
// cues) and /api/v1/lexicons/{code}/cases: the text in effect.
func (s *Server) apiLexiconGet(w http.ResponseWriter, r *http.Request) {
	lf := s.lexiconFiles()
	if lf == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "lexicon editing is not available in this process")
		return
	}
	f, err := lexFileOfRequest(r)
	var t lexiconText
	if err == nil {
		t, err = lf.current(f)
	}
	if errors.Is(err, ErrNotFound) {
		writeJSONError(w, http.StatusNotFound, "no lexicon file of that name")
		return
	}
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// apiLexiconPut answers PUT /api/v1/lexicons/{code}[/cases] (body: the
// YAML) and POST /api/v1/lexicons/{code}[/cases]/restore.
func (s *Server) apiLexiconPut(restore bool) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := lexFileOfRequest(r)
		if err != nil {
			writeJSONError(w, http.StatusNotFound, "no lexicon file of that name")
			return
		}
		var text []byte
		if !restore {
			b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxLexiconYAML))
			if err != nil {
				writeJSONError(w, http.StatusRequestEntityTooLarge, "body: the lexicon is longer than 256 KiB")
				return
			}
			text = b
		}
		cases, err := s.saveLexicon(r, f, text)
		var ref *lexiconRefusal
		switch {
		case errors.As(err, &ref):
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": ref.Error(), "parse_error": ref.Parse, "failures": ref.Failures})
			return
		case errors.Is(err, errLexiconsReadOnly):
			writeJSONError(w, http.StatusConflict, "nlp.lexicon_dir is not set: lexicon edits are written there")
			return
		case errors.Is(err, ErrNotFound):
			writeJSONError(w, http.StatusNotFound, "no lexicon file of that name")
			return
		case err != nil:
			s.apiServerError(w, r, err)
			return
		}
		t, err := s.lexiconFiles().current(f)
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
