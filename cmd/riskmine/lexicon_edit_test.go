package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"riskmine/config"
	"riskmine/nlp"
	"riskmine/pipeline"
	"riskmine/service"
	"riskmine/web"
)

// TestLexiconEditLiveAndAfterRestart edits the fire lexicon through the
// API of a web server wired as serve wires it: the running analyzer scores
// the new term at once, `riskmine lexicon test` passes over the edited
// lexicon dir, and an analyzer built from the config afterwards (a
// restart) has the edit.
func TestLexiconEditLiveAndAfterRestart(t *testing.T) {
	dir := t.TempDir()
	lexDir := filepath.Join(dir, "lexicons")
	if err := os.Mkdir(lexDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "riskmine.yaml")
	os.WriteFile(cfgPath, []byte("data_dir: "+filepath.Join(dir, "data")+"\nnlp:\n  model: none\n  lexicon_dir: "+lexDir+"\n"), 0o644)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	first, err := service.NewLexiconAnalyzer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	live := pipeline.NewLiveAnalyzer(first, func() (*config.Config, error) { return config.Load(cfgPath) }, nil)
	srv, err := web.New(web.Options{DBPath: filepath.Join(dir, "web.db"), AdminToken: "admin-token"},
		web.Deps{Analyzer: live, Lexicons: pipeline.LexiconFiles(cfg, live)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)

	const sentence = "楼道里一股烤焦味弥漫，大家赶紧下楼"
	fire := func(a interface {
		Analyze(nlp.Input) *nlp.Assessment
	}) bool {
		for _, c := range a.Analyze(nlp.Input{Text: sentence}).Categories {
			if c.Code == "fire" {
				return true
			}
		}
		return false
	}
	if fire(live) {
		t.Fatal("the sentence is fire before the edit")
	}
	emb, _ := nlp.EmbeddedLexicon("fire")
	edited := strings.Replace(string(emb), "terms:\n", "terms:\n  - {term: 烤焦味弥漫, weight: 3}\n", 1)
	req, _ := http.NewRequest(http.MethodPut, hs.URL+"/api/v1/lexicons/fire", strings.NewReader(edited))
	req.Header.Set("Authorization", "Bearer admin-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	if !fire(live) {
		t.Fatal("the running analyzer does not score the edit")
	}
	if code, out, errOut := runCmd(t, "", "lexicon", "test", "--config", cfgPath); code != 0 || !strings.Contains(out, ", 0 failed") {
		t.Fatalf("lexicon test after the edit: exit %d\n%s%s", code, out, errOut)
	}
	restarted, err := service.NewScoringAnalyzer(cfg) // serve's analyzer without the segmenter
	if err != nil {
		t.Fatal(err)
	}
	if !fire(restarted) {
		t.Fatal("an analyzer built from the config after the edit lacks it")
	}
}
