package nlp

import (
	"math"
	"math/bits"
	"slices"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/go-ego/gse"
)

const (
	// keyBits is the size of the hashed feature space (2^22 keys).
	keyBits = 22
	// maxModelRunes bounds the runes of each field the model reads: a 100
	// KB page costs no more than its first few thousand characters.
	maxModelRunes = 4000
	// maxGramOrder is the longest character n-gram.
	maxGramOrder = 3
)

// gramClass maps a normalised rune to what n-grams see: Han characters and
// letters as themselves, every digit as '0', anything else as a boundary (0).
func gramClass(r rune) rune {
	switch {
	case r >= '0' && r <= '9':
		return '0'
	case r < 0x80:
		if r >= 'a' && r <= 'z' {
			return r
		}
		return 0
	case isHan(r):
		return r
	case unicode.IsLetter(r):
		return r
	case unicode.IsDigit(r):
		return '0'
	}
	return 0
}

func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func keyOf(h uint64) uint32 { return uint32(mix64(h) >> (64 - keyBits)) }

// gramKey is the key of the n-gram ending with the runes w (w[len-n:]).
func gramKey(w []rune) uint32 {
	h := uint64(len(w)) * 0x9E3779B97F4A7C15
	for _, r := range w {
		h = (h ^ uint64(r)) * 0x100000001B3
	}
	return keyOf(h)
}

// stringKey is the key of a named feature (lexicon, length).
func stringKey(s string) uint32 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 0x100000001B3
	}
	return keyOf(h ^ 0x5bd1e995)
}

// forEachGram calls fn with every character 1–3-gram of the first
// maxModelRunes runes of nz, with its rune span in nz.Text.
func forEachGram(nz *Normalized, fn func(key uint32, start, end int)) {
	var win [maxGramOrder]rune
	n := 0 // runes in the window since the last boundary
	i := 0
	for _, r := range nz.Text {
		if i >= maxModelRunes {
			break
		}
		c := gramClass(r)
		if c == 0 {
			n = 0
			i++
			continue
		}
		copy(win[:], win[1:])
		win[maxGramOrder-1] = c
		n++
		for k := 1; k <= min(n, maxGramOrder); k++ {
			fn(gramKey(win[maxGramOrder-k:]), i+1-k, i+1)
		}
		i++
	}
}

// Domains (feature sets with domainSuffix). A post of one of two registers
// has each of its n-grams and lexicon features twice: under its own key,
// which every post shares, and under a key of its domain, which only posts
// of that register have. A model so learns a feature's general weight and
// how the register differs from it, without the register's posts pulling
// the weights the others rely on (feature-copy domain adaptation, Daumé III
// 2007). The registers:
//   - court: a criminal judgment or indictment (courtCues), whose charge
//     decides the category (a 寻衅滋事 case that tells of a beating is
//     mass_incident, an assault is violence);
//   - short: any other post of at most shortPostRunes runes, title and text
//     together (first-person reports, Weibo posts, headlines).
const (
	shortPostRunes = 120
	domainShort    = 1
	domainCourt    = 2
)

// courtCues are words of the opening of a criminal judgment or indictment.
var courtCues = [...]string{"被告人", "公诉机关", "检察院指控", "经审理查明"}

// domainSeeds[d] salts the keys of domain d.
var domainSeeds = [...]uint64{domainShort: 0x6A09E667F3BCC909, domainCourt: 0xBB67AE8584CAA73B}

// domainKey is domain d's key of the feature with key k.
func domainKey(k uint32, d int) uint32 { return keyOf(uint64(k) ^ domainSeeds[d]) }

// postDomain returns the domain of the post with fields, 0 for none: a
// court record when a field's model prefix holds one of courtCues (found by
// the lexicons' automaton), a short post by its length.
func postDomain(fields []*fieldMatches) int {
	n := 0
	for _, fm := range fields {
		if fm.court {
			return domainCourt
		}
		n += fm.nz.RuneLen()
	}
	if n <= shortPostRunes {
		return domainShort
	}
	return 0
}

// withDomainCopies appends to dense domain d's copy of each of its
// features.
func withDomainCopies(dense []denseFeature, d int) []denseFeature {
	for _, f := range dense {
		dense = append(dense, denseFeature{domainKey(f.key, d), f.val})
	}
	return dense
}

// denseFeature is a named feature with its value.
type denseFeature struct {
	key uint32
	val float64
}

// catFeatureKeys are the keys of the per-category lexicon features.
type catFeatureKeys struct {
	lex, supp uint32
}

// lexiconFeatures turns the lexicon's per-category results into features:
// the category's score (log), whether hits were suppressed (negated or
// excluded), and each rule or term that counted. lenRunes is the post's
// length in runes (title and text).
func (a *Analyzer) lexiconFeatures(acc []catScore, lenRunes int, out []denseFeature) []denseFeature {
	for c := range acc {
		cs := &acc[c]
		k := a.catKeys[c]
		if cs.raw > 0 {
			out = append(out, denseFeature{k.lex, math.Log1p(cs.raw)})
		}
		if len(cs.supp) > 0 {
			out = append(out, denseFeature{k.supp, float64(min(len(cs.supp), 3)) / 3})
		}
		seen := map[string]bool{}
		for _, h := range cs.hits {
			if h.weight <= 0 || seen[h.rule] {
				continue
			}
			seen[h.rule] = true
			out = append(out, denseFeature{stringKey("rule:" + h.rule), 1})
		}
	}
	out = append(out, denseFeature{a.lenKeys[bits.Len(uint(lenRunes))], 1})
	return out
}

// cueFeatures appends the severity cues' features (feature sets with
// cueSuffix): each kind of cue the rubric finds in the post, once, and
// once more with the level it supports ("trapped", "trapped@critical").
// A cue in a clause that negates it, or in a sentence of a film or a
// drill, is not found (severityCuesOf), so these features read the same
// as the levels do.
func cueFeatures(cues []SeverityCue, out []denseFeature) []denseFeature {
	var seen []string // "kind" and "kind@level" of the features so far
	add := func(name string) {
		if slices.Contains(seen, name) {
			return
		}
		seen = append(seen, name)
		out = append(out, denseFeature{stringKey("sev:" + name), 1})
	}
	for _, c := range cues {
		if c.Kind == "negated" {
			continue // listed for readers; the features read as before
		}
		add(c.Kind)
		if c.Level != "" {
			add(c.Kind + "@" + c.Level)
		}
	}
	return out
}

// Word features (feature set featureSetWords): every gse word of a field's
// first maxModelRunes runes and every pair of adjacent words, hashed into
// the same key space as the n-grams under seeds of their own. Digits read
// as '0', as in n-grams; a token holding anything gramClass maps to a
// boundary (spaces, punctuation) is no word and breaks the chain of pairs.
const (
	wordSeed   = 0x2545F4914F6CDD1D
	bigramSeed = 0x9FB21C651E98DF25
)

// wordHash hashes a token as n-grams see its runes; ok is false for a
// token that is no word.
func wordHash(tok string) (h uint64, ok bool) {
	h = 0xcbf29ce484222325
	for _, r := range tok {
		c := gramClass(r)
		if c == 0 {
			return 0, false
		}
		h = (h ^ uint64(c)) * 0x100000001B3
	}
	return h, tok != ""
}

// modelPrefix returns the byte length of the first maxModelRunes runes of s.
func modelPrefix(s string) int {
	n := 0
	for i := range s {
		if n == maxModelRunes {
			return i
		}
		n++
	}
	return len(s)
}

// modelSegments returns the gse words of the field's model prefix (the
// first maxModelRunes runes of the normalised text), segmenting once per
// field: the fingerprint reuses them when the prefix is the whole field.
func (fm *fieldMatches) modelSegments() []gse.Segment {
	if fm.segsDone {
		return fm.segs
	}
	text := fm.nz.Text
	cut := modelPrefix(text)
	if cut > 0 {
		fm.segs = segmenter().Segment(unsafe.Slice(unsafe.StringData(text), cut))
	}
	fm.segsDone, fm.segsWhole = true, cut == len(text)
	return fm.segs
}

// forEachWord calls fn with the key of every word and of every pair of
// adjacent words of segs (a segmentation of text), with the rune span in
// text.
func forEachWord(text string, segs []gse.Segment, fn func(key uint32, start, end int)) {
	var prev uint64
	havePrev, prevStart := false, 0
	ri, bi := 0, 0 // rune index at byte bi
	for _, g := range segs {
		st, en := g.Start(), g.End()
		if st < bi || en > len(text) || en <= st {
			havePrev = false
			continue
		}
		ri += utf8.RuneCountInString(text[bi:st])
		rs := ri
		ri += utf8.RuneCountInString(text[st:en])
		bi = en
		h, ok := wordHash(text[st:en])
		if !ok {
			havePrev = false
			continue
		}
		fn(keyOf(h^wordSeed), rs, ri)
		if havePrev {
			fn(keyOf(mix64(prev^bigramSeed)+h), prevStart, ri)
		}
		prev, prevStart, havePrev = h, rs, true
	}
}
