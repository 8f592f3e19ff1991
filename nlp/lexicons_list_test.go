package nlp

import "testing"

func TestAnalyzerLexiconsListsEveryCategory(t *testing.T) {
	a, err := NewAnalyzer(Options{NoFingerprint: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, lx := range a.Lexicons() {
		if len(lx.Terms) == 0 && len(lx.Rules) == 0 {
			t.Errorf("lexicon %s lists neither terms nor rules", lx.Code)
		}
		got[lx.Code] = true
	}
	for _, code := range RequiredCategories {
		if !got[code] {
			t.Errorf("Lexicons() lacks required category %s", code)
		}
	}
}
