package web

import (
	"strings"
	"testing"

	"riskmine/nlp"
)

// BenchmarkLexiconCheck is what an administrator waits for on a lexicon
// save before anything is written: the lexicons built with the edit in
// place and every lexicon case run.
func BenchmarkLexiconCheck(b *testing.B) {
	emb, _ := nlp.EmbeddedLexicon("fire")
	edited := []byte(strings.Replace(string(emb), "terms:\n", "terms:\n  - {term: 烤焦味弥漫, weight: 3}\n", 1))
	lf := &LexiconFiles{Dir: b.TempDir()}
	var cases int
	for b.Loop() {
		n, err := lf.check(lexFile{Kind: lexKindLexicon, Code: "fire"}, edited)
		if err != nil {
			b.Fatal(err)
		}
		cases = n
	}
	b.ReportMetric(float64(cases), "cases")
}
