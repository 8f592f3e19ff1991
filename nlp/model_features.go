package nlp

import (
	"math"
	"math/bits"
	"unicode"
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
