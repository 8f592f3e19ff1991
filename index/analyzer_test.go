package index

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
)

func terms(ts analysis.TokenStream) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t.Term)
	}
	return out
}

func TestBigrams(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"基站起火", []string{"基站", "站起", "起火"}},
		{"5G基站起火", []string{"5g", "基站", "站起", "起火"}},
		{"火。灾", []string{"火", "灾"}},
		{"ＡＢＣ公司", []string{"abc", "公司"}},
		{"gas leak 燃气", []string{"gas", "leak", "燃气"}},
		{"", []string{}},
	}
	for _, c := range cases {
		text, offs := normalizeMapped(c.in, basicNormalize)
		ts := bigrams(text, offs)
		if got := terms(ts); !slices.Equal(got, c.want) {
			t.Errorf("bigrams(%q) = %q, want %q", c.in, got, c.want)
		}
		for i, tok := range ts {
			if tok.Position != i+1 {
				t.Errorf("%q: token %d position %d", c.in, i, tok.Position)
			}
			if tok.Start < 0 || tok.End > len(c.in) || tok.Start >= tok.End {
				t.Errorf("%q: token %q has span %d..%d", c.in, tok.Term, tok.Start, tok.End)
			}
		}
	}
}

// TestChars checks the character fields' tokens: one per CJK character,
// one per run of letters and digits, positions in a row except across a
// break between two CJK characters, where one position is left out so no
// phrase crosses it (as no bigram did).
func TestChars(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		pos  []int
	}{
		{"基站起火", []string{"基", "站", "起", "火"}, []int{1, 2, 3, 4}},
		{"5G基站", []string{"5g", "基", "站"}, []int{1, 2, 3}},
		{"火。灾", []string{"火", "灾"}, []int{1, 3}},
		{"起火 浓烟", []string{"起", "火", "浓", "烟"}, []int{1, 2, 4, 5}},
		{"燃气 gas 泄漏", []string{"燃", "气", "gas", "泄", "漏"}, []int{1, 2, 3, 4, 5}},
		{"ＡＢＣ公司", []string{"abc", "公", "司"}, []int{1, 2, 3}},
		{"", []string{}, []int{}},
	}
	for _, c := range cases {
		text, offs := normalizeMapped(c.in, basicNormalize)
		ts := chars(text, offs)
		if got := terms(ts); !slices.Equal(got, c.want) {
			t.Errorf("chars(%q) = %q, want %q", c.in, got, c.want)
			continue
		}
		for i, tok := range ts {
			if tok.Position != c.pos[i] {
				t.Errorf("%q: token %q at position %d, want %d", c.in, tok.Term, tok.Position, c.pos[i])
			}
			if tok.Start < 0 || tok.End > len(c.in) || tok.Start >= tok.End {
				t.Errorf("%q: token %q has span %d..%d", c.in, tok.Term, tok.Start, tok.End)
			}
		}
	}
}

// Offsets of tokens always point into the original text, also when the
// normaliser changes the byte length (full-width) or the rune count.
func TestNormalizeMappedOffsets(t *testing.T) {
	dropZW := func(s string) string { return strings.ReplaceAll(basicNormalize(s), "\u200b", "") }
	cases := []struct {
		in        string
		normalize func(string) string
		// want are the original substrings of the bigram tokens.
		want []string
	}{
		{"ＡＢＣ公司", basicNormalize, []string{"ＡＢＣ", "公司"}},
		{"燃\u200b气泄漏。好", dropZW, []string{"燃\u200b气", "气泄", "泄漏", "好"}},
		{"㈱火灾", basicNormalize, []string{"㈱", "火灾"}}, // ㈱ → (株): a lone CJK rune inside an expansion
	}
	for _, c := range cases {
		text, offs := normalizeMapped(c.in, c.normalize)
		if len(offs) != len(text)+1 {
			t.Fatalf("%q: %d offsets for %d bytes", c.in, len(offs), len(text))
		}
		var got []string
		for _, tok := range bigrams(text, offs) {
			got = append(got, c.in[tok.Start:tok.End])
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: token spans %q, want %q", c.in, got, c.want)
		}
	}
}

// Invalid UTF-8 next to a rune whose normal form is longer (㈱, ﬁ) or
// gone (a zero-width space) sends the text through the rune-by-rune path;
// an invalid byte is one byte wide there, not the three of U+FFFD, so no
// analyzer reads past the text and every token's span lies inside it.
func TestAnalyzersInvalidUTF8(t *testing.T) {
	dropZW := func(s string) string { return strings.ReplaceAll(basicNormalize(s), "\u200b", "") }
	for _, in := range []string{"㈱火灾\xff", "\xff㈱", "ﬁ\xe7\x81", "燃\u200b气\xff泄漏", "火\xe7\x81\xab灾㈱", "\xef\xbf\xbd㈱火"} {
		for name, normalize := range map[string]func(string) string{"basic": basicNormalize, "zero-width": dropZW} {
			text, offs := normalizeMapped(in, normalize)
			if len(offs) != len(text)+1 || offs[len(offs)-1] != len(in) {
				t.Fatalf("%q (%s): %d offsets for %d bytes, last %d", in, name, len(offs), len(text), offs[len(offs)-1])
			}
			for kind, ts := range map[string]analysis.TokenStream{"bigrams": bigrams(text, offs), "chars": chars(text, offs)} {
				if len(ts) == 0 {
					t.Errorf("%q (%s): no %s", in, name, kind)
				}
				for _, tok := range ts {
					if tok.Start < 0 || tok.Start > tok.End || tok.End > len(in) {
						t.Errorf("%q (%s): %s token %q spans %d–%d of %d bytes", in, name, kind, tok.Term, tok.Start, tok.End, len(in))
					}
				}
			}
		}
	}
}

func TestBasicTokenize(t *testing.T) {
	got := []string{}
	for _, tok := range basicTokenize("5g基站 fire!") {
		got = append(got, tok.Text)
	}
	if want := []string{"5g", "基", "站", "fire"}; !slices.Equal(got, want) {
		t.Errorf("basicTokenize = %q, want %q", got, want)
	}
}

func TestWithParents(t *testing.T) {
	got := withParents([]string{"350105", "350105001", "3501", "11"})
	want := []string{"35", "3501", "350105", "350105001", "11"}
	if !slices.Equal(got, want) {
		t.Errorf("withParents = %q, want %q", got, want)
	}
}

func TestHighlightEscapes(t *testing.T) {
	title := "<b>火灾</b> & 救援"
	got := highlightTitle(title, []span{{3, 9}})
	if want := "&lt;b&gt;<mark>火灾</mark>&lt;/b&gt; &amp; 救援"; got != want {
		t.Errorf("highlightTitle = %q, want %q", got, want)
	}
	if got := highlightTitle(title, nil); got != "" {
		t.Errorf("no spans: %q", got)
	}
}

func TestMergeSpans(t *testing.T) {
	got := mergeSpans([]span{{6, 12}, {0, 6}, {0, 12}, {20, 23}})
	if want := []span{{0, 12}, {20, 23}}; !slices.Equal(got, want) {
		t.Errorf("mergeSpans = %v, want %v", got, want)
	}
}

func TestBodyFragments(t *testing.T) {
	body := strings.Repeat("平安无事。", 60) + "突发火灾，" + strings.Repeat("一切正常。", 60) + "火灾扑灭。"
	var spans []span
	for i := 0; ; {
		j := strings.Index(body[i:], "火灾")
		if j < 0 {
			break
		}
		spans = append(spans, span{i + j, i + j + len("火灾")})
		i += j + 1
	}
	frags := highlightBody(body, spans)
	if len(frags) != 2 {
		t.Fatalf("got %d fragments: %q", len(frags), frags)
	}
	for _, f := range frags {
		if !strings.Contains(f, "<mark>火灾</mark>") || !utf8.ValidString(f) {
			t.Errorf("fragment %q", f)
		}
		if n := utf8.RuneCountInString(f); n > fragRunes+40 {
			t.Errorf("fragment of %d runes", n)
		}
	}
	if !strings.HasPrefix(frags[0], "…") {
		t.Errorf("first fragment should be cut at its start: %q", frags[0])
	}
	// Nothing matched: the opening of the body.
	open := highlightBody(body, nil)
	if len(open) != 1 || strings.Contains(open[0], "<mark>") || !strings.HasPrefix(open[0], "平安无事") {
		t.Errorf("opening fragment %q", open)
	}
}
