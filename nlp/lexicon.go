package nlp

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

//go:embed lexicons/*.yaml
var embeddedLexicons embed.FS

// RequiredCategories are the category codes of DESIGN.md; the default
// lexicons must define every one of them.
var RequiredCategories = []string{
	"fire", "explosion", "hazmat_leak", "collapse", "traffic_accident",
	"natural_disaster", "food_safety", "public_health", "fraud",
	"illegal_fundraising", "mass_incident", "violence", "drugs", "weapons",
	"self_harm", "environment", "work_safety", "city_management",
}

// commonLexiconFile is the file of cues shared by every category.
const commonLexiconFile = "_common.yaml"

// Lexicon is one hazard category as written in its YAML file.
type Lexicon struct {
	// Code is the category code, e.g. "hazmat_leak".
	Code string `yaml:"code"`
	// Name is the Chinese display name.
	Name string `yaml:"name"`
	// Severity multiplies the category's raw score; 0 means 1.
	Severity float64 `yaml:"severity"`
	// TitleWeight multiplies hits found in the title; 0 means 1.
	TitleWeight float64 `yaml:"title_weight"`
	// Terms are single-term hits.
	Terms []LexiconTerm `yaml:"terms"`
	// Rules are co-occurrence rules.
	Rules []LexiconRule `yaml:"rules"`
	// Negations are cues that, shortly before a hit, suppress it.
	Negations []string `yaml:"negations"`
	// Exclusions are contexts in or next to which a hit is no hazard.
	Exclusions []string `yaml:"exclusions"`
	// Intensifiers raise the score of a category that already has hits.
	Intensifiers []LexiconWeighted `yaml:"intensifiers"`

	// File is where the lexicon was read from ("embedded:fire.yaml" for
	// defaults).
	File string `yaml:"-"`
}

// LexiconTerm is a term with its weight and spelling variants.
type LexiconTerm struct {
	// Term is the main spelling, in simplified Chinese.
	Term string `yaml:"term"`
	// Weight is what one hit adds to the raw score.
	Weight float64 `yaml:"weight"`
	// Variants are other spellings scored like Term.
	Variants []string `yaml:"variants"`
	// MaxFieldRunes, when > 0, lets the term count only in a title or text
	// of at most this many letters and digits (a short reply such as 一起吗,
	// which in a longer post is ordinary talk).
	MaxFieldRunes int `yaml:"max_field_runes"`
}

// LexiconRule fires when one word of each group occurs close together.
type LexiconRule struct {
	// Name identifies the rule; evidence shows "<code>/<name>".
	Name string `yaml:"name"`
	// Groups are the word lists; one word of each must occur.
	Groups [][]string `yaml:"groups"`
	// Within is the largest number of runes between the first and the last
	// word.
	Within int `yaml:"within"`
	// Sentence requires all words in one sentence (instead of Within, or in
	// addition to it when Within > 0).
	Sentence bool `yaml:"sentence"`
	// Weight is what one match adds to the raw score.
	Weight float64 `yaml:"weight"`
	// MaxFieldRunes, when > 0, lets the rule fire only in a title or text
	// of at most this many letters and digits (see LexiconTerm).
	MaxFieldRunes int `yaml:"max_field_runes"`
}

// LexiconWeighted is a term with a weight (intensifiers).
type LexiconWeighted struct {
	// Term is the word.
	Term string `yaml:"term"`
	// Weight is what it adds to the raw score.
	Weight float64 `yaml:"weight"`
}

// LexiconError is a problem in a lexicon file, tied to a line and key.
type LexiconError struct {
	File string // file name
	Line int    // 1-based line, 0 when unknown
	Key  string // YAML path such as terms[3].weight
	Msg  string // what was expected
}

// Error formats the problem as "nlp: lexicon FILE:LINE: KEY: MSG".
func (e *LexiconError) Error() string {
	var b strings.Builder
	b.WriteString("nlp: lexicon ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ParseLexicon decodes and validates one lexicon file. Unknown keys, wrong
// types, empty terms, non-positive weights and rules with fewer than two
// groups are errors naming file:line and the key. A common file (named
// _common.yaml) holds only negations, exclusions and intensifiers.
func ParseLexicon(file string, raw []byte) (*Lexicon, error) {
	lx := &Lexicon{File: file}
	common := filepath.Base(file) == commonLexiconFile
	if len(bytes.TrimSpace(raw)) == 0 {
		if common {
			return lx, nil
		}
		return nil, &LexiconError{File: file, Line: 1, Msg: "empty file, expected a lexicon with code, name and terms"}
	}
	if err := decodeYAML(raw, lx); err != nil {
		return nil, yamlError(file, err)
	}
	lines := yamlLines(raw)
	at := func(key, format string, args ...any) error {
		line := 0
		for k := key; k != ""; k = parentKey(k) {
			if l, ok := lines[k]; ok {
				line = l
				break
			}
		}
		return &LexiconError{File: file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	if common {
		switch {
		case lx.Code != "":
			return nil, at("code", "the common file holds no code, only negations, exclusions and intensifiers")
		case len(lx.Terms) > 0:
			return nil, at("terms", "the common file holds no terms, only negations, exclusions and intensifiers")
		case len(lx.Rules) > 0:
			return nil, at("rules", "the common file holds no rules, only negations, exclusions and intensifiers")
		}
	} else {
		if !validCode(lx.Code) {
			return nil, at("code", "expected a category code of lower-case letters, digits and _, got %q", lx.Code)
		}
		if strings.TrimSpace(lx.Name) == "" {
			return nil, at("name", "expected a display name")
		}
		if len(lx.Terms) == 0 && len(lx.Rules) == 0 {
			return nil, at("terms", "expected at least one term or rule")
		}
	}
	if lx.Severity < 0 {
		return nil, at("severity", "expected a number > 0 (default 1), got %v", lx.Severity)
	}
	if lx.TitleWeight < 0 {
		return nil, at("title_weight", "expected a number > 0 (default 1), got %v", lx.TitleWeight)
	}
	for i, t := range lx.Terms {
		key := fmt.Sprintf("terms[%d]", i)
		if NormalizeText(strings.TrimSpace(t.Term)) == "" {
			return nil, at(key+".term", "expected a non-empty term")
		}
		if t.Weight <= 0 {
			return nil, at(key+".weight", "expected a weight > 0, got %v", t.Weight)
		}
		if t.MaxFieldRunes < 0 {
			return nil, at(key+".max_field_runes", "expected a number of runes >= 0 (0: any length), got %d", t.MaxFieldRunes)
		}
		for j, v := range t.Variants {
			if NormalizeText(strings.TrimSpace(v)) == "" {
				return nil, at(fmt.Sprintf("%s.variants[%d]", key, j), "expected a non-empty variant")
			}
		}
	}
	names := map[string]bool{}
	for i, r := range lx.Rules {
		key := fmt.Sprintf("rules[%d]", i)
		if !validCode(r.Name) {
			return nil, at(key+".name", "expected a rule name of lower-case letters, digits and _, got %q", r.Name)
		}
		if names[r.Name] {
			return nil, at(key+".name", "rule name %q is used twice", r.Name)
		}
		names[r.Name] = true
		if len(r.Groups) < 2 {
			return nil, at(key+".groups", "expected at least two word groups, got %d", len(r.Groups))
		}
		for j, g := range r.Groups {
			if len(g) == 0 {
				return nil, at(fmt.Sprintf("%s.groups[%d]", key, j), "expected a non-empty list of words")
			}
			for k, w := range g {
				if NormalizeText(strings.TrimSpace(w)) == "" {
					return nil, at(fmt.Sprintf("%s.groups[%d][%d]", key, j, k), "expected a non-empty word")
				}
			}
		}
		if r.Within < 0 || (r.Within == 0 && !r.Sentence) {
			return nil, at(key+".within", "expected within > 0 runes or sentence: true, got within %d", r.Within)
		}
		if r.Weight <= 0 {
			return nil, at(key+".weight", "expected a weight > 0, got %v", r.Weight)
		}
		if r.MaxFieldRunes < 0 {
			return nil, at(key+".max_field_runes", "expected a number of runes >= 0 (0: any length), got %d", r.MaxFieldRunes)
		}
	}
	for i, w := range lx.Negations {
		if NormalizeText(strings.TrimSpace(w)) == "" {
			return nil, at(fmt.Sprintf("negations[%d]", i), "expected a non-empty cue")
		}
	}
	for i, w := range lx.Exclusions {
		if NormalizeText(strings.TrimSpace(w)) == "" {
			return nil, at(fmt.Sprintf("exclusions[%d]", i), "expected a non-empty context")
		}
	}
	for i, t := range lx.Intensifiers {
		key := fmt.Sprintf("intensifiers[%d]", i)
		if NormalizeText(strings.TrimSpace(t.Term)) == "" {
			return nil, at(key+".term", "expected a non-empty term")
		}
		if t.Weight <= 0 {
			return nil, at(key+".weight", "expected a weight > 0, got %v", t.Weight)
		}
	}
	if lx.Severity == 0 {
		lx.Severity = 1
	}
	if lx.TitleWeight == 0 {
		lx.TitleWeight = 1
	}
	return lx, nil
}

func validCode(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// decodeYAML decodes strictly (unknown keys are errors). go-yaml panics on
// some malformed documents (a tag with no value inside a sequence): that is
// reported as an error, never a crash.
func decodeYAML(raw []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed YAML that the parser could not read (%v)", r)
		}
	}()
	return yaml.UnmarshalWithOptions(raw, v, yaml.Strict(), yaml.DisallowUnknownField())
}

// yamlError turns a go-yaml error into one line with file and line.
func yamlError(file string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		line := 0
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			line = tk.Position.Line
		}
		msg := ye.GetMessage()
		var uf *yaml.UnknownFieldError
		if errors.As(err, &uf) {
			msg += " (expected one of code, name, severity, title_weight, terms, rules, negations, exclusions, intensifiers; terms take term, weight, variants, max_field_runes; rules take name, groups, within, sentence, weight, max_field_runes)"
		}
		return &LexiconError{File: file, Line: line, Msg: msg}
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return &LexiconError{File: file, Msg: msg}
}

// yamlLines maps each key path (terms[2].weight) to its line.
func yamlLines(raw []byte) (out map[string]int) {
	out = map[string]int{}
	defer func() {
		if recover() != nil {
			out = map[string]int{}
		}
	}()
	f, err := parser.ParseBytes(raw, 0)
	if err != nil {
		return out
	}
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			walkLines(d.Body, "", out)
		}
	}
	return out
}

func walkLines(n ast.Node, prefix string, out map[string]int) {
	switch v := n.(type) {
	case *ast.MappingNode:
		for _, kv := range v.Values {
			walkLines(kv, prefix, out)
		}
	case *ast.MappingValueNode:
		key := v.Key.String()
		if prefix != "" {
			key = prefix + "." + key
		}
		if tk := v.Key.GetToken(); tk != nil && tk.Position != nil {
			out[key] = tk.Position.Line
		}
		walkLines(v.Value, key, out)
	case *ast.SequenceNode:
		for i, item := range v.Values {
			p := fmt.Sprintf("%s[%d]", prefix, i)
			if item == nil {
				continue
			}
			if tk := item.GetToken(); tk != nil && tk.Position != nil {
				out[p] = tk.Position.Line
			}
			walkLines(item, p, out)
		}
	case *ast.TagNode:
		walkLines(v.Value, prefix, out)
	case *ast.AnchorNode:
		walkLines(v.Value, prefix, out)
	}
}

func parentKey(k string) string {
	if strings.HasSuffix(k, "]") {
		if i := strings.LastIndexByte(k, '['); i >= 0 {
			return k[:i]
		}
	}
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		return k[:i]
	}
	return ""
}

// lexiconSet is every category plus the common cues.
type lexiconSet struct {
	cats   []*Lexicon // sorted by code
	common *Lexicon
}

// isLexiconFile reports whether name is a lexicon (not a cases file).
func isLexiconFile(name string) bool {
	return strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".cases.yaml")
}

// loadLexicons reads the lexicons of fsys (under root), then those of dir
// (when not empty), a file of dir replacing the category of the same code
// and a _common.yaml of dir adding to the common cues. required codes must
// exist afterwards.
func loadLexicons(fsys fs.FS, root, dir string, required []string) (*lexiconSet, error) {
	byCode := map[string]*Lexicon{}
	common := &Lexicon{File: commonLexiconFile, Severity: 1, TitleWeight: 1}
	add := func(lx *Lexicon, name string, replace bool) error {
		if filepath.Base(name) == commonLexiconFile {
			common.Negations = append(common.Negations, lx.Negations...)
			common.Exclusions = append(common.Exclusions, lx.Exclusions...)
			common.Intensifiers = append(common.Intensifiers, lx.Intensifiers...)
			return nil
		}
		if prev, dup := byCode[lx.Code]; dup && !replace {
			return &LexiconError{File: lx.File, Key: "code", Msg: fmt.Sprintf("category %q is also defined in %s", lx.Code, prev.File)}
		}
		byCode[lx.Code] = lx
		return nil
	}
	if fsys != nil {
		entries, err := fs.ReadDir(fsys, root)
		if err != nil {
			return nil, fmt.Errorf("nlp: read embedded lexicons: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() || !isLexiconFile(e.Name()) {
				continue
			}
			raw, err := fs.ReadFile(fsys, root+"/"+e.Name())
			if err != nil {
				return nil, fmt.Errorf("nlp: read lexicon %s: %w", e.Name(), err)
			}
			lx, err := ParseLexicon(e.Name(), raw)
			if err != nil {
				return nil, err
			}
			if err := add(lx, e.Name(), false); err != nil {
				return nil, err
			}
		}
	}
	if dir != "" {
		names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			return nil, fmt.Errorf("nlp: lexicon dir %s: %w", dir, err)
		}
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("nlp: lexicon dir: %w", err)
		}
		sort.Strings(names)
		seen := map[string]string{}
		for _, path := range names {
			if !isLexiconFile(path) {
				continue
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("nlp: read lexicon: %w", err)
			}
			lx, err := ParseLexicon(path, raw)
			if err != nil {
				return nil, err
			}
			if lx.Code != "" {
				if prev, ok := seen[lx.Code]; ok {
					return nil, &LexiconError{File: path, Key: "code", Msg: fmt.Sprintf("category %q is also defined in %s", lx.Code, prev)}
				}
				seen[lx.Code] = path
			}
			if err := add(lx, path, true); err != nil {
				return nil, err
			}
		}
	}
	var missing []string
	for _, c := range required {
		if byCode[c] == nil {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("nlp: lexicons: missing categories %s (every category code of DESIGN.md must have a lexicon)", strings.Join(missing, ", "))
	}
	set := &lexiconSet{common: common}
	for _, lx := range byCode {
		set.cats = append(set.cats, lx)
	}
	sort.Slice(set.cats, func(i, j int) bool { return set.cats[i].Code < set.cats[j].Code })
	return set, nil
}

// embeddedLexiconWords lists every term, variant and rule word of the
// embedded lexicons (for the segmenter's dictionary). Broken files are
// skipped here; NewAnalyzer reports them.
func embeddedLexiconWords() []string {
	entries, err := fs.ReadDir(embeddedLexicons, "lexicons")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !isLexiconFile(e.Name()) || e.Name() == commonLexiconFile {
			continue
		}
		raw, err := fs.ReadFile(embeddedLexicons, "lexicons/"+e.Name())
		if err != nil {
			continue
		}
		lx, err := ParseLexicon(e.Name(), raw)
		if err != nil {
			continue
		}
		for _, t := range lx.Terms {
			out = append(out, NormalizeText(t.Term))
			for _, v := range t.Variants {
				out = append(out, NormalizeText(v))
			}
		}
		for _, r := range lx.Rules {
			for _, g := range r.Groups {
				for _, w := range g {
					out = append(out, NormalizeText(w))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// LexiconCases are the example sentences of one category.
type LexiconCases struct {
	// Code is the category.
	Code string
	// File is the cases file.
	File string
	// Positive sentences must reach level >= medium with Code among the
	// categories.
	Positive []string `yaml:"positive"`
	// Negative sentences must not.
	Negative []string `yaml:"negative"`
}

// LoadLexiconCases reads the <code>.cases.yaml files of the embedded
// lexicons and of dir (a file of dir replaces the embedded one of the same
// code), sorted by code.
func LoadLexiconCases(dir string) ([]LexiconCases, error) {
	byCode := map[string]LexiconCases{}
	read := func(name string, raw []byte) error {
		var c LexiconCases
		if err := decodeYAML(raw, &c); err != nil {
			return yamlError(name, err)
		}
		c.Code = strings.TrimSuffix(filepath.Base(name), ".cases.yaml")
		c.File = name
		byCode[c.Code] = c
		return nil
	}
	entries, err := fs.ReadDir(embeddedLexicons, "lexicons")
	if err != nil {
		return nil, fmt.Errorf("nlp: read embedded lexicons: %w", err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".cases.yaml") {
			continue
		}
		raw, err := fs.ReadFile(embeddedLexicons, "lexicons/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("nlp: read cases %s: %w", e.Name(), err)
		}
		if err := read(e.Name(), raw); err != nil {
			return nil, err
		}
	}
	if dir != "" {
		names, err := filepath.Glob(filepath.Join(dir, "*.cases.yaml"))
		if err != nil {
			return nil, fmt.Errorf("nlp: lexicon dir %s: %w", dir, err)
		}
		for _, path := range names {
			raw, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("nlp: read cases: %w", err)
			}
			if err := read(path, raw); err != nil {
				return nil, err
			}
		}
	}
	out := make([]LexiconCases, 0, len(byCode))
	for _, c := range byCode {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out, nil
}
