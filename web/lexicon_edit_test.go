package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"riskmine/nlp"
)

// swapAnalyzer is a running analyzer that a reload replaces whole, as
// serve's is.
type swapAnalyzer struct{ cur atomic.Pointer[nlp.Analyzer] }

func (a *swapAnalyzer) Analyze(in nlp.Input) *nlp.Assessment { return a.cur.Load().Analyze(in) }
func (a *swapAnalyzer) Categories() []string                 { return a.cur.Load().Categories() }
func (a *swapAnalyzer) Lexicons() []*nlp.Lexicon             { return a.cur.Load().Lexicons() }

func lexiconEnv(t *testing.T) (*testEnv, *swapAnalyzer, string) {
	t.Helper()
	dir := t.TempDir()
	build := func() (*nlp.Analyzer, error) {
		return nlp.NewAnalyzer(nlp.Options{LexiconDir: dir, NoFingerprint: true, LexiconOnly: true})
	}
	an := &swapAnalyzer{}
	first, err := build()
	if err != nil {
		t.Fatal(err)
	}
	an.cur.Store(first)
	lf := &LexiconFiles{Dir: dir, Reload: func() error {
		next, err := build()
		if err != nil {
			return err
		}
		an.cur.Store(next)
		return nil
	}}
	return newTestEnv(t, Options{}, Deps{Analyzer: an, Lexicons: lf}), an, dir
}

const scorchSentence = "楼道里一股烤焦味弥漫，大家赶紧下楼"

func hasCategory(as *nlp.Assessment, code string) bool {
	for _, c := range as.Categories {
		if c.Code == code {
			return true
		}
	}
	return false
}

func TestLexiconEditPage(t *testing.T) {
	e, an, dir := lexiconEnv(t)
	admin := e.login("admin")
	emb, _ := nlp.EmbeddedLexicon("fire")
	if hasCategory(an.Analyze(nlp.Input{Text: scorchSentence}), "fire") {
		t.Fatal("the sentence is fire before the edit; pick another")
	}
	body := admin.getBody("/lexicons/edit/fire")
	if !strings.Contains(body, `data-origin="embedded"`) || !strings.Contains(body, "term: 火灾") {
		t.Fatalf("edit page lacks the embedded lexicon")
	}
	if !strings.Contains(admin.getBody("/lexicons"), `href="/lexicons/edit/fire"`) {
		t.Error("the lexicon page has no edit link for an admin")
	}

	// A broken edit: refused with the line and key, nothing written.
	broken := strings.Replace(string(emb), "{term: 失火, weight: 3}", "{term: 失火, weight: -3}", 1)
	r := admin.postForm("/lexicons/edit/fire", url.Values{"yaml": {broken}}, true)
	body = readAll(t, r)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="lexicon-refusal"`) || !strings.Contains(body, "fire.yaml:8: terms[1].weight") {
		t.Fatalf("broken edit: %d\n%s", r.StatusCode, body)
	}
	if _, err := os.Stat(filepath.Join(dir, "fire.yaml")); !os.IsNotExist(err) {
		t.Fatal("a broken edit was written")
	}

	// An edit that parses but fails the cases: refused with the failures.
	gutted := "code: fire\nname: 火灾\nterms:\n  - {term: 烤焦味弥漫, weight: 3}\n"
	r = admin.postForm("/lexicons/edit/fire", url.Values{"yaml": {gutted}}, true)
	body = readAll(t, r)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="lexicon-failures"`) || !strings.Contains(body, "正例未命中") || !strings.Contains(body, "仓库突然起火") {
		t.Fatalf("failing cases: %d\n%s", r.StatusCode, body)
	}
	if hasCategory(an.Analyze(nlp.Input{Text: scorchSentence}), "fire") {
		t.Fatal("a refused edit went live")
	}

	// A good edit: saved, live at once (try box), audited.
	good := strings.Replace(string(emb), "terms:\n", "terms:\n  - {term: 烤焦味弥漫, weight: 3}\n", 1)
	r = admin.postForm("/lexicons/edit/fire", url.Values{"yaml": {good}}, true)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("good edit: %d %s", r.StatusCode, readAll(t, r))
	}
	body = readAll(t, admin.postForm("/lexicons/try", url.Values{"text": {scorchSentence}}, true))
	if !strings.Contains(body, "烤焦味弥漫") || !strings.Contains(body, "fire/烤焦味弥漫") {
		t.Fatalf("the try box does not see the new term:\n%s", body)
	}
	b, err := os.ReadFile(filepath.Join(dir, "fire.yaml"))
	if err != nil || string(b) != good {
		t.Fatalf("file in lexicon_dir: %v", err)
	}
	audit, err := e.srv.store.LexiconAudit(context.Background(), 10)
	if err != nil || len(audit) != 1 || audit[0].Actor != "admin" || audit[0].Action != "save" || audit[0].Code != "fire" ||
		audit[0].Summary != "词条新增 1（烤焦味弥漫）" || audit[0].Before != string(emb) || audit[0].After != good {
		t.Fatalf("audit %+v %v", audit, err)
	}
	// A restart reads the same files: the edit holds.
	again, err := nlp.NewAnalyzer(nlp.Options{LexiconDir: dir, NoFingerprint: true, LexiconOnly: true})
	if err != nil || !hasCategory(again.Analyze(nlp.Input{Text: scorchSentence}), "fire") {
		t.Fatalf("a new analyzer over the lexicon dir lacks the edit (%v)", err)
	}

	// The way back: the embedded lexicon again, audited.
	if body = admin.getBody("/lexicons/edit/fire"); !strings.Contains(body, `data-origin="lexicon_dir"`) || !strings.Contains(body, `id="lexicon-restore"`) {
		t.Fatal("edited lexicon: no restore button")
	}
	if r = admin.postForm("/lexicons/edit/fire/restore", url.Values{}, true); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("restore: %d", r.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dir, "fire.yaml")); !os.IsNotExist(err) {
		t.Fatal("restore left the file")
	}
	if hasCategory(an.Analyze(nlp.Input{Text: scorchSentence}), "fire") {
		t.Fatal("restored, yet the edit still scores")
	}
	audit, _ = e.srv.store.LexiconAudit(context.Background(), 10)
	if len(audit) != 2 || audit[0].Action != "restore" || !strings.Contains(audit[0].Summary, "恢复内置词库；词条删除 1（烤焦味弥漫）") {
		t.Fatalf("restore audit %+v", audit)
	}

	// Roles and CSRF.
	if st := e.login("ana").get("/lexicons/edit/fire").StatusCode; st != http.StatusForbidden {
		t.Errorf("analyst: %d", st)
	}
	if st := admin.postForm("/lexicons/edit/fire", url.Values{"yaml": {good}}, false).StatusCode; st != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", st)
	}
}

func TestLexiconEditAPI(t *testing.T) {
	e, an, _ := lexiconEnv(t)
	tok, _ := e.srv.store.CreateToken(context.Background(), "admin", "t")
	emb, _ := nlp.EmbeddedLexicon("fire")
	r := e.apiReq("PUT", "/api/v1/lexicons/fire", tok, "code: fire\nname: 火灾\nterms:\n  - {term: 烤焦味弥漫, weight: 3}\n")
	var ref struct {
		Failures []nlp.LexiconCaseFailure `json:"failures"`
	}
	json.NewDecoder(r.Body).Decode(&ref)
	if r.StatusCode != http.StatusUnprocessableEntity || len(ref.Failures) == 0 || ref.Failures[0].Code != "fire" {
		t.Fatalf("failing cases: %d %+v", r.StatusCode, ref)
	}
	r = e.apiReq("PUT", "/api/v1/lexicons/fire", tok, strings.Replace(string(emb), "code: fire", "code: arson", 1))
	if msg := readAll(t, r); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(msg, `must stay \"fire\"`) {
		t.Fatalf("renamed code: %d %s", r.StatusCode, msg)
	}
	good := strings.Replace(string(emb), "terms:\n", "terms:\n  - {term: 烤焦味弥漫, weight: 3}\n", 1)
	if r = e.apiReq("PUT", "/api/v1/lexicons/fire", tok, good); r.StatusCode != http.StatusOK {
		t.Fatalf("good edit: %d %s", r.StatusCode, readAll(t, r))
	}
	if !hasCategory(an.Analyze(nlp.Input{Text: scorchSentence}), "fire") {
		t.Fatal("the edit is not live")
	}
	var got lexiconText
	json.NewDecoder(e.apiReq("GET", "/api/v1/lexicons/fire", tok, "").Body).Decode(&got)
	if got.Origin != "lexicon_dir" || got.YAML != good {
		t.Fatalf("GET after edit: %+v", got)
	}
	if r = e.apiReq("POST", "/api/v1/lexicons/fire/restore", tok, ""); r.StatusCode != http.StatusOK {
		t.Fatalf("restore: %d", r.StatusCode)
	}
	if r = e.apiReq("GET", "/api/v1/lexicons/no_such", tok, ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown code: %d", r.StatusCode)
	}
	var audit struct {
		Items []LexiconChange `json:"items"`
	}
	json.NewDecoder(e.apiReq("GET", "/api/v1/lexicons/audit", tok, "").Body).Decode(&audit)
	if len(audit.Items) != 2 {
		t.Fatalf("audit %+v", audit.Items)
	}
}

func TestLexiconEditWithoutDir(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{Lexicons: &LexiconFiles{}})
	admin := e.login("admin")
	body := admin.getBody("/lexicons/edit/fire")
	if !strings.Contains(body, `id="lexicon-readonly"`) || !strings.Contains(body, "nlp.lexicon_dir") {
		t.Fatal("no notice that editing needs nlp.lexicon_dir")
	}
	if st := admin.postForm("/lexicons/edit/fire", url.Values{"yaml": {"code: fire\n"}}, true).StatusCode; st != http.StatusConflict {
		t.Errorf("save without a dir: %d, want 409", st)
	}
	for _, p := range []string{"/lexicons/edit/_common", "/lexicons/edit/fire/cases"} {
		body := admin.getBody(p)
		if !strings.Contains(body, `id="lexicon-readonly"`) || !strings.Contains(body, `<button type="submit" class="primary" disabled>`) || strings.Contains(body, `id="lexicon-restore"`) {
			t.Errorf("%s is not read-only without nlp.lexicon_dir", p)
		}
		if st := admin.postForm(p, url.Values{"yaml": {"exclusions: [演习]\n"}}, true).StatusCode; st != http.StatusConflict {
			t.Errorf("save %s without a dir: %d, want 409", p, st)
		}
	}
}

const drillSentence = "仓库突然起火，浓烟滚滚，这是沙盘推演的场景"

// The shared cues (_common.yaml) are edited like a category: parsed,
// every case of every category run before a save, live at once, audited,
// removable, admins only.
func TestLexiconEditCommon(t *testing.T) {
	e, an, dir := lexiconEnv(t)
	admin := e.login("admin")
	path := filepath.Join(dir, "_common.yaml")
	if !hasCategory(an.Analyze(nlp.Input{Text: drillSentence}), "fire") {
		t.Fatal("the sentence is not fire before the edit; pick another")
	}
	body := admin.getBody("/lexicons/edit/_common")
	for _, want := range []string{`data-origin="none"`, `data-file="_common.yaml"`, `id="lexicon-builtin"`, "并没有", "exclusions: []", `action="/lexicons/edit/_common"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the shared cues page lacks %s", want)
		}
	}
	if !strings.Contains(admin.getBody("/lexicons"), `href="/lexicons/edit/_common"`) {
		t.Error("the lexicon page has no link to the shared cues")
	}

	// Not a common file: refused with the line and key.
	r := admin.postForm("/lexicons/edit/_common", url.Values{"yaml": {"negations: [并未]\nterms:\n  - {term: 起火, weight: 3}\n"}}, true)
	body = readAll(t, r)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "_common.yaml:2: terms") {
		t.Fatalf("terms in the common file: %d\n%s", r.StatusCode, section(body))
	}
	// An exclusion that silences fire everywhere fails fire's cases (and
	// others'): refused with the failures, nothing written, nothing live.
	r = admin.postForm("/lexicons/edit/_common", url.Values{"yaml": {"exclusions: [起火, 火灾, 着火, 失火, 大火]\n"}}, true)
	body = readAll(t, r)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="lexicon-failures"`) || !strings.Contains(body, "正例未命中") {
		t.Fatalf("cases-breaking exclusions: %d", r.StatusCode)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("a refused edit of the shared cues was written")
	}

	// A good edit: written, live, audited.
	good := "exclusions:\n  - 沙盘推演\n"
	if r = admin.postForm("/lexicons/edit/_common", url.Values{"yaml": {good}}, true); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/lexicons/edit/_common?ok=lexicon_saved" {
		t.Fatalf("good edit: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != good {
		t.Fatalf("file %q %v", b, err)
	}
	if hasCategory(an.Analyze(nlp.Input{Text: drillSentence}), "fire") {
		t.Fatal("the new exclusion is not live")
	}
	audit, err := e.srv.store.LexiconAudit(context.Background(), 10)
	if err != nil || len(audit) != 1 || audit[0].Code != "_common" || audit[0].Action != "save" || audit[0].Summary != "排除语境新增 1（沙盘推演）" || audit[0].Before != "" || audit[0].After != good {
		t.Fatalf("audit %+v %v", audit, err)
	}
	body = admin.getBody("/lexicons/edit/_common")
	if !strings.Contains(body, `data-origin="lexicon_dir"`) || !strings.Contains(body, `action="/lexicons/edit/_common/restore"`) || !strings.Contains(body, "排除语境新增 1") {
		t.Fatal("the edited shared cues page lacks its origin, restore or audit")
	}

	// The way back: the file goes, the embedded cues alone count.
	if r = admin.postForm("/lexicons/edit/_common/restore", url.Values{}, true); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("restore: %d", r.StatusCode)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("restore left the file")
	}
	if !hasCategory(an.Analyze(nlp.Input{Text: drillSentence}), "fire") {
		t.Fatal("restored, yet the exclusion still counts")
	}
	audit, _ = e.srv.store.LexiconAudit(context.Background(), 10)
	if len(audit) != 2 || audit[0].Action != "restore" || audit[0].Summary != "删除附加的共用词，只用内置的；排除语境删除 1（沙盘推演）" {
		t.Fatalf("restore audit %+v", audit[0])
	}
	if st := e.login("ana").get("/lexicons/edit/_common").StatusCode; st != http.StatusForbidden {
		t.Errorf("analyst: %d", st)
	}
	if st := admin.postForm("/lexicons/edit/_common", url.Values{"yaml": {good}}, false).StatusCode; st != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", st)
	}
}

// A category's cases are edited like its lexicon: a positive the lexicon
// does not find is refused, a passing set replaces the embedded cases
// (riskmine lexicon test reads them from nlp.lexicon_dir), audited and
// restorable.
func TestLexiconEditCases(t *testing.T) {
	e, an, dir := lexiconEnv(t)
	admin := e.login("admin")
	path := filepath.Join(dir, "fire.cases.yaml")
	emb, ok := nlp.EmbeddedLexiconFile("fire.cases.yaml")
	if !ok {
		t.Fatal("no embedded fire cases")
	}
	body := admin.getBody("/lexicons/edit/fire/cases")
	if !strings.Contains(body, `data-origin="embedded"`) || !strings.Contains(body, `data-file="fire.cases.yaml"`) || !strings.Contains(body, "仓库突然起火") {
		t.Fatal("the cases page lacks the embedded cases")
	}
	if !strings.Contains(admin.getBody("/lexicons"), `href="/lexicons/edit/fire/cases"`) {
		t.Error("the lexicon page has no link to the cases")
	}

	for _, bad := range []struct{ name, yaml, want string }{
		{"a misspelt key", "positives:\n  - 仓库起火\n", "fire.cases.yaml:1"},
		{"no positive", "positive: []\nnegative: [今天天气晴好]\n", "positive: expected at least one sentence"},
	} {
		r := admin.postForm("/lexicons/edit/fire/cases", url.Values{"yaml": {bad.yaml}}, true)
		if b := readAll(t, r); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b, bad.want) {
			t.Errorf("%s: %d, want 422 naming %q", bad.name, r.StatusCode, bad.want)
		}
	}
	// A positive the lexicon does not find: refused, nothing written.
	missed := strings.Replace(string(emb), "positive:\n", "positive:\n  - "+scorchSentence+"\n", 1)
	r := admin.postForm("/lexicons/edit/fire/cases", url.Values{"yaml": {missed}}, true)
	body = readAll(t, r)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "正例未命中") || !strings.Contains(body, scorchSentence) {
		t.Fatalf("a missed positive: %d", r.StatusCode)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("refused cases were written")
	}

	// A passing set: written, audited; the lexicon test reads it.
	good := strings.Replace(string(emb), "negative:\n", "negative:\n  - "+drillSentence+"\n  - 今晚的火锅店排队很长\n", 1)
	if good == string(emb) {
		t.Fatal("the embedded cases have no negative: list")
	}
	if r = admin.postForm("/lexicons/edit/fire/cases", url.Values{"yaml": {good}}, true); r.StatusCode == http.StatusUnprocessableEntity {
		// The drill sentence is fire until _common excludes it: a
		// negative the lexicons flag is refused too.
		if b := readAll(t, r); !strings.Contains(b, "反例被命中") || !strings.Contains(b, drillSentence) {
			t.Fatalf("a flagged negative is not reported")
		}
	} else {
		t.Fatalf("a negative the lexicons flag was accepted: %d", r.StatusCode)
	}
	good = strings.Replace(string(emb), "negative:\n", "negative:\n  - 今晚的火锅店排队很长\n", 1)
	if r = admin.postForm("/lexicons/edit/fire/cases", url.Values{"yaml": {good}}, true); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/lexicons/edit/fire/cases?ok=lexicon_saved" {
		t.Fatalf("good cases: %d %s", r.StatusCode, readAll(t, r))
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != good {
		t.Fatalf("cases file: %v", err)
	}
	sets, err := nlp.LoadLexiconCases(dir)
	if err != nil {
		t.Fatal(err)
	}
	n, failures := nlp.CheckLexiconCases(an.cur.Load(), sets)
	if len(failures) != 0 || n == 0 {
		t.Fatalf("lexicon test over the saved cases: %d ran, failures %+v", n, failures)
	}
	audit, _ := e.srv.store.LexiconAudit(context.Background(), 10)
	if len(audit) != 1 || audit[0].Code != "fire.cases" || audit[0].Summary != "反例新增 1（今晚的火锅店排队很长）" || audit[0].Before != string(emb) {
		t.Fatalf("audit %+v", audit)
	}

	// The lexicon and its cases together: a new term, then a case for it.
	lex, _ := nlp.EmbeddedLexicon("fire")
	if r = admin.postForm("/lexicons/edit/fire", url.Values{"yaml": {strings.Replace(string(lex), "terms:\n", "terms:\n  - {term: 烤焦味弥漫, weight: 3}\n", 1)}}, true); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("lexicon edit: %d", r.StatusCode)
	}
	withScorch := strings.Replace(good, "positive:\n", "positive:\n  - "+scorchSentence+"\n", 1)
	if r = admin.postForm("/lexicons/edit/fire/cases", url.Values{"yaml": {withScorch}}, true); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("a case for the new term: %d", r.StatusCode)
	}
	// Restoring the lexicon now fails the new positive: refused.
	if r = admin.postForm("/lexicons/edit/fire/restore", url.Values{}, true); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("restoring the lexicon under a case that needs the edit: %d", r.StatusCode)
	}

	// The cases' way back, then the lexicon's.
	if r = admin.postForm("/lexicons/edit/fire/cases/restore", url.Values{}, true); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("restore cases: %d", r.StatusCode)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("restore left the cases file")
	}
	audit, _ = e.srv.store.LexiconAudit(context.Background(), 10)
	if audit[0].Code != "fire.cases" || audit[0].Action != "restore" || !strings.HasPrefix(audit[0].Summary, "恢复内置用例；") || audit[0].After != string(emb) {
		t.Fatalf("restore audit %+v", audit[0])
	}
	if r = admin.postForm("/lexicons/edit/fire/restore", url.Values{}, true); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("restore the lexicon: %d", r.StatusCode)
	}
	for _, p := range []string{"/lexicons/edit/no_such/cases", "/lexicons/edit/_common/cases", "/lexicons/edit/Fire/cases"} {
		if st := admin.get(p).StatusCode; st != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, st)
		}
	}
}

// The API edits the shared cues (code _common) and the cases like a
// lexicon.
func TestLexiconEditCommonAndCasesAPI(t *testing.T) {
	e, an, _ := lexiconEnv(t)
	tok, _ := e.srv.store.CreateToken(context.Background(), "admin", "t")
	var got lexiconText
	json.NewDecoder(e.apiReq("GET", "/api/v1/lexicons/_common", tok, "").Body).Decode(&got)
	if got.Kind != "common" || got.File != "_common.yaml" || got.Origin != "none" || !strings.Contains(got.Builtin, "并没有") || got.Restorable {
		t.Fatalf("GET _common: %+v", got)
	}
	if r := e.apiReq("PUT", "/api/v1/lexicons/_common", tok, "exclusions: [沙盘推演]\n"); r.StatusCode != http.StatusOK {
		t.Fatalf("PUT _common: %d %s", r.StatusCode, readAll(t, r))
	}
	if hasCategory(an.Analyze(nlp.Input{Text: drillSentence}), "fire") {
		t.Fatal("the shared exclusion is not live")
	}
	r := e.apiReq("PUT", "/api/v1/lexicons/fire/cases", tok, "positive: [今天天气晴好]\n")
	var ref struct {
		Failures []nlp.LexiconCaseFailure `json:"failures"`
	}
	json.NewDecoder(r.Body).Decode(&ref)
	if r.StatusCode != http.StatusUnprocessableEntity || len(ref.Failures) == 0 || ref.Failures[0].Kind != "positive" {
		t.Fatalf("a positive nothing finds: %d %+v", r.StatusCode, ref)
	}
	json.NewDecoder(e.apiReq("GET", "/api/v1/lexicons/fire/cases", tok, "").Body).Decode(&got)
	if got.Kind != "cases" || got.Origin != "embedded" || got.File != "fire.cases.yaml" {
		t.Fatalf("GET cases: %+v", got)
	}
	if r := e.apiReq("POST", "/api/v1/lexicons/_common/restore", tok, ""); r.StatusCode != http.StatusOK {
		t.Fatalf("restore _common: %d", r.StatusCode)
	}
	if r := e.apiReq("GET", "/api/v1/lexicons/no_such/cases", tok, ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("cases of an unknown category: %d", r.StatusCode)
	}
	var audit struct {
		Items []LexiconChange `json:"items"`
	}
	json.NewDecoder(e.apiReq("GET", "/api/v1/lexicons/audit", tok, "").Body).Decode(&audit)
	if len(audit.Items) != 2 || audit.Items[0].Code != "_common" || audit.Items[1].Code != "_common" {
		t.Fatalf("audit %+v", audit.Items)
	}
}

// Any audited change can be undone from the audit table: the text before
// it goes back through the same checks, and the revert is audited.
func TestLexiconEditRevert(t *testing.T) {
	e, an, dir := lexiconEnv(t)
	admin := e.login("admin")
	emb, _ := nlp.EmbeddedLexicon("fire")
	v1 := strings.Replace(string(emb), "terms:\n", "terms:\n  - {term: 烤焦味弥漫, weight: 3}\n", 1)
	v2 := strings.Replace(v1, "terms:\n", "terms:\n  - {term: 焦糊味刺鼻, weight: 3}\n", 1)
	for _, v := range []string{v1, v2} {
		if r := admin.postForm("/lexicons/edit/fire", url.Values{"yaml": {v}}, true); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("edit: %d", r.StatusCode)
		}
	}
	if r := admin.postForm("/lexicons/edit/_common", url.Values{"yaml": {"exclusions: [沙盘推演]\n"}}, true); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("common edit: %d", r.StatusCode)
	}
	audit, _ := e.srv.store.LexiconAudit(context.Background(), 10)
	if len(audit) != 3 {
		t.Fatalf("audit %+v", audit)
	}
	common, second, first := audit[0], audit[1], audit[2]
	body := admin.getBody("/lexicons/edit/fire")
	if !strings.Contains(body, `action="/lexicons/edit/fire/revert"`) || !strings.Contains(body, `name="id" value="`+strconv.FormatInt(second.ID, 10)+`"`) {
		t.Fatal("the audit table offers no revert")
	}
	// Undo the second save: v1 is back, live.
	if r := admin.postForm("/lexicons/edit/fire/revert", url.Values{"id": {strconv.FormatInt(second.ID, 10)}}, true); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revert: %d %s", r.StatusCode, readAll(t, r))
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "fire.yaml")); string(b) != v1 {
		t.Fatal("the revert did not put the earlier text back")
	}
	if !hasCategory(an.Analyze(nlp.Input{Text: scorchSentence}), "fire") {
		t.Fatal("the reverted lexicon lost the first edit")
	}
	audit, _ = e.srv.store.LexiconAudit(context.Background(), 10)
	if audit[0].Action != "revert" || audit[0].Code != "fire" || !strings.HasPrefix(audit[0].Summary, "恢复到 ") || !strings.Contains(audit[0].Summary, "词条删除 1（焦糊味刺鼻）") || audit[0].After != v1 {
		t.Fatalf("revert audit %+v", audit[0])
	}
	// Undo the shared cues' first save: they had no file, so none again.
	if r := admin.postForm("/lexicons/edit/_common/revert", url.Values{"id": {strconv.FormatInt(common.ID, 10)}}, true); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revert common: %d", r.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dir, "_common.yaml")); !os.IsNotExist(err) {
		t.Fatal("reverting the first shared cues left a file")
	}
	// A change of another file, or none, is not found.
	for _, tc := range []struct{ path, id string }{{"/lexicons/edit/fire/revert", strconv.FormatInt(common.ID, 10)}, {"/lexicons/edit/fire/cases/revert", strconv.FormatInt(first.ID, 10)}, {"/lexicons/edit/fire/revert", "999"}, {"/lexicons/edit/fire/revert", "x"}} {
		if st := admin.postForm(tc.path, url.Values{"id": {tc.id}}, true).StatusCode; st != http.StatusNotFound {
			t.Errorf("%s id %s: %d, want 404", tc.path, tc.id, st)
		}
	}
	if st := e.login("ana").postForm("/lexicons/edit/fire/revert", url.Values{"id": {strconv.FormatInt(first.ID, 10)}}, true).StatusCode; st != http.StatusForbidden {
		t.Errorf("analyst revert: %d", st)
	}
}
