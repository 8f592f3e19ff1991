package index

import (
	"fmt"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/document"
)

// OpenVariant opens a new index whose title and body use another analysis,
// for benchmarks: "standard" (Bleve's standard analyzer, no bigram fields),
// "words" (the injected tokenizer without bigram fields), "word-vectors"
// (the mapping as it was before the word fields lost their term vectors),
// "bigrams" (the mapping as it was before the character fields replaced
// the bigram fields) or "" (the real mapping). Two more price one feature each of
// the real mapping and cannot answer every search: "no-title-bigrams"
// (the title without its bigram field) and "bigrams-without-vectors"
// (the bigram fields without the term vectors phrases and highlights
// read).
func OpenVariant(opts Options, variant string) (*Index, error) {
	switch variant {
	case "standard":
		return open(opts, mappingWith(standard.Name, "", true))
	case "words":
		return open(opts, mappingWith(analyzerWords, "", true))
	case "word-vectors":
		return open(opts, mappingWith(analyzerWords, analyzerBigrams, true))
	case "bigrams":
		return open(opts, mappingWith(analyzerWords, analyzerBigrams, false))
	case "no-title-bigrams", "bigrams-without-vectors":
		m := mappingWith(analyzerWords, analyzerBigrams, false)
		for _, name := range []string{fieldTitle, fieldBody} {
			p := m.DefaultMapping.Properties[name]
			if variant == "no-title-bigrams" && name == fieldTitle {
				p.Fields = p.Fields[:1]
				continue
			}
			for _, f := range p.Fields[1:] {
				f.IncludeTermVectors = variant != "bigrams-without-vectors"
			}
		}
		return open(opts, m)
	case "":
		return open(opts, nil)
	}
	return nil, fmt.Errorf("unknown index variant %q", variant)
}

// BareIndex is a plain Bleve index of the real mapping fed documents whose
// title and body were analysed beforehand: BenchmarkIndexing's baseline for
// what riskmine's own code around Bleve costs.
type BareIndex struct {
	bi    bleve.Index
	batch *bleve.Batch
}

// BareDoc is a document mapped and analysed ahead of time.
type BareDoc struct{ doc *document.Document }

// fixedStream is an analyzer that returns tokens made beforehand.
type fixedStream analysis.TokenStream

func (f fixedStream) Analyze([]byte) analysis.TokenStream { return analysis.TokenStream(f) }

// NewBare creates a Bleve index of the real mapping at path with Bleve's
// default settings.
func NewBare(path string) (*BareIndex, error) {
	bi, err := bleve.New(path, newMapping(false))
	if err != nil {
		return nil, err
	}
	return &BareIndex{bi: bi, batch: bi.NewBatch()}, nil
}

// PrepareBare maps d and analyses its title and body fields now, with the
// installed tokenizer (an index must have been opened with it).
func PrepareBare(d Doc) (*BareDoc, error) {
	f := installed()
	if f == nil {
		return nil, errNoTokenizer
	}
	doc := document.NewDocument(d.Key())
	if err := newMapping(false).MapDocument(doc, toBleve(&d, time.UTC)); err != nil {
		return nil, err
	}
	for i, fl := range doc.Fields {
		tf, ok := fl.(*document.TextField)
		if !ok {
			continue
		}
		text, offs := normalizeMapped(string(tf.Value()), f.normalize)
		var ts analysis.TokenStream
		switch tf.Analyzer().(type) {
		case wordAnalyzer:
			ts = wordTokens(f.tokenize(text), text, offs)
		case bigramAnalyzer:
			ts = bigrams(text, offs)
		case charAnalyzer:
			ts = chars(text, offs)
		default:
			continue
		}
		doc.Fields[i] = document.NewTextFieldCustom(tf.Name(), tf.ArrayPositions(), tf.Value(), tf.Options(), fixedStream(ts))
	}
	return &BareDoc{doc: doc}, nil
}

// Add queues d, writing a batch of every 1,000 documents.
func (b *BareIndex) Add(d *BareDoc) error {
	if err := b.batch.IndexAdvanced(d.doc); err != nil {
		return err
	}
	if b.batch.Size() >= 1000 {
		return b.Flush()
	}
	return nil
}

// Flush writes the queued documents.
func (b *BareIndex) Flush() error {
	if b.batch.Size() == 0 {
		return nil
	}
	err := b.bi.Batch(b.batch)
	b.batch.Reset()
	return err
}

// Close writes what is queued and closes the index.
func (b *BareIndex) Close() error {
	err := b.Flush()
	if cerr := b.bi.Close(); err == nil {
		err = cerr
	}
	return err
}
