package web

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeFragment(t *testing.T) {
	tests := []struct{ in, want string }{
		{"燃气<mark>泄漏</mark>了", "燃气<mark>泄漏</mark>了"},
		{"&lt;script&gt;x<mark>火</mark>", "&lt;script&gt;x<mark>火</mark>"},
		{"<script>alert(1)</script><mark>火", "&lt;script&gt;alert(1)&lt;/script&gt;<mark>火</mark>"},
		{`<img src=x onerror="a()">`, "&lt;img src=x onerror=&#34;a()&#34;&gt;"},
		{"</mark>a<mark><mark>b</mark></mark>", "a<mark>b</mark>"},
		{"<mark onclick=x>b</mark>", "&lt;mark onclick=x&gt;b"},
		{"a &amp;lt; b", "a &amp;lt; b"},
	}
	for _, tc := range tests {
		if got := string(safeFragment(tc.in)); got != tc.want {
			t.Errorf("safeFragment(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzSafeFragment checks that no markup but balanced <mark> survives.
func FuzzSafeFragment(f *testing.F) {
	for _, s := range []string{"<mark>火</mark>", "<script>x</script>", "&lt;b&gt;", "<mark><img src=x onerror=y>", "</mark><"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := string(safeFragment(s))
		rest := strings.ReplaceAll(strings.ReplaceAll(out, "<mark>", ""), "</mark>", "")
		if strings.ContainsAny(rest, "<>") {
			t.Fatalf("markup left in %q -> %q", s, out)
		}
		if strings.Count(out, "<mark>") != strings.Count(out, "</mark>") {
			t.Fatalf("unbalanced marks in %q", out)
		}
	})
}

func TestMarkSpans(t *testing.T) {
	text := "小区燃气泄漏，气味很大"
	segs := markSpans(text, []evSpan{{2, 6, "a", false}, {4, 6, "b", true}, {7, 9, "c", false}, {8, 40, "out", false}, {-1, 2, "neg", false}})
	var b strings.Builder
	for _, s := range segs {
		switch {
		case s.Mark && s.Sev:
			b.WriteString("[" + s.Text + "|" + s.Label + "|sev]")
		case s.Mark:
			b.WriteString("[" + s.Text + "|" + s.Label + "]")
		default:
			b.WriteString(s.Text)
		}
	}
	// A level cue merged into evidence marks the merged span as a cue.
	if got, want := b.String(), "小区[燃气泄漏|a, b|sev]，[气味|c]很大"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if segs := markSpans(text, nil); len(segs) != 1 || segs[0].Text != text || segs[0].Mark {
		t.Errorf("no spans: %+v", segs)
	}
}

// FuzzMarkSpans checks that segments always put the text back together.
func FuzzMarkSpans(f *testing.F) {
	f.Add("小区燃气泄漏", 2, 6, 1, 3)
	f.Fuzz(func(t *testing.T, text string, a, b, c, d int) {
		if !utf8.ValidString(text) {
			return
		}
		var got strings.Builder
		for _, s := range markSpans(text, []evSpan{{a, b, "x", false}, {c, d, "y", true}}) {
			got.WriteString(s.Text)
		}
		if got.String() != text {
			t.Fatalf("segments of %q join to %q", text, got.String())
		}
	})
}
