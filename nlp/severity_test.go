package nlp

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/json"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"
)

// sevCase is one line of testdata/severity/cases.jsonl. The cases were
// written before the rubric code and are not tuned to it.
type sevCase struct {
	ID     string   `json:"id"`
	Labels []string `json:"labels"`
	Text   string   `json:"text"`
	Level  string   `json:"level"`
	Why    string   `json:"why"`
}

func readSevCases(t *testing.T) []sevCase {
	t.Helper()
	return readSevFile(t, "testdata/severity/cases.jsonl")
}

func readSevFile(t *testing.T, path string) []sevCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []sevCase
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var c sevCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		if LevelRank(c.Level) < 0 {
			t.Fatalf("%s:%d: unknown level %q", path, n, c.Level)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// sevValidation reports whether a case belongs to the validation part: the
// MD5 of its id, read as a 128-bit big-endian number, is 0 modulo 5. The
// cue lists were tuned on the other part only.
func sevValidation(id string) bool {
	sum := md5.Sum([]byte(id))
	return new(big.Int).Mod(new(big.Int).SetBytes(sum[:]), big.NewInt(5)).Sign() == 0
}

// sevFigures are the agreement figures of one set of cases.
type sevFigures struct {
	n, exact, withinOne int
	criticalBelowHigh   int // critical cases given less than high
	lowAtHigh           int // low cases given high or critical
}

func (f *sevFigures) add(want, got string) {
	f.n++
	w, g := LevelRank(want), LevelRank(got)
	if w == g {
		f.exact++
	}
	if w-g <= 1 && g-w <= 1 {
		f.withinOne++
	}
	if want == LevelCritical && g < LevelRank(LevelHigh) {
		f.criticalBelowHigh++
	}
	if want == LevelLow && g >= LevelRank(LevelHigh) {
		f.lowAtHigh++
	}
}

func (f sevFigures) rate(k int) float64 {
	if f.n == 0 {
		return 0
	}
	return float64(k) / float64(f.n)
}

// sevRun is what a case file gave: the figures over every case with a
// label, those split by the md5 validation rule, and how many posts with no
// hazard held a cue of high or critical.
type sevRun struct {
	all, tune, val sevFigures
	noneHigh       int
}

// measureSeverity levels every case of cases and logs each miss.
func measureSeverity(t *testing.T, cases []sevCase) sevRun {
	var r sevRun
	for _, c := range cases {
		cues := FindSeverityCues(c.Text)
		if len(c.Labels) == 0 {
			// A post with no hazard gets no level from SeverityLevel; it
			// must at least hold no cue of high or critical.
			for _, cu := range cues {
				if LevelRank(cu.Level) >= LevelRank(LevelHigh) {
					r.noneHigh++
					t.Logf("%s none: %s cue %q", c.ID, cu.Level, cu.Text)
				}
			}
			continue
		}
		got := SeverityLevel(c.Labels[0], cues)
		r.all.add(c.Level, got)
		if sevValidation(c.ID) {
			r.val.add(c.Level, got)
		} else {
			r.tune.add(c.Level, got)
		}
		if got != c.Level {
			t.Logf("%s %s: want %s got %s (%s) %s cues %s", c.ID, c.Labels[0], c.Level, got, c.Why, c.Text, cueSummary(cues))
		}
	}
	return r
}

func TestSeverityCases(t *testing.T) {
	r := measureSeverity(t, readSevCases(t))
	all := r.all
	for _, p := range []struct {
		name string
		f    sevFigures
	}{{"tune", r.tune}, {"validation", r.val}, {"all", all}} {
		t.Logf("%-10s n=%3d exact %.3f within-one %.3f critical<high %d low>=high %d",
			p.name, p.f.n, p.f.rate(p.f.exact), p.f.rate(p.f.withinOne), p.f.criticalBelowHigh, p.f.lowAtHigh)
	}
	if r := all.rate(all.exact); r < 0.60 {
		t.Errorf("exact %.3f, want >= 0.60", r)
	}
	if r := all.rate(all.withinOne); r < 0.95 {
		t.Errorf("within one step %.3f, want >= 0.95", r)
	}
	if all.criticalBelowHigh > 0 {
		t.Errorf("%d critical cases below high", all.criticalBelowHigh)
	}
	if all.lowAtHigh > 0 {
		t.Errorf("%d low cases at high or above", all.lowAtHigh)
	}
	if r.noneHigh > 0 {
		t.Errorf("%d high or critical cues in posts with no hazard", r.noneHigh)
	}
}

// TestSeverityLaterCases measures the cases of later_cases.jsonl, written
// after the cue lists were committed. Its first run, before any change,
// gave exact 0.42, within one step 0.78 and 11 critical cases below high,
// against 0.93 / 1.00 / 0 on the frozen cases written by the same hand as
// the cue lists: the lists had learnt that hand's wording. The lists were
// then widened with general vocabulary (撞飞, 一动不动, 窜到, 触电, …), so
// these cases are no longer held out; a fresh set written by someone else
// is the next honest measure. The test keeps what the rubric must never
// do: put a life-threatening post below high, or a low one at high.
func TestSeverityLaterCases(t *testing.T) {
	r := measureSeverity(t, readSevFile(t, "testdata/severity/later_cases.jsonl"))
	f := r.all
	t.Logf("later      n=%3d exact %.3f within-one %.3f critical<high %d low>=high %d none-with-high-cue %d",
		f.n, f.rate(f.exact), f.rate(f.withinOne), f.criticalBelowHigh, f.lowAtHigh, r.noneHigh)
	if f.n == 0 || f.criticalBelowHigh > 0 || f.lowAtHigh > 0 || r.noneHigh > 0 {
		t.Errorf("later cases: %d read, %d critical below high, %d low at high, %d high cues with no hazard", f.n, f.criticalBelowHigh, f.lowAtHigh, r.noneHigh)
	}
}

func cueSummary(cues []SeverityCue) string {
	var b strings.Builder
	for i, c := range cues {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.Kind)
		if c.Level != "" {
			b.WriteString("/" + c.Level)
		}
		b.WriteString("=" + c.Text)
	}
	return b.String()
}

// TestSeverityCasesCoverage checks the frozen cases still cover what the
// rubric asks of them.
func TestSeverityCasesCoverage(t *testing.T) {
	cases := readSevCases(t)
	perCat := map[string]int{}
	perLevel := map[string]int{}
	for _, c := range cases {
		perLevel[c.Level]++
		if len(c.Labels) > 0 {
			perCat[c.Labels[0]]++
		} else if c.Level != LevelNone {
			t.Errorf("%s: no labels but level %s", c.ID, c.Level)
		}
	}
	for _, cat := range []string{"fire", "explosion", "hazmat_leak", "collapse", "traffic_accident", "natural_disaster",
		"food_safety", "public_health", "fraud", "illegal_fundraising", "mass_incident", "violence", "self_harm",
		"drugs", "weapons", "work_safety", "city_management", "environment"} {
		if perCat[cat] < 6 {
			t.Errorf("%s: %d cases, want >= 6", cat, perCat[cat])
		}
	}
	if len(cases) < 180 || perLevel[LevelCritical] < 25 || perLevel[LevelLow] < 30 || perLevel[LevelNone] < 10 {
		t.Errorf("%d cases, levels %v", len(cases), perLevel)
	}
}

func sevKinds(cues []SeverityCue) map[string]string {
	m := map[string]string{}
	for _, c := range cues {
		m[c.Kind] = c.Text
	}
	return m
}

// cueCase says whether a cue of kind is found in text.
type cueCase struct {
	text, kind string
	want       bool
}

func checkCueKinds(t *testing.T, cases []cueCase) {
	t.Helper()
	for _, tc := range cases {
		got := sevKinds(FindSeverityCues(tc.text))
		if _, ok := got[tc.kind]; ok != tc.want {
			t.Errorf("%s: %s found %v, want %v (cues %v)", tc.text, tc.kind, ok, tc.want, got)
		}
	}
}

func TestSeverityNegation(t *testing.T) {
	checkCueKinds(t, []cueCase{
		{"厂房起火，无人员伤亡。", "casualties", false},
		{"车辆追尾，没有人受伤。", "injuries", false},
		{"事故未造成人员伤亡。", "casualties", false},
		{"目前暂无伤亡报告。", "casualties", false},
		{"现场没人受伤，只是车损了。", "injuries", false},
		{"消防员搜索后未发现被困人员。", "trapped", false},
		{"司机差点撞死一个老人。", "casualties", false},
		{"担心储罐会爆炸。", "explosion", false},
		{"事故造成无数人受伤。", "injuries", true},
		{"没想到有人受伤了。", "injuries", true},
		{"没有人员伤亡，但有三人受伤。", "injuries", true},
		{"路人突然倒地，没有呼吸了！", "life_threat", true},
		{"这部电影的爆炸场面很震撼。", "explosion", false},
		{"转发扩散，寻找走失老人。", "spreading", false},
		{"无人员伤亡", "casualties", false},
	})
}

// TestNegatedCuesListed: a negated cue is listed as kind negated, from the
// negation through the cue, so a reader sees why a post naming casualties
// is not critical; it supports no level. A negated modifier is not listed.
func TestNegatedCuesListed(t *testing.T) {
	for _, tc := range []struct {
		text, want, level string
	}{
		{"事故未造成人员伤亡。", "未造成人员伤亡", LevelMedium},
		{"楼下冒黑烟了，没有人被困，也无人员伤亡", "没有人被困|无人员伤亡", LevelMedium},
		{"没有人员伤亡，但有三人受伤。", "没有人员伤亡", LevelHigh},
		{"家里没有孩子。", "", LevelMedium},
		{"三人受伤。", "", LevelHigh},
	} {
		cues := FindSeverityCues(tc.text)
		var negated []string
		for _, c := range cues {
			if c.Kind != "negated" {
				continue
			}
			if c.Level != "" || string([]rune(tc.text)[c.Start:c.End]) != c.Text {
				t.Errorf("%s: negated cue %+v: want no level and its own text at its offsets", tc.text, c)
			}
			negated = append(negated, c.Text)
		}
		if got := strings.Join(negated, "|"); got != tc.want {
			t.Errorf("%s: negated %q, want %q (cues %s)", tc.text, got, tc.want, cueSummary(cues))
		}
		if got := SeverityLevel("fire", cues); got != tc.level {
			t.Errorf("%s: level %s, want %s", tc.text, got, tc.level)
		}
	}
}

func TestSeverityNumbers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
	}{
		{"3", 3}, {"12", 12}, {"三", 3}, {"十", 10}, {"十余", 10}, {"十几", 13}, {"二十多", 20}, {"数十", 30},
		{"几十", 30}, {"上百", 100}, {"数百", 300}, {"两千多", 2000}, {"四十多万", 400000}, {"3000万", 3e7},
		{"上亿", 1e8}, {"一百零五", 105}, {"1.5万", 15000}, {"86万", 860000},
	} {
		if got := parseCount(tc.in); got != tc.want {
			t.Errorf("parseCount(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		text, kind, cue string
	}{
		{"爆炸已致3人死亡。", "casualties", "3人死亡"},
		{"事故中两人已经死亡。", "casualties", "两人已经死亡"},
		{"三人遇难。", "casualties", "三人遇难"},
		{"目前已致4死12伤。", "casualties", "4死"},
		{"目前已致4死12伤。", "injuries", "12伤"},
		{"那次事故死了五个人。", "casualties", "死了五个人"},
		{"数十人送医观察。", "many_people", "数十人"},
		{"上百人被骗。", "many_people", "上百人"},
		{"二十多名小学生在车上。", "many_people", "二十多名"},
		{"被骗了四十多万元。", "money_loss", "被骗了四十多万元"},
		{"被骗了12万。", "money_loss", "被骗了12万"},
	} {
		got := sevKinds(FindSeverityCues(tc.text))
		if got[tc.kind] != tc.cue {
			t.Errorf("%s: %s = %q, want %q (cues %v)", tc.text, tc.kind, got[tc.kind], tc.cue, got)
		}
	}
	for _, tc := range []struct{ text, kind string }{
		{"他九死一生逃了出来。", "casualties"},
		{"千万别信，被骗了就拿不回来。", "money_loss"},
		{"三个人一起去吃饭。", "many_people"},
		{"被骗了一万块。", "money_loss"},
		{"一伤心就吃东西。", "injuries"},
	} {
		if c, ok := sevKinds(FindSeverityCues(tc.text))[tc.kind]; ok {
			t.Errorf("%s: unexpected %s cue %q", tc.text, tc.kind, c)
		}
	}
}

func TestSeverityTraditionalAndOffsets(t *testing.T) {
	for _, tc := range []struct {
		text, kind, cue string
	}{
		{"大廈起火，十幾名住戶受困天台", "trapped", "受困"},
		{"大廈起火，十幾名住戶受困天台", "many_people", "十幾名"},
		{"工廠鍋爐爆炸，兩人當場死亡。", "casualties", "兩人當場死亡"},
		{"我們 被 困 在 五樓 了", "trapped", "被 困"},
		{"藥已經吞下去了", "self_harm_means", "藥已經吞下"},
		{"ＡＢＣ公司倉庫起火，火勢蔓延", "spreading", "蔓延"},
		{"🔥🔥 有人被*困", "trapped", "被*困"},
	} {
		cues := FindSeverityCues(tc.text)
		rs := []rune(tc.text)
		found := false
		for _, c := range cues {
			if c.Start < 0 || c.End > len(rs) || c.Start >= c.End || string(rs[c.Start:c.End]) != c.Text {
				t.Errorf("%s: cue %+v does not point into the text", tc.text, c)
			}
			if c.Kind == tc.kind && c.Text == tc.cue {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no %s cue %q in %s", tc.text, tc.kind, tc.cue, cueSummary(cues))
		}
	}
}

func TestSeverityLevelRules(t *testing.T) {
	for _, tc := range []struct {
		cat, text, want string
	}{
		{"city_management", "路灯坏了一个月了。", LevelLow},
		{"city_management", "路灯已经修好了。", LevelLow},
		{"city_management", "公交站旁边的井盖不见了。", LevelMedium},
		{"city_management", "井盖丢失，放学的孩子天天从这里走。", LevelHigh},
		{"fire", "垃圾桶着火，保安很快扑灭了。", LevelMedium},
		{"fire", "火势蔓延到隔壁仓库。", LevelHigh},
		{"fire", "楼里有人被困。", LevelCritical},
		{"self_harm", "活着没意思。", LevelMedium},
		{"self_harm", "炭已经买好了。", LevelCritical},
		{"self_harm", "今晚就从楼顶跳下去。", LevelCritical},
		// Means of self-harm set the level of a self-harm post only.
		{"fraud", "药已经买好了，被骗的钱也不要了。", LevelMedium},
		{"food_safety", "食堂饭后三十多名员工腹泻。", LevelHigh},
		{"explosion", "十年前这里发生过爆炸，死了两个人。", LevelMedium},
		{"", "", LevelMedium},
	} {
		if got := SeverityLevel(tc.cat, FindSeverityCues(tc.text)); got != tc.want {
			t.Errorf("%s %s: got %s, want %s (cues %s)", tc.cat, tc.text, got, tc.want, cueSummary(FindSeverityCues(tc.text)))
		}
	}
}

// TestSeverityPatternsNormalized checks that every cue phrase is written as
// Normalize writes text; a phrase in another form would never match.
func TestSeverityPatternsNormalized(t *testing.T) {
	for _, p := range severityMatcher.pats {
		if n := NormalizeText(p); n != p {
			t.Errorf("cue %q normalises to %q", p, n)
		}
	}
}

// An analyzer with a model finds the cues from its lexicons' pass over a
// field (the severity patterns are among its patterns); they are those of
// the cues' own pass, on every severity case, title and text. Without a
// model nothing reads them, and none are kept (unless training asks for
// them as features).
func TestSeverityCuesFromLexiconPass(t *testing.T) {
	lex, m := trainTiny(t)
	if _, fields := lex.lexiconScore(Input{Text: "大楼起火，三人死亡"}); len(fields) != 1 || len(fields[0].sev) != 0 {
		t.Errorf("an analyzer without a model kept severity matches: %+v", fields)
	}
	an := lex.WithModel(m)
	cases := append(readSevCases(t), readSevFile(t, "testdata/severity/later_cases.jsonl")...)
	found := 0
	for _, c := range cases {
		_, fields := an.lexiconScore(Input{Title: c.ID, Text: c.Text})
		for _, fm := range fields {
			want := findSeverityCues(fm.orig, fm.nz)
			got := severityCuesOf(fm.orig, fm.nz, fm.sev)
			found += len(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: cues %+v from the lexicons' pass, %+v from their own", c.ID, fm.name, got, want)
			}
		}
	}
	if found == 0 {
		t.Fatal("no cue found in any case")
	}
}

func FuzzFindSeverityCues(f *testing.F) {
	f.Add("大廈起火，十幾名住戶受困天台")
	f.Add("被骗了四十多万元，4死12伤")
	f.Add("我 现在 就 站在 天台 边上")
	f.Add("\xff\xfe死亡")
	f.Fuzz(func(t *testing.T, s string) {
		n := len([]rune(s))
		for _, c := range FindSeverityCues(s) {
			if c.Start < 0 || c.End > n || c.Start >= c.End {
				t.Fatalf("cue %+v outside [0, %d)", c, n)
			}
			if want := string([]rune(s)[c.Start:c.End]); c.Text != want {
				t.Fatalf("cue text %q, want %q", c.Text, want)
			}
		}
	})
}

// sevBenchText returns about n bytes of a long post: paragraphs of the
// kinds of sentences the cue lists look for, and plain ones.
func sevBenchText(n int) string {
	paras := []string{
		"今天下午三点左右，城东某小区一栋居民楼发生火灾，消防部门接警后迅速赶到现场。",
		"据现场居民介绍，起火点位于十二楼，浓烟很大，有几名住户一度被困，后被消防员救出，无人员伤亡。",
		"另据通报，事故共造成2人受伤，伤者已被送往医院治疗，目前生命体征平稳。",
		"小区门口的路灯坏了很久，晚上出门很不方便，希望有关部门尽快处理。",
		"最近网上有人冒充客服，以退款为名骗取钱财，一位老人被骗了二十多万元，警方提醒大家提高警惕。",
		"周末的天气不错，很多市民带着孩子去公园散步，湖边的柳树已经发芽了。",
		"這條街的攤販很多，噪音也大，附近居民多次投訴。",
		"他说如果明天还拿不到工资，就和工友们一起去劳动局反映情况。",
	}
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString(paras[i%len(paras)])
		if i%3 == 2 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func BenchmarkFindSeverityCues(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"4KB", 4 << 10}, {"100KB", 100 << 10}} {
		text := sevBenchText(size.n)
		b.Run(size.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				FindSeverityCues(text)
			}
		})
	}
}

// TestSeverityEverydayWords: the words people use for someone still
// inside, a person down, a blast or a collapse, beside the news words
// (written for this test).
func TestSeverityEverydayWords(t *testing.T) {
	checkCueKinds(t, []cueCase{
		{"火越来越大，人还在里面！", "trapped", true},
		{"车翻到沟里了，里面的人都没出来", "trapped", true},
		{"楼梯口挤成一团，有人被踩在下面", "trapped", true},
		{"有人在喊救命，快来人", "trapped", true},
		{"工人下到池子里清淤，一直没有上来", "trapped", true},
		{"有个人倒在地上，喊他也不答应", "life_threat", true},
		{"他抽了两口就晕过去了", "life_threat", true},
		{"刚才小区里一声巨响，玻璃全碎了", "explosion", true},
		{"饭店的煤气罐爆了", "explosion", true},
		{"他拿着菜刀在街上追人", "attack", true},
		{"歹徒把刀架在店员脖子上", "attack", true},
		{"那人朝天开了一枪就跑了", "attack", true},
		{"老厂房的屋顶被雪压塌了", "structural_failure", true},
		{"路边的招牌掉下来，有个行人被砸到了", "injuries", true},
		// The same words where no one is in danger.
		{"体检结果还没出来，有点紧张", "trapped", false},
		{"这个救命钱可千万不能丢", "trapped", false},
		{"花坛边上的砖松了一块", "structural_failure", false},
	})
}

// TestSeverityHighEverydayWords checks the second round of everyday cue
// words (docs/DETECTION.md, "Everyday words for serious harm"), and the
// look-alikes that made three broader words go again.
func TestSeverityHighEverydayWords(t *testing.T) {
	checkCueKinds(t, []cueCase{
		{"他骑车被一辆面包车撞倒了", "injuries", true},
		{"摔了一跤，医生说是骨裂", "injuries", true},
		{"邻居被砸破了头，已经送去医院", "injuries", true},
		{"几个人围着他打，我赶紧打120", "injuries", true},
		{"吃完那家的盒饭，一家人都上吐下泻", "poisoning", true},
		{"镇上已经出现了五个病例", "outbreak", true},
		{"池塘里的鱼死了一大片", "spill", true},
		{"那个平台说系统维护，钱一直提不出来", "money_loss", true},
		{"他在群里转了二十万给那个导师", "money_loss", true},
		{"警方捣毁了一个制毒窝点", "drug_trade", true},
		{"那个人突然掏出刀冲向人群", "attack", true},
		{"井下的人喊他不应，已经十分钟了", "life_threat", true},
		{"下水道塌了，有人掉下去了，快来人", "trapped", true},
		{"路边的砖墙倒了，压住一辆车", "structural_failure", true},
		// Look-alikes: a crack, a diagnosis, a cut while trimming nails.
		{"楼道的墙上有一条裂缝了", "injuries", false},
		{"确诊焦虑症两年，最近好多了", "outbreak", false},
		{"剪指甲剪出血了，贴了个创可贴", "injuries", false},
		{"他转了个身就走了", "money_loss", false},
		{"车胎漏气了，停在应急车道等拖车", "spill", false},
		// The third round: a life in danger now.
		{"车翻了，司机被压在底下", "trapped", true},
		{"脚手架倒了，上面的工人全掉下去了", "trapped", true},
		{"那个人已经不动了，快叫救护车", "life_threat", true},
		{"老人送到医院，还是没抢救过来", "casualties", true},
		{"地下车库传来一声闷响，接着就冒烟了", "explosion", true},
		{"保安上去拦，被砍了一刀", "attack", true},
		{"他说这是最后一顿饭了，然后就不回消息了", "self_harm_act", true},
		{"她说吃了很多药，现在很困", "self_harm_means", true},
		// Look-alikes that made words go again: a pipe buried, a crowd
		// that pushed (the writers set both at high at most).
		{"有人在田里埋了一根管子", "trapped", false},
		{"门口人太多，有个大爷被挤倒了", "trapped", false},
	})
}

// TestCueKindsComplete: every kind the phrase tables can emit is listed in
// CueKinds, and CueKinds lists no kind twice.
func TestCueKindsComplete(t *testing.T) {
	listed := map[string]bool{}
	for _, k := range CueKinds {
		if listed[k] {
			t.Errorf("CueKinds lists %q twice", k)
		}
		listed[k] = true
	}
	var kinds []string
	for _, p := range severityPhrases {
		kinds = append(kinds, p.kind)
	}
	for _, p := range severityPairs {
		kinds = append(kinds, p.kind)
	}
	for _, k := range append(kinds, "many_people", "negated", "learned") {
		if !listed[k] {
			t.Errorf("cue kind %q is not in CueKinds", k)
		}
	}
}
