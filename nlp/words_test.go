package nlp

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestAnalyzeWords checks that the words an assessment hands to the index
// are CutSearch's words of each field's normalised text, that asking for
// them changes nothing else, and that they stay out of the JSON form.
func TestAnalyzeWords(t *testing.T) {
	a := testAnalyzer(t)
	in := Input{ID: "w", Title: "倉庫失火 ＡＢＣ公司", Text: "今天上午，中华人民共和国某市一座仓库发生火灾，燃 气泄 漏，消防员赶到扑救。\n5G基站起火，居民疏散。"}
	plain := a.Analyze(in)
	if plain.Words != nil {
		t.Fatalf("words without asking: %v", plain.Words)
	}
	in.Words = true
	got := a.Analyze(in)
	pj, _ := json.Marshal(plain)
	gj, _ := json.Marshal(got)
	if string(pj) != string(gj) {
		t.Fatalf("asking for words changed the assessment:\n%s\n%s", pj, gj)
	}
	want := map[string]string{"title": in.Title, "text": in.Text}
	if len(got.Words) != len(want) {
		t.Fatalf("words of %d fields, want %d", len(got.Words), len(want))
	}
	for _, fw := range got.Words {
		n := NormalizeText(want[fw.Field])
		if fw.Normalized != n {
			t.Errorf("%s: normalised %q, want %q", fw.Field, fw.Normalized, n)
		}
		if w := CutSearch(n); !slices.Equal(fw.Tokens, w) || len(w) == 0 {
			t.Errorf("%s: words %v, want CutSearch's %v", fw.Field, fw.Tokens, w)
		}
	}
}
