package web

import (
	"html"
	"html/template"
	"sort"
	"strings"
)

// safeFragment turns a highlight fragment from the index (text with
// <mark>…</mark> around matches) into HTML where nothing but those marks is
// markup: every other piece is unescaped once (the index escapes its text)
// and escaped again, so a raw "<script>" and an escaped "&lt;script&gt;"
// both end up as visible text. Marks are balanced.
func safeFragment(frag string) template.HTML {
	var b strings.Builder
	open := false
	for frag != "" {
		i := strings.Index(frag, "<")
		if i < 0 {
			b.WriteString(html.EscapeString(html.UnescapeString(frag)))
			break
		}
		b.WriteString(html.EscapeString(html.UnescapeString(frag[:i])))
		frag = frag[i:]
		switch {
		case strings.HasPrefix(frag, "<mark>"):
			if !open {
				b.WriteString("<mark>")
				open = true
			}
			frag = frag[len("<mark>"):]
		case strings.HasPrefix(frag, "</mark>"):
			if open {
				b.WriteString("</mark>")
				open = false
			}
			frag = frag[len("</mark>"):]
		default:
			b.WriteString("&lt;")
			frag = frag[1:]
		}
	}
	if open {
		b.WriteString("</mark>")
	}
	return template.HTML(b.String()) // only <mark> tags survive, see above
}

// segment is a piece of text, marked when it is evidence. Templates render
// segments as text inside <mark> or plain, so no HTML is built by hand.
type segment struct {
	Text  string
	Mark  bool
	Label string // the rules that fired on the marked text
	// Sev marks text that holds a phrase that set the post's level.
	Sev bool
}

// span is evidence over rune offsets [start, end).
type evSpan struct {
	start, end int
	label      string
	sev        bool // a level cue, not evidence
}

// markSpans splits text into segments with the given rune spans marked.
// Spans that fall outside the text are ignored; overlapping spans merge and
// keep all labels.
func markSpans(text string, spans []evSpan) []segment {
	runes := []rune(text)
	var ok []evSpan
	for _, s := range spans {
		if s.start >= 0 && s.end > s.start && s.end <= len(runes) {
			ok = append(ok, s)
		}
	}
	if len(ok) == 0 {
		return []segment{{Text: text}}
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i].start < ok[j].start })
	merged := []evSpan{ok[0]}
	for _, s := range ok[1:] {
		last := &merged[len(merged)-1]
		if s.start < last.end {
			if s.end > last.end {
				last.end = s.end
			}
			if !strings.Contains(last.label, s.label) {
				last.label += ", " + s.label
			}
			last.sev = last.sev || s.sev
			continue
		}
		merged = append(merged, s)
	}
	var out []segment
	pos := 0
	for _, s := range merged {
		if s.start > pos {
			out = append(out, segment{Text: string(runes[pos:s.start])})
		}
		out = append(out, segment{Text: string(runes[s.start:s.end]), Mark: true, Label: s.label, Sev: s.sev})
		pos = s.end
	}
	if pos < len(runes) {
		out = append(out, segment{Text: string(runes[pos:])})
	}
	return out
}
