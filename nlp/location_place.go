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
		{word: "路", kind: "road", maxStem: 4, notBefore: "线费灯况面人过途径由演子标程障基轨桥由数政", blockLast: locRoadBlockLast},
		{word: "街", kind: "road", maxStem: 4, notBefore: "头坊舞道区面上边", blockLast: locRoadBlockLast},
		{word: "巷", kind: "road", maxStem: 4, notBefore: "战子尾口道"},
		{word: "胡同", kind: "road", maxStem: 4},
		{word: "弄", kind: "road", maxStem: 4, notBefore: "到得的了坏清明虚脏丢死伤"},
		{word: "铁路", kind: "road", maxStem: 4},
		{word: "国道", kind: "road", maxStem: 4, digitStem: true},
		{word: "省道", kind: "road", maxStem: 4, digitStem: true},
		{word: "县道", kind: "road", maxStem: 4, digitStem: true},
		{word: "高速", kind: "road", maxStem: 4, digitStem: true, onlyBefore: "公上段出入收服隧往方南北东西路"},
		{word: "高架", kind: "road", maxStem: 4, notBefore: "桥下上"},
		{word: "隧道", kind: "road", maxStem: 4},
		{word: "大桥", kind: "road", maxStem: 4},
		{word: "步行街", kind: "place", maxStem: 4},
		{word: "老街", kind: "place", maxStem: 4},
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
		{word: "公园", kind: "place", maxStem: 7},
		{word: "长城", kind: "place", maxStem: 4},
		{word: "古城", kind: "place", maxStem: 4},
		{word: "收费站", kind: "place", maxStem: 4},
		{word: "服务区", kind: "place", maxStem: 4},
		{word: "口岸", kind: "place", maxStem: 4},
		{word: "站", kind: "place", maxStem: 4, notBefore: "长起住立岗台点内稳着在到", blockLast: "网车驿兵哨电油气水粮岗补服小大总分一本该这那此圾测务化视播检收转供储加充换配泵卫救防"},
		// Rivers, lakes, mountains, islands, bays and ports named as the
		// scene (秦淮河, 东钱湖, 天目山, 海甸岛, 沈家门渔港): a stem of at
		// least two characters keeps out 江湖, 下山, 香港.
		{word: "江", kind: "place", maxStem: 3, notBefore: "湖山边面水岸苏省市区县", blockLast: "过渡沿跨"},
		{word: "河", kind: "place", maxStem: 3, notBefore: "道水流床边面岸南北", blockLast: "银冰过渡沿跨"},
		{word: "湖", kind: "place", maxStem: 3, notBefore: "泊南北人区边水面", blockLast: "江"},
		{word: "山", kind: "place", maxStem: 3, notBefore: "区上下头顶坡腰脚洞路火寨庄村东西南北水里中", blockLast: "江火冰矿下上爬登进出深高大小青荒后靠群雪"},
		{word: "岛", kind: "place", maxStem: 3, notBefore: "屿内上民", blockLast: "半海荒孤"},
		{word: "半岛", kind: "place", maxStem: 3, notBefore: "上内民"},
		{word: "湾", kind: "place", maxStem: 3, notBefore: "区", blockLast: "海港台"},
		{word: "港", kind: "place", maxStem: 3, notBefore: "口湾币股元澳台人区务剧片", blockLast: "香"},
		{word: "塔", kind: "place", maxStem: 3, notBefore: "吊楼式下顶", blockLast: "灯铁水电信高宝"},
		// Bridges named right after their division (兰州中山桥, 万州区长江二桥,
		// see locFindPlaces); 大桥 is a road.
		{word: "桥", kind: "place", maxStem: 4, notBefore: "头边面梁墩洞底体段东南西北路街村", blockLast: "过天立拱吊浮断危座木石铁小廊栈便"},
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

// locLandmarkEndings are the one-character endings of natural features and
// landmarks, whose names must begin at a boundary.
const locLandmarkEndings = "江河湖山岛湾港塔桥"

// locPublicName reports whether a stem names a public institution of a city
// or county (第一人民, 人民, 中心, 中医), which may be written with a bare 市
// or 县 before it.
func locPublicName(stem string) bool {
	for _, p := range []string{"第", "人民", "中心", "中医", "妇幼", "儿童"} {
		if strings.HasPrefix(stem, p) {
			return true
		}
	}
	return false
}

// locStopInName reports whether the stop r, with before the text before
// it, is part of a name: 万 in 万达 (not after a number, as in 3万),
// 地 in 湿地, 草地, 基地.
func locStopInName(before, after string, r rune) bool {
	p, _ := utf8.DecodeLastRuneInString(before)
	switch r {
	case '万':
		// 万达, 万科, 万家: a brand or estate name, not 3万人.
		n, _ := utf8.DecodeRuneInString(after)
		return strings.ContainsRune("达科象豪家福通", n) && !(p >= '0' && p <= '9' || strings.ContainsRune("一二两三四五六七八九十百千", p))
	case '地':
		return strings.ContainsRune("湿草林绿基营工田园墓高盆谷", p)
	}
	return false
}

// locBlockedStems are generic words that take a road or place ending
// without naming one (道路, 高速公路, 农村).
var locBlockedStems = map[string]bool{
	"水泥": true, "柏油": true, "高速": true, "乡村": true, "城市": true, "山间": true, "泥泞": true,
	"盘山": true, "乡间": true, "田间": true, "林间": true, "砂石": true, "新农": true, "城中": true,
	"地球": true, "考上": true, "读完": true, "公立": true, "私立": true, "民办": true, "综合": true,
	"重点": true, "附近": true, "这个": true, "一个": true, "主要": true, "沿途": true, "家门": true,
	"考虑": true, "目前": true, "大型": true, "购物": true, "星级": true, "事发": true, "建筑": true,
	"十字": true, "集成": true, "丝绸之": true, "专业": true, "国际": true, "知名": true, "高等": true,
	"普通": true, "城际": true, "国家": true, "地方": true, "重载": true, "部分": true, "多个": true,
	"个别": true, "一些": true, "沿线": true,
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
		// 国道324线, 省道S203线, 地铁2号线: a road named by its number.
		if end := locNumberedRoad(text, i, r); end > i {
			end = locTail(text, end, true)
			out = append(out, locSpan{start: i, end: end, kind: "road"})
			floor, i = end, end
			continue
		}
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
			// 温泉公园路, 花园路, 中关村大街: a place ending followed by a
			// road ending is part of the road's name.
			if suf.kind == "place" && locRoadEndingAt(text, end) {
				continue
			}
			if suf.onlyBefore != "" && unicode.Is(unicode.Han, next) && !strings.ContainsRune(suf.onlyBefore, next) {
				continue
			}
			st := locStem(text, floor, i, suf)
			if st < 0 && ai > 0 && strings.HasSuffix(text[:i], "立") && admins[ai-1].end == i-len("立") &&
				strings.ContainsAny(text[admins[ai-1].end-len("省"):admins[ai-1].end], "省市县") {
				// 安徽省立医院, 福州市立医院: the division's own.
				st = admins[ai-1].start
			}
			if st == i && ai > 0 && admins[ai-1].end == i && !strings.Contains("江河湖山岛塔", suf.word) {
				// 福州火车站, 温岭市东方医院, 天津港: the division names the
				// place (but 南宁市江 is no river).
				st = admins[ai-1].start
			}
			if st < 0 || st == i {
				continue
			}
			if suf.word == "桥" && !(ai > 0 && admins[ai-1].end == st) {
				// A bridge only named right after its division (兰州中山桥):
				// alone X桥 is as often a person (王东桥) or a verb (搭桥).
				continue
			}
			if suf.kind == "road" && strings.HasPrefix(text[end:], "公路") && strings.HasSuffix(suf.word, "高速") {
				end += len("公路")
			}
			// 阳光花园小区, 万达广场酒店, 中山路步行街: the last ending names
			// the place.
			for more := true; more; {
				more = false
				nr, _ := utf8.DecodeRuneInString(text[end:])
				for _, s2 := range locSuffixesOf(nr) {
					if s2.kind != "place" || !strings.HasPrefix(text[end:], s2.word) || locRoadEndingAt(text, end+len(s2.word)) {
						continue
					}
					if utf8.RuneCountInString(s2.word) == 1 && s2.word != "站" {
						// 江, 湖, 山 right after another ending start a
						// new word (小区山…), not a longer name.
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
	case '十', '丁', '交', '路', '门', '附', '旁', '对', '东', '西', '南', '北', '往', '向':
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
		if suf.digitStem && (r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') && (n == 0 || digits) {
			digits = true
			st -= size
			continue
		}
		if digits || !unicode.Is(unicode.Han, r) || locStops[r] && !locStopInName(text[floor:st-size], text[st:], r) {
			break
		}
		// 和 joins two names (火车站和汽车站) except in 和平, 共和, 太和…,
		// common in road names.
		if r == '和' && !strings.HasPrefix(text[st-size:], "和平") {
			if p, _ := utf8.DecodeLastRuneInString(text[floor : st-size]); !strings.ContainsRune("共太中人永祥协保", p) {
				break
			}
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
	if suf.kind == "road" {
		// G15沈海高速, S20穗深城际: the road's number written before its name.
		st = locRoadCodeBefore(text, floor, st)
	} else if r, size := utf8.DecodeLastRuneInString(text[floor:st]); (r == '市' || r == '县') && locPublicName(text[st:i]) {
		// 市第一人民医院, 县人民医院: the city's or county's own, when
		// nothing names the city before.
		if p, _ := utf8.DecodeLastRuneInString(text[floor : st-size]); st-size == floor || !unicode.Is(unicode.Han, p) || strings.ContainsRune("送往至入到在", p) {
			return st - size
		}
	} else if len(suf.word) == len("江") && strings.Contains(locLandmarkEndings, suf.word) && st > floor {
		// 秦淮河, 东钱湖 begin at a boundary; 一次北江, 年任云山 are
		// pieces of other words.
		if p, _ := utf8.DecodeLastRuneInString(text[floor:st]); unicode.Is(unicode.Han, p) && !locStops[p] {
			return -1
		}
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
		// 八一路 and 五一路 are roads; 感谢一路 is not. 太原街 and 中原路
		// are named after places.
		if !(last == '一' && n == 2 && strings.ContainsRune("五八", []rune(stem)[0])) && !strings.HasSuffix(stem, "太原") && !strings.HasSuffix(stem, "中原") {
			return -1
		}
		_ = size
	}
	return st
}

// locTail extends a mention over what pins the spot down on it: a
// kilometre post and a section of a road (K1234+500, 274KM+600M, 18公里,
// 湖南段), a house or building number, unit and exit (128号, 18号院3号楼,
// 5栋2单元, B口) and a relative position (路口北100米, 东侧25米).
func locTail(text string, end int, road bool) int {
	if road {
		if e := locKmPost(text, end); e > end {
			end = e
		} else if e := locDirectedKmPost(text, end); e > end {
			end = e // 京港澳高速北京方向1200公里
		} else if strings.HasPrefix(text[end:], "段") || strings.HasPrefix(text[end:], "口") {
			end += len("口") // 路段, 路口: both one character
		} else if e := locSection(text, end); e > end {
			end = e
		}
	}
	for {
		if j := locNumber(text, end); j > end {
			unit := ""
			for _, u := range []string{"号楼", "号院", "号", "栋", "幢", "单元", "座", "层", "室"} {
				if strings.HasPrefix(text[j:], u) {
					unit = u
					break
				}
			}
			if (text[end:j] == "一" || text[end:j] == "两") && unit != "号" && unit != "单元" {
				unit = "" // 金砂路一栋居民楼: a building on the road
			}
			if unit != "" {
				end = j + len(unit)
				if unit == "号" && strings.HasPrefix(text[end:], "楼") {
					end += len("楼")
				}
				continue
			}
		}
		if e := locExit(text, end); e > end {
			end = e
			continue
		}
		break
	}
	if e := locRelative(text, end, false); e > end {
		end = e
	}
	return end
}

// locDirectedKmPost matches a carriageway's direction (北京方向, 往厦门方向,
// 上行方向) and the kilometre post after it at i, or returns i.
func locDirectedKmPost(text string, i int) int {
	j, n := i, 0
	if strings.HasPrefix(text[j:], "往") {
		j += len("往")
	}
	for j < len(text) && n < 4 {
		if strings.HasPrefix(text[j:], "方向") {
			if n == 0 {
				return i
			}
			d := j + len("方向")
			if e := locKmPost(text, d); e > d {
				return e
			}
			return i
		}
		r, size := utf8.DecodeRuneInString(text[j:])
		if !unicode.Is(unicode.Han, r) || locStops[r] {
			return i
		}
		j += size
		n++
	}
	return i
}

// locExit matches an exit or gate named by a letter (A口, B2出口, c出入口).
func locExit(text string, i int) int {
	if i >= len(text) || !(text[i] >= 'A' && text[i] <= 'Z' || text[i] >= 'a' && text[i] <= 'z') {
		return i
	}
	j := i + 1
	for j < len(text) && text[j] >= '0' && text[j] <= '9' {
		j++
	}
	for _, w := range []string{"出入口", "出口", "入口", "口"} {
		if strings.HasPrefix(text[j:], w) {
			return j + len(w)
		}
	}
	return i
}

// locKmPost matches a kilometre post after a road: K1234+500, k15,
// 274KM+600M, 18公里, 37km, each optionally after a space.
func locKmPost(text string, i int) int {
	j := i
	if j < len(text) && text[j] == ' ' {
		j++
	}
	if j < len(text) && (text[j] == 'K' || text[j] == 'k') {
		if n := locDigits(text, j+1); n > j+1 {
			j = n
			if j+1 < len(text) && text[j] == '+' {
				if n := locDigits(text, j+1); n > j+1 {
					j = n
				}
			}
			return j
		}
		return i
	}
	n := locDigits(text, j)
	if n == j {
		return i
	}
	if n+1 < len(text) && text[n] == '.' {
		if m := locDigits(text, n+1); m > n+1 {
			n = m
		}
	}
	unit := ""
	for _, u := range []string{"公里", "千米", "KM", "km", "Km"} {
		if strings.HasPrefix(text[n:], u) {
			unit = u
			break
		}
	}
	if unit == "" {
		return i
	}
	j = n + len(unit)
	if j+1 < len(text) && text[j] == '+' {
		if m := locDigits(text, j+1); m > j+1 {
			for _, u := range []string{"米", "M", "m"} {
				if strings.HasPrefix(text[m:], u) {
					return m + len(u)
				}
			}
		}
	}
	return j
}

// locSection matches a named section after a road: 湖南段, 城区段.
func locSection(text string, i int) int {
	j, n := i, 0
	for j < len(text) && n < 4 {
		r, size := utf8.DecodeRuneInString(text[j:])
		if r == '段' && n >= 2 {
			// 小溪岭路段 names a section; 部分路段, 多个路段 do not.
			if sec := text[i:j]; strings.HasPrefix(sec, "部分") || strings.HasPrefix(sec, "多个") || strings.HasPrefix(sec, "一些") || strings.HasPrefix(sec, "个别") || strings.HasPrefix(sec, "有关") {
				return i
			}
			return j + size
		}
		if !unicode.Is(unicode.Han, r) || locStops[r] {
			return i
		}
		j += size
		n++
	}
	return i
}

// locDigits returns the end of the ASCII digits at i.
func locDigits(text string, i int) int {
	for i < len(text) && text[i] >= '0' && text[i] <= '9' {
		i++
	}
	return i
}

// locNumberedRoad matches a road named by its number at i: 国道324线,
// 省道S203线, 县道X012, 地铁2号线. It returns i when there is none.
func locNumberedRoad(text string, i int, r rune) int {
	switch r {
	case '国', '省', '县', '乡', '地':
	default:
		return i
	}
	for _, p := range []string{"国道", "省道", "县道", "乡道"} {
		if !strings.HasPrefix(text[i:], p) {
			continue
		}
		j := i + len(p)
		if j < len(text) && (text[j] >= 'A' && text[j] <= 'Z' || text[j] >= 'a' && text[j] <= 'z') {
			j++
		}
		n := locDigits(text, j)
		if n == j {
			return i
		}
		if strings.HasPrefix(text[n:], "线") {
			n += len("线")
		}
		return n
	}
	if strings.HasPrefix(text[i:], "地铁") {
		j := i + len("地铁")
		if n := locNumber(text, j); n > j && strings.HasPrefix(text[n:], "号线") {
			return n + len("号线")
		}
	}
	return i
}

// locRoadCodeBefore moves a road's start st back over a route number
// written against its name (G15, S20), never before floor.
func locRoadCodeBefore(text string, floor, st int) int {
	j := st
	for j > floor && text[j-1] >= '0' && text[j-1] <= '9' {
		j--
	}
	if j == st || j == floor || !strings.ContainsRune("GSXYgsxy", rune(text[j-1])) {
		return st
	}
	j--
	if j > floor && (text[j-1] >= 'A' && text[j-1] <= 'Z' || text[j-1] >= 'a' && text[j-1] <= 'z') {
		return st // part of a longer word
	}
	return j
}

// locRoadEndingAt reports whether a road ending (路, 街, 大道, 巷…)
// begins at byte i.
func locRoadEndingAt(text string, i int) bool {
	r, _ := utf8.DecodeRuneInString(text[i:])
	for _, suf := range locSuffixesOf(r) {
		if suf.kind == "road" && strings.HasPrefix(text[i:], suf.word) {
			next, _ := utf8.DecodeRuneInString(text[i+len(suf.word):])
			if suf.onlyBefore != "" && unicode.Is(unicode.Han, next) && !strings.ContainsRune(suf.onlyBefore, next) {
				return false
			}
			return !strings.ContainsRune(suf.notBefore, next)
		}
	}
	return false
}

// locRelative matches a relative position at i: an optional 路口,
// 交叉口, 门口, 附近…, then a compass direction with an optional side and
// distance. Standalone (needDistance) it must carry a distance, else it
// would match every 东 in the text.
func locRelative(text string, i int, needDistance bool) int {
	j := i
	anchored := false
	for _, w := range []string{"十字路口", "丁字路口", "交叉口", "交汇处", "交会处", "交界处", "交口", "路口", "门口", "附近", "旁边", "对面"} {
		if strings.HasPrefix(text[j:], w) {
			j += len(w)
			anchored = true
			break
		}
	}
	anchorEnd := j
	if strings.HasPrefix(text[j:], "往") || strings.HasPrefix(text[j:], "向") {
		for _, d := range locDirections {
			if strings.HasPrefix(text[j+len("往"):], d) {
				j += len("往") // 路口往南200米
				break
			}
		}
	}
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
		for _, w := range []string{"方向", "广场", "出口", "入口", "侧", "面", "边", "方", "门", "角", "岸"} {
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
