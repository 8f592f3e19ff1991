package web

import (
	"html"
	"net/http"
	"slices"
	"strings"
	"unicode"

	"riskmine/alerts"
	"riskmine/index"
	"riskmine/nlp"
)

// Personal data in crawled posts (PIPL): phone numbers, bank cards and
// QQ/WeChat ids that nlp.ExtractEntities finds are masked wherever post
// text reaches a user whose role is not among Options.PIIRoles. Masking
// replaces characters with '*' one for one, so every rune offset (evidence
// spans, highlight marks) stays where it was. Nothing is stored apart from
// the post: the data lives exactly as long as the post does.

// piiKinds are the entity kinds that are personal data.
var piiKinds = map[string]bool{"phone": true, "bank_card": true, "qq": true, "wechat": true}

// piiKeep says how many of the n letters and digits of an entity stay
// visible at its front and back: a phone keeps all but the 4 before its
// last 4 (138****5678, 0571-****6666), a bank card its first and last 4,
// a QQ or WeChat id 2 and 2 with at least half and at least 4 hidden (QQ
// 12****89).
func piiKeep(kind string, n int) (front, back int) {
	switch kind {
	case "phone":
		return max(0, n-8), min(4, n)
	case "bank_card":
		return 4, 4
	}
	front, back = 2, 2
	need := min(n, max(4, (n+1)/2))
	for n-front-back < need && front+back > 0 {
		if front >= back {
			front--
		} else {
			back--
		}
	}
	return front, back
}

// DefaultPIIRoles are the roles that see personal data unmasked unless
// configured: the roles that dispatch cases (analysts) and administrators.
// Viewers see masks.
var DefaultPIIRoles = []Role{RoleAnalyst, RoleAdmin}

// maybePII is a cheap test that text could hold personal data: every kind
// has a digit, except WeChat ids, which follow a word with 信, vx or wx.
func maybePII(s string) bool {
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '信', r == 'x', r == 'X':
			return true
		case r >= 0x80 && (unicode.IsDigit(r) || r == 'ｘ' || r == 'Ｘ'):
			return true
		}
	}
	return false
}

// piiRunes returns the rune offsets of s to hide, in ascending order
// (nil when s holds no personal data).
func piiRunes(s string) []int {
	if !maybePII(s) {
		return nil
	}
	n := nlp.Normalize(s)
	var hide []int
	var norm []rune
	for _, e := range nlp.ExtractEntities(n.Text) {
		if !piiKinds[e.Kind] {
			continue
		}
		if norm == nil {
			norm = []rune(n.Text)
		}
		if e.Start < 0 || e.End > len(norm) || e.Start >= e.End {
			continue
		}
		// The letters and digits of the entity, in the normalised text.
		var chars []int
		for i := e.Start; i < e.End; i++ {
			if r := norm[i]; r < 0x80 && (r >= '0' && r <= '9' || r >= 'a' && r <= 'z') {
				chars = append(chars, i)
			}
		}
		front, back := piiKeep(e.Kind, len(chars))
		if front+back > len(chars) {
			continue
		}
		last := -1
		for _, i := range chars[front : len(chars)-back] {
			if o := int(n.Orig[i]); o != last {
				hide = append(hide, o)
				last = o
			}
		}
	}
	if len(hide) > 1 {
		// Entities come in order of position and do not overlap.
		out := hide[:1]
		for _, o := range hide[1:] {
			if o > out[len(out)-1] {
				out = append(out, o)
			}
		}
		hide = out
	}
	return hide
}

// maskRunes replaces the runes of s at the given offsets with '*'.
func maskRunes(s string, hide []int) string {
	if len(hide) == 0 {
		return s
	}
	rs := []rune(s)
	for _, i := range hide {
		if i >= 0 && i < len(rs) {
			rs[i] = '*'
		}
	}
	return string(rs)
}

// MaskPII returns text with the personal data that nlp.ExtractEntities
// finds masked (138****5678, 6222 **** **** 1234, QQ 12****89), keeping its
// length in runes, and whether there was any.
func MaskPII(text string) (string, bool) {
	hide := piiRunes(text)
	return maskRunes(text, hide), len(hide) > 0
}

// maskFragment masks a highlight fragment from the index: HTML-escaped
// text with <mark> tags. The text between the tags is judged as a whole
// (a number split by a mark is still one number) and the marks stay at
// their places, since masking keeps the length.
func maskFragment(frag string) (string, bool) {
	if !maybePII(html.UnescapeString(frag)) {
		return frag, false
	}
	type piece struct {
		text string // unescaped
		tag  string // "<mark>" or "</mark>" when a tag
	}
	var pieces []piece
	var plain strings.Builder
	for rest := frag; rest != ""; {
		i := strings.Index(rest, "<")
		if i < 0 {
			pieces = append(pieces, piece{text: html.UnescapeString(rest)})
			break
		}
		tag := ""
		switch {
		case strings.HasPrefix(rest[i:], "<mark>"):
			tag = "<mark>"
		case strings.HasPrefix(rest[i:], "</mark>"):
			tag = "</mark>"
		}
		if tag == "" {
			// A stray '<' is text; safeFragment escapes it.
			j := strings.Index(rest[i+1:], "<")
			if j < 0 {
				j = len(rest) - i - 1
			}
			pieces = append(pieces, piece{text: html.UnescapeString(rest[:i+1+j])})
			rest = rest[i+1+j:]
			continue
		}
		if i > 0 {
			pieces = append(pieces, piece{text: html.UnescapeString(rest[:i])})
		}
		pieces = append(pieces, piece{tag: tag})
		rest = rest[i+len(tag):]
	}
	for _, p := range pieces {
		plain.WriteString(p.text)
	}
	hide := piiRunes(plain.String())
	if len(hide) == 0 {
		return frag, false
	}
	masked := []rune(maskRunes(plain.String(), hide))
	var b strings.Builder
	pos := 0
	for _, p := range pieces {
		if p.tag != "" {
			b.WriteString(p.tag)
			continue
		}
		n := len([]rune(p.text))
		b.WriteString(html.EscapeString(string(masked[pos : pos+n])))
		pos += n
	}
	return b.String(), true
}

// piiView is how one request shows personal data: masked or not, and
// whether any was met (an unmasked view of it goes to the read audit).
type piiView struct {
	mask  bool
	found bool
}

// piiFor returns the view of the request's user: masked unless the role
// is one of Options.PIIRoles.
func (s *Server) piiFor(r *http.Request) *piiView {
	p := principalFrom(r.Context())
	if p == nil || p.User == nil {
		return &piiView{mask: true}
	}
	return &piiView{mask: !s.piiAllowed(p.User.Role)}
}

func (s *Server) piiAllowed(role Role) bool {
	for _, r := range s.piiRoles {
		if r == role {
			return true
		}
	}
	return false
}

// unmaskedShown reports whether the request showed personal data unmasked.
func (v *piiView) unmaskedShown() bool { return v.found && !v.mask }

// text masks one text when the view masks.
func (v *piiView) text(s string) string {
	hide := piiRunes(s)
	if len(hide) == 0 {
		return s
	}
	v.found = true
	if !v.mask {
		return s
	}
	return maskRunes(s, hide)
}

func (v *piiView) fragment(f string) string {
	out, found := maskFragment(f)
	if !found {
		return f
	}
	v.found = true
	if !v.mask {
		return f
	}
	return out
}

// lead returns the lead as the view shows it: a copy with title, summary,
// keywords, posts, evidence and notes masked (the store's lead is not changed).
func (v *piiView) lead(l *alerts.Lead) *alerts.Lead {
	if l == nil {
		return nil
	}
	c := *l
	c.Title = v.text(l.Title)
	c.Summary = v.text(l.Summary)
	if l.Terms != nil {
		// The keywords of a post can be its numbers.
		c.Terms = make([]string, len(l.Terms))
		for i, t := range l.Terms {
			c.Terms[i] = v.text(t)
		}
	}
	if l.Sources != nil {
		c.Sources = make([]alerts.Source, len(l.Sources))
		for i, src := range l.Sources {
			c.Sources[i] = v.source(src)
		}
	}
	if l.Notes != nil {
		c.Notes = make([]alerts.Note, len(l.Notes))
		for i, n := range l.Notes {
			n.Text = v.text(n.Text)
			c.Notes[i] = n
		}
	}
	return &c
}

// leads returns a copy of a list of leads, each masked as by lead.
func (v *piiView) leads(ls []alerts.Lead) []alerts.Lead {
	if ls == nil {
		return nil
	}
	out := make([]alerts.Lead, len(ls))
	for i := range ls {
		out[i] = *v.lead(&ls[i])
	}
	return out
}

// source masks a post's title and text, its evidence and its level cues:
// a span that lies at its offsets takes the masked text from there (so it
// still fits, see placeEvidence); another is masked on its own.
func (v *piiView) source(src alerts.Source) alerts.Source {
	orig := map[string][]rune{"title": []rune(src.Title), "text": []rune(src.Snippet)}
	src.Title = v.text(src.Title)
	src.Snippet = v.text(src.Snippet)
	masked := map[string][]rune{"title": []rune(src.Title), "text": []rune(src.Snippet)}
	// maskAt masks a span's text: from the masked field when the span lies
	// at its offsets, on its own otherwise.
	maskAt := func(field string, start, end int, text string) string {
		if field != "title" {
			field = "text"
		}
		if fits(orig[field], start, end, text) {
			return string(masked[field][start:end])
		}
		return v.text(text)
	}
	src.Evidence = slices.Clone(src.Evidence)
	for i, ev := range src.Evidence {
		src.Evidence[i].Text = maskAt(ev.Field, ev.Start, ev.End, ev.Text)
	}
	src.LevelCues = slices.Clone(src.LevelCues)
	for i, q := range src.LevelCues {
		src.LevelCues[i].Text = maskAt(q.Field, q.Start, q.End, q.Text)
	}
	return src
}

// audit masks the notes of a lead's audit trail.
func (v *piiView) audit(es []alerts.AuditEntry) []alerts.AuditEntry {
	if es == nil {
		return nil
	}
	out := make([]alerts.AuditEntry, len(es))
	for i, e := range es {
		e.Note = v.text(e.Note)
		e.Reason, e.Unit = v.text(e.Reason), v.text(e.Unit)
		out[i] = e
	}
	return out
}

// hit masks a search hit's title and fragments.
func (v *piiView) hit(h index.Hit) index.Hit {
	h.Title = v.text(h.Title)
	if h.Fragments != nil {
		fr := make(map[string][]string, len(h.Fragments))
		for k, fs := range h.Fragments {
			out := make([]string, len(fs))
			for i, f := range fs {
				out[i] = v.fragment(f)
			}
			fr[k] = out
		}
		h.Fragments = fr
	}
	return h
}

// result returns a copy of a search result with its hits masked.
func (v *piiView) result(res *index.Result) *index.Result {
	if res == nil {
		return nil
	}
	c := *res
	c.Hits = make([]index.Hit, len(res.Hits))
	for i, h := range res.Hits {
		c.Hits[i] = v.hit(h)
	}
	return &c
}
