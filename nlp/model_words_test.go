package nlp

import (
	"bytes"
	"strings"
	"testing"
)

// TestWordModelScoresAsTrained trains a small model with word features and
// checks that Analyze's scoring (runModel, words segmented once per field
// and shared with the fingerprint) gives the log-odds of the features
// training computed (featurize), that the file keeps its feature set, and
// that the evidence can be a word.
func TestWordModelScoresAsTrained(t *testing.T) {
	lex, err := NewAnalyzer(Options{NoFingerprint: true, LexiconOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := lex.TrainModel(tinyExamples(), TrainOptions{Epochs: 4, Categories: []string{"fire", "explosion"}, Workers: 2, Words: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.Info.Features != featureSetWords || !m.UsesWords() {
		t.Fatalf("features %q, want %q", m.Info.Features, featureSetWords)
	}
	m2 := throughFile(t, m)
	if !m2.UsesWords() {
		t.Fatal("the word feature set was lost in the file")
	}
	full, err := newAnalyzer(Options{}, embeddedLexicons, "lexicons", nil)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("仓库起火，浓烟滚滚。Fire 12 号楼 ", 400) // past maxModelRunes
	posts := []Input{
		{Title: "仓库失火", Text: "工业园一处仓库今天下午着火，火势很大，消防车已经赶到"},
		{Text: "周末去公园跑了五公里，天气很好"},
		{Title: "ＡＢＣ１２３ 测试", Text: long},
	}
	for _, an := range []*Analyzer{lex.WithModel(m2), full.WithModel(m2)} {
		for i, in := range posts {
			x := lex.featurize(in, featureFlags{words: true})
			run := checkScoresAsTrained(t, an, m2, i, in, x)
			words := 0
			for _, h := range run.hits {
				if h.word {
					words++
				}
			}
			if i == 0 && words == 0 {
				t.Errorf("post %d: no word among the model's hits", i)
			}
			run.release()
			as := an.Analyze(in)
			if i == 0 && (len(as.Categories) == 0 || as.Categories[0].Code != "fire" || as.Level == LevelNone) {
				t.Errorf("fire post: %+v", as.Categories)
			}
			if an.noFP != (as.SimHash == 0) {
				t.Errorf("post %d: fingerprint %x with noFP %v", i, as.SimHash, an.noFP)
			}
		}
	}
}

// TestFingerprintSameWithModelSegments checks that the fingerprint, which
// reuses the model's segmentation when the field fits in the model prefix,
// equals the one segmented on its own.
func TestFingerprintSameWithModelSegments(t *testing.T) {
	a, err := newAnalyzer(Options{LexiconOnly: true}, embeddedLexicons, "lexicons", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range pinnedPosts {
		_, f1 := a.lexiconScore(in)
		_, f2 := a.lexiconScore(in)
		for _, fm := range f2 {
			fm.modelSegments()
			if !fm.segsWhole {
				t.Fatalf("short field %q: prefix is not the whole text", fm.orig)
			}
		}
		h1, k1, _ := fingerprint(f1, nil, a.ruleIDs, false)
		h2, k2, _ := fingerprint(f2, nil, a.ruleIDs, false)
		if h1 != h2 || strings.Join(k1, " ") != strings.Join(k2, " ") {
			t.Errorf("%q: %x %v, with model segments %x %v", in.Text, h1, k1, h2, k2)
		}
	}
}

// TestForEachWordSpans checks that words and pairs are spans of the text
// and that no pair crosses punctuation.
func TestForEachWordSpans(t *testing.T) {
	text := Normalize("我老公在工地上干活，今天下午从四楼摔下来了").Text
	segs := segmenter().Segment([]byte(text))
	runes := []rune(text)
	n := 0
	forEachWord(text, segs, func(_ uint32, s, e int) {
		if s < 0 || e > len(runes) || s >= e {
			t.Fatalf("span %d–%d out of %d runes", s, e, len(runes))
		}
		if w := string(runes[s:e]); strings.ContainsAny(w, "，,") {
			t.Errorf("a word or pair crosses the comma: %q", w)
		}
		n++
	})
	if n < 10 {
		t.Errorf("%d words and pairs in %q", n, text)
	}
}

// TestModelOfUnknownFeaturesRefused checks that a model file naming a
// feature set this code does not compute is refused, naming both.
func TestModelOfUnknownFeaturesRefused(t *testing.T) {
	_, m := trainTiny(t)
	if m.Info.Features != featureSetChars {
		t.Fatalf("a model trained without Words has features %q, want %q", m.Info.Features, featureSetChars)
	}
	c := *m
	c.Info.Features = "char1-5/hash24:v9"
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	_, err := DecodeModel(&buf)
	if err == nil || !strings.Contains(err.Error(), "char1-5/hash24:v9") || !strings.Contains(err.Error(), featureSetWords) {
		t.Fatalf("error %v, want one naming the file's and the known feature sets", err)
	}
}
