package nlp

import (
	"math"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/go-ego/gse"
)

// Token is one word of a segmentation, with byte offsets into the segmented
// string.
type Token struct {
	// Text is the word as it appears in the input.
	Text string
	// Start and End are byte offsets into the input; input[Start:End] == Text.
	Start, End int
}

// lexiconWordFreq is the dictionary frequency given to lexicon terms added to
// the segmenter: high enough that gse keeps a hazard word whole rather than
// splitting it into more frequent neighbours.
const lexiconWordFreq = 20000

var (
	segOnce sync.Once
	segDict *gse.Segmenter
	segLogF float64 // log2 of the dictionary's total frequency
)

// segmenter returns the process-wide gse segmenter, loading it on first use:
// the embedded simplified dictionary only (the text is simplified before
// segmentation, and the traditional dictionary would add ~100 MB and half a
// second), plus every term of the embedded lexicons so hazard words are not
// split. The HMM model is not loaded: new-word discovery is not needed and
// costs 3× the speed. gse only reads the dictionary after loading, so the
// segmenter is shared by all goroutines.
func segmenter() *gse.Segmenter {
	segOnce.Do(func() {
		segDict = loadSegmenter()
		segLogF = math.Log2(segDict.Dict.TotalFreq())
	})
	return segDict
}

// loadSegmenter builds a segmenter: the embedded simplified dictionary plus
// the embedded lexicons' words.
func loadSegmenter() *gse.Segmenter {
	s := &gse.Segmenter{NotLoadHMM: true, SkipLog: true}
	s.Dict = gse.NewDict()
	s.Init()
	// Lexicon words go in first: gse keeps the first entry of a word, and
	// the dictionary load below computes the token table once for all.
	for _, w := range embeddedLexiconWords() {
		if utf8.RuneCountInString(w) < 2 || strings.ContainsAny(w, " \t\n") {
			continue
		}
		_ = s.AddToken(w, lexiconWordFreq, "n")
	}
	_ = s.LoadDictEmbed("zh_s")
	return s
}

// WarmUp loads the segmenter and the conversion tables now rather than on the
// first call; commands call it in the background while they read input.
func WarmUp() {
	segmenter()
	loadT2S()
}

// segment cuts s into words (gse's shortest-path mode) with byte offsets.
func segment(s string) []Token {
	if s == "" {
		return nil
	}
	segs := segmenter().Segment([]byte(s))
	out := make([]Token, 0, len(segs))
	for _, g := range segs {
		out = append(out, Token{Text: s[g.Start():g.End()], Start: g.Start(), End: g.End()})
	}
	return out
}

// CutSearch segments s in search-engine mode: each word, and before it the
// dictionary words inside it (中华人民共和国 also yields 中华, 人民, 共和国),
// with byte offsets into s. Whitespace and punctuation are left out. The
// segmenter is loaded once per process; CutSearch is safe for concurrent use.
func CutSearch(s string) []Token {
	if s == "" {
		return nil
	}
	return searchTokens(s, segmenter().Segment([]byte(s)))
}

// searchTokens turns gse's segments of s into CutSearch's words.
func searchTokens(s string, segs []gse.Segment) []Token {
	out := make([]Token, 0, len(segs)+len(segs)/4)
	for _, g := range segs {
		out = appendSubwords(out, s, g.Token(), g.Start())
		if isWordToken(s[g.Start():g.End()]) {
			out = append(out, Token{Text: s[g.Start():g.End()], Start: g.Start(), End: g.End()})
		}
	}
	return out
}

// appendSubwords appends the dictionary sub-words of a token (computed by gse
// when the dictionary was loaded), recursively, offset by base.
func appendSubwords(out []Token, s string, tok *gse.Token, base int) []Token {
	subs := tok.Segments()
	if len(subs) < 2 {
		return out
	}
	for _, sub := range subs {
		st, en := base+sub.Start(), base+sub.End()
		if en > len(s) || st >= en {
			continue
		}
		out = appendSubwords(out, s, sub.Token(), st)
		if utf8.RuneCountInString(s[st:en]) >= 2 && isWordToken(s[st:en]) {
			out = append(out, Token{Text: s[st:en], Start: st, End: en})
		}
	}
	return out
}

// isWordToken reports whether w holds a letter or digit (Han included).
func isWordToken(w string) bool {
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}
