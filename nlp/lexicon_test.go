package nlp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseLexiconErrors(t *testing.T) {
	tests := []struct {
		name, file, src string
		want            string // substring of the error, which names file:line
	}{
		{"unknown key", "fire.yaml", "code: fire\nname: 火灾\nterms:\n  - {term: 火灾, weight: 3}\nweigth: 2\n", "fire.yaml:5:"},
		{"unknown term key", "fire.yaml", "code: fire\nname: 火灾\nterms:\n  - term: 火灾\n    wieght: 3\n", "fire.yaml:5:"},
		{"wrong type", "fire.yaml", "code: fire\nname: 火灾\nterms:\n  - {term: 火灾, weight: many}\n", "fire.yaml:4:"},
		{"empty term", "fire.yaml", "code: fire\nname: 火灾\nterms:\n  - {term: \"\", weight: 3}\n", "fire.yaml:4: terms[0].term: expected a non-empty term"},
		{"zero weight", "fire.yaml", "code: fire\nname: 火灾\nterms:\n  - {term: 火灾, weight: 0}\n", "fire.yaml:4: terms[0].weight: expected a weight > 0"},
		{"missing weight", "fire.yaml", "code: fire\nname: 火灾\nterms:\n  - term: 火灾\n", "terms[0].weight"},
		{"bad code", "fire.yaml", "code: Fire!\nname: 火灾\nterms:\n  - {term: 火灾, weight: 3}\n", "fire.yaml:1: code:"},
		{"no name", "fire.yaml", "code: fire\nterms:\n  - {term: 火灾, weight: 3}\n", "name: expected a display name"},
		{"no terms", "fire.yaml", "code: fire\nname: 火灾\n", "expected at least one term or rule"},
		{"one group", "fire.yaml", "code: fire\nname: 火灾\nrules:\n  - name: r\n    groups: [[消防]]\n    within: 5\n    weight: 1\n", "fire.yaml:5: rules[0].groups: expected at least two word groups"},
		{"no distance", "fire.yaml", "code: fire\nname: 火灾\nrules:\n  - name: r\n    groups: [[消防], [赶到]]\n    weight: 1\n", "rules[0].within: expected within > 0 runes or sentence: true"},
		{"duplicate rule", "fire.yaml", "code: fire\nname: 火灾\nrules:\n  - {name: r, groups: [[a], [b]], within: 3, weight: 1}\n  - {name: r, groups: [[a], [b]], within: 3, weight: 1}\n", "fire.yaml:5: rules[1].name"},
		{"negative max_field_runes", "fire.yaml", "code: fire\nname: 火灾\nterms:\n  - {term: 火灾, weight: 3, max_field_runes: -1}\n", "fire.yaml:4: terms[0].max_field_runes: expected a number of runes >= 0"},
		{"negative rule max_field_runes", "fire.yaml", "code: fire\nname: 火灾\nrules:\n  - {name: r, groups: [[a], [b]], within: 3, weight: 1, max_field_runes: -2}\n", "rules[0].max_field_runes: expected a number of runes >= 0"},
		{"empty negation", "fire.yaml", "code: fire\nname: 火灾\nterms: [{term: 火灾, weight: 1}]\nnegations: [没有, \"\"]\n", "negations[1]"},
		{"common with terms", "_common.yaml", "terms:\n  - {term: 火灾, weight: 3}\n", "_common.yaml:1: terms: the common file holds no terms"},
		{"syntax error", "fire.yaml", "code: fire\nname: [火灾\n", "fire.yaml:"},
		{"empty file", "fire.yaml", "\n", "fire.yaml:1: empty file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLexicon(tt.file, []byte(tt.src))
			if err == nil {
				t.Fatalf("ParseLexicon accepted %q", tt.src)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not contain %q", msg, tt.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one line", msg)
			}
		})
	}
}

func TestParseLexiconDefaults(t *testing.T) {
	lx, err := ParseLexicon("x.yaml", []byte("code: x\nname: 测试\nterms: [{term: 火灾, weight: 1, variants: [火災]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if lx.Severity != 1 || lx.TitleWeight != 1 {
		t.Errorf("severity %v, title weight %v; want 1, 1", lx.Severity, lx.TitleWeight)
	}
	if len(lx.Terms) != 1 || lx.Terms[0].Variants[0] != "火災" {
		t.Errorf("terms = %+v", lx.Terms)
	}
}

func TestLoadLexiconsDir(t *testing.T) {
	fsys := os.DirFS("testdata")
	t.Run("required codes", func(t *testing.T) {
		_, err := loadLexicons(fsys, "lexicons", "", []string{"fire", "fraud", "drugs"})
		if err == nil || !strings.Contains(err.Error(), "missing categories drugs") {
			t.Fatalf("err = %v, want missing categories drugs", err)
		}
	})
	t.Run("replace and add", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "fire.yaml"), "code: fire\nname: 火\nterms: [{term: 烈火, weight: 5}]\n")
		write(t, filepath.Join(dir, "drugs.yaml"), "code: drugs\nname: 毒品\nterms: [{term: 冰毒, weight: 4}]\n")
		write(t, filepath.Join(dir, "_common.yaml"), "negations: [绝非]\n")
		write(t, filepath.Join(dir, "drugs.cases.yaml"), "positive: [冰毒]\nnegative: [冰箱]\n")
		set, err := loadLexicons(fsys, "lexicons", dir, []string{"fire", "fraud", "drugs"})
		if err != nil {
			t.Fatal(err)
		}
		var codes []string
		for _, c := range set.cats {
			codes = append(codes, c.Code)
			if c.Code == "fire" && c.Terms[0].Term != "烈火" {
				t.Errorf("fire was not replaced: %+v", c.Terms)
			}
		}
		if strings.Join(codes, ",") != "drugs,fire,fraud" {
			t.Errorf("codes = %v", codes)
		}
		if !contains(set.common.Negations, "绝非") || !contains(set.common.Negations, "没有") {
			t.Errorf("common negations = %v, want the embedded ones plus 绝非", set.common.Negations)
		}
	})
	t.Run("broken file in dir", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "fire.yaml"), "code: fire\nname: 火\nterms:\n  - {term: 烈火, weight: -1}\n")
		_, err := loadLexicons(fsys, "lexicons", dir, nil)
		if err == nil || !strings.Contains(err.Error(), "fire.yaml:4: terms[0].weight") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("duplicate code in dir", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "a.yaml"), "code: fire\nname: 火\nterms: [{term: 烈火, weight: 1}]\n")
		write(t, filepath.Join(dir, "b.yaml"), "code: fire\nname: 火\nterms: [{term: 烈火, weight: 1}]\n")
		_, err := loadLexicons(fsys, "lexicons", dir, nil)
		if err == nil || !strings.Contains(err.Error(), "also defined in") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("missing dir", func(t *testing.T) {
		_, err := loadLexicons(fsys, "lexicons", filepath.Join(t.TempDir(), "nope"), nil)
		if err == nil {
			t.Fatal("a missing lexicon dir was accepted")
		}
	})
}

// TestEmbeddedLexicons checks that the shipped lexicons parse and define
// every category code of DESIGN.md.
func TestEmbeddedLexicons(t *testing.T) {
	a, err := NewAnalyzer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(a.Categories(), ",")
	for _, c := range RequiredCategories {
		if !strings.Contains(","+got+",", ","+c+",") {
			t.Errorf("category %s missing from %s", c, got)
		}
	}
	if _, err := LoadLexiconCases(""); err != nil {
		t.Errorf("cases: %v", err)
	}
}

func FuzzParseLexicon(f *testing.F) {
	for _, s := range []string{
		"code: fire\nname: 火灾\nterms:\n  - {term: 火灾, weight: 3, variants: [火災]}\n",
		"code: fire\nname: 火灾\nrules:\n  - {name: r, groups: [[a, b], [c]], within: 3, weight: 1}\n",
		"negations: [没有]\nexclusions: [演练]\nintensifiers: [{term: 死亡, weight: 2}]\n",
		"code: [\n",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		lx, err := ParseLexicon("f.yaml", []byte(src))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		for _, tm := range lx.Terms {
			if tm.Weight <= 0 {
				t.Fatalf("accepted weight %v", tm.Weight)
			}
		}
		// An accepted lexicon compiles and scores its own words without
		// panicking.
		set := &lexiconSet{common: &Lexicon{}}
		if lx.Code == "" {
			set.common = lx
		} else {
			set.cats = []*Lexicon{lx}
		}
		a, err := compile(set, Options{})
		if err != nil {
			t.Fatalf("accepted lexicon does not compile: %v", err)
		}
		var b strings.Builder
		for _, tm := range lx.Terms {
			b.WriteString(tm.Term + "，")
		}
		for _, r := range lx.Rules {
			for _, g := range r.Groups {
				b.WriteString(g[0])
			}
			b.WriteString("。")
		}
		b.WriteString(strings.Join(lx.Negations, " ") + strings.Join(lx.Exclusions, "。"))
		checkAssessment(t, a, Input{Title: src, Text: b.String()})
	})
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
