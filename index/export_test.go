package index

import "github.com/blevesearch/bleve/v2/analysis/analyzer/standard"

// OpenVariant opens a new index whose title and body use another analysis,
// for benchmarks: "standard" (Bleve's standard analyzer, no bigram fields),
// "words" (the injected tokenizer without bigram fields) or "" (the real
// mapping).
func OpenVariant(opts Options, variant string) (*Index, error) {
	switch variant {
	case "standard":
		return open(opts, mappingWith(standard.Name, ""))
	case "words":
		return open(opts, mappingWith(analyzerWords, ""))
	}
	return open(opts, nil)
}
