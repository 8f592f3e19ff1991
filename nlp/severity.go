package nlp

import (
	"cmp"
	"slices"
	"sort"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/coregx/ahocorasick"
)

// SeverityCue is a phrase that sets how serious a post is.
type SeverityCue struct {
	// Kind names what the phrase says: casualties, trapped, explosion,
	// life_threat, dam_failure, attack, self_harm_means, self_harm_time,
	// self_harm_act, injuries, spreading, damage, structural_failure,
	// poisoning, outbreak, spill, money_loss, weapon_sale, drug_sale, drug_trade,
	// abuse, threat, self_harm_plan, self_harm_injury, hazard, ideation,
	// nuisance, and the modifiers many_people, children, elderly and
	// resolved (CueKinds lists them); "negated" marks a cue the post
	// negates (未造成人员伤亡: the negation through the cue), which supports
	// no level and is no feature; "learned" marks the phrases a model's learned
	// levels (model_levels.go) read at Level, listed when they raised it.
	Kind string `json:"kind"`
	// Level is the rubric level the cue supports (critical, high, medium,
	// low), or "" for a modifier.
	Level string `json:"level"`
	// Field is left empty by FindSeverityCues; the caller names the field.
	Field string `json:"field"`
	// Text is the cue as written: the original text's runes [Start, End).
	Text string `json:"text"`
	// Start and End are rune offsets into the original field.
	Start int `json:"start"`
	End   int `json:"end"`
}

// CueKinds lists every SeverityCue kind an Assessment can carry, for the
// places that name them (the lead page's labels; TestCueKindsComplete
// keeps it in step with the phrase tables).
var CueKinds = []string{
	"casualties", "trapped", "life_threat", "explosion", "dam_failure", "attack",
	"self_harm_means", "self_harm_time", "self_harm_act", "self_harm_plan", "self_harm_injury", "ideation",
	"injuries", "spreading", "damage", "structural_failure", "poisoning", "outbreak", "spill", "money_loss",
	"weapon_sale", "drug_sale", "drug_trade", "abuse", "threat", "hazard", "nuisance",
	"many_people", "children", "elderly", "resolved", "negated", "learned",
}

// CueApplies reports whether cue c can set the level of a post of category
// cat: a cue of the poster's own life (selfHarmKinds) sets only self_harm's.
func CueApplies(cat string, c SeverityCue) bool {
	return cat == "self_harm" || !selfHarmKinds[c.Kind]
}

// Cue kinds that speak of the poster's own life; they set the level of a
// self_harm post only (买好了药 in a cold remedy post is no means).
var selfHarmKinds = map[string]bool{
	"self_harm_means": true, "self_harm_time": true, "self_harm_act": true,
	"self_harm_plan": true, "self_harm_injury": true, "ideation": true,
}

const (
	// sevNegWindow is the most runes between a negation and the cue it
	// negates, in one clause (未造成人员伤亡: 4).
	sevNegWindow = 6
	// sevPairWindow is the most runes between the two halves of a paired
	// cue (means and readiness, seller and weapon, loss and amount), in one
	// sentence.
	sevPairWindow = 24
	// sevSentenceReach bounds how far a sentence modifier (年前, 演练)
	// reaches from a cue, so text without punctuation stays linear.
	sevSentenceReach = 80
	// sevLargeAmount is the amount of money, in yuan, from which a loss is
	// large.
	sevLargeAmount = 50000
	// sevManyPeople is the head count from which a post speaks of many
	// people.
	sevManyPeople = 10
)

// sevPhrase is a list of phrases of one kind.
type sevPhrase struct {
	kind, level string
	terms       []string
}

// severityPhrases are the cues that stand alone. All are written
// normalised (simplified, lower case), which a test checks.
var severityPhrases = []sevPhrase{
	{"casualties", LevelCritical, []string{
		"死亡", "遇难", "身亡", "丧生", "罹难", "遇害", "殒命", "丧命", "不幸去世", "伤亡", "死伤", "抢救无效",
		"被砍死", "砍死", "捅死", "撞死", "烧死", "砸死", "淹死", "压死", "炸死", "摔死", "打死", "毒死", "遗体", "没气了", "断气", "没抢救过来", "没救过来",
	}},
	{"trapped", LevelCritical, []string{
		"被困", "受困", "困在", "被埋", "埋压", "掩埋了", "被掩埋", "被压着", "被压在", "被压住", "压在下面",
		"人失联", "名失联", "下落不明", "被卡在", "卡在驾驶室", "呼救", "掉进去了", "掉进井", "落水", "溺水",
		"被堵在", "逃不出", "没能逃出", "求救援", "求救", "等待救援", "被冲走", "没捞出来", "下面压着",
		"喊救命", "救命啊", "人还在里面", "人还在下面", "还有人在里面", "里面还有人", "有人在下面", "还在废墟", "废墟下",
		"人没出来", "人还没出来", "人都没出来", "还有人没出来", "人没上来", "没有上来", "被踩在", "有人被踩", "踩踏事件", "把人埋了",
		"埋住", "被埋住", "人掉下去", "有人掉下去", "掉进水里", "掉进河", "掉进江", "掉进湖", "掉下悬崖", "拉不出来", "救不出来", "冲不进去", "人出不来", "压倒一片",
		"压在底下", "压在身上", "全掉下去", "都没出来",
	}},
	{"life_threat", LevelCritical, []string{
		"昏迷", "晕倒", "也倒下了", "相继倒下", "不省人事", "叫不醒", "口吐白沫", "没有呼吸", "没了呼吸",
		"心脏骤停", "心跳骤停", "生命垂危", "危在旦夕", "生命危险", "抢救", "躺在地上不动", "突然倒地", "倒在血泊", "血泊",
		"一动不动", "倒地不起", "抽搐", "呼吸越来越弱", "呼吸微弱", "没有意识", "失去意识", "意识不清", "休克", "大出血",
		"没了意识", "没意识了", "已经没意识", "没反应了", "已经没反应", "没了反应", "倒在地上", "躺在地上没动",
		"晕过去", "昏过去", "昏了过去", "被电倒", "嘴唇发紫",
		"躺着不动", "倒在里面", "倒在井", "倒在池", "倒在岸", "喊他不应", "叫他不应", "喊不应", "没声了", "没声音了", "没动静了",
		"已经不动了", "突然就倒了", "突然倒了", "冇晒反应", "冇反应", "晕低",
	}},
	{"explosion", LevelCritical, []string{"爆炸", "声巨响", "罐爆了", "燃气爆了", "煤气爆了", "锅炉爆了", "炸开了", "被炸开", "炸塌", "炸飞", "火球", "一声闷响", "闷响一声"}},
	{"dam_failure", LevelCritical, []string{"决口", "溃口", "溃坝", "决堤", "垮坝", "溃堤"}},
	{"attack", LevelCritical, []string{
		"持刀砍人", "砍人", "捅人", "行凶", "持刀伤人", "杀人了", "持刀", "拿着刀", "提着刀", "举着刀",
		"持枪", "开枪", "枪响", "枪声", "开了一枪", "开了几枪", "拿着菜刀", "拿菜刀", "刀架在", "手持剪刀", "挟持", "劫持", "人质", "械斗", "冲入人群", "冲进人群", "投毒", "乱捅", "乱砍", "中枪", "打中了", "打中一", "被打中",
		"掏出刀", "掏出一把刀", "挥刀", "乱挥", "要杀人", "汽油瓶", "泼汽油", "浇汽油",
		"被砍了", "砍了一刀", "带着刀", "拿着弩", "拿着枪", "拿出一把枪", "拿出来一把枪",
	}},
	{"self_harm_means", LevelCritical, []string{"烧炭", "吞药", "服毒", "喝农药", "喝了农药", "吞了安眠药", "割脉", "吃了很多药", "吃了一整瓶", "刀在手边"}},
	{"self_harm_act", LevelCritical, []string{
		"栏杆外", "护栏外", "天台边", "楼顶边", "站在楼顶", "站在天台", "坐在楼顶", "坐在天台", "窗台外",
		"爬上塔吊", "跳下去", "跳楼", "跳河", "跳桥", "倒数", "在大桥上", "在桥上", "在江边", "在河边", "在楼顶", "在天台",
		"跳下来", "跳进", "悬空", "翻过护栏", "翻过栏杆", "悬崖边", "窗户外", "煤气开着", "开着煤气",
		"把绳子挂", "挂在门框", "最后一顿饭", "再见了这个世界", "告别这个世界",
	}},
	{"injuries", LevelHigh, []string{
		"受伤", "受了伤", "受了重伤", "受轻伤", "伤者", "伤员", "烧伤", "灼伤", "烫伤", "砸伤", "撞伤", "打伤",
		"刺伤", "砍伤", "割伤", "摔伤", "重伤", "骨折", "摔断", "流血", "头破血流", "满脸是血", "送医", "送往医院",
		"送到医院", "送院", "住院", "入院", "送急诊", "卷入机器", "被卷入", "致残",
		"全是血", "血流不止", "都是血", "被砸到", "砸到人", "被划伤", "被搅进", "搅进去", "卷进去", "打破了", "被打破", "耳膜穿孔", "撞飞", "触电", "叫了救护车", "救护车到了", "救护车刚到", "送进医院", "送进了医院", "送进icu", "送进了icu", "重症监护",
		"骨裂", "缝针", "头破", "砸破", "撞倒", "被推倒", "咬伤", "燎伤", "压伤", "炸伤", "擦伤", "扭伤", "浑身是血", "满身是血",
		"送去医院", "拉去医院", "送到了医院", "上了救护车", "送上救护车", "打120", "叫120", "打了120", "叫了120",
	}},
	{"spreading", LevelHigh, []string{
		"蔓延", "越烧越大", "烧到了", "烧到隔壁", "过火面积", "还在扩大", "火势凶猛", "火光冲天", "扩散",
		"疏散", "撤离", "紧急转移", "已经转移", "提前转移", "转移安置", "漫堤", "管涌", "窜到", "蔓延到", "烧过来", "火越来越大", "越烧越旺", "往外冒", "传染开", "赶紧往外走", "发生冲突",
	}},
	{"damage", LevelHigh, []string{"冲毁", "受损", "损毁", "被淹", "淹没", "泡水", "冲走", "爆燃", "纵火", "冲断", "冲垮", "淹到"}},
	{"structural_failure", LevelHigh, []string{"坍塌", "倒塌", "垮塌", "塌方", "坍方", "楼倒了", "侧翻", "翻车", "翻进", "翻入", "坠河", "整体垮", "房子垮了", "楼垮了", "墙垮了", "吊顶掉", "吊顶塌", "楼塌了", "房子塌了", "塌下来", "震塌", "压塌", "冒顶", "船翻了", "翻下来", "墙倒了", "围墙倒", "整段倒", "压扁", "被浪打翻"}},
	{"poisoning", LevelHigh, []string{"中毒", "呕吐", "上吐下泻"}},
	{"outbreak", LevelHigh, []string{"聚集性", "爆发疫情", "疫情爆发", "爆发流感", "流感爆发", "病例", "感染者", "集体发病", "多人发病", "相继发病", "陆续发病", "多人感染"}},
	{"spill", LevelHigh, []string{"泄漏", "泄露", "油污", "死鱼", "鱼死了", "死了好多鱼", "死了很多鱼"}},
	{"money_loss", LevelHigh, []string{"暴雷", "爆雷", "跑路了", "老板跑路", "卷款", "人去楼空", "血本无归", "无法提现", "提不出来", "提不了现"}},
	{"abuse", LevelHigh, []string{"家暴", "打老婆", "殴打", "虐待", "毒打", "打孩子"}},
	{"threat", LevelHigh, []string{"扬言要", "扬言报复", "报复社会", "要去学校报复"}},
	{"drug_trade", LevelHigh, []string{"制毒", "贩毒", "运毒", "毒贩", "贩卖毒品", "制造毒品"}},
	{"self_harm_plan", LevelHigh, []string{"遗书", "遗言"}},
	{"self_harm_injury", LevelHigh, []string{"割腕", "割手", "自残", "划手", "伤害自己", "烟头烫", "割伤自己", "划了自己"}},
	{"hazard", LevelMedium, []string{
		"井盖不见", "井盖丢失", "井盖缺失", "井盖没了", "井盖被偷", "没有井盖", "井盖坏了", "井盖破",
		"摇摇欲坠", "随时可能倒", "随时会倒", "随时会塌", "随时可能塌", "电线垂", "垂到", "电线裸露",
		"裸露的电线", "漏电", "危房", "裂缝", "没有护栏", "没护栏", "煤气味", "燃气味", "天然气味",
		"飞线充电", "消防通道也堵", "堵了消防通道", "消防通道被堵", "不系安全带",
		"电线刮断", "电线掉", "冒火花", "打火花", "盖板没了", "盖板缺失", "没有盖板", "踩空",
	}},
	{"ideation", LevelMedium, []string{
		"想死", "不想活", "活着没意思", "自杀", "轻生", "结束生命", "想消失", "消失了", "不想醒", "撑不下去", "不想再撑",
	}},
	{"nuisance", LevelLow, []string{
		"路灯", "噪音", "太吵", "很吵", "吵到", "扰民", "摊贩", "小贩", "摆摊", "占道", "垃圾", "乱停", "乱放",
		"声控灯", "健身器材", "地砖", "油烟", "喇叭", "叫卖", "顶棚", "漏水", "苍蝇", "臭气", "清运", "广场舞",
		"洒水车", "广告牌的灯",
	}},
	{"children", "", []string{
		"孩子", "小孩", "儿童", "小学生", "中学生", "学生", "幼儿园", "婴儿", "女童", "男童", "幼童", "未成年",
		"宝宝", "小朋友", "校车",
	}},
	{"elderly", "", []string{"老人", "老年人", "养老院", "敬老院", "老大爷", "老太太", "独居老人"}},
	{"resolved", "", []string{
		"已扑灭", "被扑灭", "已经扑灭", "灭了", "修好", "已修复", "已经修复", "已恢复", "恢复正常", "已解决",
		"脱离危险", "已被控制", "被警方控制", "已控制", "得到控制", "包扎好了", "好多了",
	}},
}

// sevPair is a cue made of two phrases in one sentence, in either order.
type sevPair struct {
	kind, level string
	a, b        []string
}

// severityPairs are the cues that need two phrases.
var severityPairs = []sevPair{
	{"self_harm_means", LevelCritical,
		[]string{"炭", "木炭", "安眠药", "药", "农药", "百草枯", "敌敌畏", "老鼠药", "绳子", "刀片"},
		[]string{"买好", "准备好", "攒了", "攒够", "吞了", "吞下", "喝了", "喝下", "吃了一整瓶", "吃光了", "封上", "封好", "封死", "已经吃了", "挂好"}},
	{"self_harm_time", LevelCritical,
		[]string{"今晚", "今天晚上", "今夜", "明天", "明早", "明晚", "周末", "十二点", "零点", "凌晨", "马上", "现在就", "等会", "一会儿", "过了今晚"},
		[]string{"就走", "走了", "跳下去", "跳楼", "自杀", "结束自己", "结束生命", "了结", "去死", "离开这个世界", "永别", "再见了"}},
	{"weapon_sale", LevelHigh, sevSellers,
		[]string{"枪", "仿真枪", "气枪", "猎枪", "钢珠", "子弹", "火药", "弩", "管制刀具", "弹簧刀", "小刀", "匕首", "砍刀", "军刺", "枪支", "手枪", "雷管", "炸药", "气狗", "土枪", "火药枪", "钢珠枪", "弓弩", "qiang", "真家伙"}},
	{"drug_sale", LevelHigh, sevSellers,
		[]string{"冰毒", "大麻", "海洛因", "k粉", "摇头丸", "麻古", "“冰”", "\"冰\"", "「冰」", "“叶子”", "\"叶子\"", "「叶子」", "药丸", "神仙水", "笑气", "毒品", "上瘾"}},
}

// sevSellers are the words of an offer for sale.
var sevSellers = []string{"出售", "售卖", "兜售", "贩卖", "卖", "代购", "包邮", "量大从优", "有货", "私聊", "私信", "低价出", "出货", "有渠道", "懂的来", "货源", "有门路", "验货", "自提"}

// sevLossWords say that money was lost; with a large amount in the same
// sentence they make a money_loss cue.
var sevLossWords = []string{
	"被骗", "骗走", "骗了", "骗光", "损失", "亏损", "亏了", "赔了", "没了", "取不出", "拿不回", "血汗钱",
	"涉案", "投进去", "打不开", "卷走", "套牢",
	"转了", "转咗", "充了", "充值", "投了", "交给了", "借给", "提不出",
}

// sevNegations cancel a cue that follows in the same clause: a denial
// (无人员伤亡), a near miss (差点) or a fear (担心会爆炸).
var sevNegations = []string{
	"无", "没有", "没", "未", "暂无", "并无", "并未", "均无", "无一", "未见", "未发现", "不会", "防止", "以防", "以免",
	"避免", "预防", "担心", "万一", "如果", "一旦", "差点", "差一点", "险些", "是不是", "有没有", "脱离",
}

// sevNegationBlocks are words that hold a negation character without
// negating (无数人受伤 is many injured).
var sevNegationBlocks = []string{
	"无法", "无数", "无论", "无辜", "无奈", "无情", "无人机", "没想到", "没多久", "没过多久", "没几", "未来", "未知", "未成年",
	"没有呼吸", "没了呼吸", "没有井盖", "没有护栏", "没护栏",
}

// sevExclusions are phrases in which a cue's characters say something
// else (爆炸场面 in a film review, 转发扩散 on Weibo).
var sevExclusions = []string{
	"爆炸场面", "爆炸性", "信息爆炸", "爆炸头", "爆炸式", "死亡率", "死亡笔记", "死亡游戏", "烧炭取暖", "转发扩散",
	"求扩散", "帮忙扩散", "请扩散", "扩散一下", "信息泄露", "隐私泄露", "泄露个人信息", "困在家里", "被困在家",
	"九死一生", "万死", "倒数第", "倒数计时", "倒数几", "压力", "抢救性", "经抢救", "人质疑",
}

// Sentence modifiers: a cue in the same sentence as one of these is read
// differently.
var (
	// sevPastWords mark an event long past: it sets no danger now.
	sevPastWords = []string{"年前", "去年", "前年", "当年", "历史上", "多年前", "曾经", "发生过", "那年"}
	// sevFictionWords mark films, games and drills.
	sevFictionWords = []string{"电影", "电视剧", "游戏里", "小说", "演练", "演习", "模拟", "剧情", "特效", "综艺"}
	// sevRescueWords mark people already brought out.
	sevRescueWords = []string{"获救", "被救出", "救出来", "成功救出", "已救出"}
)

// sevRole is what a pattern means; a pattern can have several.
type sevRole struct {
	class uint8
	kind  string
	level string
	pair  int // index in severityPairs for sevPairA/B
}

const (
	sevCueRole uint8 = iota
	sevPairA
	sevPairB
	sevLoss
	sevNeg
	sevNegBlock
	sevExcl
	sevPast
	sevFiction
	sevRescue
)

// sevMatcher is the compiled cue lists. An analyzer matches the patterns
// in its lexicons' automaton (roleSeverity); ac, their own automaton, is
// built on first use, by FindSeverityCues alone.
type sevMatcher struct {
	ac       func() *ahocorasick.Automaton
	pats     []string
	patRunes []int
	roles    [][]sevRole
}

var severityMatcher = newSevMatcher()

func newSevMatcher() *sevMatcher {
	m := &sevMatcher{}
	ids := map[string]int{}
	add := func(p string, r sevRole) {
		id, ok := ids[p]
		if !ok {
			id = len(m.pats)
			ids[p] = id
			m.pats = append(m.pats, p)
			m.patRunes = append(m.patRunes, utf8.RuneCountInString(p))
			m.roles = append(m.roles, nil)
		}
		m.roles[id] = append(m.roles[id], r)
	}
	for _, ph := range severityPhrases {
		for _, t := range ph.terms {
			add(t, sevRole{class: sevCueRole, kind: ph.kind, level: ph.level})
		}
	}
	for i, pr := range severityPairs {
		for _, t := range pr.a {
			add(t, sevRole{class: sevPairA, pair: i})
		}
		for _, t := range pr.b {
			add(t, sevRole{class: sevPairB, pair: i})
		}
	}
	for _, list := range []struct {
		class uint8
		terms []string
	}{
		{sevLoss, sevLossWords}, {sevNeg, sevNegations}, {sevNegBlock, sevNegationBlocks},
		{sevExcl, sevExclusions}, {sevPast, sevPastWords}, {sevFiction, sevFictionWords}, {sevRescue, sevRescueWords},
	} {
		for _, t := range list.terms {
			add(t, sevRole{class: list.class})
		}
	}
	m.ac = sync.OnceValue(func() *ahocorasick.Automaton {
		ac, err := ahocorasick.NewBuilder().AddStrings(m.pats).Build()
		if err != nil {
			// The patterns are constants of this file: a failure is a bug.
			panic("nlp: compile severity cues: " + err.Error())
		}
		return ac
	})
	return m
}

// sevHit is a match in the normalised text, in runes.
type sevHit struct {
	start, end int
	kind       string
	level      string
}

// sevScan holds the matches of one text while cues are found.
type sevScan struct {
	nz      *Normalized
	cues    []sevHit
	pairA   [][]sevHit // by pair
	pairB   [][]sevHit
	loss    []sevHit
	amounts []sevHit // amounts of money of at least sevLargeAmount
	negs    []sevHit // by end
	excls   []sevHit // by start
	past    []int    // starts, ascending
	fiction []int
	rescue  []int
}

// FindSeverityCues returns the phrases of text that say how serious it is,
// in text order, with rune offsets into text. The text is normalised first
// (traditional to simplified, full-width to half-width, dodge separators
// dropped), so 被 困 and 死亾 written in 繁體 match. A cue negated in its
// clause (无人员伤亡, 没有人受伤) is left out; a cue in a sentence about a
// film or a drill is left out; one in a sentence about years past supports
// at most medium, and trapped people already rescued at most high.
func FindSeverityCues(text string) []SeverityCue {
	if text == "" {
		return nil
	}
	nz := Normalize(text)
	return findSeverityCues(text, &nz)
}

// findSeverityCues is FindSeverityCues on text already normalised into nz
// (Normalize(text)), with severityMatcher's own pass over the text.
func findSeverityCues(text string, nz *Normalized) []SeverityCue {
	if nz.Text == "" {
		return nil
	}
	m := severityMatcher
	var ms []sevMatch
	hay := unsafe.Slice(unsafe.StringData(nz.Text), len(nz.Text))
	for _, mt := range m.ac().FindAllOverlapping(hay) {
		e := nz.runeAt(mt.End)
		s := e - m.patRunes[mt.PatternID]
		if s < 0 || int(nz.runeByte[s]) != mt.Start {
			s = nz.runeAt(mt.Start)
		}
		ms = append(ms, sevMatch{pat: mt.PatternID, start: s, end: e})
	}
	return severityCuesOf(text, nz, ms)
}

// sevMatch is a match of severityMatcher's pattern pat in the normalised
// text, in runes: from its own pass, or from the lexicons' automaton,
// which holds the same patterns (roleSeverity), in an analyzer's pass.
type sevMatch struct {
	pat, start, end int
}

// severityCuesOf finds the cues of text (normalised into nz) from the
// matches ms of severityMatcher's patterns.
func severityCuesOf(text string, nz *Normalized, ms []sevMatch) []SeverityCue {
	if nz.Text == "" {
		return nil
	}
	m := severityMatcher
	sc := &sevScan{nz: nz, pairA: make([][]sevHit, len(severityPairs)), pairB: make([][]sevHit, len(severityPairs))}
	var blocks []sevHit
	for _, mt := range ms {
		s, e := mt.start, mt.end
		for _, r := range m.roles[mt.pat] {
			h := sevHit{start: s, end: e, kind: r.kind, level: r.level}
			switch r.class {
			case sevCueRole:
				sc.cues = append(sc.cues, h)
			case sevPairA:
				sc.pairA[r.pair] = append(sc.pairA[r.pair], h)
			case sevPairB:
				sc.pairB[r.pair] = append(sc.pairB[r.pair], h)
			case sevLoss:
				sc.loss = append(sc.loss, h)
			case sevNeg:
				if !nz.acrossSpace(s, e) {
					sc.negs = append(sc.negs, h)
				}
			case sevNegBlock:
				blocks = append(blocks, h)
			case sevExcl:
				sc.excls = append(sc.excls, h)
			case sevPast:
				sc.past = append(sc.past, s)
			case sevFiction:
				sc.fiction = append(sc.fiction, s)
			case sevRescue:
				sc.rescue = append(sc.rescue, s)
			}
		}
	}
	sc.negs = dropBlocked(sc.negs, blocks)
	slices.SortFunc(sc.negs, func(x, y sevHit) int { return cmp.Compare(x.end, y.end) })
	slices.SortFunc(sc.excls, func(x, y sevHit) int { return cmp.Compare(x.start, y.start) })
	slices.Sort(sc.past)
	slices.Sort(sc.fiction)
	slices.Sort(sc.rescue)
	sc.scanNumbers()

	var hits []sevHit
	for _, h := range dropContainedHits(sc.cues) {
		if sc.excluded(h) {
			continue
		}
		if n, ok := sc.negation(h.start); ok {
			// Listed, so a reader sees why a post that names casualties
			// is not critical (未造成人员伤亡); it supports no level. One
			// negation of two cues (没有人被困和伤亡) is one span.
			if h.level == "" {
				continue
			}
			if k := len(hits) - 1; k >= 0 && hits[k].kind == "negated" && hits[k].end >= n.start {
				hits[k].end = max(hits[k].end, h.end)
			} else {
				hits = append(hits, sevHit{start: n.start, end: h.end, kind: "negated"})
			}
			continue
		}
		if h.kind == "casualties" || h.kind == "injuries" {
			h.start = sc.countBefore(h.start)
		}
		hits = append(hits, h)
	}
	hits = append(hits, sc.pairs()...)
	slices.SortFunc(hits, func(x, y sevHit) int {
		if x.start != y.start {
			return cmp.Compare(x.start, y.start)
		}
		if x.end != y.end {
			return cmp.Compare(x.end, y.end)
		}
		return cmp.Compare(x.kind, y.kind)
	})
	out := make([]SeverityCue, 0, len(hits))
	ot := origTexter{s: text}
	for _, h := range hits {
		if h.level != "" && sc.near(sc.fiction, h.start) {
			continue
		}
		if rank := LevelRank(h.level); rank > LevelRank(LevelMedium) && sc.near(sc.past, h.start) {
			h.level = LevelMedium
		}
		if h.kind == "trapped" && sc.near(sc.rescue, h.start) {
			h.level = LevelHigh
		}
		os, oe := nz.OrigSpan(h.start, h.end)
		out = append(out, SeverityCue{Kind: h.kind, Level: h.level, Text: ot.text(os, oe), Start: os, End: oe})
	}
	return out
}

// dropBlocked removes negations that start where a blocking word starts
// or lie inside one (无 of 无数).
func dropBlocked(negs, blocks []sevHit) []sevHit {
	if len(blocks) == 0 {
		return negs
	}
	out := negs[:0]
	for _, n := range negs {
		blocked := false
		for _, b := range blocks {
			if n.start >= b.start && n.end <= b.end {
				blocked = true
				break
			}
		}
		if !blocked {
			out = append(out, n)
		}
	}
	return out
}

// dropContainedHits sorts hits and removes those inside a longer hit
// (砍人 in 持刀砍人).
func dropContainedHits(hs []sevHit) []sevHit {
	slices.SortStableFunc(hs, func(x, y sevHit) int {
		if x.start != y.start {
			return cmp.Compare(x.start, y.start)
		}
		return cmp.Compare(y.end, x.end)
	})
	out := hs[:0]
	maxEnd := -1
	for _, h := range hs {
		if h.end <= maxEnd {
			continue
		}
		out = append(out, h)
		maxEnd = h.end
	}
	return out
}

// excluded reports whether an exclusion overlaps h.
func (sc *sevScan) excluded(h sevHit) bool {
	ex := sc.excls
	k := sort.Search(len(ex), func(i int) bool { return ex[i].start >= h.end })
	for i := k - 1; i >= 0 && ex[i].start > h.start-16; i-- {
		if ex[i].end > h.start {
			return true
		}
	}
	return false
}

// negated reports whether a negation ends at most sevNegWindow runes
// before start, in the same clause.
func (sc *sevScan) negated(start int) bool {
	_, ok := sc.negation(start)
	return ok
}

// negation returns the negation that negates a cue starting at start.
func (sc *sevScan) negation(start int) (sevHit, bool) {
	negs := sc.negs
	k := sort.Search(len(negs), func(i int) bool { return negs[i].end > start })
	for i := k - 1; i >= 0; i-- {
		n := negs[i]
		if start-n.end > sevNegWindow {
			return sevHit{}, false
		}
		if sc.nz.sameClause(n.end, start+1) {
			return n, true
		}
	}
	return sevHit{}, false
}

// near reports whether one of the ascending positions lies in the sentence
// of rune i, at most sevSentenceReach runes away.
func (sc *sevScan) near(pos []int, i int) bool {
	if len(pos) == 0 {
		return false
	}
	lo, hi := sc.nz.sentenceBounds(i)
	lo, hi = max(lo, i-sevSentenceReach), min(hi, i+sevSentenceReach)
	k := sort.Search(len(pos), func(j int) bool { return pos[j] >= lo })
	return k < len(pos) && pos[k] < hi
}

// pairs returns the paired cues: both halves in one sentence, at most
// sevPairWindow runes apart, neither negated. Each second half takes the
// nearest first half, before it if there is one; halves that share a first
// half make one cue (出售仿真枪和钢珠).
func (sc *sevScan) pairs() []sevHit {
	var out []sevHit
	valid := func(a, b sevHit) bool {
		if overlaps(a, b) || !sc.nz.sameSentence(min(a.start, b.start), max(a.end, b.end)) {
			return false
		}
		return !sc.negated(a.start) && !sc.negated(b.start) && !sc.excluded(a) && !sc.excluded(b)
	}
	emit := func(kind, level string, as, bs []sevHit) {
		if len(as) == 0 || len(bs) == 0 {
			return
		}
		// 安眠药 holds 药, and 被骗 overlaps 骗了: one half each.
		as, bs = mergeOverlapping(as), mergeOverlapping(bs)
		i, lastA := 0, -1
		for _, b := range bs {
			for i < len(as) && as[i].start < b.start {
				i++
			}
			best := -1
			for k := i - 1; k >= 0 && b.start-as[k].end <= sevPairWindow; k-- {
				if valid(as[k], b) {
					best = k
					break
				}
			}
			for k := i; best < 0 && k < len(as) && as[k].start-b.end <= sevPairWindow; k++ {
				if valid(as[k], b) {
					best = k
				}
			}
			if best < 0 {
				continue
			}
			a := as[best]
			lo, hi := min(a.start, b.start), max(a.end, b.end)
			if best == lastA {
				last := &out[len(out)-1]
				last.start, last.end = min(last.start, lo), max(last.end, hi)
				continue
			}
			out = append(out, sevHit{start: lo, end: hi, kind: kind, level: level})
			lastA = best
		}
	}
	for i, p := range severityPairs {
		emit(p.kind, p.level, sc.pairA[i], sc.pairB[i])
	}
	emit("money_loss", LevelHigh, sc.loss, sc.amounts)
	return out
}

// mergeOverlapping sorts hits and joins those that overlap.
func mergeOverlapping(hs []sevHit) []sevHit {
	slices.SortFunc(hs, func(x, y sevHit) int { return cmp.Compare(x.start, y.start) })
	out := hs[:1]
	for _, h := range hs[1:] {
		last := &out[len(out)-1]
		if h.start < last.end {
			last.end = max(last.end, h.end)
			continue
		}
		out = append(out, h)
	}
	return out
}

func overlaps(a, b sevHit) bool { return a.start < b.end && b.start < a.end }

// countBefore returns the start of a head count right before a casualty or
// injury cue at start (3人死亡, 两人已经死亡), or start.
func (sc *sevScan) countBefore(start int) int {
	i := start
	for n := 0; n < 4 && i > 0 && isCountFiller(sc.at(i-1)); n++ {
		i--
	}
	if i == 0 || !isCountNoun(sc.at(i-1)) {
		return start
	}
	j := i - 1
	if j > 0 && sc.at(j) == '人' && sc.at(j-1) == '个' {
		j--
	}
	lo, v := sc.numberBefore(j)
	if v <= 0 {
		return start
	}
	return lo
}

func isCountFiller(r rune) bool {
	switch r {
	case '已', '经', '当', '场', '不', '幸', '均', '全', '部', '都', '被':
		return true
	}
	return false
}

// isCountNoun reports the measure words of a head count.
func isCountNoun(r rune) bool {
	switch r {
	case '人', '名', '位', '户':
		return true
	}
	return false
}

// isCountRune reports runes that can be part of a number as posts write
// it: digits, Chinese numerals, and approximations (数十, 上百, 十余, 二十多).
func isCountRune(r rune) bool {
	if r >= '0' && r <= '9' {
		return true
	}
	switch r {
	case '零', '〇', '一', '二', '两', '三', '四', '五', '六', '七', '八', '九', '十', '百', '千', '万', '亿', '几', '数', '多', '余', '来', '上', '近', '好', '.':
		return true
	}
	return false
}

// numberBefore parses the number that ends right before rune i and returns
// its first rune and its value (0 when there is none). Approximations take
// their lower bound (二十多 is 20, 数十 and 几十 are 30, 上百 is 100).
func (sc *sevScan) numberBefore(i int) (int, float64) {
	j := i
	for j > 0 && i-j < 12 && isCountRune(sc.at(j-1)) {
		j--
	}
	// 多人, 好多人 and 其余人 hold no digit: trim leading runes that are
	// no number on their own.
	for j < i {
		switch sc.at(j) {
		case '多', '余', '来', '好', '.':
			j++
			continue
		case '上', '近':
			if j+1 < i && isBigUnit(sc.at(j+1)) {
				break
			}
			j++
			continue
		}
		break
	}
	if j == i {
		return i, 0
	}
	return j, parseCount(sc.slice(j, i))
}

// parseCount reads a number written in digits, Chinese numerals or both
// (3000万, 四十多万, 十几, 数百, 上亿).
func parseCount(s string) float64 {
	var total, section, num float64
	frac := 0.0 // place of the next decimal digit, 0 outside decimals
	digits := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			d := float64(r - '0')
			if frac > 0 {
				num += d * frac
				frac /= 10
			} else if digits {
				num = num*10 + d
			} else {
				num = d
			}
			digits = true
			continue
		case r == '.':
			if digits && frac == 0 {
				frac = 0.1
			}
			continue
		}
		digits, frac = false, 0
		switch r {
		case '零', '〇':
			num = 0
		case '一':
			num = 1
		case '二', '两':
			num = 2
		case '三', '几', '数':
			num = 3
		case '四':
			num = 4
		case '五':
			num = 5
		case '六':
			num = 6
		case '七':
			num = 7
		case '八':
			num = 8
		case '九':
			num = 9
		case '十', '百', '千':
			unit := 10.0
			if r == '百' {
				unit = 100
			} else if r == '千' {
				unit = 1000
			}
			if num == 0 {
				num = 1
			}
			section += num * unit
			num = 0
		case '万', '亿':
			unit := 1e4
			if r == '亿' {
				unit = 1e8
			}
			section += num
			if section == 0 {
				section = 1
			}
			total += section * unit
			section, num = 0, 0
		}
	}
	return total + section + num
}

// scanNumbers finds, in one pass, the cues that numbers make: a head count
// of many people (数十人), casualties and injuries written as counts (4死12伤,
// 死了五个人), and large amounts of money (四十多万) for money_loss.
func (sc *sevScan) scanNumbers() {
	n := sc.nz.RuneLen()
	i := -1
	for _, r := range sc.nz.Text {
		i++
		switch r {
		case '人', '名', '位', '户':
			j := i
			if r == '人' && j > 0 && sc.at(j-1) == '个' {
				j--
			}
			lo, v := sc.numberBefore(j)
			if v <= 0 {
				continue
			}
			if v >= sevManyPeople && r != '户' || v >= sevManyPeople*10 {
				sc.cues = append(sc.cues, sevHit{start: lo, end: i + 1, kind: "many_people"})
			}
			if r != '户' && lo >= 2 && sc.at(lo-1) == '了' {
				switch sc.at(lo - 2) {
				case '死':
					sc.cues = append(sc.cues, sevHit{start: lo - 2, end: i + 1, kind: "casualties", level: LevelCritical})
				case '伤':
					sc.cues = append(sc.cues, sevHit{start: lo - 2, end: i + 1, kind: "injuries", level: LevelHigh})
				}
			}
		case '死', '伤':
			// 4死12伤 and 一死一伤 end the count; 一伤心 is no injury.
			if i+1 < n && isHan(sc.at(i+1)) && !isCountRune(sc.at(i+1)) {
				continue
			}
			lo, v := sc.numberBefore(i)
			if v <= 0 || v >= 1e4 {
				continue
			}
			kind, level := "casualties", LevelCritical
			if r == '伤' {
				kind, level = "injuries", LevelHigh
			}
			sc.cues = append(sc.cues, sevHit{start: lo, end: i + 1, kind: kind, level: level})
		case '万', '亿':
			// The amount ends after its unit and an optional 元 or 块.
			end := i + 1
			if end < n && (sc.at(end) == '元' || sc.at(end) == '块') {
				end++
			}
			lo, v := sc.numberBefore(i + 1)
			// 千万 is also "by all means" (千万别信).
			if v >= sevLargeAmount && sc.slice(lo, i+1) != "千万" {
				sc.amounts = append(sc.amounts, sevHit{start: lo, end: end})
			}
		}
	}
}

// at returns rune i of the normalised text.
func (sc *sevScan) at(i int) rune {
	r, _ := utf8.DecodeRuneInString(sc.nz.Text[sc.nz.runeByte[i]:])
	return r
}

// slice returns runes [i, j) of the normalised text.
func (sc *sevScan) slice(i, j int) string {
	return sc.nz.Text[sc.nz.runeByte[i]:sc.nz.runeByte[j]]
}

func isBigUnit(r rune) bool { return r == '百' || r == '千' || r == '万' || r == '亿' }

// origTexter slices the original text by rune offsets. Starts must come
// in ascending order: it walks the text once, as []rune(s) counts runes
// (an invalid byte is one rune).
type origTexter struct {
	s         string
	rune, pos int // rune index and byte offset of the cursor
}

// text returns the runes [start, end) of the original text.
func (o *origTexter) text(start, end int) string {
	if start < o.rune || start >= end {
		return ""
	}
	o.rune, o.pos = start, advanceRunes(o.s, o.pos, start-o.rune)
	e := advanceRunes(o.s, o.pos, end-start)
	sub := o.s[o.pos:e]
	if utf8.ValidString(sub) {
		return sub
	}
	return string([]rune(sub))
}

// advanceRunes returns the byte offset n runes after byte offset pos of s.
func advanceRunes(s string, pos, n int) int {
	for ; n > 0 && pos < len(s); n-- {
		if s[pos] < utf8.RuneSelf {
			pos++
			continue
		}
		_, size := utf8.DecodeRuneInString(s[pos:])
		pos += size
	}
	return pos
}

// SeverityLevel returns the level of a post detected in category cat given
// its cues, by the rubric:
//
//   - critical: life in danger now (people trapped or buried, casualties,
//     an explosion, self-harm with means or a time, a dam or levee failing,
//     an attack in progress);
//   - high: serious harm, loss or spreading danger (injuries, fire
//     spreading, large money losses, poisoning of many, a hazardous spill,
//     weapons for sale);
//   - medium: a hazard that harms if not handled;
//   - low: nuisance or disrepair.
//
// The base level is low for city_management and medium for the other
// categories; a cue raises it to the cue's level. Children or the elderly
// exposed to a named hazard, and many people in any category but
// city_management and self_harm, raise medium to high. Self-harm cues count
// for self_harm only. The level is never below the base: a nuisance, fixed
// or not, stays low in city_management, and a small fire put out is still a
// fire (medium).
func SeverityLevel(cat string, cues []SeverityCue) string {
	level := LevelRank(LevelMedium)
	if cat == "city_management" {
		level = LevelRank(LevelLow)
	}
	var hazard, vulnerable, many bool
	for _, c := range cues {
		if !CueApplies(cat, c) {
			continue
		}
		switch c.Kind {
		case "hazard":
			hazard = true
		case "children", "elderly":
			vulnerable = true
		case "many_people":
			many = true
		}
		level = max(level, LevelRank(c.Level))
	}
	if level == LevelRank(LevelMedium) {
		if hazard && vulnerable || many && cat != "city_management" && cat != "self_harm" {
			level++
		}
	}
	return levelName(level)
}

func levelName(rank int) string {
	switch rank {
	case 0:
		return LevelNone
	case 1:
		return LevelLow
	case 2:
		return LevelMedium
	case 3:
		return LevelHigh
	case 4:
		return LevelCritical
	}
	return LevelNone
}
