package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
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
}
