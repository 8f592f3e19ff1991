package nlp

import (
	"time"

	"riskmine/level"
)

// Levels of an assessment, lowest first (the names of package level).
const (
	LevelNone     = level.None
	LevelLow      = level.Low
	LevelMedium   = level.Medium
	LevelHigh     = level.High
	LevelCritical = level.Critical
)

// Thresholds are the scores at which each level starts; below Low is none.
type Thresholds struct {
	Low, Medium, High, Critical float64
}

// DefaultThresholds are the thresholds of the default config.
var DefaultThresholds = Thresholds{Low: 1, Medium: 3, High: 6, Critical: 10}

// Level returns the level name of score.
func (t Thresholds) Level(score float64) string {
	switch {
	case score >= t.Critical:
		return LevelCritical
	case score >= t.High:
		return LevelHigh
	case score >= t.Medium:
		return LevelMedium
	case score >= t.Low:
		return LevelLow
	}
	return LevelNone
}

// LevelRank orders level names: none 0 … critical 4; unknown names are -1.
// It is level.Rank.
func LevelRank(l string) int { return level.Rank(l) }

// Input is one post to analyse.
type Input struct {
	// ID is the caller's identifier, carried through unchanged.
	ID string
	// Title is the post's title; may be empty.
	Title string
	// Text is the post's body.
	Text string
	// Ref is the reference time for relative time expressions (昨天); when
	// zero only expressions that carry their year are resolved, so the
	// assessment does not depend on the time of the call.
	Ref time.Time
	// Words asks for the search-mode words of each field in
	// Assessment.Words (the index takes them instead of segmenting the
	// text a second time). It costs a little, so it is off by default.
	Words bool
}

// Assessment is the risk assessment of one post.
type Assessment struct {
	// ID is Input.ID.
	ID string `json:"id"`
	// Level is none, low, medium, high or critical.
	Level string `json:"level"`
	// Score is the score of the best category.
	Score float64 `json:"score"`
	// Categories are the categories with a score, best first.
	Categories []CategoryScore `json:"categories"`
	// Evidence are the hits that scored, in field then text order; at most
	// 32 per category and field are listed (the score counts them all).
	Evidence []Evidence `json:"evidence"`
	// Suppressed are hits that did not score, with the reason (at most 32
	// per category and field, 128 in all).
	Suppressed []Suppressed `json:"suppressed,omitempty"`
	// Locations are the places named in the title and text.
	Locations []Location `json:"locations"`
	// Times are the dates and times named, resolved against Input.Ref.
	Times []TimeMention `json:"times,omitempty"`
	// Entities are phones, bank cards, URLs, amounts and similar.
	Entities []Entity `json:"entities,omitempty"`
	// Severity are the cues that set the levels of the detected categories
	// (casualties, people trapped, spread…), with the model only.
	Severity []SeverityCue `json:"severity,omitempty"`
	// SimHash is a 64-bit fingerprint of the segmented text for
	// near-duplicate detection (compare with HammingDistance).
	SimHash uint64 `json:"simhash"`
	// Keywords are salient terms, hazard terms first, for clustering.
	Keywords []string `json:"keywords,omitempty"`
	// Words are the search-mode words (as CutSearch gives them) of each
	// non-empty field's normalised text, when Input.Words asked for them;
	// empty when the analyzer computes no fingerprint. Not part of the
	// JSON form.
	Words []FieldWords `json:"-"`
}

// FieldWords are the search-mode words of one field.
type FieldWords struct {
	// Field is "title" or "text".
	Field string
	// Normalized is NormalizeText of the field; the tokens' offsets are
	// byte offsets into it.
	Normalized string
	Tokens     []Token
	// Orig maps each rune of Normalized to the rune offset in the field
	// it comes from (Normalized.Orig).
	Orig []int32
}

// CategoryScore is the score of one category.
type CategoryScore struct {
	// Code is the category code.
	Code string `json:"code"`
	// Score is the category's score: with the model, 10 × Probability;
	// with lexicons only, the lexicon score after severity.
	Score float64 `json:"score"`
	// Probability is the model's calibrated probability (0 without a
	// model).
	Probability float64 `json:"probability,omitempty"`
	// Level is the category's level by the severity rubric: none when the
	// model does not detect it (empty without a model).
	Level string `json:"level,omitempty"`
	// Lexicon is the lexicon score of the category (with the model).
	Lexicon float64 `json:"lexicon,omitempty"`
}

// Evidence is one hit in the title or text.
type Evidence struct {
	// Rule is "<code>/<term>" for a term, "<code>/<rule name>" for a
	// co-occurrence rule and "<code>/+<term>" for an intensifier.
	Rule string `json:"rule"`
	// Category is the category code.
	Category string `json:"category"`
	// Field is "title" or "text".
	Field string `json:"field"`
	// Text is the hit as written in the field: field[Start:End] in runes.
	Text string `json:"text"`
	// Start and End are rune offsets into the original field.
	Start int `json:"start"`
	End   int `json:"end"`
	// Weight is what the hit added before the category's severity.
	Weight float64 `json:"weight"`
}

// Suppressed is a hit that did not score.
type Suppressed struct {
	Evidence
	// Reason is "negated: <cue>" or "excluded: <context>".
	Reason string `json:"reason"`
}
