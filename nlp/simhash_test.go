package nlp

import (
	"strings"
	"testing"
)

func TestHammingDistance(t *testing.T) {
	tests := []struct {
		a, b uint64
		want int
	}{
		{0, 0, 0},
		{0, 1, 1},
		{0xff, 0, 8},
		{^uint64(0), 0, 64},
	}
	for _, tt := range tests {
		if got := HammingDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("HammingDistance(%x, %x) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestSimHashNearDuplicates(t *testing.T) {
	a := testAnalyzer(t)
	base := "昨天下午三点，城东区幸福小区七号楼发生火灾，消防员赶到现场扑救，火势在半小时后被扑灭，没有人员伤亡，起火原因正在调查。"
	near := "昨天下午3点，城东区幸福小区7号楼发生火灾，消防员赶到现场扑救，火势在半小时后被扑灭，没有人员伤亡，起火原因正在调查中。"
	other := "本周末气温回升，最高气温将达到二十六摄氏度，市民可以外出踏青，公园里的樱花已经盛开，吸引了不少游客拍照留念。"
	h0 := a.Analyze(Input{Text: base}).SimHash
	h1 := a.Analyze(Input{Text: near}).SimHash
	h2 := a.Analyze(Input{Text: other}).SimHash
	if h0 == 0 || h2 == 0 {
		t.Fatal("zero simhash")
	}
	if d := HammingDistance(h0, h1); d > 10 {
		t.Errorf("near duplicates differ in %d bits", d)
	}
	if d := HammingDistance(h0, h2); d < 16 {
		t.Errorf("unrelated posts differ in only %d bits", d)
	}
	if h := a.Analyze(Input{Text: base}).SimHash; h != h0 {
		t.Error("simhash is not deterministic")
	}
	if as := a.Analyze(Input{Text: "。，！"}); as.SimHash != 0 || len(as.Keywords) != 0 {
		t.Errorf("punctuation only: simhash %x keywords %v", as.SimHash, as.Keywords)
	}
}

func TestKeywords(t *testing.T) {
	a := testAnalyzer(t)
	as := a.Analyze(Input{Title: "幸福小区发生火灾", Text: "幸福小区七号楼发生火灾，消防员赶到现场扑救，幸福小区居民已疏散。"})
	if len(as.Keywords) == 0 || as.Keywords[0] != "火灾" {
		t.Fatalf("keywords = %v, want the hazard term first", as.Keywords)
	}
	if !contains(as.Keywords, "幸福") && !contains(as.Keywords, "小区") && !contains(as.Keywords, "幸福小区") {
		t.Errorf("keywords = %v, want the place among them", as.Keywords)
	}
	if len(as.Keywords) > maxKeywords {
		t.Errorf("%d keywords", len(as.Keywords))
	}
	for _, k := range as.Keywords {
		if stopWords[k] {
			t.Errorf("stop word %q among keywords", k)
		}
	}
	an, err := newAnalyzer(Options{NoFingerprint: true}, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if as := an.Analyze(Input{Text: "幸福小区"}); as.SimHash != 0 || as.Keywords != nil {
		t.Error("NoFingerprint still computed a fingerprint")
	}
}

func TestCutSearch(t *testing.T) {
	tests := []string{
		"中华人民共和国成立了",
		"小区燃气泄漏，已疏散居民",
		"ABC 火灾 123",
		"\xff\xfe火灾",
		"",
	}
	for _, s := range tests {
		toks := CutSearch(s)
		for _, tk := range toks {
			if tk.Start < 0 || tk.End > len(s) || tk.Start >= tk.End || s[tk.Start:tk.End] != tk.Text {
				t.Errorf("CutSearch(%q): token %+v does not point into the input", s, tk)
			}
			if strings.TrimSpace(tk.Text) == "" || !isWordToken(tk.Text) {
				t.Errorf("CutSearch(%q): punctuation or space token %q", s, tk.Text)
			}
		}
	}
	var words []string
	for _, tk := range CutSearch("中华人民共和国成立了") {
		words = append(words, tk.Text)
	}
	got := strings.Join(words, "/")
	for _, w := range []string{"中华", "人民", "共和国", "中华人民共和国"} {
		if !strings.Contains("/"+got+"/", "/"+w+"/") {
			t.Errorf("CutSearch = %s, want %s among the words", got, w)
		}
	}
	// Lexicon terms are in the dictionary, so hazard words stay whole.
	found := false
	for _, tk := range CutSearch("楼道里燃气泄漏了") {
		if tk.Text == "燃气泄漏" {
			found = true
		}
	}
	if !found {
		t.Errorf("燃气泄漏 split: %v", CutSearch("楼道里燃气泄漏了"))
	}
}

func TestKeywordsCanonicalTerms(t *testing.T) {
	a := testAnalyzer(t)
	as := a.Analyze(Input{Text: "樓道失火，消防員趕到撲救"})
	if len(as.Keywords) == 0 || as.Keywords[0] != "火灾" {
		t.Fatalf("keywords = %v, want the lexicon term 火灾 (失火 is its variant) first", as.Keywords)
	}
	for _, k := range as.Keywords {
		if k == "brigade" || strings.Contains(k, "/") {
			t.Errorf("rule name %q among keywords %v", k, as.Keywords)
		}
	}
}
