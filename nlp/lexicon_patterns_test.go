package nlp

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLexiconPatterns(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// fire.yaml replaces the embedded fire lexicon; the common file adds.
	write("fire.yaml", `code: fire
name: 火灾
terms:
  - {term: 起火, weight: 3, variants: [燒焦]}
  - {term: 燒焦, weight: 1}
rules:
  - name: smoke
    groups: [[浓烟], [冒出, 浓烟]]
    within: 5
    weight: 2
negations: [没有]
exclusions: [火锅]
intensifiers:
  - {term: 伤亡, weight: 1}
`)
	write("_common.yaml", "exclusions: [测试语境]\n")
	write("fire.cases.yaml", "positive: [起火]\n")

	pats, err := LexiconPatterns(dir)
	if err != nil {
		t.Fatal(err)
	}
	var fire []LexiconPattern
	var embeddedCommon, dirCommon, embeddedFire, otherEmbedded int
	for _, p := range pats {
		switch {
		case p.Code == "fire":
			fire = append(fire, p)
			if p.Embedded {
				embeddedFire++
			}
		case p.Code == "" && p.Embedded:
			embeddedCommon++
			if p.File != "_common.yaml" {
				t.Errorf("embedded common cue %q in %s", p.Text, p.File)
			}
		case p.Code == "":
			dirCommon++
			if p.File != filepath.Join(dir, "_common.yaml") || p.Kind != PatternExclusion || p.Text != "测试语境" {
				t.Errorf("common cue of the dir: %+v", p)
			}
		case p.Embedded && p.File == p.Code+".yaml":
			otherEmbedded++
		default:
			t.Errorf("unexpected pattern %+v", p)
		}
	}
	if embeddedCommon == 0 || dirCommon != 1 || otherEmbedded == 0 || embeddedFire != 0 {
		t.Errorf("embedded common %d, dir common %d, other embedded %d, embedded fire %d", embeddedCommon, dirCommon, otherEmbedded, embeddedFire)
	}
	// 燒焦 is listed as variant and as term (two kinds), 浓烟 once (one
	// kind), each with the form it is matched in.
	want := []struct{ kind, text, norm string }{
		{PatternTerm, "起火", "起火"},
		{PatternVariant, "燒焦", "烧焦"},
		{PatternTerm, "燒焦", "烧焦"},
		{PatternRuleWord, "浓烟", "浓烟"},
		{PatternRuleWord, "冒出", "冒出"},
		{PatternNegation, "没有", "没有"},
		{PatternExclusion, "火锅", "火锅"},
		{PatternIntensifier, "伤亡", "伤亡"},
	}
	if len(fire) != len(want) {
		t.Fatalf("fire patterns %+v, want %d", fire, len(want))
	}
	for i, w := range want {
		p := fire[i]
		if p.Kind != w.kind || p.Text != w.text || p.Normalized != w.norm || p.File != filepath.Join(dir, "fire.yaml") {
			t.Errorf("fire pattern %d: %+v, want %s %q (%q) in the dir's fire.yaml", i, p, w.kind, w.text, w.norm)
		}
	}

	if _, err := LexiconPatterns(filepath.Join(dir, "nope")); err == nil {
		t.Error("a missing lexicon dir is no error")
	}
}
