package nlp

import (
	"slices"
	"testing"
)

// TestFigurativeUsesAreExcluded checks that the embedded lexicons read a
// hazard word inside a figure of speech as no hazard: the hit is listed as
// suppressed by the figurative phrase, and the same word used literally
// still counts.
func TestFigurativeUsesAreExcluded(t *testing.T) {
	an, err := NewAnalyzer(Options{NoFingerprint: true, LexiconOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ text, code, reason string }{
		{"加班到凌晨，脑子要爆炸了，方案明天再改吧", "explosion", "excluded: 脑子要爆炸"},
		{"第一次烤戚风，出炉十分钟蛋糕塌了一半", "collapse", "excluded: 蛋糕塌了"},
		{"自行车轮胎漏气了，骑到公司才发现", "hazmat_leak", "excluded: 轮胎漏气"},
		{"连着开了五个会，大脑罢工了", "mass_incident", "excluded: 大脑罢工"},
		{"这波窒息操作把队友都看傻了", "work_safety", "excluded: 窒息操作"},
		{"这首歌中毒性太强，我循环了一整天", "food_safety", "excluded: 中毒性太强"},
		{"别再道德绑架了，捐不捐是人家的自由", "violence", "excluded: 道德绑架"},
		{"热得嗓子冒烟，先买瓶水", "fire", "excluded: 嗓子冒烟"},
	} {
		as := an.Analyze(Input{Text: tc.text})
		if scoreOf(as, tc.code) > 0 {
			t.Errorf("%s: %s scored %v, want the figurative use excluded", tc.text, tc.code, scoreOf(as, tc.code))
		}
		if !slices.ContainsFunc(as.Suppressed, func(s Suppressed) bool { return s.Category == tc.code && s.Reason == tc.reason }) {
			t.Errorf("%s: suppressed %v, want a %s hit %q", tc.text, reasons(as), tc.code, tc.reason)
		}
	}
	for _, tc := range []struct{ text, code string }{
		{"楼下饭馆的煤气罐爆炸了，玻璃全碎", "explosion"},
		{"老小区一堵围墙塌了，压住了一辆电动车", "collapse"},
		{"厨房燃气管漏气，满屋子都是味", "hazmat_leak"},
		{"消防员和记者先后赶到爆炸现场", "explosion"},
		{"幼儿园三个孩子吃了午饭后确诊中毒性菌痢", "food_safety"},
		{"车间里一名工人的手被压缩机卷了进去", "work_safety"},
		{"有个男的持刀在街上杀疯了，已经砍伤好几个人", "violence"},
	} {
		if as := an.Analyze(Input{Text: tc.text}); scoreOf(as, tc.code) == 0 {
			t.Errorf("%s: %s not scored; suppressed %v", tc.text, tc.code, reasons(as))
		}
	}
}
