package nlp

import (
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/coregx/ahocorasick"
)

// Options configure an Analyzer.
type Options struct {
	// LexiconDir is a folder of extra lexicon files loaded after the
	// embedded defaults; a file whose code exists replaces that category.
	LexiconDir string
	// Thresholds set the levels; the zero value means DefaultThresholds.
	Thresholds Thresholds
	// NoFingerprint leaves Assessment.SimHash and Keywords empty. Scoring
	// with a model of character features only does not need the segmenter;
	// callers that print only the score (riskmine score) then skip loading
	// its ~200 MB dictionary and its cost. A model that reads words
	// (Model.UsesWords) loads it on the first post.
	NoFingerprint bool
	// Model is the trained classifier read beside the lexicons; nil means
	// the embedded default model (DefaultModel), unless LexiconOnly.
	Model *Model
	// LexiconOnly scores with the lexicons alone: levels come from the
	// score thresholds, as before the model (riskmine lexicon test).
	LexiconOnly bool
}

// Analyzer scores posts against the hazard lexicons. It is safe for
// concurrent use.
type Analyzer struct {
	th       Thresholds
	noFP     bool
	cats     []*category
	ac       *ahocorasick.Automaton
	roles    [][]role // by pattern id
	pats     []string // by pattern id
	patRunes []int    // length in runes, by pattern id
	common   *Lexicon
	ruleIDs  map[string]bool // evidence names of rules ("fire/brigade")
	// maxPatRunes is the length of the longest pattern in runes.
	maxPatRunes int
	// nRules is the number of rules over all categories.
	nRules int
	// model, when set, decides categories and levels with the lexicon
	// hits as some of its features.
	model *Model
	// modelCat maps a category index to the model's, -1 when unknown.
	modelCat []int
	catKeys  []catFeatureKeys
	lenKeys  [64]uint32
	regKeys  registerKeys
}

// category is a lexicon compiled for matching.
type category struct {
	lex   *Lexicon
	rules []LexiconRule
	// ctxExcl[i] is true when exclusion pattern i (a pattern id) suppresses
	// the whole sentence for this category, not only the hits it overlaps.
	ctxExcl map[int]bool
}

type roleKind uint8

const (
	roleTerm roleKind = iota
	roleRuleWord
	roleNegation
	roleExclusion
	roleIntensifier
	// roleRegister marks a register cue (register.go); rule is the
	// register's index.
	roleRegister
	// roleCourtCue marks a court record's opening words (courtCues), which
	// put a post in the court domain of a model with domain features.
	roleCourtCue
	// roleSeverity marks a pattern of the severity cues; rule is its index
	// in severityMatcher, so one pass over a field finds both.
	roleSeverity
)

// role is what a matched pattern means for one category (cat -1: every
// category, from _common.yaml).
type role struct {
	kind   roleKind
	cat    int32
	rule   int32 // rule index in the category (roleRuleWord)
	gid    int32 // rule index over all categories (roleRuleWord)
	group  int32 // group index (roleRuleWord)
	weight float64
	label  string // term as written in the lexicon (terms: the main term)
	// maxField, when > 0, is the most letters and digits a field may have
	// for the term or rule word to count (LexiconTerm.MaxFieldRunes).
	maxField int32
}

// NewAnalyzer loads the embedded lexicons and those of opts.LexiconDir and
// compiles them, with opts.Model or else the embedded default model (none
// with opts.LexiconOnly). Every category code of DESIGN.md must exist.
func NewAnalyzer(opts Options) (*Analyzer, error) {
	if !opts.LexiconOnly && opts.Model == nil {
		m, err := DefaultModel()
		if err != nil {
			return nil, err
		}
		opts.Model = m
	}
	return newAnalyzer(opts, embeddedLexicons, "lexicons", RequiredCategories)
}

func newAnalyzer(opts Options, fsys fs.FS, root string, required []string) (*Analyzer, error) {
	set, err := loadLexicons(fsys, root, opts.LexiconDir, required)
	if err != nil {
		return nil, err
	}
	return compile(set, opts)
}

// compile builds the matcher of a lexicon set.
func compile(set *lexiconSet, opts Options) (*Analyzer, error) {
	th := opts.Thresholds
	if th == (Thresholds{}) {
		th = DefaultThresholds
	}
	if !(th.Low > 0 && th.Low < th.Medium && th.Medium < th.High && th.High < th.Critical) {
		return nil, fmt.Errorf("nlp: thresholds: expected 0 < low < medium < high < critical, got %v, %v, %v, %v", th.Low, th.Medium, th.High, th.Critical)
	}
	a := &Analyzer{th: th, common: set.common, noFP: opts.NoFingerprint, ruleIDs: map[string]bool{}}
	ids := map[string]int{}
	addRole := func(word string, r role) int {
		w := NormalizeText(strings.TrimSpace(word))
		id, ok := ids[w]
		if !ok {
			id = len(a.pats)
			ids[w] = id
			a.pats = append(a.pats, w)
			a.roles = append(a.roles, nil)
		}
		// One role per (kind, cat, rule, group, label): a word listed twice
		// counts once.
		for _, old := range a.roles[id] {
			if old.kind == r.kind && old.cat == r.cat && old.rule == r.rule && old.group == r.group {
				return id
			}
		}
		a.roles[id] = append(a.roles[id], r)
		return id
	}
	for _, w := range set.common.Negations {
		addRole(w, role{kind: roleNegation, cat: -1})
	}
	commonExcl := make([]int, 0, len(set.common.Exclusions))
	for _, w := range set.common.Exclusions {
		commonExcl = append(commonExcl, addRole(w, role{kind: roleExclusion, cat: -1, label: w}))
	}
	for _, t := range set.common.Intensifiers {
		addRole(t.Term, role{kind: roleIntensifier, cat: -1, weight: t.Weight, label: t.Term})
	}
	for ri, rg := range registers {
		for _, w := range rg.cues {
			addRole(w, role{kind: roleRegister, cat: -1, rule: int32(ri), label: w})
		}
	}
	for _, w := range courtCues {
		addRole(w, role{kind: roleCourtCue, cat: -1, label: w})
	}
	// The severity patterns are normalised already
	// (TestSeverityPatternsNormalized), so here they match what their own
	// automaton matches.
	for pid, p := range severityMatcher.pats {
		addRole(p, role{kind: roleSeverity, cat: -1, rule: int32(pid)})
	}
	for ci, lx := range set.cats {
		c := &category{lex: lx, rules: lx.Rules, ctxExcl: map[int]bool{}}
		cat := int32(ci)
		var termWords []string
		for _, t := range lx.Terms {
			for _, w := range append([]string{t.Term}, t.Variants...) {
				addRole(w, role{kind: roleTerm, cat: cat, weight: t.Weight, label: t.Term, maxField: int32(t.MaxFieldRunes)})
				termWords = append(termWords, NormalizeText(strings.TrimSpace(w)))
			}
		}
		for ri, r := range lx.Rules {
			a.ruleIDs[lx.Code+"/"+r.Name] = true
			gid := int32(a.nRules)
			a.nRules++
			for gi, g := range r.Groups {
				for _, w := range g {
					addRole(w, role{kind: roleRuleWord, cat: cat, rule: int32(ri), gid: gid, group: int32(gi), weight: r.Weight, label: w, maxField: int32(r.MaxFieldRunes)})
				}
			}
		}
		for _, w := range lx.Negations {
			addRole(w, role{kind: roleNegation, cat: cat})
		}
		excl := append([]int(nil), commonExcl...)
		for _, w := range lx.Exclusions {
			excl = append(excl, addRole(w, role{kind: roleExclusion, cat: cat, label: w}))
		}
		// An exclusion that contains a term of the category (火灾险 holds
		// 火灾) is a word-level exclusion: it suppresses the hits it
		// overlaps. One that holds none (消防演练, 电影中) is a context:
		// it suppresses the category's hits in its whole sentence.
		for _, id := range excl {
			ctx := true
			for _, tw := range termWords {
				if strings.Contains(a.pats[id], tw) {
					ctx = false
					break
				}
			}
			c.ctxExcl[id] = ctx
		}
		for _, t := range lx.Intensifiers {
			addRole(t.Term, role{kind: roleIntensifier, cat: cat, weight: t.Weight, label: t.Term})
		}
		a.cats = append(a.cats, c)
	}
	for _, p := range a.pats {
		n := utf8.RuneCountInString(p)
		a.patRunes = append(a.patRunes, n)
		a.maxPatRunes = max(a.maxPatRunes, n)
	}
	for i := range a.lenKeys {
		a.lenKeys[i] = stringKey(fmt.Sprintf("len:%d", i))
	}
	codes := make([]string, 0, len(a.cats))
	for _, c := range a.cats {
		a.catKeys = append(a.catKeys, catFeatureKeys{lex: stringKey("lex:" + c.lex.Code), supp: stringKey("supp:" + c.lex.Code)})
		codes = append(codes, c.lex.Code)
	}
	a.regKeys = newRegisterKeys(codes)
	if !opts.LexiconOnly && opts.Model != nil {
		a.setModel(opts.Model)
	}
	if len(a.pats) > 0 {
		b := ahocorasick.NewBuilder()
		b.AddStrings(a.pats)
		ac, err := b.Build()
		if err != nil {
			return nil, fmt.Errorf("nlp: compile lexicons: %w", err)
		}
		a.ac = ac
	}
	return a, nil
}

// Categories returns the category codes the analyzer scores, sorted.
func (a *Analyzer) Categories() []string {
	out := make([]string, len(a.cats))
	for i, c := range a.cats {
		out[i] = c.lex.Code
	}
	sort.Strings(out)
	return out
}

// Thresholds returns the thresholds in use.
func (a *Analyzer) Thresholds() Thresholds { return a.th }

// Lexicons returns the loaded hazard lexicons, one per category in scoring
// order, for display (the UI's lexicon page). Callers must not change them.
func (a *Analyzer) Lexicons() []*Lexicon {
	out := make([]*Lexicon, len(a.cats))
	for i, c := range a.cats {
		out[i] = c.lex
	}
	return out
}

// setModel makes m the analyzer's model.
func (a *Analyzer) setModel(m *Model) {
	a.model = m
	a.modelCat = make([]int, len(a.cats))
	for i, c := range a.cats {
		a.modelCat[i] = -1
		if j, ok := m.catIndex[c.lex.Code]; ok {
			a.modelCat[i] = j
		}
	}
}

// Model returns the analyzer's model, nil when it scores with lexicons only.
func (a *Analyzer) Model() *Model { return a.model }

// WithModel returns an analyzer sharing a's lexicons that reads m (nil:
// lexicons only). a is unchanged, so a running service can swap analyzers.
func (a *Analyzer) WithModel(m *Model) *Analyzer {
	b := *a
	b.model, b.modelCat = nil, nil
	if m != nil {
		b.setModel(m)
	}
	return &b
}
