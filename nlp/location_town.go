package nlp

import (
	"strings"
	"unicode/utf8"
)

// gazTownShortBlocked are township short forms that are ordinary words or
// parts of street names too often to count even beside their county.
var gazTownShortBlocked = map[string]bool{
	"城关": true, "城东": true, "城西": true, "城南": true, "城北": true, "城中": true,
	"城区": true, "新城": true, "东城": true, "西城": true, "南城": true, "北城": true,
	"开发": true, "工业": true, "高新": true, "经济": true, "新区": true, "中心": true,
	"东风": true, "红旗": true, "人民": true, "解放": true, "胜利": true, "建设": true,
	"和平": true, "新华": true, "中山": true, "长安": true, "文化": true, "光明": true,
	"大桥": true,
}

// townSearchLimit bounds the divisions whose townships are looked for in
// one text, so that a text naming hundreds of counties stays linear.
const townSearchLimit = 16

// findTownShorts returns hits for the short names of the townships of divs
// (counties, and cities without districts such as 东莞市) written in text
// outside the existing hits. The hits are weak: they count only next to or
// supported by their county.
func (g *gazetteer) findTownShorts(text string, hits []locHit, divs []int32) []locHit {
	var out, refused []locHit
	seen := map[int32]bool{}
	for _, d := range divs {
		if len(seen) >= townSearchLimit {
			break
		}
		switch g.divs[d].level {
		case gazCounty:
		case gazCity:
			// 东莞市 and 中山市 have one county of the same name that holds
			// their townships.
			if c := d + 1; int(c) < len(g.divs) && g.divs[c].parent == d && g.divs[c].name == g.divs[d].name {
				d = c
			} else {
				continue
			}
		default:
			continue
		}
		if seen[d] {
			continue
		}
		seen[d] = true
		for t := d + 1; t < g.subtreeEnd[d]; t++ {
			short := g.townShort[t]
			if short == "" || g.divs[t].parent != d {
				continue
			}
			for off := 0; ; {
				i := strings.Index(text[off:], short)
				if i < 0 {
					break
				}
				st := off + i
				end := st + len(short)
				off = end
				// 梨园地铁站, 花园路, 天坛公园, 沈家门渔港: a township's
				// short name with a place ending after it names that
				// place; a shorter name inside it (春江 in 富春江) is
				// not one either.
				if locEndingNear(text, end) {
					refused = append(refused, locHit{start: st, end: end})
					continue
				}
				if !locHitsOverlap(hits, st, end) && !locHitsOverlap(out, st, end) {
					out = append(out, locHit{st, end, []gazCandidate{{div: t, weak: true}}})
				}
			}
		}
	}
	kept := out[:0]
	for _, h := range out {
		if !locHitsOverlap(refused, h.start, h.end) {
			kept = append(kept, h)
		}
	}
	return kept
}

// gazTownShort returns a township's name without its ending (镇, 乡, 街道,
// 苏木) when at least two characters are left and it is not a common word.
func gazTownShort(name string) string {
	if strings.ContainsAny(name, "（(") {
		return ""
	}
	for _, s := range gazTownSuffixes {
		if short, ok := strings.CutSuffix(name, s); ok {
			// Street offices named after their street (淮海中路街道,
			// 长江路街道) leave a road name.
			if utf8.RuneCountInString(short) < 2 || gazTownShortBlocked[short] || strings.ContainsAny(short, "路街道巷") {
				return ""
			}
			return short
		}
	}
	return ""
}

// locHitsOverlap reports whether [st,end) overlaps one of hits.
func locHitsOverlap(hits []locHit, st, end int) bool {
	for _, h := range hits {
		if h.start < end && st < h.end {
			return true
		}
	}
	return false
}

// locEndingNear reports whether a road or place ending, or a landmark word
// (江, 湖, 岛, 港, 山…), begins at byte i of text or one character later.
func locEndingNear(text string, i int) bool {
	for k := 0; k < 2 && i < len(text); k++ {
		r, size := utf8.DecodeRuneInString(text[i:])
		for _, suf := range locSuffixesOf(r) {
			if !strings.HasPrefix(text[i:], suf.word) {
				continue
			}
			// 市桥桥南路: a 桥 before 南 is the next name's start.
			if next, _ := utf8.DecodeRuneInString(text[i+len(suf.word):]); suf.notBefore == "" || !strings.ContainsRune(suf.notBefore, next) {
				return true
			}
		}
		if strings.ContainsRune("江河湖岛港山湾塔", r) || strings.HasPrefix(text[i:], "长城") {
			return true
		}
		i += size
	}
	return false
}
