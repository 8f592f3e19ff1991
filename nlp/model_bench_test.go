package nlp

import (
	"flag"
	"testing"
)

var benchModelFile = flag.String("nlp.model-file", "", "BenchmarkAnalyzeModelFile: the model file to score with")

// BenchmarkAnalyzeModelFile is BenchmarkAnalyzeModel with the model of
// -nlp.model-file (a model trained with --words, say), for comparing a
// model not embedded. Skipped without the flag.
func BenchmarkAnalyzeModelFile(b *testing.B) {
	if *benchModelFile == "" {
		b.Skip("no -nlp.model-file")
	}
	la := benchAnalyzer(b)
	m, err := ReadModel(*benchModelFile)
	if err != nil {
		b.Fatal(err)
	}
	a := la.WithModel(m)
	posts, total := benchPosts()
	b.SetBytes(int64(total / len(posts)))
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		a.Analyze(posts[i%len(posts)])
	}
	reportCPU(b, cpu0, int64(total/len(posts)))
}
