package index

import (
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/document"
)

// Words are a field's words cut by the caller (Options.Tokenize of
// Options.Normalize of the field), handed in with the document so that the
// index does not segment the text a second time. Normalized is the text the
// tokens' offsets point into; when it is not what the index's own
// normalisation makes of the field, the words are not used and the field is
// segmented as usual, so stale or foreign words can cost time but never
// change what is indexed.
type Words struct {
	Normalized string
	Tokens     []Token
}

// fieldText is the normalised form of one title or body value, made once
// and shared by its word and bigram fields.
type fieldText struct {
	done  bool
	text  string
	offs  []int
	words *Words
}

// normalized returns the normalised text of in and its offsets; Bleve
// analyses the fields of a document one after the other, so no lock is
// needed.
func (ft *fieldText) normalized(in []byte, f *textFuncs) (string, []int) {
	if !ft.done {
		ft.text, ft.offs = normalizeMapped(string(in), f.normalize)
		ft.done = true
	}
	return ft.text, ft.offs
}

// docWordAnalyzer is wordAnalyzer for one field of one document.
type docWordAnalyzer struct {
	ft *fieldText
	f  *textFuncs
}

func (a docWordAnalyzer) Analyze(in []byte) analysis.TokenStream {
	text, offs := a.ft.normalized(in, a.f)
	if w := a.ft.words; w != nil && w.Normalized == text {
		return wordTokens(w.Tokens, text, offs)
	}
	return wordTokens(a.f.tokenize(text), text, offs)
}

// docBigramAnalyzer is bigramAnalyzer for one field of one document.
type docBigramAnalyzer struct {
	ft *fieldText
	f  *textFuncs
}

func (a docBigramAnalyzer) Analyze(in []byte) analysis.TokenStream {
	text, offs := a.ft.normalized(in, a.f)
	return bigrams(text, offs)
}

// shareAnalysis gives the title and body fields of doc, as mapped with the
// injected analyzers, per-document analyzers that normalise each value once
// for its word and bigram fields and take the caller's words where given.
// Fields of other analyzers (the fallback and benchmark variants) are left
// as they are.
func shareAnalysis(doc *document.Document, title, body *Words) {
	f := installed()
	if f == nil {
		return
	}
	tt, bt := &fieldText{words: title}, &fieldText{words: body}
	for i, fl := range doc.Fields {
		tf, ok := fl.(*document.TextField)
		if !ok {
			continue
		}
		var ft *fieldText
		switch tf.Name() {
		case fieldTitle, fieldTitleBigrams:
			ft = tt
		case fieldBody, fieldBodyBigrams:
			ft = bt
		default:
			continue
		}
		var an analysis.Analyzer
		switch tf.Analyzer().(type) {
		case wordAnalyzer:
			an = docWordAnalyzer{ft: ft, f: f}
		case bigramAnalyzer:
			an = docBigramAnalyzer{ft: ft, f: f}
		default:
			continue
		}
		doc.Fields[i] = document.NewTextFieldCustom(tf.Name(), tf.ArrayPositions(), tf.Value(), tf.Options(), an)
	}
}
