package index

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/registry"
	"golang.org/x/text/unicode/norm"
)

// Token is one word found by an injected tokenizer: its text and its byte
// offsets into the string that was tokenized.
type Token struct {
	Text       string
	Start, End int
}

// Names of the analyzers this package registers in Bleve's registry. The
// names are stored in the index mapping on disk, so they never change.
const (
	// analyzerWords segments with the injected tokenizer (gse search mode).
	analyzerWords = "riskmine_zh_words"
	// analyzerBigrams emits overlapping Han bigrams after the injected normaliser.
	analyzerBigrams = "riskmine_zh_bigrams"
	// analyzerBasicWords is the fallback: one token per Han character.
	analyzerBasicWords = "riskmine_basic_words"
	// analyzerBasicBigrams is the fallback bigram analyzer (built-in normaliser).
	analyzerBasicBigrams = "riskmine_basic_bigrams"
	// analyzerChars emits one token per Han character after the injected
	// normaliser: the character fields of indexes made since they replaced
	// the bigram fields (same field names, title_bg and body_bg).
	analyzerChars = "riskmine_zh_chars"
	// analyzerBasicChars is the fallback character analyzer.
	analyzerBasicChars = "riskmine_basic_chars"
)

// textFuncs are the functions injected by the process through Options.
type textFuncs struct {
	tokenize  func(string) []Token
	normalize func(string) string
}

// Bleve's registry is global and builds analyzers by name, so the injected
// functions are process-wide too. They are installed by the first Open that
// passes them; a later Open must pass the same functions (or none).
var (
	injectedMu sync.RWMutex
	injected   *textFuncs
)

// errNoTokenizer is returned when an index built with the injected tokenizer
// is opened by a process that did not inject one.
var errNoTokenizer = errors.New("the index was built with an injected tokenizer (Options.Tokenize); open it with the same tokenizer")

func funcID(f any) uintptr { return reflect.ValueOf(f).Pointer() }

// install makes tokenize and normalize the process-wide analysis functions.
// normalize may be nil (the built-in normaliser is used then).
func install(tokenize func(string) []Token, normalize func(string) string) error {
	if normalize == nil {
		normalize = basicNormalize
	}
	injectedMu.Lock()
	defer injectedMu.Unlock()
	if injected != nil {
		if funcID(injected.tokenize) != funcID(tokenize) || funcID(injected.normalize) != funcID(normalize) {
			return errors.New("index: a different tokenizer or normaliser is already installed in this process; all indexes of a process share one")
		}
		return nil
	}
	injected = &textFuncs{tokenize: tokenize, normalize: normalize}
	return nil
}

func installed() *textFuncs {
	injectedMu.RLock()
	defer injectedMu.RUnlock()
	return injected
}

func init() {
	reg := func(name string, a analysis.Analyzer) {
		err := registry.RegisterAnalyzer(name, func(map[string]interface{}, *registry.Cache) (analysis.Analyzer, error) {
			return a, nil
		})
		if err != nil {
			panic(fmt.Sprintf("index: register analyzer %s: %v", name, err))
		}
	}
	reg(analyzerWords, wordAnalyzer{})
	reg(analyzerBigrams, bigramAnalyzer{})
	reg(analyzerBasicWords, basicWordAnalyzer{})
	reg(analyzerBasicBigrams, basicBigramAnalyzer{})
	reg(analyzerChars, charAnalyzer{})
	reg(analyzerBasicChars, basicCharAnalyzer{})
}

// wordAnalyzer tokenizes with the injected segmenter. Offsets of the tokens
// point into the original text although segmentation runs on the normalised
// text, so highlights land on what the user sees.
type wordAnalyzer struct{}

func (wordAnalyzer) Analyze(in []byte) analysis.TokenStream {
	f := installed()
	if f == nil {
		// Open refuses to open such an index; this only guards misuse.
		return basicWordAnalyzer{}.Analyze(in)
	}
	text, offs := normalizeMapped(string(in), f.normalize)
	return wordTokens(f.tokenize(text), text, offs)
}

type bigramAnalyzer struct{}

func (bigramAnalyzer) Analyze(in []byte) analysis.TokenStream {
	return bigrams(injectedNormalized(in))
}

type charAnalyzer struct{}

func (charAnalyzer) Analyze(in []byte) analysis.TokenStream {
	return chars(injectedNormalized(in))
}

// injectedNormalized normalises in with the installed normaliser (the
// built-in one when none is installed), with the offset map.
func injectedNormalized(in []byte) (string, []int) {
	_, normalize := analysisFuncs()
	return normalizeMapped(string(in), normalize)
}

type basicCharAnalyzer struct{}

func (basicCharAnalyzer) Analyze(in []byte) analysis.TokenStream {
	return chars(normalizeMapped(string(in), basicNormalize))
}

type basicWordAnalyzer struct{}

func (basicWordAnalyzer) Analyze(in []byte) analysis.TokenStream {
	text, offs := normalizeMapped(string(in), basicNormalize)
	return wordTokens(basicTokenize(text), text, offs)
}

type basicBigramAnalyzer struct{}

func (basicBigramAnalyzer) Analyze(in []byte) analysis.TokenStream {
	return bigrams(normalizeMapped(string(in), basicNormalize))
}

// wordTokens turns segmenter tokens into a Bleve token stream, dropping
// tokens without a letter or digit (spaces, punctuation) and mapping offsets
// back into the original text.
func wordTokens(toks []Token, text string, offs []int) analysis.TokenStream {
	out := make(analysis.TokenStream, 0, len(toks))
	pos := 0
	for _, t := range toks {
		if t.Start < 0 || t.End > len(text) || t.Start >= t.End || !hasWordRune(t.Text) {
			continue
		}
		pos++
		typ := analysis.AlphaNumeric
		if r, _ := utf8.DecodeRuneInString(t.Text); isCJK(r) {
			typ = analysis.Ideographic
		}
		start, end := offs[t.Start], endOff(offs, t.End)
		if end < start {
			end = start
		}
		out = append(out, &analysis.Token{
			Term:     []byte(t.Text),
			Start:    start,
			End:      end,
			Position: pos,
			Type:     typ,
		})
	}
	return out
}

// tokenOut collects the tokens of a normalised text: offsets mapped back
// through offs into the original, positions counted from 1.
type tokenOut struct {
	text string
	offs []int
	pos  int
	out  analysis.TokenStream
}

func newTokenOut(text string, offs []int) *tokenOut {
	return &tokenOut{text: text, offs: offs, out: make(analysis.TokenStream, 0, utf8.RuneCountInString(text))}
}

// emit appends text[start:end] at the next position.
func (o *tokenOut) emit(start, end int, typ analysis.TokenType) {
	o.pos++
	o.out = append(o.out, &analysis.Token{
		Term:     []byte(o.text[start:end]),
		Start:    o.offs[start],
		End:      endOff(o.offs, end),
		Position: o.pos,
		Type:     typ,
	})
}

// bigrams emits, over the normalised text, one token per pair of adjacent
// CJK characters (a lone CJK character is a unigram) and one token per run
// of other letters and digits, with consecutive positions. A substring of
// two or more CJK characters of a text is thus always a phrase of bigrams.
func bigrams(text string, offs []int) analysis.TokenStream {
	o := newTokenOut(text, offs)
	emit := o.emit
	// prev..prevEnd is the previous CJK rune of the current run (prev < 0
	// outside a run); run counts the run's runes.
	prev, prevEnd, run := -1, -1, 0
	endRun := func() {
		if run == 1 {
			emit(prev, prevEnd, analysis.Single)
		}
		prev, prevEnd, run = -1, -1, 0
	}
	wordStart := -1
	endWord := func(i int) {
		if wordStart >= 0 {
			emit(wordStart, i, analysis.AlphaNumeric)
			wordStart = -1
		}
	}
	for i, r := range text {
		size := runeSize(text, i, r)
		switch {
		case isCJK(r):
			endWord(i)
			if prev >= 0 {
				emit(prev, i+size, analysis.Double)
			}
			prev, prevEnd = i, i+size
			run++
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			endRun()
			if wordStart < 0 {
				wordStart = i
			}
		default:
			endRun()
			endWord(i)
		}
	}
	endRun()
	endWord(len(text))
	return o.out
}

// runeSize is the width in bytes of the rune r that ranging over s gave
// at byte i: an invalid byte comes as utf8.RuneError, whose encoding is
// three bytes, but takes one.
func runeSize(s string, i int, r rune) int {
	if r != utf8.RuneError {
		return utf8.RuneLen(r)
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return n
}

// chars emits, over the normalised text, one token per CJK character and
// one per run of other letters and digits, with consecutive positions. A
// substring of a text is thus always a phrase of its characters. As in
// the bigram fields, where no pair spans a space or a punctuation mark
// between two CJK characters, such a break leaves a position out, so no
// phrase crosses it (火浓 is not found in 起火，浓烟). Beside
// the word fields a character field costs much less than a bigram field:
// its dictionary holds a few thousand characters where the pairs of real
// text run to hundreds of thousands, and building and merging those
// dictionaries was half of serve's CPU (docs/PERFORMANCE.md).
func chars(text string, offs []int) analysis.TokenStream {
	o := newTokenOut(text, offs)
	emit := o.emit
	wordStart := -1
	endWord := func(i int) {
		if wordStart >= 0 {
			emit(wordStart, i, analysis.AlphaNumeric)
			wordStart = -1
		}
	}
	// afterCJK: the last token is a CJK character; broken: a break has
	// followed it.
	afterCJK, broken := false, false
	for i, r := range text {
		size := runeSize(text, i, r)
		switch {
		case isCJK(r):
			endWord(i)
			if afterCJK && broken {
				o.pos++
			}
			emit(i, i+size, analysis.Ideographic)
			afterCJK, broken = true, false
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if wordStart < 0 {
				wordStart = i
			}
			afterCJK, broken = false, false
		default:
			endWord(i)
			broken = true
		}
	}
	endWord(len(text))
	return o.out
}

// basicTokenize is the fallback word tokenizer: one token per CJK character
// and one per run of other letters and digits.
func basicTokenize(s string) []Token {
	var out []Token
	wordStart := -1
	for i, r := range s {
		switch {
		case isCJK(r):
			if wordStart >= 0 {
				out = append(out, Token{Text: s[wordStart:i], Start: wordStart, End: i})
				wordStart = -1
			}
			n := utf8.RuneLen(r)
			out = append(out, Token{Text: s[i : i+n], Start: i, End: i + n})
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if wordStart < 0 {
				wordStart = i
			}
		default:
			if wordStart >= 0 {
				out = append(out, Token{Text: s[wordStart:i], Start: wordStart, End: i})
				wordStart = -1
			}
		}
	}
	if wordStart >= 0 {
		out = append(out, Token{Text: s[wordStart:], Start: wordStart, End: len(s)})
	}
	return out
}

// basicNormalize is the fallback normaliser: NFKC (full-width to half-width)
// and lower case. It does not convert traditional characters.
func basicNormalize(s string) string {
	return strings.ToLower(norm.NFKC.String(s))
}

func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

func hasWordRune(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// normalizeMapped normalises s and returns the normalised text with a table
// mapping every byte of it to the byte offset in s of the rune it comes
// from, plus len(s) for the end (token ends go through endOff). Normalisers here work rune for rune almost always (width
// folding, traditional→simplified, case folding); when the rune count
// changes (zero-width characters removed, ligatures expanded) the text is
// normalised piece by piece and, inside a piece that changed length, rune by
// rune, so offsets stay exact at the cost of context-dependent conversions.
func normalizeMapped(s string, normalize func(string) string) (string, []int) {
	n := normalize(s)
	if utf8.RuneCountInString(n) == utf8.RuneCountInString(s) {
		return n, alignRunes(s, n, 0, make([]int, 0, len(n)+1), true)
	}
	var b strings.Builder
	b.Grow(len(n))
	offs := make([]int, 0, len(n)+1)
	start := 0
	for i, r := range s {
		if isBreak(r) {
			end := i + runeSize(s, i, r)
			offs = normalizePiece(s, start, end, normalize, &b, offs)
			start = end
		}
	}
	if start < len(s) {
		offs = normalizePiece(s, start, len(s), normalize, &b, offs)
	}
	offs = append(offs, len(s))
	return b.String(), offs
}

// normalizePiece appends the normalised s[start:end] to b and its offsets.
func normalizePiece(s string, start, end int, normalize func(string) string, b *strings.Builder, offs []int) []int {
	piece := s[start:end]
	n := normalize(piece)
	if utf8.RuneCountInString(n) == utf8.RuneCountInString(piece) {
		b.WriteString(n)
		return alignRunes(piece, n, start, offs, false)
	}
	for i, r := range piece {
		size := runeSize(piece, i, r)
		nr := normalize(piece[i : i+size])
		b.WriteString(nr)
		for range len(nr) {
			offs = append(offs, start+i)
		}
	}
	return offs
}

// endOff maps the end offset e of a token in the normalised text to the
// original: the start of the next original rune. Inside the replacement of
// one original rune (㈱ → (株)) that is the end of that rune.
func endOff(offs []int, e int) int {
	if e <= 0 || e >= len(offs)-1 || offs[e] != offs[e-1] {
		return offs[e]
	}
	j := e
	for j < len(offs)-1 && offs[j] == offs[e-1] {
		j++
	}
	return offs[j]
}

// alignRunes appends, for every byte of n, the offset in s (shifted by base)
// of the rune it comes from, assuming n and s have the same number of runes.
// With final set it also appends the end offset.
func alignRunes(s, n string, base int, offs []int, final bool) []int {
	si := 0
	for ni := 0; ni < len(n); {
		_, nsize := utf8.DecodeRuneInString(n[ni:])
		_, ssize := utf8.DecodeRuneInString(s[si:])
		for range nsize {
			offs = append(offs, base+si)
		}
		ni += nsize
		si += ssize
	}
	if final {
		offs = append(offs, base+len(s))
	}
	return offs
}

func isBreak(r rune) bool {
	switch r {
	case '。', '！', '？', '，', '；', '\n', ' ', '.', '!', '?', ',', ';':
		return true
	}
	return false
}
