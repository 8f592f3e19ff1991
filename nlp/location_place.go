package nlp

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// locSuffix is a generic ending of a road or place name.
type locSuffix struct {
	word       string
	kind       string // "road" or "place"
	maxStem    int    // most Han characters kept before the ending
	digitStem  bool   // the stem may be a number (104国道, 3号楼)
	notBefore  string // a following character that makes it another word (村民, 路灯)
	onlyBefore string // if set, a following Han character must be one of these
	blockLast  string // a last stem character that makes a generic word (道路, 农村)
}

// locSuffixFirst maps a rune of the CJK block to its group in
// locSuffixes plus one (0: no ending starts with it); an array lookup per
// character is several times cheaper than a map access.
var locSuffixFirst = func() []uint8 {
	t := make([]uint8, 0xA000)
	for i, g := range locSuffixes {
		r, _ := utf8.DecodeRuneInString(g[0].word)
		t[r] = uint8(i + 1)
	}
	return t
}()

// locSuffixesOf returns the endings that start with r, longest first.
func locSuffixesOf(r rune) []locSuffix {
	if r < 0 || int(r) >= len(locSuffixFirst) || locSuffixFirst[r] == 0 {
		return nil
	}
	return locSuffixes[locSuffixFirst[r]-1]
}

// locSuffixes, grouped by first rune, longest first within a group.
var locSuffixes = func() [][]locSuffix {
	list := []locSuffix{
		{word: "大道", kind: "road", maxStem: 4},
		{word: "大街", kind: "road", maxStem: 4, notBefore: "上头"},
		{word: "公路", kind: "road", maxStem: 4},
		{word: "路", kind: "road", maxStem: 4, notBefore: "线费灯况面人过途径由演子标程障基轨桥由数", blockLast: locRoadBlockLast},
		{word: "街", kind: "road", maxStem: 4, notBefore: "头坊舞道区面上边", blockLast: locRoadBlockLast},
		{word: "巷", kind: "road", maxStem: 4, notBefore: "战子尾口道"},
		{word: "胡同", kind: "road", maxStem: 4},
		{word: "弄", kind: "road", maxStem: 4, notBefore: "到得的了坏清明虚脏丢死伤"},
		{word: "国道", kind: "road", maxStem: 4, digitStem: true},
		{word: "省道", kind: "road", maxStem: 4, digitStem: true},
		{word: "县道", kind: "road", maxStem: 4, digitStem: true},
		{word: "高速", kind: "road", maxStem: 4, digitStem: true, onlyBefore: "公上段出入收服隧往方南北东西路"},
		{word: "高架", kind: "road", maxStem: 4, notBefore: "桥下上"},
		{word: "隧道", kind: "road", maxStem: 4},
		{word: "大桥", kind: "road", maxStem: 4},
		{word: "小区", kind: "place", maxStem: 5},
		{word: "花园", kind: "place", maxStem: 5},
		{word: "家园", kind: "place", maxStem: 5},
		{word: "公寓", kind: "place", maxStem: 5},
		{word: "苑", kind: "place", maxStem: 4},
		{word: "新村", kind: "place", maxStem: 4},
		{word: "村", kind: "place", maxStem: 4, notBefore: "民里子委干官长庄落镇级道头口务支医组小内外", blockLast: "农乡渔山邻全本该同外此各进回出"},
		{word: "社区", kind: "place", maxStem: 5, notBefore: "服医卫工居民管"},
		{word: "大厦", kind: "place", maxStem: 5},
		{word: "广场", kind: "place", maxStem: 5, notBefore: "舞上"},
		{word: "商场", kind: "place", maxStem: 5},
		{word: "商城", kind: "place", maxStem: 5},
		{word: "超市", kind: "place", maxStem: 5},
		{word: "医院", kind: "place", maxStem: 6},
		{word: "卫生院", kind: "place", maxStem: 5},
		{word: "学校", kind: "place", maxStem: 5},
		{word: "中学", kind: "place", maxStem: 5, notBefore: "生"},
		{word: "小学", kind: "place", maxStem: 5, notBefore: "生"},
		{word: "大学", kind: "place", maxStem: 5, notBefore: "生"},
		{word: "幼儿园", kind: "place", maxStem: 5},
		{word: "火车站", kind: "place", maxStem: 4},
		{word: "汽车站", kind: "place", maxStem: 4},
		{word: "地铁站", kind: "place", maxStem: 4},
		{word: "高铁站", kind: "place", maxStem: 4},
		{word: "加油站", kind: "place", maxStem: 4},
		{word: "车站", kind: "place", maxStem: 4},
		{word: "机场", kind: "place", maxStem: 4},
		{word: "码头", kind: "place", maxStem: 4},
		{word: "公园", kind: "place", maxStem: 5},
		{word: "景区", kind: "place", maxStem: 5},
		{word: "酒店", kind: "place", maxStem: 5},
		{word: "宾馆", kind: "place", maxStem: 5},
		{word: "工地", kind: "place", maxStem: 5},
		{word: "化工厂", kind: "place", maxStem: 5},
		{word: "水库", kind: "place", maxStem: 4},
		{word: "煤矿", kind: "place", maxStem: 4},
		{word: "农贸市场", kind: "place", maxStem: 4},
		{word: "批发市场", kind: "place", maxStem: 4},
		{word: "菜市场", kind: "place", maxStem: 4},
	}
	var groups [][]locSuffix
	index := map[rune]int{}
	for _, s := range list {
		r, _ := utf8.DecodeRuneInString(s.word)
		i, ok := index[r]
		if !ok {
			i = len(groups)
			index[r] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], s)
	}
	for _, ss := range groups {
		sort.SliceStable(ss, func(i, j int) bool { return len(ss[i].word) > len(ss[j].word) })
	}
	return groups
}()

// locRoadBlockLast are last stem characters that make 路 or 街 part of a
// generic word: 道路, 马路, 铁路, 思路, 之路, 逛街…
const locRoadBlockLast = "道马铁线网思出套电门销半水陆心土老进通回生绝死弯修找开问赶拦挡堵封引领夜原岔歪短逛扫当满之纹上让带迷退一字"

// locStops end a stem: function words, pronouns, quantifiers, verbs of
// motion and division endings. Characters common in road names (和平, 前进,
// 上海) are deliberately not here.
var locStops = func() map[rune]bool {
	m := map[rune]bool{}
	for _, r := range "的地得了着过在于与及或是到从往向被把对将由经沿至近去住走入离这那该此各每某本全个所座条么几亿万栋幢间处些其他她它我你们咱也都就还又很最已曾并而且但却为因以即如若让给叫跟比等位省市县区镇乡号在条段有无没不要想说看" {
		m[r] = true
	}
	return m
}()

// locBlockedStems are generic words that take a road or place ending
// without naming one (道路, 高速公路, 农村).
var locBlockedStems = map[string]bool{
	"水泥": true, "柏油": true, "高速": true, "乡村": true, "城市": true, "山间": true, "泥泞": true,
	"盘山": true, "乡间": true, "田间": true, "林间": true, "砂石": true, "新农": true, "城中": true,
	"地球": true, "考上": true, "读完": true, "公立": true, "私立": true, "民办": true, "综合": true,
	"重点": true, "附近": true, "这个": true, "一个": true, "主要": true, "沿途": true, "家门": true,
	"考虑": true, "目前": true, "大型": true, "购物": true, "星级": true, "事发": true, "建筑": true,
	"十字": true, "集成": true, "丝绸之": true, "专业": true, "国际": true, "知名": true, "高等": true,
}

// locDirections are the compass words of a relative position, longest first.
var locDirections = []string{"东南", "东北", "西南", "西北", "东", "南", "西", "北"}

// locFindPlaces finds roads and places, never overlapping the divisions
// already found (admins must be sorted by start).
func locFindPlaces(text string, admins []locSpan) []locSpan {
	var out []locSpan
	ai := 0
	floor := 0 // a stem may not reach before this byte offset
	for i := 0; i < len(text); {
		for ai < len(admins) && admins[ai].end <= i {
			if admins[ai].end > floor {
				floor = admins[ai].end
			}
			ai++
		}
		if ai < len(admins) && admins[ai].start <= i {
			i = admins[ai].end
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		matched := false
		for _, suf := range locSuffixesOf(r) {
			if !strings.HasPrefix(text[i:], suf.word) {
				continue
			}
			end := i + len(suf.word)
			next, _ := utf8.DecodeRuneInString(text[end:])
			if next != utf8.RuneError && strings.ContainsRune(suf.notBefore, next) {
				continue
			}
			if suf.onlyBefore != "" && unicode.Is(unicode.Han, next) && !strings.ContainsRune(suf.onlyBefore, next) {
				continue
			}
			st := locStem(text, floor, i, suf)
			if st == i && ai > 0 && admins[ai-1].end == i {
				// 福州火车站, 温岭市东方医院: the division names the place.
				st = admins[ai-1].start
			}
			if st < 0 || st == i {
				continue
			}
			// 阳光花园小区, 万达广场酒店: the last ending names the place.
			for more := true; more; {
				more = false
				nr, _ := utf8.DecodeRuneInString(text[end:])
				for _, s2 := range locSuffixesOf(nr) {
					if s2.kind != "place" || !strings.HasPrefix(text[end:], s2.word) {
						continue
					}
					if after, _ := utf8.DecodeRuneInString(text[end+len(s2.word):]); !strings.ContainsRune(s2.notBefore, after) {
						end += len(s2.word)
						suf.kind, more = "place", true
						break
					}
				}
			}
			end = locTail(text, end, suf.kind == "road")
			out = append(out, locSpan{start: st, end: end, kind: suf.kind})
			floor, i, matched = end, end, true
			break
		}
		if matched {
			continue
		}
		if locRelativeStart(r) {
			if end := locRelative(text, i, true); end > i {
				out = append(out, locSpan{start: i, end: end, kind: "place"})
				floor, i = end, end
				continue
			}
		}
		i += size
	}
	return out
}

// locRelativeStart reports whether a relative position can begin with r.
func locRelativeStart(r rune) bool {
	switch r {
	case '十', '丁', '交', '路', '门', '附', '旁', '对', '东', '西', '南', '北':
		return true
	}
	return false
}

// locStem returns where the name before the ending at i begins, i when
// there is none before floor, or -1 when what is there is no name.
func locStem(text string, floor, i int, suf locSuffix) int {
	st, n := i, 0
	digits := false
	for st > floor && n < suf.maxStem {
		r, size := utf8.DecodeLastRuneInString(text[floor:st])
		if suf.digitStem && (r >= '0' && r <= '9' || r >= 'a' && r <= 'z') && (n == 0 || digits) {
			digits = true
			st -= size
			continue
		}
		if digits || !unicode.Is(unicode.Han, r) || locStops[r] {
			break
		}
		// 和 joins two names (火车站和汽车站) except in 和平, a common road name.
		if r == '和' && !strings.HasPrefix(text[st-size:], "和平") {
			break
		}
		st -= size
		n++
	}
	if digits || n == 0 {
		return st
	}
	if n < 2 {
		return -1
	}
	if n == suf.maxStem && st > floor {
		// The stem was cut by the length limit, not by a boundary: the name
		// begins somewhere before and what we have is a fragment
		// (对阵康涅狄格大学, 国科罗拉多大学).
		if r, _ := utf8.DecodeLastRuneInString(text[floor:st]); unicode.Is(unicode.Han, r) && !locStops[r] {
			return -1
		}
	}
	stem := text[st:i]
	if locBlockedStems[stem] {
		return -1
	}
	if last, size := utf8.DecodeLastRuneInString(stem); strings.ContainsRune(suf.blockLast, last) {
		// 八一路 and 五一路 are roads; 感谢一路 is not.
		if !(last == '一' && n == 2 && strings.ContainsRune("五八", []rune(stem)[0])) {
			return -1
		}
		_ = size
	}
	return st
}

// locTail extends a mention over a following house number, section and
// relative position: 128号, 路段, 路口北100米, 东侧25米.
func locTail(text string, end int, road bool) int {
	if road && (strings.HasPrefix(text[end:], "段") || strings.HasPrefix(text[end:], "口")) {
		end += len("口") // 路段, 路口: both one character
	}
	if j := locNumber(text, end); j > end && strings.HasPrefix(text[j:], "号") {
		end = j + len("号")
		for _, w := range []string{"院", "楼"} {
			if strings.HasPrefix(text[end:], w) {
				end += len(w)
			}
		}
	}
	if e := locRelative(text, end, false); e > end {
		end = e
	}
	return end
}

// locRelative matches a relative position at i: an optional 路口,
// 交叉口, 门口, 附近…, then a compass direction with an optional side and
// distance. Standalone (needDistance) it must carry a distance, else it
// would match every 东 in the text.
func locRelative(text string, i int, needDistance bool) int {
	j := i
	anchored := false
	for _, w := range []string{"十字路口", "丁字路口", "交叉口", "路口", "门口", "附近", "旁边", "对面"} {
		if strings.HasPrefix(text[j:], w) {
			j += len(w)
			anchored = true
			break
		}
	}
	anchorEnd := j
	dir := false
	for _, d := range locDirections {
		if strings.HasPrefix(text[j:], d) {
			j += len(d)
			dir = true
			break
		}
	}
	sided := false
	if dir {
		for _, w := range []string{"方向", "侧", "面", "边", "方", "门"} {
			if strings.HasPrefix(text[j:], w) {
				j += len(w)
				sided = true
				break
			}
		}
	}
	k := j
	if strings.HasPrefix(text[k:], "约") {
		k += len("约")
	}
	hasDist := false
	if n := locNumber(text, k); n > k {
		for _, u := range []string{"公里", "千米", "米", "km", "m"} {
			if strings.HasPrefix(text[n:], u) {
				j, hasDist = n+len(u), true
				if strings.HasPrefix(text[j:], "处") {
					j += len("处")
				}
				break
			}
		}
	}
	if needDistance && !hasDist || !dir && !hasDist {
		if anchored && !needDistance {
			return j
		}
		return i
	}
	if !dir && !anchored {
		return i
	}
	if dir && !sided && !hasDist {
		// A bare 南 after a name (人民医院南宁市) is the next word.
		if needDistance {
			return i
		}
		return anchorEnd
	}
	return j
}

// locNumber returns the end of a number (Arabic or Chinese numerals) at i.
func locNumber(text string, i int) int {
	j := i
	for j < len(text) {
		r, size := utf8.DecodeRuneInString(text[j:])
		if r >= '0' && r <= '9' || r == '.' && j > i || strings.ContainsRune("零一二两三四五六七八九十百千", r) {
			j += size
			continue
		}
		break
	}
	return j
}
