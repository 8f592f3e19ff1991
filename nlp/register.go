package nlp

// Registers are the kinds of text a post is written in, apart from what it
// is about: a drill, a publicity campaign or safety tip, a film or game, a
// rebuttal, a problem already fixed, a look back at the past, a question or
// a hypothesis, an advertisement, or a complaint or plea for help. The same
// hazard words mean a hazard in one register and none in another, so a
// model with the register features (feature sets ending in "/reg1") reads,
// for every register cue found in a post, one feature of the register and
// one of the register with each category the lexicons scored: each
// category's regression learns what a drill does to its own words.
//
// The cues are common words of each register, written for the purpose;
// they name a register, not an event, and are matched by the lexicons'
// automaton (no second pass over the text).
var registers = [...]struct {
	name string
	cues []string
}{
	{"drill", []string{"演练", "演习", "实战演练", "推演", "模拟", "假想", "预案", "拉练", "科目"}},
	{"publicity", []string{"宣传", "科普", "宣讲", "普及", "讲座", "培训", "提醒", "提示", "温馨提示", "小贴士",
		"注意事项", "安全知识", "常识", "倡议", "呼吁", "警示教育", "宣传月", "宣传周", "安全月", "切勿", "请勿",
		"谨记", "牢记", "学会", "教你", "指南", "须知", "知识"}},
	{"fiction", []string{"电影", "影片", "电视剧", "剧情", "剧中", "小说", "纪录片", "动画", "动漫", "漫画",
		"游戏", "手游", "玩家", "主演", "上映", "票房", "导演", "综艺", "角色", "剧本", "大片", "预告片", "特效", "拍摄"}},
	{"rebuttal", []string{"谣言", "辟谣", "不实", "网传", "假消息", "假新闻", "澄清", "不属实", "经核实", "误传", "旧闻", "旧图", "旧视频"}},
	{"resolved", []string{"已修复", "修好了", "已修好", "已经修好", "已处理", "已解决", "已经解决", "已恢复", "恢复正常",
		"已整改", "整改完毕", "处理完毕", "已清理", "已排除", "已经处理", "感谢", "点赞", "及时处理", "效率高"}},
	{"past", []string{"周年", "纪念", "回顾", "当年", "历史上", "多年前", "年前", "曾经", "追忆", "悼念", "那年", "往事"}},
	{"question", []string{"如果", "假如", "万一", "怎么办", "怎么处理", "应该怎么", "如何", "请问", "咨询", "是否构成", "算不算", "会不会"}},
	{"advert", []string{"限时", "优惠", "促销", "折扣", "下载", "公测", "上线", "新品", "福利", "抽奖", "礼包", "代言", "官网", "报名"}},
	{"plea", []string{"救命", "快来", "求助", "求救", "报警", "谁来管管", "有没有人管", "有人管吗", "希望有关部门", "请有关部门",
		"相关部门", "投诉", "举报", "反映", "尽快处理", "太吓人", "吓死", "刚刚", "现在"}},
}

// regBit is the bit of register i in fieldMatches.regs.
func regBit(i int) uint32 { return 1 << uint(i) }

// registerKeys are the feature keys of the registers: reg[r] alone, and
// regCat[r][c] with category c.
type registerKeys struct {
	reg    [len(registers)]uint32
	regCat [len(registers)][]uint32
}

func newRegisterKeys(codes []string) registerKeys {
	var k registerKeys
	for r, rg := range registers {
		k.reg[r] = stringKey("reg:" + rg.name)
		k.regCat[r] = make([]uint32, len(codes))
		for c, code := range codes {
			k.regCat[r][c] = stringKey("reg:" + rg.name + "|" + code)
		}
	}
	return k
}

// registerFeatures appends the register features of a post whose fields
// found the registers regs: each register, and each register with every
// category the lexicons scored or suppressed.
func (a *Analyzer) registerFeatures(acc []catScore, regs uint32, out []denseFeature) []denseFeature {
	if regs == 0 {
		return out
	}
	for r := range registers {
		if regs&regBit(r) == 0 {
			continue
		}
		out = append(out, denseFeature{a.regKeys.reg[r], 1})
		for c := range acc {
			if acc[c].raw > 0 || len(acc[c].supp) > 0 {
				out = append(out, denseFeature{a.regKeys.regCat[r][c], 1})
			}
		}
	}
	return out
}

// fieldRegisters returns the registers found in any of fields.
func fieldRegisters(fields []*fieldMatches) uint32 {
	var regs uint32
	for _, fm := range fields {
		regs |= fm.regs
	}
	return regs
}
