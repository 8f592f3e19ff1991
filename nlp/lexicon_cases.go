package nlp

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
)

// LexiconCaseHit is the definition of a hit for the lexicon cases (and
// the lexicon evaluation): level medium or higher with code among the
// categories. A positive case must be a hit, a negative one must not.
func LexiconCaseHit(as *Assessment, code string) bool {
	if LevelRank(as.Level) < LevelRank(LevelMedium) {
		return false
	}
	for _, c := range as.Categories {
		if c.Code == code {
			return true
		}
	}
	return false
}

// LexiconCaseFailure is one failed lexicon case, or a category without
// cases (Kind "missing") or cases of no known category (Kind "unknown").
type LexiconCaseFailure struct {
	Code string `json:"code"`
	Kind string `json:"kind"` // positive, negative, missing or unknown
	Text string `json:"text,omitempty"`
	// Found is the assessment's level, score and categories.
	Level      string   `json:"level,omitempty"`
	Score      float64  `json:"score,omitempty"`
	Categories []string `json:"categories,omitempty"`
}

// CheckLexiconCases runs every case of sets with an, by the rules of
// `riskmine lexicon test`: each positive must be a hit (LexiconCaseHit),
// no negative may, each cases file must name a known category and each
// category must have a cases file. It returns how many sentences ran and
// the failures.
func CheckLexiconCases(an *Analyzer, sets []LexiconCases) (int, []LexiconCaseFailure) {
	known := map[string]bool{}
	for _, c := range an.Categories() {
		known[c] = true
	}
	var out []LexiconCaseFailure
	total := 0
	ran := map[string]bool{}
	for _, cs := range sets {
		ran[cs.Code] = true
		if !known[cs.Code] {
			out = append(out, LexiconCaseFailure{Code: cs.Code, Kind: "unknown", Text: cs.File})
			continue
		}
		check := func(kind, s string, want bool) {
			total++
			as := an.Analyze(Input{ID: cs.Code, Text: s})
			if LexiconCaseHit(as, cs.Code) == want {
				return
			}
			f := LexiconCaseFailure{Code: cs.Code, Kind: kind, Text: s, Level: as.Level, Score: as.Score}
			for _, c := range as.Categories {
				f.Categories = append(f.Categories, c.Code)
			}
			out = append(out, f)
		}
		for _, s := range cs.Positive {
			check("positive", s, true)
		}
		for _, s := range cs.Negative {
			check("negative", s, false)
		}
	}
	for _, c := range an.Categories() {
		if !ran[c] {
			out = append(out, LexiconCaseFailure{Code: c, Kind: "missing"})
		}
	}
	return total, out
}

var lexiconCodeRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// EmbeddedLexicon returns the text of the embedded lexicon of category
// code (nlp/lexicons/<code>.yaml); ok is false when there is none.
func EmbeddedLexicon(code string) (text []byte, ok bool) {
	if !lexiconCodeRE.MatchString(code) {
		return nil, false
	}
	b, err := fs.ReadFile(embeddedLexicons, "lexicons/"+code+".yaml")
	if err != nil {
		return nil, false
	}
	return b, true
}

// ParseCategoryLexicon parses raw as the lexicon of category code (the
// file name and the code key must agree): the lexicon editor's check
// before anything is written.
func ParseCategoryLexicon(code string, raw []byte) (*Lexicon, error) {
	if !lexiconCodeRE.MatchString(code) {
		return nil, &LexiconError{File: code + ".yaml", Key: "code", Msg: fmt.Sprintf("%q is not a category code (lower-case letters, digits and _)", code)}
	}
	lx, err := ParseLexicon(code+".yaml", raw)
	if err != nil {
		return nil, err
	}
	if lx.Code != code {
		return nil, &LexiconError{File: code + ".yaml", Key: "code", Msg: fmt.Sprintf("must stay %q, got %q", code, lx.Code)}
	}
	return lx, nil
}

// EmbeddedLexiconFile returns an embedded lexicon file by name: the shared
// cues (_common.yaml), a category's lexicon (<code>.yaml) or its cases
// (<code>.cases.yaml); ok is false for any other name or a missing file.
func EmbeddedLexiconFile(name string) (text []byte, ok bool) {
	code, isCases := strings.CutSuffix(name, ".cases.yaml")
	if !isCases && name != commonLexiconFile {
		code, ok := strings.CutSuffix(name, ".yaml")
		if !ok {
			return nil, false
		}
		return EmbeddedLexicon(code)
	}
	if isCases && !lexiconCodeRE.MatchString(code) {
		return nil, false
	}
	b, err := fs.ReadFile(embeddedLexicons, "lexicons/"+name)
	if err != nil {
		return nil, false
	}
	return b, true
}

// ParseLexiconCases decodes one cases file (positive and negative
// sentences, nothing else); errors name the file and the line.
func ParseLexiconCases(file string, raw []byte) (LexiconCases, error) {
	var c LexiconCases
	if err := decodeYAML(raw, &c); err != nil {
		return c, yamlError(file, err)
	}
	c.Code, c.File = strings.TrimSuffix(filepath.Base(file), ".cases.yaml"), file
	return c, nil
}
