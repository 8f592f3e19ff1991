package nlp

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCategoryLexicon(t *testing.T) {
	emb, ok := EmbeddedLexicon("fire")
	if !ok {
		t.Fatal("no embedded fire lexicon")
	}
	if _, err := ParseCategoryLexicon("fire", emb); err != nil {
		t.Fatalf("embedded fire: %v", err)
	}
	for _, tc := range []struct{ code, text, want string }{
		{"fire", strings.Replace(string(emb), "code: fire", "code: arson", 1), `code: must stay "fire"`},
		{"Fire!", "code: fire\n", "is not a category code"},
		{"fire", "code: fire\nname: 火灾\nterms:\n  - {term: 火灾, weight: 0}\n", "fire.yaml:4"},
	} {
		_, err := ParseCategoryLexicon(tc.code, []byte(tc.text))
		var le *LexiconError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.code, err, tc.want)
		}
	}
	if _, ok := EmbeddedLexicon("../analyzer"); ok {
		t.Error("a path escaped the embedded lexicons")
	}
}

func TestCheckLexiconCases(t *testing.T) {
	an, err := NewAnalyzer(Options{NoFingerprint: true, LexiconOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	sets, err := LoadLexiconCases("")
	if err != nil {
		t.Fatal(err)
	}
	n, failures := CheckLexiconCases(an, sets)
	if n == 0 || len(failures) != 0 {
		t.Fatalf("embedded lexicons: %d cases, failures %+v", n, failures)
	}
	extra := []LexiconCases{{Code: "fire", Positive: []string{"今天天气很好，适合散步"}, Negative: []string{"仓库突然起火，浓烟滚滚"}},
		{Code: "no_such", File: "no_such.cases.yaml"}}
	_, failures = CheckLexiconCases(an, extra)
	kinds := map[string]int{}
	for _, f := range failures {
		kinds[f.Kind]++
	}
	if kinds["positive"] != 1 || kinds["negative"] != 1 || kinds["unknown"] != 1 || kinds["missing"] != len(an.Categories())-1 {
		t.Fatalf("failures by kind %v", kinds)
	}
}
