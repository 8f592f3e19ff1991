package nlp

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Pattern kinds, as LexiconPattern.Kind names them.
const (
	PatternTerm        = "term"
	PatternVariant     = "variant"
	PatternRuleWord    = "rule word"
	PatternNegation    = "negation"
	PatternExclusion   = "exclusion"
	PatternIntensifier = "intensifier"
)

// LexiconPattern is one word of a lexicon as the analyzer matches it, with
// the file it is written in.
type LexiconPattern struct {
	// File is the lexicon file: its name ("fire.yaml") for an embedded
	// lexicon, its path for one of the lexicon dir.
	File string
	// Embedded is true for a lexicon built into the binary.
	Embedded bool
	// Code is the category, "" for the common cues of _common.yaml.
	Code string
	// Kind is one of the Pattern* kinds.
	Kind string
	// Text is the word as written in the file.
	Text string
	// Normalized is the word as matched: NormalizeText of Text.
	Normalized string
}

// LexiconPatterns loads the embedded lexicons and those of dir the way
// NewAnalyzer does (a file of dir replacing the category of its code) and
// lists every term, variant, rule word, negation, exclusion and intensifier
// in effect, file by file (common cues first, then categories by code) in
// the order written. A word written twice in a file with the same kind is
// listed once.
func LexiconPatterns(dir string) ([]LexiconPattern, error) {
	set, err := loadLexicons(embeddedLexicons, "lexicons", dir, RequiredCategories)
	if err != nil {
		return nil, err
	}
	var out []LexiconPattern
	// The set merges the common files; read them again to tell which file
	// a cue is written in.
	raw, err := fs.ReadFile(embeddedLexicons, "lexicons/"+commonLexiconFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("nlp: read lexicon %s: %w", commonLexiconFile, err)
	}
	if err == nil {
		lx, err := ParseLexicon(commonLexiconFile, raw)
		if err != nil {
			return nil, err
		}
		out = appendPatterns(out, lx, true)
	}
	if dir != "" {
		path := filepath.Join(dir, commonLexiconFile)
		raw, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("nlp: read lexicon: %w", err)
		}
		if err == nil {
			lx, err := ParseLexicon(path, raw)
			if err != nil {
				return nil, err
			}
			out = appendPatterns(out, lx, false)
		}
	}
	// loadLexicons names a file of dir by its path (as Glob returns it) and
	// an embedded one by its name.
	fromDir := map[string]bool{}
	if dir != "" {
		names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			return nil, fmt.Errorf("nlp: lexicon dir %s: %w", dir, err)
		}
		for _, n := range names {
			fromDir[n] = true
		}
	}
	for _, lx := range set.cats {
		out = appendPatterns(out, lx, !fromDir[lx.File])
	}
	return out, nil
}

// appendPatterns adds the words of one lexicon file.
func appendPatterns(out []LexiconPattern, lx *Lexicon, embedded bool) []LexiconPattern {
	type key struct{ kind, norm string }
	seen := map[key]bool{}
	add := func(kind, w string) {
		n := NormalizeText(strings.TrimSpace(w))
		if n == "" || seen[key{kind, n}] {
			return
		}
		seen[key{kind, n}] = true
		out = append(out, LexiconPattern{File: lx.File, Embedded: embedded, Code: lx.Code, Kind: kind, Text: w, Normalized: n})
	}
	for _, t := range lx.Terms {
		add(PatternTerm, t.Term)
		for _, v := range t.Variants {
			add(PatternVariant, v)
		}
	}
	for _, r := range lx.Rules {
		for _, g := range r.Groups {
			for _, w := range g {
				add(PatternRuleWord, w)
			}
		}
	}
	for _, w := range lx.Negations {
		add(PatternNegation, w)
	}
	for _, w := range lx.Exclusions {
		add(PatternExclusion, w)
	}
	for _, t := range lx.Intensifiers {
		add(PatternIntensifier, t.Term)
	}
	return out
}
