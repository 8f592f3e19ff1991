package nlp

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/go-ego/gse"
)

const (
	// negationWindow is the most runes between a negation cue and the hit
	// it negates (没有发生火灾: 2). The cue must be in the same clause.
	negationWindow = 6
	// intensifierWindow is the most runes between an intensifier and a
	// scoring hit of the category for the intensifier to count.
	intensifierWindow = 40
	// repeatFactor is the share of a term's weight added by each further
	// occurrence of the same term or rule in a field, up to maxRepeats:
	// a long report that says 火灾 twenty times is one fire.
	repeatFactor = 0.25
	maxRepeats   = 3
	// maxEvidence bounds the evidence listed per category and field (the
	// score counts every hit).
	maxEvidence = 32
	// maxRuleScan bounds how many following hits a rule looks at from one
	// starting hit, so a huge sentence stays linear.
	maxRuleScan = 64
	// maxSentenceSpan bounds a sentence rule: text without punctuation
	// (a scraped table, a 10 MB post) is no sentence of 10,000 runes.
	maxSentenceSpan = 200
)

// span is a match in the normalised text, in runes.
type span struct {
	start, end int
	pat        int // pattern id
	cat        int32
	ro         *role
}

// fieldMatches are the matches of one field, sorted by role.
type fieldMatches struct {
	name  string
	orig  string
	nz    *Normalized
	negs  []span // sorted by end
	excls []span // sorted by start
	terms [][]span
	words [][][]span // [cat][rule] rule-word hits, sorted by start
	intns []span
	// regs has a bit for every register (register.go) with a cue in the
	// field.
	regs uint32
	// court is set when a court record's opening words (courtCues) end
	// within the model prefix (postDomain).
	court bool
	// sev are the matches of the severity cues' patterns (fieldCues).
	sev []sevMatch

	letters  int     // letters and digits of the field, -1 until counted
	origByte []int32 // byte offset of each rune of orig, built on demand

	// segs are the gse words of the model prefix of nz.Text
	// (modelSegments), once segsDone; segsWhole when that prefix is the
	// whole text.
	segs                []gse.Segment
	segsDone, segsWhole bool
}

// scored is one hit that counted or was suppressed.
type scored struct {
	field  *fieldMatches
	cat    int
	start  int // normalised runes
	end    int
	rule   string
	weight float64
	reason string
}

// match finds the lexicons' patterns in one field, and with cues set the
// severity cues' patterns too.
func (a *Analyzer) match(name, orig string, nz *Normalized, cues bool) *fieldMatches {
	fm := &fieldMatches{name: name, orig: orig, nz: nz, letters: -1,
		terms: make([][]span, len(a.cats)), words: make([][][]span, len(a.cats))}
	if a.ac == nil || nz.Text == "" {
		return fm
	}
	hay := unsafe.Slice(unsafe.StringData(nz.Text), len(nz.Text))
	// Overlapping matches are reported in order of their end: the end's
	// rune index only moves forward, and the start is the end minus the
	// pattern's length in runes.
	rb := nz.runeByte
	e := 0
	var ruleHits []span
	for _, m := range a.ac.FindAllOverlapping(hay) {
		for e < len(rb)-1 && int(rb[e]) < m.End {
			e++
		}
		for e > 0 && int(rb[e]) > m.End {
			e--
		}
		s := e - a.patRunes[m.PatternID]
		if s < 0 || int(rb[s]) != m.Start {
			s = nz.runeAt(m.Start) // not reached with valid UTF-8 patterns
		}
		for i := range a.roles[m.PatternID] {
			ro := &a.roles[m.PatternID][i]
			if ro.maxField > 0 && fm.letterCount() > int(ro.maxField) {
				continue
			}
			sp := span{start: s, end: e, pat: m.PatternID, cat: ro.cat, ro: ro}
			switch ro.kind {
			case roleTerm:
				fm.terms[ro.cat] = append(fm.terms[ro.cat], sp)
			case roleRuleWord:
				ruleHits = append(ruleHits, sp)
			case roleNegation:
				if !nz.acrossSpace(s, e) {
					fm.negs = append(fm.negs, sp)
				}
			case roleExclusion:
				if !nz.acrossSpace(s, e) {
					fm.excls = append(fm.excls, sp)
				}
			case roleIntensifier:
				fm.intns = append(fm.intns, sp)
			case roleRegister:
				fm.regs |= regBit(int(ro.rule))
			case roleCourtCue:
				fm.court = fm.court || e <= maxModelRunes
			case roleSeverity:
				// A model's levels read the cues; so does training a
				// model that reads them as features (cueFeatures).
				if cues {
					fm.sev = append(fm.sev, sevMatch{pat: int(ro.rule), start: s, end: e})
				}
			}
		}
	}
	// negs arrive ordered by end already.
	slices.SortStableFunc(fm.excls, func(x, y span) int { return cmp.Compare(x.start, y.start) })
	for c := range fm.terms {
		fm.terms[c] = dropContained(fm.terms[c])
	}
	// Rule words are gathered in one slice, then bucketed by rule (a
	// counting sort, stable: each bucket keeps the order of match ends) and
	// put in text order within each bucket; matches arrive nearly in start
	// order, so an insertion sort is linear in practice.
	if len(ruleHits) > 0 {
		start := make([]int32, a.nRules+1)
		for _, h := range ruleHits {
			start[h.ro.gid+1]++
		}
		for i := 1; i < len(start); i++ {
			start[i] += start[i-1]
		}
		sorted := make([]span, len(ruleHits))
		next := append([]int32(nil), start...)
		for _, h := range ruleHits {
			sorted[next[h.ro.gid]] = h
			next[h.ro.gid]++
		}
		for g := 0; g < a.nRules; g++ {
			lo, hi := start[g], start[g+1]
			if lo == hi {
				continue
			}
			b := sorted[lo:hi:hi]
			for i := 1; i < len(b); i++ {
				for j := i; j > 0 && spanBefore(b[j], b[j-1]); j-- {
					b[j], b[j-1] = b[j-1], b[j]
				}
			}
			c, r := b[0].cat, b[0].ro.rule
			if fm.words[c] == nil {
				fm.words[c] = make([][]span, len(a.cats[c].rules))
			}
			fm.words[c][r] = b
		}
	}
	return fm
}

// letterCount returns the letters and digits of the field (a short reply
// such as 一起吗 has 3), counted once.
func (fm *fieldMatches) letterCount() int {
	if fm.letters < 0 {
		n := 0
		for _, r := range fm.nz.Text {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				n++
			}
		}
		fm.letters = n
	}
	return fm.letters
}

// spanBefore orders rule words of one rule: by start, end, then group (a
// total order, so the result is deterministic).
func spanBefore(x, y span) bool {
	if x.start != y.start {
		return x.start < y.start
	}
	if x.end != y.end {
		return x.end < y.end
	}
	return x.ro.group < y.ro.group
}

// dropContained sorts hits and removes those inside a longer hit (森林火灾
// holds 火灾: one hit, not two) and those that start inside an earlier hit:
// a match across two words (毒贩 in 吸毒贩毒) is no third mention.
func dropContained(hs []span) []span {
	if len(hs) < 2 {
		return hs
	}
	slices.SortStableFunc(hs, func(x, y span) int {
		if x.start != y.start {
			return cmp.Compare(x.start, y.start)
		}
		return cmp.Compare(y.end, x.end)
	})
	out := hs[:1]
	maxEnd := hs[0].end
	for _, h := range hs[1:] {
		if h.start < maxEnd {
			continue
		}
		out = append(out, h)
		maxEnd = h.end
	}
	return out
}

// negatedBy returns the negation cue suppressing [start, end) for category
// c, or "".
func (a *Analyzer) negatedBy(fm *fieldMatches, c int, start int) string {
	negs := fm.negs
	k := sort.Search(len(negs), func(i int) bool { return negs[i].end > start })
	for i := k - 1; i >= 0; i-- {
		n := negs[i]
		if start-n.end > negationWindow {
			break
		}
		if n.cat != -1 && int(n.cat) != c {
			continue
		}
		if !fm.nz.sameClause(n.end, start+1) {
			continue
		}
		return a.pats[n.pat]
	}
	return ""
}

// excludedBy returns the exclusion suppressing [start, end) for category c,
// or "".
func (a *Analyzer) excludedBy(fm *fieldMatches, c int, start, end int) string {
	ex := fm.excls
	if len(ex) == 0 {
		return ""
	}
	// Overlapping exclusions start before end and no earlier than the
	// longest pattern allows: scan back from the first one starting at or
	// after end.
	k := sort.Search(len(ex), func(i int) bool { return ex[i].start >= end })
	for i := k - 1; i >= 0 && ex[i].start >= start-a.maxPatRunes; i-- {
		e := ex[i]
		if e.end > start && (e.cat == -1 || int(e.cat) == c) {
			return a.pats[e.pat]
		}
	}
	lo, hi := fm.nz.sentenceBounds(start)
	// Text without punctuation is no sentence of 10,000 runes: a context
	// reaches at most maxSentenceSpan runes, which also keeps this scan short.
	lo = max(lo, start-maxSentenceSpan)
	hi = min(hi, end+maxSentenceSpan)
	k = sort.Search(len(ex), func(i int) bool { return ex[i].start >= lo })
	for i := k; i < len(ex) && ex[i].start < hi; i++ {
		e := ex[i]
		if (e.cat == -1 || int(e.cat) == c) && a.cats[c].ctxExcl[e.pat] {
			return a.pats[e.pat]
		}
	}
	return ""
}

// suppression returns the reason a hit does not count, or "".
func (a *Analyzer) suppression(fm *fieldMatches, c, start, end int) string {
	if x := a.excludedBy(fm, c, start, end); x != "" {
		return "excluded: " + x
	}
	if n := a.negatedBy(fm, c, start); n != "" {
		return "negated: " + n
	}
	return ""
}

// catScore accumulates one category over the fields.
type catScore struct {
	raw    float64
	hits   []scored
	supp   []scored
	intens map[string]float64
}

// scoreField adds the hits of one field to acc.
func (a *Analyzer) scoreField(fm *fieldMatches, acc []catScore) {
	for c, cat := range a.cats {
		if len(fm.terms[c]) == 0 && fm.words[c] == nil {
			continue
		}
		tw := 1.0
		if fm.name == "title" {
			tw = cat.lex.TitleWeight
		}
		cs := &acc[c]
		seen := map[string]int{}
		add := func(s scored, base float64) {
			n := seen[s.rule]
			seen[s.rule] = n + 1
			w := base * tw
			if n > 0 {
				w = 0
				if n <= maxRepeats {
					w = base * tw * repeatFactor
				}
			}
			s.weight = w
			cs.raw += w
			cs.hits = append(cs.hits, s)
		}
		var counted []span
		maxLen := 0
		for _, h := range fm.terms[c] {
			s := scored{field: fm, cat: c, start: h.start, end: h.end, rule: cat.lex.Code + "/" + h.ro.label}
			if r := a.suppression(fm, c, h.start, h.end); r != "" {
				s.reason, s.weight = r, h.ro.weight*tw
				cs.supp = append(cs.supp, s)
				continue
			}
			add(s, h.ro.weight)
			counted = append(counted, h)
			maxLen = max(maxLen, h.end-h.start)
		}
		for r := range fm.words[c] {
			for _, m := range a.ruleMatches(fm, c, r) {
				s := scored{field: fm, cat: c, start: m.start, end: m.end, rule: cat.lex.Code + "/" + cat.rules[r].Name}
				if m.reason != "" {
					s.reason, s.weight = m.reason, cat.rules[r].Weight*tw
					cs.supp = append(cs.supp, s)
					continue
				}
				add(s, cat.rules[r].Weight)
				counted = append(counted, span{start: m.start, end: m.end})
				maxLen = max(maxLen, m.end-m.start)
			}
		}
		if len(counted) == 0 {
			continue
		}
		slices.SortFunc(counted, func(x, y span) int { return cmp.Compare(x.start, y.start) })
		for _, h := range fm.intns {
			if h.cat != -1 && int(h.cat) != c {
				continue
			}
			if !near(counted, maxLen, h.start, h.end, intensifierWindow) || overlapsAny(fm.terms[c], a.maxPatRunes, h.start, h.end) {
				continue
			}
			label := h.ro.label
			if _, done := cs.intens[label]; done {
				continue
			}
			s := scored{field: fm, cat: c, start: h.start, end: h.end, rule: cat.lex.Code + "/+" + label}
			if r := a.suppression(fm, c, h.start, h.end); r != "" {
				s.reason, s.weight = r, h.ro.weight*tw
				cs.supp = append(cs.supp, s)
				continue
			}
			if cs.intens == nil {
				cs.intens = map[string]float64{}
			}
			cs.intens[label] = h.ro.weight * tw
			s.weight = h.ro.weight * tw
			cs.raw += s.weight
			cs.hits = append(cs.hits, s)
		}
	}
}

// near reports whether [start, end) lies within d runes of a span of hs,
// sorted by start, none longer than maxLen.
func near(hs []span, maxLen, start, end, d int) bool {
	k := sort.Search(len(hs), func(i int) bool { return hs[i].start > end+d })
	for i := k - 1; i >= 0 && hs[i].start >= start-d-maxLen; i-- {
		if hs[i].end+d >= start {
			return true
		}
	}
	return false
}

// overlapsAny reports whether [start, end) overlaps a span of hs, sorted by
// start, none longer than maxLen.
func overlapsAny(hs []span, maxLen, start, end int) bool {
	k := sort.Search(len(hs), func(i int) bool { return hs[i].start >= end })
	for i := k - 1; i >= 0 && hs[i].start >= start-maxLen; i-- {
		if hs[i].end > start {
			return true
		}
	}
	return false
}

// ruleMatch is one firing of a co-occurrence rule.
type ruleMatch struct {
	start, end int
	reason     string
}

// ruleMatches finds the non-overlapping firings of rule r of category c: from
// each word in text order, the nearest following word of every other group
// within the rule's distance (and sentence). A firing is suppressed when any
// of its words is negated or excluded.
func (a *Analyzer) ruleMatches(fm *fieldMatches, c, r int) []ruleMatch {
	rule := a.cats[c].rules[r]
	ws := fm.words[c][r]
	if len(ws) < len(rule.Groups) {
		return nil
	}
	var out []ruleMatch
	chosen := make([]int, len(rule.Groups))
	next := 0
	for i := 0; i < len(ws); i++ {
		first := ws[i]
		if first.start < next {
			continue
		}
		for g := range chosen {
			chosen[g] = -1
		}
		chosen[first.ro.group] = i
		need := len(rule.Groups) - 1
		for j := i + 1; j < len(ws) && j-i <= maxRuleScan && need > 0; j++ {
			w := ws[j]
			if rule.Within > 0 && w.start-first.end > rule.Within {
				break
			}
			if rule.Sentence && (w.start-first.end > maxSentenceSpan || !fm.nz.sameSentence(first.start, w.start+1)) {
				break
			}
			if chosen[w.ro.group] == -1 && w.start >= first.end {
				chosen[w.ro.group] = j
				need--
			}
		}
		if need > 0 {
			continue
		}
		m := ruleMatch{start: first.start, end: first.end}
		for _, j := range chosen {
			if ws[j].end > m.end {
				m.end = ws[j].end
			}
		}
		for _, j := range chosen {
			if rs := a.suppression(fm, c, ws[j].start, ws[j].end); rs != "" {
				m.reason = rs
				break
			}
		}
		out = append(out, m)
		next = m.end
	}
	return out
}

// Analyze scores one post. It never fails: empty or invalid input yields
// level none.
func (a *Analyzer) Analyze(in Input) *Assessment {
	as := &Assessment{ID: in.ID, Level: LevelNone, Categories: []CategoryScore{}, Evidence: []Evidence{}}
	acc := make([]catScore, len(a.cats))
	var fields []*fieldMatches
	ref := in.Ref
	for _, f := range [...]struct{ name, text string }{{"title", in.Title}, {"text", in.Text}} {
		if f.text == "" {
			continue
		}
		nz := Normalize(f.text)
		for _, l := range extractLocationsIn(f.text, &nz) {
			l.Field = f.name
			as.Locations = append(as.Locations, l)
		}
		for _, tm := range ExtractTimes(f.text, ref) {
			tm.Field = f.name
			as.Times = append(as.Times, tm)
		}
		for _, e := range ExtractEntities(f.text) {
			e.Field = f.name
			as.Entities = append(as.Entities, e)
		}
		fm := a.match(f.name, f.text, &nz, a.model != nil)
		a.scoreField(fm, acc)
		fields = append(fields, fm)
	}
	for c, cs := range acc {
		if cs.raw <= 0 {
			as.Suppressed = a.appendSuppressed(as.Suppressed, cs.supp)
			continue
		}
		score := round2(cs.raw * a.cats[c].lex.Severity)
		as.Categories = append(as.Categories, CategoryScore{Code: a.cats[c].lex.Code, Score: score})
		perField := map[*fieldMatches]int{}
		for _, s := range cs.hits {
			if perField[s.field] >= maxEvidence {
				continue
			}
			perField[s.field]++
			as.Evidence = append(as.Evidence, a.evidence(s))
		}
		as.Suppressed = a.appendSuppressed(as.Suppressed, cs.supp)
	}
	sort.SliceStable(as.Categories, func(i, j int) bool {
		if as.Categories[i].Score != as.Categories[j].Score {
			return as.Categories[i].Score > as.Categories[j].Score
		}
		return as.Categories[i].Code < as.Categories[j].Code
	})
	if len(as.Categories) > 0 {
		as.Score = as.Categories[0].Score
	}
	as.Level = a.th.Level(as.Score)
	if a.model != nil && len(fields) > 0 {
		a.assessWithModel(as, acc, fields)
	}
	sortEvidence(as.Evidence)
	sort.SliceStable(as.Suppressed, func(i, j int) bool {
		return lessEvidence(&as.Suppressed[i].Evidence, &as.Suppressed[j].Evidence)
	})
	if len(as.Suppressed) > 4*maxEvidence {
		as.Suppressed = as.Suppressed[:4*maxEvidence]
	}
	if !a.noFP {
		as.SimHash, as.Keywords, as.Words = fingerprint(fields, as.Evidence, a.ruleIDs, in.Words)
	}
	return as
}

// appendSuppressed lists suppressed hits, at most maxEvidence per field.
func (a *Analyzer) appendSuppressed(out []Suppressed, supp []scored) []Suppressed {
	perField := map[*fieldMatches]int{}
	for _, s := range supp {
		if perField[s.field] >= maxEvidence {
			continue
		}
		perField[s.field]++
		out = append(out, Suppressed{Evidence: a.evidence(s), Reason: s.reason})
	}
	return out
}

func (a *Analyzer) evidence(s scored) Evidence {
	os, oe := s.field.nz.OrigSpan(s.start, s.end)
	return Evidence{
		Rule:     s.rule,
		Category: a.cats[s.cat].lex.Code,
		Field:    s.field.name,
		Text:     s.field.origText(os, oe),
		Start:    os,
		End:      oe,
		Weight:   round2(s.weight),
	}
}

// origText returns the original field's runes [start, end), counted as
// []rune(s) counts them (an invalid byte is one rune, U+FFFD).
func (fm *fieldMatches) origText(start, end int) string {
	if fm.origByte == nil {
		fm.origByte = make([]int32, 0, fm.nz.OrigRunes+1)
		for i := range fm.orig {
			fm.origByte = append(fm.origByte, int32(i))
		}
		fm.origByte = append(fm.origByte, int32(len(fm.orig)))
	}
	if start < 0 || end > len(fm.origByte)-1 || start >= end {
		return ""
	}
	sub := fm.orig[fm.origByte[start]:fm.origByte[end]]
	if utf8.ValidString(sub) {
		return sub
	}
	return string([]rune(sub))
}

func sortEvidence(ev []Evidence) {
	sort.SliceStable(ev, func(i, j int) bool { return lessEvidence(&ev[i], &ev[j]) })
}

func lessEvidence(a, b *Evidence) bool {
	if a.Field != b.Field {
		return a.Field == "title"
	}
	if a.Start != b.Start {
		return a.Start < b.Start
	}
	if a.End != b.End {
		return a.End < b.End
	}
	if a.Category != b.Category {
		return a.Category < b.Category
	}
	return a.Rule < b.Rule
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
