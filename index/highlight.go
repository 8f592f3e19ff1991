package index

import (
	"html"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/search"
)

// Fragment shaping for bodies.
const (
	fragRunes     = 120 // runes per body fragment
	fragContext   = 30  // runes of context kept before the first match
	maxFragments  = 3
	maxTitleRunes = 200 // longer titles are cut like bodies
)

// span is a matched byte range of a stored field.
type span struct{ start, end int }

// spansOf collects the matched byte ranges of a stored field from the term
// locations of its word and bigram fields (both index the same text, so
// their offsets point into the same string), sorted and merged.
func spansOf(locations search.FieldTermLocationMap, fields ...string) []span {
	var out []span
	for _, f := range fields {
		for _, locs := range locations[f] {
			for _, l := range locs {
				if l.End > l.Start {
					out = append(out, span{int(l.Start), int(l.End)})
				}
			}
		}
	}
	return mergeSpans(out)
}

// mergeSpans sorts spans and merges overlapping and touching ones, so the
// search-mode parts of a compound (公共, 安全, 公共安全) give one mark.
func mergeSpans(s []span) []span {
	if len(s) == 0 {
		return nil
	}
	slices.SortFunc(s, func(a, b span) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return a.end - b.end
	})
	out := s[:1]
	for _, x := range s[1:] {
		last := &out[len(out)-1]
		if x.start <= last.end {
			last.end = max(last.end, x.end)
			continue
		}
		out = append(out, x)
	}
	return out
}

// render writes text[from:to] HTML-escaped with the spans inside it marked.
func render(b *strings.Builder, text string, from, to int, spans []span) {
	pos := from
	for _, s := range spans {
		if s.end <= from || s.start >= to {
			continue
		}
		st, en := max(s.start, from), min(s.end, to)
		b.WriteString(html.EscapeString(text[pos:st]))
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(text[st:en]))
		b.WriteString("</mark>")
		pos = en
	}
	b.WriteString(html.EscapeString(text[pos:to]))
}

// highlightTitle returns the title with its matches marked, or "" when
// nothing in it matched.
func highlightTitle(title string, spans []span) string {
	spans = validSpans(title, spans)
	if len(spans) == 0 {
		return ""
	}
	if utf8.RuneCountInString(title) > maxTitleRunes {
		frags := fragments(title, spans)
		if len(frags) > 0 {
			return frags[0]
		}
	}
	var b strings.Builder
	render(&b, title, 0, len(title), spans)
	return b.String()
}

// highlightBody returns up to maxFragments fragments around the densest
// matches, in text order, or the opening of the body when nothing matched.
func highlightBody(body string, spans []span) []string {
	if body == "" {
		return nil
	}
	spans = validSpans(body, spans)
	if len(spans) == 0 {
		end := runeOffset(body, 0, fragRunes)
		var b strings.Builder
		render(&b, body, 0, end, nil)
		if end < len(body) {
			b.WriteString("…")
		}
		return []string{b.String()}
	}
	return fragments(body, spans)
}

// fragments picks windows of about fragRunes runes, each starting a little
// before a match, greedily taking the window that covers the most matches
// not yet shown.
func fragments(text string, spans []span) []string {
	type window struct{ from, to, n int }
	used := make([]bool, len(spans))
	var chosen []window
	for len(chosen) < maxFragments {
		best := window{n: 0}
		for i, s := range spans {
			if used[i] {
				continue
			}
			from := runeOffset(text, s.start, -fragContext)
			to := runeOffset(text, from, fragRunes)
			if to < s.end {
				to = s.end
			}
			n := 0
			for j := i; j < len(spans) && spans[j].start < to; j++ {
				if !used[j] {
					n++
				}
			}
			if n > best.n {
				best = window{from, to, n}
			}
		}
		if best.n == 0 {
			break
		}
		// Do not overlap an earlier window.
		for _, c := range chosen {
			if best.from < c.to && best.to > c.from {
				if best.from < c.from {
					best.to = min(best.to, c.from)
				} else {
					best.from = max(best.from, c.to)
				}
			}
		}
		for i, s := range spans {
			if s.start >= best.from && s.start < best.to {
				used[i] = true
			}
		}
		if best.from < best.to {
			chosen = append(chosen, best)
		}
	}
	slices.SortFunc(chosen, func(a, b window) int { return a.from - b.from })
	out := make([]string, 0, len(chosen))
	for _, w := range chosen {
		// Let a match cut by the window end finish inside the fragment.
		for _, s := range spans {
			if s.start < w.to && s.end > w.to {
				w.to = s.end
			}
		}
		var b strings.Builder
		if w.from > 0 {
			b.WriteString("…")
		}
		render(&b, text, w.from, w.to, spans)
		if w.to < len(text) {
			b.WriteString("…")
		}
		out = append(out, b.String())
	}
	return out
}

// runeOffset moves n runes from byte offset off (backwards when negative),
// staying inside text.
func runeOffset(text string, off, n int) int {
	for ; n > 0 && off < len(text); n-- {
		_, size := utf8.DecodeRuneInString(text[off:])
		off += size
	}
	for ; n < 0 && off > 0; n++ {
		_, size := utf8.DecodeLastRuneInString(text[:off])
		off -= size
	}
	return off
}

// validSpans drops spans that do not fall on rune boundaries of text, which
// can only happen if the stored text and the index disagree.
func validSpans(text string, spans []span) []span {
	out := spans[:0:0]
	for _, s := range spans {
		if s.start >= 0 && s.end <= len(text) && s.start < s.end &&
			(s.start == len(text) || utf8.RuneStart(text[s.start])) &&
			(s.end == len(text) || utf8.RuneStart(text[s.end])) {
			out = append(out, s)
		}
	}
	return out
}

// pagePatterns are the wildcards and regular expressions on words of a
// query on an index of character fields, marked in a page's stored texts:
// each text is cut into words as the word fields were, and the words a
// pattern matches whole are marked, as the bigram fields' own pattern
// marked them before. Only the first maxPatternText bytes of a text are
// read (a page of long posts would otherwise cut megabytes).
type pagePatterns struct {
	cut  func(string) analysis.TokenStream // the words of a text (rewriter.wordTokens)
	pats []pagePattern
}

type pagePattern struct {
	field string // fieldTitle or fieldBody
	re    *regexp.Regexp
}

const maxPatternText = 64 << 10

// add records the pattern re (Bleve's syntax, matched against whole words)
// on field f; a pattern Go cannot compile is left unmarked (the search
// itself reports it).
func (p *pagePatterns) add(f, re string) {
	c, err := regexp.Compile(`^(?:` + re + `)$`)
	if err != nil {
		return
	}
	p.pats = append(p.pats, pagePattern{field: f, re: c})
}

// with adds to spans the words of text (the stored value of field) that
// a pattern on field matches, merged.
func (p pagePatterns) with(spans []span, field, text string) []span {
	var toks analysis.TokenStream
	cut := false
	for _, pt := range p.pats {
		if pt.field != field {
			continue
		}
		if !cut {
			toks, cut = p.cut(prefixOf(text, maxPatternText)), true
		}
		for _, t := range toks {
			if pt.re.Match(t.Term) {
				spans = append(spans, span{t.Start, t.End})
			}
		}
	}
	if !cut {
		return spans
	}
	return mergeSpans(spans)
}

// wordTokens cuts s into the words the word fields hold, with offsets into s.
func (rw rewriter) wordTokens(s string) analysis.TokenStream {
	text, offs := normalizeMapped(s, rw.normalize)
	tokenize := rw.tokenize
	if tokenize == nil {
		tokenize = basicTokenize
	}
	return wordTokens(tokenize(text), text, offs)
}

// prefixOf returns at most n bytes of s, cut at a rune boundary.
func prefixOf(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
