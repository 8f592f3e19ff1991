package nlp

import (
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ExtractLocations finds the places named in text: administrative divisions
// resolved against the embedded gazetteer (Kind "admin"), roads (Kind
// "road"), communities, villages, landmarks and crossings (Kind "place")
// and places abroad (Kind "foreign", never a code), in order of position.
// Start and End are rune offsets into text. Text is expected as written or
// normalised as NormalizeText does (simplified, width-folded, lower case).
//
// A road or place is written down to the spot: a kilometre post
// (国道324线274KM+600M, G15沈海高速K1234+500), a crossing with its offset
// (五四路与湖东路交叉口东侧25米), a building, unit or exit (XX小区5栋2单元,
// 地铁站B口); PreciseLocation picks the most precise mention of a text.
//
// Divisions: a chain of names written together (福建省福州市马尾区,
// 浙江温岭) is one mention whose Code is that of its smallest division. A
// name shared by several divisions (鼓楼区) takes the one whose parent or
// child is named elsewhere in the text, nearest first; when none or more
// than one qualify equally, Code and Name stay empty rather than guessed.
// Full names are matched at every level; short forms (福州, 内蒙古, 延边)
// for provinces and cities; short forms of counties (温岭, 浦东) and
// one-character county names (和县) only when a related division is named
// in the same text, because alone they are ordinary words too often.
// Townships are matched by their full names ending in 镇, 乡, 街道 or 苏木,
// and by their short names (雁门口, 市桥) where their county is named.
// Former names (密云县, 萧山市, 襄樊市) give the code of the division that
// replaced them (see gazHistoric); autonomous divisions are also matched
// as 大理州, 积石山县.
//
// Roads and places are found from their generic ending with a stem of at
// most a few Han characters that stops at punctuation, function words and a
// preceding division; a following house number or relative position
// (路口北100米, 东侧25米) is part of the mention.
//
// The names are looked for in the text normalised (Normalize: traditional
// characters, full-width forms, spaces and dodge separators between Han
// characters), so 貴州省 and 福州 鼓楼区 are found as 贵州省 and 福州鼓楼区;
// offsets and Text are those of the text as written.
func ExtractLocations(text string) []Location {
	nz := Normalize(text)
	return extractLocationsIn(text, &nz)
}

// extractLocationsIn is ExtractLocations for text whose normalised form
// nz the caller has made already.
func extractLocationsIn(text string, nz *Normalized) []Location {
	locs := extractLocations(nz.Text)
	if nz.Text == text {
		return locs
	}
	orig := []rune(text)
	for i := range locs {
		s, e := nz.OrigSpan(locs[i].Start, locs[i].End)
		locs[i].Start, locs[i].End, locs[i].Text = s, e, string(orig[s:e])
	}
	return locs
}

// extractLocations finds the places of a normalised text.
func extractLocations(text string) []Location {
	var out []locSpan
	var admins []locSpan
	if g, err := loadGazetteer(); err == nil {
		admins = g.findAdmins(text)
	}
	foreign := locFindForeign(text, admins)
	// Foreign names bound roads and places as divisions do.
	blocks := append(slices.Clip(admins), foreign...)
	slices.SortStableFunc(blocks, func(a, b locSpan) int { return a.start - b.start })
	places := locFindPlaces(text, blocks)
	out = append(out, admins...)
	for _, f := range foreign {
		// 加州花园 is a housing estate in 重庆, not California.
		if !slices.ContainsFunc(places, func(p locSpan) bool { return p.start <= f.start && f.end <= p.end }) {
			out = append(out, f)
		}
	}
	out = append(out, locMergePlaces(text, places)...)
	slices.SortStableFunc(out, func(a, b locSpan) int { return a.start - b.start })
	locs := make([]Location, len(out))
	conv := newLocRuneCounter(text)
	for i, s := range out {
		locs[i] = Location{
			Text:  text[s.start:s.end],
			Start: conv.at(s.start),
			End:   conv.at(s.end),
			Kind:  s.kind,
			Code:  s.code,
			Name:  s.name,
		}
	}
	return locs
}

// locCrossings are the words that make two roads one spot.
var locCrossings = []string{"交叉口", "交汇处", "交会处", "交界处", "交口", "路口"}

// locJoiners may stand between the two roads of a crossing.
var locJoiners = []string{"与", "和", "及", "同", "跟", "、", "/"}

// locMergePlaces joins a road and a place or road written together into the
// one span that names the spot (丈八东路枫林绿洲小区12号楼, 104国道小溪岭路段),
// and two roads into their crossing when the second ends in a crossing word
// (五四路与湖东路交叉口东侧25米; 真北路曹杨路路口), kind "place".
func locMergePlaces(text string, spans []locSpan) []locSpan {
	out := spans[:0:0]
	for _, s := range spans {
		if n := len(out); n > 0 {
			p := &out[n-1]
			gap := text[p.end:s.start]
			// Two places side by side are a list (同济大学复旦大学); a road
			// and what is on it are one spot.
			if gap == "" && (p.kind == "road" || s.kind == "road") {
				if s.kind == "place" || locHasCrossing(text[s.start:s.end]) {
					p.kind = "place"
				}
				p.end = s.end
				continue
			}
			if slices.Contains(locJoiners, gap) && p.kind == "road" && locHasCrossing(text[s.start:s.end]) {
				p.kind, p.end = "place", s.end
				continue
			}
		}
		out = append(out, s)
	}
	return out
}

// locHasCrossing reports whether a road mention ends in a crossing word
// (湖东路交叉口东侧25米) rather than just naming a road.
func locHasCrossing(s string) bool {
	for _, w := range locCrossings {
		if strings.Index(s, w) > 0 {
			return true
		}
	}
	return false
}

// locSpan is a location with byte offsets, before conversion to runes.
type locSpan struct {
	start, end       int
	kind, code, name string
}

// locRuneCounter converts increasing byte offsets to rune offsets in one
// pass; offsets asked in decreasing order restart the count.
type locRuneCounter struct {
	text        string
	byte, runes int
}

func newLocRuneCounter(text string) *locRuneCounter { return &locRuneCounter{text: text} }

func (c *locRuneCounter) at(b int) int {
	if b < c.byte {
		c.byte, c.runes = 0, 0
	}
	c.runes += utf8.RuneCountInString(c.text[c.byte:b])
	c.byte = b
	return c.runes
}

// locHit is one division name found in the text.
type locHit struct {
	start, end int
	cands      []gazCandidate
}

// locMention is a chain of adjacent division names (福建省福州市马尾区)
// with the candidates of each name narrowed to those consistent with the
// chain.
type locMention struct {
	start, end int
	elems      [][]gazCandidate
	starts     []int // byte offset of each element
	resolved   int32 // division of the last element, -1 if not (yet) resolved
}

func (g *gazetteer) findAdmins(text string) []locSpan {
	hits := g.findHits(text)
	if len(hits) == 0 {
		return nil
	}
	out, divs := g.resolveAdmins(text, hits)
	// Townships go by their short names (雁门口 for 雁门口镇, 市桥 for
	// 市桥街道) only where their county is named: look for the townships
	// of the counties found, and resolve again with them.
	for _, h := range hits {
		if len(h.cands) == 1 {
			divs = append(divs, h.cands[0].div)
		}
	}
	if more := g.findTownShorts(text, hits, divs); len(more) > 0 {
		hits = append(hits, more...)
		slices.SortFunc(hits, func(a, b locHit) int { return a.start - b.start })
		out, _ = g.resolveAdmins(text, hits)
	}
	return out
}

// resolveAdmins chains the hits into mentions and gives each the division
// it names, when the text tells which; it also returns those divisions.
func (g *gazetteer) resolveAdmins(text string, hits []locHit) ([]locSpan, []int32) {
	ms := g.chain(text, hits)

	// Names that point to one division (after narrowing by their chain)
	// are resolved; they then support the others. A name with one strong
	// reading and only weak others (兰州 the city, not 兰州新区; 西安 the
	// city, not 西安区) means the strong one.
	for i := range ms {
		m := &ms[i]
		last := m.elems[len(m.elems)-1]
		if len(last) == 1 && (len(m.elems) > 1 || !last[0].weak) {
			m.resolved = last[0].div
		} else if len(m.elems) == 1 {
			if s, n := strongOf(last); n == 1 {
				m.resolved = s
				m.elems[0] = []gazCandidate{{div: s}}
			}
		}
	}
	type support struct {
		div int32
		pos int
	}
	// Supporting names are looked for within locSupportWindow bytes, which
	// covers any post and keeps a huge text linear.
	const locSupportWindow = 8 << 10
	for pass := 0; pass < 3; pass++ {
		var sup []support          // by increasing pos
		same := map[string]int32{} // a name resolved once means the same later
		for _, m := range ms {
			for k, e := range m.elems {
				if len(e) == 1 && (len(m.elems) > 1 || !e[0].weak || m.resolved >= 0) {
					// Each name of a chain supports from where it is
					// written: in 河北保定涿州…码头镇 涿州 is nearer than
					// 河北, so 涿州's 码头镇 wins over other 河北 ones.
					sup = append(sup, support{e[0].div, m.starts[k]})
				}
			}
			if m.resolved >= 0 {
				same[g.divs[m.resolved].name] = m.resolved
			}
		}
		changed := false
		for i := range ms {
			m := &ms[i]
			if m.resolved >= 0 {
				continue
			}
			best, bestDist, tie := int32(-1), -1, false
			if len(m.elems) == 1 {
				for _, c := range m.elems[0] {
					if d, ok := same[g.divs[c.div].name]; ok && d == c.div {
						best, bestDist = d, 0
					}
				}
			}
			lo := sort.Search(len(sup), func(k int) bool { return sup[k].pos >= m.start-locSupportWindow })
			for _, c := range m.elems[len(m.elems)-1] {
				for _, s := range sup[lo:] {
					if s.pos > m.start+locSupportWindow {
						break
					}
					if s.pos >= m.start && s.pos < m.end || !g.related(c.div, s.div) {
						continue
					}
					// A weak name (和县, 温岭, 朝阳) needs a city or county
					// beside it: a province alone is too far to tell it from
					// a word or a person's name.
					if c.weak && len(m.elems) == 1 && g.divs[s.div].level == gazProvince {
						continue
					}
					d := m.start - s.pos
					if d < 0 {
						d = -d
					}
					switch {
					case bestDist < 0 || d < bestDist:
						best, bestDist, tie = c.div, d, false
					case d == bestDist && c.div != best:
						tie = true
					}
				}
			}
			if best >= 0 && !tie {
				m.resolved, changed = best, true
			}
		}
		if !changed {
			break
		}
	}

	var out []locSpan
	var divs []int32
	for _, m := range ms {
		last := m.elems[len(m.elems)-1]
		div := m.resolved
		if div < 0 && len(m.elems) == 1 {
			// Unsupported weak names are dropped: alone they are words.
			strong, nStrong := strongOf(last)
			if nStrong == 0 {
				continue
			}
			if nStrong == 1 {
				div = strong
			} else {
				// 吉林 names a province and a city: the province is meant
				// unless the text says otherwise.
				div = g.provinceAmong(last)
			}
		}
		if div < 0 && len(m.elems) > 1 {
			// Fall back to the smallest element of the chain that is unique:
			// 江苏省鼓楼区 is at least in 江苏省.
			for k := len(m.elems) - 2; k >= 0 && div < 0; k-- {
				if len(m.elems[k]) == 1 {
					div = m.elems[k][0].div
				}
			}
		}
		s := locSpan{start: m.start, end: m.end, kind: "admin"}
		if div >= 0 {
			s.code, s.name = g.code(div), g.path(div)
			divs = append(divs, div)
		}
		out = append(out, s)
	}
	return out, divs
}

// strongOf returns the strong candidate among cs and how many there are.
func strongOf(cs []gazCandidate) (int32, int) {
	strong, n := int32(-1), 0
	for _, c := range cs {
		if !c.weak {
			strong = c.div
			n++
		}
	}
	return strong, n
}

// provinceAmong returns the only province among the strong candidates, or -1.
func (g *gazetteer) provinceAmong(cs []gazCandidate) int32 {
	found := int32(-1)
	for _, c := range cs {
		if !c.weak && g.divs[c.div].level == gazProvince {
			if found >= 0 {
				return -1
			}
			found = c.div
		}
	}
	return found
}

// findHits returns the non-overlapping division names in text, leftmost
// and longest first.
func (g *gazetteer) findHits(text string) []locHit {
	var hits []locHit
	// In coregx/ahocorasick v0.3.1 FindAll and Find return the shortest
	// match whatever the match kind (福建 for 福建省, 朝阳 for 朝阳区), and
	// Find even skips 福州 in 福州昨天; the overlapping search is exact, so
	// take all matches and choose leftmost-longest below.
	for _, m := range g.upper.FindAllOverlapping([]byte(text)) {
		// 长春市民 is 长春 and 市民 (citizens), not 长春市.
		if strings.HasPrefix(text[m.End:], "民") && strings.HasSuffix(text[m.Start:m.End], "市") {
			continue
		}
		// 北京路, 长江西路, 江西大道 are streets: a name without its
		// division ending, right before a road ending, is part of it.
		if !gazHasSuffix(text[m.Start:m.End]) && locRoadAfterName(text, m.End) {
			continue
		}
		// 南明河, 西湖 (not 西湖区): a name without its ending right before
		// 河 or 湖 and a boundary names the water.
		if !gazHasSuffix(text[m.Start:m.End]) && locWaterAfterName(text, m.End) {
			continue
		}
		hits = append(hits, locHit{m.Start, m.End, g.upperCand[m.PatternID]})
	}
	hits = append(hits, g.findTowns(text)...)
	slices.SortFunc(hits, func(a, b locHit) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	kept := hits[:0]
	end := 0
	for _, h := range hits {
		if h.start >= end {
			kept = append(kept, h)
			end = h.end
		}
	}
	return kept
}

// findTowns looks backwards from every 镇, 乡, 街道 and 苏木 for the longest
// township name ending there.
func (g *gazetteer) findTowns(text string) []locHit {
	var hits []locHit
	for _, suf := range gazTownSuffixes {
		for off := 0; ; {
			i := strings.Index(text[off:], suf)
			if i < 0 {
				break
			}
			end := off + i + len(suf)
			off = end
			var best locHit
			for st := end - len(suf); st > 0 && end-st <= g.townMaxBytes; {
				r, size := utf8.DecodeLastRuneInString(text[:st])
				if !unicode.Is(unicode.Han, r) {
					break
				}
				st -= size
				if cs, ok := g.towns[text[st:end]]; ok {
					best = locHit{st, end, cs}
				}
			}
			if best.cands != nil {
				hits = append(hits, best)
			}
		}
	}
	return hits
}

// chain groups adjacent hits whose divisions nest into mentions and narrows
// each name's candidates to those consistent with the chain.
func (g *gazetteer) chain(text string, hits []locHit) []locMention {
	var ms []locMention
	for _, h := range hits {
		if n := len(ms); n > 0 && strings.TrimSpace(text[ms[n-1].end:h.start]) == "" {
			m := &ms[n-1]
			prev := m.elems[len(m.elems)-1]
			var next []gazCandidate
			for _, c := range h.cands {
				for _, p := range prev {
					if g.isAncestor(p.div, c.div) {
						next = append(next, c)
						break
					}
				}
			}
			if len(next) > 0 {
				// Narrow the earlier names to the ancestors of what remains.
				for k := len(m.elems) - 1; k >= 0; k-- {
					below := next
					if k < len(m.elems)-1 {
						below = m.elems[k+1]
					}
					var keep []gazCandidate
					for _, p := range m.elems[k] {
						for _, c := range below {
							if g.isAncestor(p.div, c.div) {
								keep = append(keep, p)
								break
							}
						}
					}
					m.elems[k] = keep
				}
				m.elems = append(m.elems, next)
				m.starts = append(m.starts, h.start)
				m.end = h.end
				continue
			}
		}
		ms = append(ms, locMention{start: h.start, end: h.end, elems: [][]gazCandidate{h.cands}, starts: []int{h.start}, resolved: -1})
	}
	return ms
}

// gazHasSuffix reports whether name ends in a division ending (省, 市, 县…).
func gazHasSuffix(name string) bool {
	for _, s := range gazSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// locRoadAfterName reports whether a road ending follows at i, directly or
// after a compass word (北京东路, 江西中路).
// locWaterAfterName reports whether 河 or 湖 follows at byte i as a
// name's ending: followed by punctuation, the end, or a word that cannot
// continue a division's name (上, 边, 里, 水, 畔, 中, 岸, 段, 堤, 大桥).
func locWaterAfterName(text string, i int) bool {
	r, size := utf8.DecodeRuneInString(text[i:])
	if r != '河' && r != '湖' {
		return false
	}
	next, _ := utf8.DecodeRuneInString(text[i+size:])
	return i+size == len(text) || !unicode.Is(unicode.Han, next) || strings.ContainsRune("上边里水畔中岸段堤今有发出", next)
}

func locRoadAfterName(text string, i int) bool {
	if r, size := utf8.DecodeRuneInString(text[i:]); strings.ContainsRune("东西南北中", r) {
		if locRoadEndingAt(text, i+size) {
			return true
		}
	}
	return locRoadEndingAt(text, i)
}
