package index

import (
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/document"
)

// Words are a field's words cut by the caller (Options.Tokenize of
// Options.Normalize of the field), handed in with the document so that the
// index does not segment the text a second time. Normalized is the text the
// tokens' offsets point into. Orig, when set, gives for each rune of
// Normalized the rune offset in the field it comes from: Options.Normalize
// drops the spaces and joining marks between Chinese characters over the
// whole text, which the index, normalising piece by piece to keep its
// offsets, cannot reproduce on its own; with Orig the index takes
// Normalized (which must be Options.Normalize of the whole field) as the
// field's text, so scorer and index see the same text. When Normalized is
// not what the index makes of the field, the words are not used and the
// field is analysed as without them, so stale or foreign words can cost
// time but never change what is indexed.
type Words struct {
	Normalized string
	Tokens     []Token
	Orig       []int32
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
		ft.done = true
		if w := ft.words; w != nil && len(w.Orig) > 0 {
			if offs, ok := origOffsets(string(in), w.Normalized, w.Orig); ok && f.normalize(string(in)) == w.Normalized {
				ft.text, ft.offs = w.Normalized, offs
				return ft.text, ft.offs
			}
		}
		ft.text, ft.offs = normalizeMapped(string(in), f.normalize)
	}
	return ft.text, ft.offs
}

// origOffsets turns orig (for each rune of n, the rune offset in s it comes
// from) into the index's offsets: for each byte of n the byte offset in s
// of its rune, then len(s). ok is false when orig does not fit n and s (a
// length that differs, an offset out of range or going back).
func origOffsets(s, n string, orig []int32) (offs []int, ok bool) {
	starts := make([]int, 0, len(s)+1) // byte offset of each rune of s
	for i := range s {
		starts = append(starts, i)
	}
	offs = make([]int, 0, len(n)+1)
	k, last := 0, int32(0)
	for i := 0; i < len(n); k++ {
		if k >= len(orig) || orig[k] < last || int(orig[k]) >= len(starts) {
			return nil, false
		}
		last = orig[k]
		_, size := utf8.DecodeRuneInString(n[i:])
		for range size {
			offs = append(offs, starts[orig[k]])
		}
		i += size
	}
	if k != len(orig) {
		return nil, false
	}
	return append(offs, len(s)), true
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

// docGramAnalyzer is bigramAnalyzer or charAnalyzer (cut) for one field of
// one document, on the text its word field normalised.
type docGramAnalyzer struct {
	ft  *fieldText
	f   *textFuncs
	cut func(text string, offs []int) analysis.TokenStream
}

func (a docGramAnalyzer) Analyze(in []byte) analysis.TokenStream {
	text, offs := a.ft.normalized(in, a.f)
	return a.cut(text, offs)
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
			an = docGramAnalyzer{ft: ft, f: f, cut: bigrams}
		case charAnalyzer:
			an = docGramAnalyzer{ft: ft, f: f, cut: chars}
		default:
			continue
		}
		doc.Fields[i] = document.NewTextFieldCustom(tf.Name(), tf.ArrayPositions(), tf.Value(), tf.Options(), an)
	}
}
