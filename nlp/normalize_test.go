package nlp

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "今天天气很好。", "今天天气很好。"},
		{"full-width latin and digits", "ＡＰＰ１２３", "app123"},
		{"full-width punctuation", "你好，世界！", "你好,世界!"},
		{"upper case", "GAS Leak", "gas leak"},
		{"traditional", "樓道裡發生火災", "楼道里发生火灾"},
		{"zero-width", "诈\u200b骗\u200d电话\ufeff", "诈骗电话"},
		{"space between han", "诈 骗", "诈骗"},
		{"star between han", "诈*骗", "诈骗"},
		{"dash between han", "诈-骗", "诈骗"},
		{"dot between han", "诈.骗", "诈骗"},
		{"several separators", "诈 * 骗", "诈骗"},
		{"full-width space", "诈\u3000骗", "诈骗"},
		{"too many separators kept", "诈    骗", "诈    骗"},
		{"separator next to latin kept", "a b", "a b"},
		{"separator after han before latin kept", "诈 b", "诈 b"},
		{"sentence punctuation kept", "火灾。诈骗", "火灾。诈骗"},
		{"comma kept", "火灾，诈骗", "火灾,诈骗"},
		{"line break kept", "火灾\n诈骗", "火灾\n诈骗"},
		{"control bytes become spaces", "a\x01b", "a b"},
		{"compatibility expansion", "㈱", "(株)"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := Normalize(tt.in)
			if n.Text != tt.want {
				t.Errorf("Normalize(%q).Text = %q, want %q", tt.in, n.Text, tt.want)
			}
			if got := utf8.RuneCountInString(n.Text); got != len(n.Orig) {
				t.Errorf("len(Orig) = %d, runes = %d", len(n.Orig), got)
			}
			if NormalizeText(tt.in) != n.Text {
				t.Errorf("NormalizeText differs from Normalize")
			}
		})
	}
}

// TestNormalizeOffsets checks the map back to the original: each normalised
// rune points at the original rune it came from, in order.
func TestNormalizeOffsets(t *testing.T) {
	tests := []struct {
		in   string
		want []int32
	}{
		{"诈 骗", []int32{0, 2}},
		{"a\u200bb", []int32{0, 2}},
		{"火災", []int32{0, 1}},
		{"㈱x", []int32{0, 0, 0, 1}},
		{"ＡＢ", []int32{0, 1}},
	}
	for _, tt := range tests {
		n := Normalize(tt.in)
		if len(n.Orig) != len(tt.want) {
			t.Fatalf("Normalize(%q).Orig = %v, want %v", tt.in, n.Orig, tt.want)
		}
		for i := range tt.want {
			if n.Orig[i] != tt.want[i] {
				t.Errorf("Normalize(%q).Orig = %v, want %v", tt.in, n.Orig, tt.want)
				break
			}
		}
	}
	// OrigSpan of the whole normalised text covers the separators.
	n := Normalize("打 * 电话")
	if s, e := n.OrigSpan(0, n.RuneLen()); s != 0 || e != 6 {
		t.Errorf("OrigSpan = %d,%d, want 0,6", s, e)
	}
}

func TestNormalizeBadInput(t *testing.T) {
	tests := []string{
		"\xff\xfe火灾\xc3",
		string([]byte{0, 1, 2, 3, 0xff, 0x80, 0x7f}),
		strings.Repeat("\x00", 100),
		"\xe7\x81", // truncated 火
	}
	for _, in := range tests {
		n := Normalize(in)
		if !utf8.ValidString(n.Text) {
			t.Errorf("Normalize(%q) produced invalid UTF-8 %q", in, n.Text)
		}
		if n.OrigRunes != len([]rune(in)) {
			t.Errorf("Normalize(%q).OrigRunes = %d, want %d", in, n.OrigRunes, len([]rune(in)))
		}
		for i, o := range n.Orig {
			if int(o) >= n.OrigRunes || (i > 0 && o < n.Orig[i-1]) {
				t.Errorf("Normalize(%q).Orig = %v: out of range or not ascending", in, n.Orig)
				break
			}
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"诈 骗", "樓道裡發生火災", "ＡＰＰ", "\xff\xfe", "㈱", "a\u200bb", "火灾。\n诈*骗"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if !utf8.ValidString(n.Text) {
			t.Fatalf("invalid UTF-8 output %q", n.Text)
		}
		if utf8.RuneCountInString(n.Text) != len(n.Orig) {
			t.Fatalf("offset map has %d entries for %d runes", len(n.Orig), utf8.RuneCountInString(n.Text))
		}
		for i, o := range n.Orig {
			if o < 0 || int(o) >= n.OrigRunes || (i > 0 && o < n.Orig[i-1]) {
				t.Fatalf("Orig[%d] = %d out of order or range (%d runes)", i, o, n.OrigRunes)
			}
		}
		if NormalizeText(n.Text) != NormalizeText(NormalizeText(n.Text)) {
			t.Fatalf("normalisation is not stable on %q", n.Text)
		}
	})
}
