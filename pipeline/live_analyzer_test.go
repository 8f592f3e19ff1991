package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"riskmine/config"
	"riskmine/nlp"
)

// TestReloadModel swaps a model written to disk into a live analyzer, and
// keeps it when the next file is broken.
func TestReloadModel(t *testing.T) {
	lex, err := nlp.NewAnalyzer(nlp.Options{NoFingerprint: true, LexiconOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var exs []nlp.TrainExample
	for i := range 30 {
		exs = append(exs, nlp.TrainExample{ID: fmt.Sprintf("p%d", i), Text: fmt.Sprintf("%d号楼厨房起火，浓烟很大，消防车赶到", i), Labels: []string{"fire"}})
		exs = append(exs, nlp.TrainExample{ID: fmt.Sprintf("n%d", i), Text: fmt.Sprintf("周末去公园散步%d圈，天气很好", i)})
	}
	m, err := lex.TrainModel(exs, nlp.TrainOptions{Epochs: 3, Categories: []string{"fire"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "m.rmm")
	if err := m.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	live := NewLiveAnalyzer(lex, nil, nil)
	cfg := config.Default()
	cfg.NLP.Model = path
	v, err := live.reloadModel(cfg)
	if err != nil || v != m.Info.Version || live.Model() == nil || live.Model().Info.Version != m.Info.Version {
		t.Fatalf("reload: version %q, err %v", v, err)
	}
	os.WriteFile(path, []byte("broken"), 0o644)
	if _, err := live.reloadModel(cfg); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("broken model: err %v", err)
	}
	if live.Model().Info.Version != m.Info.Version {
		t.Fatal("a broken file replaced the running model")
	}
	cfg.NLP.Model = "none"
	if v, err := live.reloadModel(cfg); err != nil || v != "none" || live.Model() != nil {
		t.Fatalf("none: %q %v", v, err)
	}
}
