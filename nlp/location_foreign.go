package nlp

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// locForeignNames are countries and the foreign regions, cities and
// districts that Chinese posts name most (travel, disasters abroad, fraud
// compounds). Names that are also common words or Chinese places are left
// out: 南非 (湖南非常), 德州 (a city in Shandong), 朝鲜 (朝鲜族), 汉堡,
// 马赛 (马赛克), 万象 (万象更新), 沙巴.
var locForeignNames = strings.Fields(`
	美国 英国 法国 德国 意大利 西班牙 葡萄牙 荷兰 比利时 瑞士 瑞典 挪威 芬兰 丹麦 冰岛
	波兰 希腊 奥地利 爱尔兰 捷克 匈牙利 罗马尼亚 乌克兰 俄罗斯 白俄罗斯 土耳其
	日本 韩国 蒙古国 越南 老挝 柬埔寨 泰国 缅甸 缅北 马来西亚 新加坡 印度尼西亚 印尼
	菲律宾 文莱 东帝汶 印度 巴基斯坦 孟加拉国 斯里兰卡 尼泊尔 不丹 马尔代夫 阿富汗
	伊朗 伊拉克 叙利亚 黎巴嫩 以色列 巴勒斯坦 约旦 沙特阿拉伯 沙特 阿联酋 卡塔尔
	科威特 阿曼 也门 哈萨克斯坦 吉尔吉斯斯坦 塔吉克斯坦 乌兹别克斯坦 土库曼斯坦
	埃及 利比亚 突尼斯 阿尔及利亚 摩洛哥 苏丹 埃塞俄比亚 肯尼亚 坦桑尼亚 尼日利亚
	加纳 安哥拉 赞比亚 津巴布韦 莫桑比克 马达加斯加 刚果 加拿大 墨西哥 古巴 巴西
	阿根廷 智利 秘鲁 哥伦比亚 委内瑞拉 厄瓜多尔 澳大利亚 澳洲 新西兰 斐济 巴布亚新几内亚
	东京都 东京 大阪 京都 横滨 名古屋 神户 福冈 札幌 冲绳 北海道 福岛 心斋桥 新宿 涩谷 银座
	首尔 釜山 仁川 济州岛 梨泰院 曼谷 清迈 普吉岛 芭提雅 芭堤雅 河内 胡志明市 岘港 金边
	西港 西哈努克港 仰光 曼德勒 妙瓦底 吉隆坡 槟城 马尼拉 宿务 雅加达 巴厘岛
	日惹 中爪哇 爪哇 新德里 孟买 加尔各答 卡拉奇 伊斯兰堡 加德满都 迪拜 阿布扎比 多哈
	德黑兰 巴格达 耶路撒冷 特拉维夫 加沙 伊斯坦布尔 安卡拉 莫斯科 圣彼得堡 基辅 伦敦
	曼彻斯特 利物浦 爱丁堡 苏格兰 巴黎 柏林 慕尼黑 法兰克福 罗马 米兰 威尼斯
	佛罗伦萨 马德里 巴塞罗那 阿姆斯特丹 布鲁塞尔 日内瓦 苏黎世 维也纳 纽约 曼哈顿
	洛杉矶 旧金山 硅谷 西雅图 芝加哥 华盛顿 波士顿 休斯敦 拉斯维加斯 夏威夷 加州
	加利福尼亚 佛罗里达 得克萨斯 温哥华 多伦多 蒙特利尔 悉尼 墨尔本 布里斯班 珀斯
	新南威尔士 昆士兰 奥克兰 开罗 约翰内斯堡 内罗毕 里约热内卢 圣保罗 墨西哥城
	圣母院 埃菲尔铁塔 富士山`)

// locForeignFirst maps a rune of the CJK block to its group in
// locForeignGroups plus one.
var locForeignFirst, locForeignGroups = func() ([]uint16, [][]string) {
	t := make([]uint16, 0xA000)
	var groups [][]string
	for _, n := range locForeignNames {
		r, _ := utf8.DecodeRuneInString(n)
		if t[r] == 0 {
			groups = append(groups, nil)
			t[r] = uint16(len(groups))
		}
		groups[t[r]-1] = append(groups[t[r]-1], n)
	}
	for _, g := range groups {
		sort.SliceStable(g, func(i, j int) bool { return len(g[i]) > len(g[j]) })
	}
	return t, groups
}()

// locForeignAt returns the end of the longest foreign name at byte i, or i.
func locForeignAt(text string, i int) int {
	r, _ := utf8.DecodeRuneInString(text[i:])
	if r < 0 || int(r) >= len(locForeignFirst) || locForeignFirst[r] == 0 {
		return i
	}
	for _, n := range locForeignGroups[locForeignFirst[r]-1] {
		if strings.HasPrefix(text[i:], n) {
			return i + len(n)
		}
	}
	return i
}

// locForeignRegions are compass parts written after a foreign name.
var locForeignRegions = []string{"东南部", "东北部", "西南部", "西北部", "东部", "西部", "南部", "北部", "中部"}

// locTranslit holds the characters Chinese spells foreign names with
// (卡赫拉曼马拉什, 艾米利亚-罗马涅, 奇特旺): a run of them before a division
// ending is a foreign division however long.
var locTranslit = func() map[rune]bool {
	m := map[rune]bool{}
	for _, r := range "阿埃艾安奥巴拜班邦贝本比彼宾波伯博布查达戴丹道德登迪蒂丁东杜敦多厄恩尔法范菲费芬丰佛弗伏福盖甘冈戈格根贡古瓜圭哈海汉豪赫亨洪胡华霍基吉加贾杰金喀卡凯坎康考柯科克肯库夸奎拉莱赖兰朗劳勒雷黎里利莉连林琳隆卢鲁伦罗洛马迈麦曼毛梅门蒙米敏明摩莫姆穆纳奈南楠内妮尼宁纽努诺欧帕潘庞佩彭皮珀普奇恰契乔琴丘萨塞赛桑森沙莎善舍什史斯松苏索塔泰坦汤唐特提廷通图托瓦万旺威韦维温沃乌西希锡夏谢辛休叙雅亚扬耶伊因英尤于约扎泽詹兹祖佐涅翁" {
		m[r] = true
	}
	return m
}()

// locForeignRegion returns the end of a compass part at byte i, or i.
func locForeignRegion(text string, i int) int {
	for _, w := range locForeignRegions {
		if strings.HasPrefix(text[i:], w) {
			return i + len(w)
		}
	}
	return i
}

// locForeignDivision returns the end of a foreign division written after a
// foreign name: a bare ending (日惹市, 新宿区, 新南威尔士州), two or three
// Han characters that are not function words and an ending (中爪哇省,
// 能登地区), or a longer run of transliteration characters and an ending
// (卡赫拉曼马拉什省, 艾米利亚罗马涅大区).
func locForeignDivision(text string, i int) int {
	if e := locTranslitDivision(text, i); e > i {
		return e
	}
	j, n := i, 0
	for j < len(text) && n <= 3 {
		r, size := utf8.DecodeRuneInString(text[j:])
		if !unicode.Is(unicode.Han, r) {
			return i
		}
		if n >= 2 && (strings.HasPrefix(text[j:], "地区") || strings.HasPrefix(text[j:], "大区")) {
			// 能登地区 names one; 部分地区, 周边地区 name none.
			if locVagueAreas[text[i:j]] {
				return i
			}
			return j + len("地区")
		}
		if (n == 0 || n >= 2) && strings.ContainsRune("省州市区县郡", r) {
			// 市场, 市民, 区委: the ending begins another word.
			if next, _ := utf8.DecodeRuneInString(text[j+size:]); strings.ContainsRune("场民长政委域内外间府级", next) {
				return i
			}
			return j + size
		}
		if locStops[r] || strings.ContainsRune("一发生起火有遭园社城场营厂景灾疫", r) {
			return i
		}
		j += size
		n++
	}
	return i
}

// locVagueAreas are words that make 地区 a vague area, not a division.
var locVagueAreas = map[string]bool{
	"部分": true, "其他": true, "其它": true, "有关": true, "相关": true, "周边": true, "附近": true,
	"偏远": true, "多个": true, "一些": true, "受灾": true, "沿海": true, "山区": true, "内陆": true,
	"边境": true, "全国": true, "当地": true, "这些": true, "该国": true, "多数": true, "大部": true,
	"大部分": true, "许多": true, "很多": true, "不少": true, "少数": true, "个别": true, "广大": true,
	"所有": true, "其余": true, "大多数": true, "绝大部分": true, "部分受灾": true,
}

// locTranslitDivision matches four to eight transliteration characters
// and a division ending at byte i, or returns i.
func locTranslitDivision(text string, i int) int {
	j, n := i, 0
	for j < len(text) && n < 8 {
		r, size := utf8.DecodeRuneInString(text[j:])
		if !locTranslit[r] {
			break
		}
		j += size
		n++
	}
	if n < 4 {
		return i
	}
	for _, w := range []string{"地区", "大区", "省", "州", "市", "县", "郡", "区"} {
		if strings.HasPrefix(text[j:], w) {
			return j + len(w)
		}
	}
	return i
}

// locFindForeign finds chains of foreign names (印度尼西亚中爪哇省日惹市,
// 美国纽约曼哈顿, 土耳其南部) outside the divisions already found.
func locFindForeign(text string, admins []locSpan) []locSpan {
	var out []locSpan
	ai := 0
	for i := 0; i < len(text); {
		for ai < len(admins) && admins[ai].end <= i {
			ai++
		}
		if ai < len(admins) && admins[ai].start <= i {
			i = admins[ai].end
			continue
		}
		end := locForeignAt(text, i)
		if end == i {
			_, size := utf8.DecodeRuneInString(text[i:])
			i += size
			continue
		}
		// A two-character name inside a Han word is not one (加州 in
		// 增加州): it must follow a boundary, a function word, a verb of
		// travel or another place.
		if utf8.RuneCountInString(text[i:end]) == 2 && i > 0 && !(len(out) > 0 && out[len(out)-1].end == i) && !(ai > 0 && admins[ai-1].end == i) {
			if p, _ := utf8.DecodeLastRuneInString(text[:i]); unicode.Is(unicode.Han, p) && !locStops[p] && !strings.ContainsRune("赴自飞来达游驻回返抵离和与及同跟或", p) {
				_, size := utf8.DecodeRuneInString(text[i:])
				i += size
				continue
			}
		}
		for regions := 0; ; {
			if e := locForeignAt(text, end); e > end {
				end = e
				continue
			}
			if e := locForeignDivision(text, end); e > end {
				end = e
				continue
			}
			// A compass part, and the chain may go on after it
			// (土耳其东南部卡赫拉曼马拉什省, 尼泊尔中部奇特旺县).
			if e := locForeignRegion(text, end); e > end && regions == 0 {
				end, regions = e, 1
				continue
			}
			break
		}
		if ai < len(admins) && admins[ai].start < end {
			end = admins[ai].start
		}
		out = append(out, locSpan{start: i, end: end, kind: "foreign"})
		i = end
	}
	return out
}
