package nlp

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

// testAnalyzer compiles the small lexicons of testdata/lexicons (not the
// tuned defaults, whose weights change as they are tuned).
func testAnalyzer(t testing.TB) *Analyzer {
	t.Helper()
	a, err := newAnalyzer(Options{}, os.DirFS("testdata"), "lexicons", []string{"fire", "fraud"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// checkAssessment verifies what every assessment must satisfy: evidence and
// suppressed hits point into the original fields, categories are sorted,
// the level matches the score.
func checkAssessment(t testing.TB, a *Analyzer, in Input) *Assessment {
	t.Helper()
	as := a.Analyze(in)
	title, text := []rune(in.Title), []rune(in.Text)
	field := func(name string) []rune {
		if name == "title" {
			return title
		}
		if name != "text" {
			t.Fatalf("field %q", name)
		}
		return text
	}
	check := func(e Evidence) {
		f := field(e.Field)
		if e.Start < 0 || e.End > len(f) || e.Start >= e.End {
			t.Fatalf("evidence %+v out of range of %d runes", e, len(f))
		}
		if got := string(f[e.Start:e.End]); got != e.Text {
			t.Fatalf("evidence %+v: field[%d:%d] = %q", e, e.Start, e.End, got)
		}
	}
	for _, e := range as.Evidence {
		check(e)
	}
	for _, s := range as.Suppressed {
		check(s.Evidence)
		if !strings.HasPrefix(s.Reason, "negated: ") && !strings.HasPrefix(s.Reason, "excluded: ") {
			t.Fatalf("suppressed reason %q", s.Reason)
		}
	}
	if !sort.SliceIsSorted(as.Categories, func(i, j int) bool { return as.Categories[i].Score > as.Categories[j].Score }) {
		t.Fatalf("categories not best first: %+v", as.Categories)
	}
	if want := a.th.Level(as.Score); as.Level != want {
		t.Fatalf("level %s for score %v, want %s", as.Level, as.Score, want)
	}
	return as
}

func rules(as *Assessment) []string {
	var out []string
	for _, e := range as.Evidence {
		out = append(out, e.Rule+"="+e.Text)
	}
	return out
}

func reasons(as *Assessment) []string {
	var out []string
	for _, s := range as.Suppressed {
		out = append(out, s.Text+"("+s.Reason+")")
	}
	return out
}

func scoreOf(as *Assessment, code string) float64 {
	for _, c := range as.Categories {
		if c.Code == code {
			return c.Score
		}
	}
	return 0
}

func TestAnalyze(t *testing.T) {
	a := testAnalyzer(t)
	tests := []struct {
		name       string
		in         Input
		level      string
		rules      []string // evidence, in order
		suppressed []string
	}{
		{name: "term", in: Input{Text: "小区发生火灾"}, level: LevelMedium,
			rules: []string{"fire/火灾=火灾"}},
		{name: "variant counts as its term", in: Input{Text: "仓库失火"}, level: LevelMedium,
			rules: []string{"fire/火灾=失火"}},
		{name: "longer term hides the shorter inside it", in: Input{Text: "突然起火"}, level: LevelLow,
			rules: []string{"fire/起火=起火"}},
		{name: "negated", in: Input{Text: "现场没有发生火灾"}, level: LevelNone,
			suppressed: []string{"火灾(negated: 没有)"}},
		{name: "negation in another clause does not count", in: Input{Text: "没有人想到，小区发生火灾"}, level: LevelMedium,
			rules: []string{"fire/火灾=火灾"}},
		{name: "negation too far before", in: Input{Text: "没有想到今天下午小区里发生火灾"}, level: LevelMedium,
			rules: []string{"fire/火灾=火灾"}},
		{name: "category negation only for its category", in: Input{Text: "谨防诈骗。谨防火灾"}, level: LevelMedium,
			rules: []string{"fire/火灾=火灾"}, suppressed: []string{"诈骗(negated: 谨防)"}},
		{name: "context exclusion suppresses the sentence", in: Input{Text: "学校举行消防演练，模拟火灾逃生。"}, level: LevelNone,
			suppressed: []string{"火灾(excluded: 消防演练)"}},
		{name: "context exclusion ends with the sentence", in: Input{Text: "昨天消防演练。今天真的发生火灾"}, level: LevelMedium,
			rules: []string{"fire/火灾=火灾"}},
		{name: "word exclusion suppresses only what it overlaps", in: Input{Text: "火锅店发生火灾"}, level: LevelMedium,
			rules: []string{"fire/火灾=火灾"}, suppressed: []string{"火(excluded: 火锅)"}},
		{name: "insurance word", in: Input{Text: "买了火灾险"}, level: LevelNone,
			suppressed: []string{"火灾(excluded: 火灾险)"}},
		{name: "rule within distance", in: Input{Text: "消防车很快赶到"}, level: LevelLow,
			rules: []string{"fire/brigade=消防车很快赶到"}},
		{name: "rule too far apart", in: Input{Text: "消防车停在楼下很久以后才有人赶到"}, level: LevelNone},
		{name: "rule in one sentence", in: Input{Text: "浓烟从三楼的窗户冒出"}, level: LevelLow,
			rules: []string{"fire/smoke_sentence=浓烟从三楼的窗户"}},
		{name: "rule across sentences", in: Input{Text: "浓烟很大。关好窗户"}, level: LevelNone},
		{name: "sentence rule bounded without punctuation", in: Input{Text: "浓烟" + strings.Repeat("很", 300) + "窗户"}, level: LevelNone},
		{name: "rule negated", in: Input{Text: "并未看到消防员赶到"}, level: LevelNone,
			suppressed: []string{"消防员赶到(negated: 并未)"}},
		{name: "intensifier raises a category with hits", in: Input{Text: "仓库火灾，三人死亡"}, level: LevelMedium,
			rules: []string{"fire/火灾=火灾", "fire/+死亡=死亡"}},
		{name: "intensifier alone scores nothing", in: Input{Text: "三人死亡"}, level: LevelNone},
		{name: "negated intensifier", in: Input{Text: "仓库火灾，没有人死亡"}, level: LevelMedium,
			rules: []string{"fire/火灾=火灾"}, suppressed: []string{"死亡(negated: 没有)"}},
		{name: "title weight", in: Input{Title: "火灾", Text: "详情"}, level: LevelHigh,
			rules: []string{"fire/火灾=火灾"}},
		{name: "severity", in: Input{Text: "电话诈骗"}, level: LevelMedium,
			rules: []string{"fraud/诈骗=诈骗"}},
		{name: "dodge separators", in: Input{Text: "转账到安 全 账 户"}, level: LevelHigh,
			rules: []string{"fraud/+转账=转账", "fraud/安全账户=安 全 账 户"}},
		{name: "traditional", in: Input{Text: "樓道發生火災"}, level: LevelMedium,
			rules: []string{"fire/火灾=火災"}},
		{name: "full width and zero width", in: Input{Text: "ＡＢ 火\u200b灾"}, level: LevelMedium,
			rules: []string{"fire/火灾=火\u200b灾"}},
		{name: "repeats add a quarter each", in: Input{Text: "火灾，火灾，火灾"}, level: LevelMedium,
			rules: []string{"fire/火灾=火灾", "fire/火灾=火灾", "fire/火灾=火灾"}},
		{name: "overlapping hits are one mention", in: Input{Text: "涉嫌诈骗钱财"}, level: LevelMedium,
			rules: []string{"fraud/诈骗=诈骗"}},
		{name: "short-reply term in a short field", in: Input{Text: "着火啦！"}, level: LevelMedium,
			rules: []string{"fire/着火啦=着火啦"}},
		{name: "short-reply term in a longer field", in: Input{Text: "楼下有人喊着火啦，原来是烧烤"}, level: LevelLow,
			rules: []string{"fire/火=火"}},
		{name: "short-reply rule in a short field", in: Input{Text: "冒烟了，快跑"}, level: LevelMedium,
			rules: []string{"fire/short_smoke=冒烟了，快跑"}},
		{name: "short-reply rule in a longer field", in: Input{Text: "锅里冒烟了，快跑去关火，还好没事"}, level: LevelLow,
			rules: []string{"fire/火=火"}},
		{name: "nothing", in: Input{Text: "今天天气很好"}, level: LevelNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := checkAssessment(t, a, tt.in)
			if as.Level != tt.level {
				t.Errorf("level = %s (score %v), want %s; evidence %v", as.Level, as.Score, tt.level, rules(as))
			}
			if got := rules(as); !reflect.DeepEqual(got, tt.rules) {
				t.Errorf("evidence = %q, want %q", got, tt.rules)
			}
			if got := reasons(as); !reflect.DeepEqual(got, tt.suppressed) {
				t.Errorf("suppressed = %q, want %q", got, tt.suppressed)
			}
		})
	}
}

func TestAnalyzeScores(t *testing.T) {
	a := testAnalyzer(t)
	tests := []struct {
		text  string
		code  string
		score float64
	}{
		{"小区发生火灾", "fire", 3},
		{"火灾，火灾，火灾", "fire", 3 * 1.5},      // 3 + 2 × 25%
		{"火灾火灾火灾火灾火灾火灾", "fire", 3 * 1.75}, // capped after 3 repeats
		{"电话诈骗", "fraud", 4},               // weight 2 × severity 2
		{"仓库火灾，三人死亡", "fire", 5},           // term 3 + intensifier 2
	}
	for _, tt := range tests {
		as := checkAssessment(t, a, Input{Text: tt.text})
		if got := scoreOf(as, tt.code); got != tt.score {
			t.Errorf("%s: %s score = %v, want %v (%v)", tt.text, tt.code, got, tt.score, rules(as))
		}
	}
	as := checkAssessment(t, a, Input{Title: "火灾", Text: "详情"})
	if as.Score != 6 {
		t.Errorf("title hit scored %v, want 3 × title_weight 2 = 6", as.Score)
	}
	if as.Evidence[0].Field != "title" {
		t.Errorf("evidence field = %q, want title", as.Evidence[0].Field)
	}
}

func TestThresholds(t *testing.T) {
	th := Thresholds{Low: 1, Medium: 3, High: 6, Critical: 10}
	for score, want := range map[float64]string{0: "none", 0.99: "none", 1: "low", 2.9: "low", 3: "medium", 6: "high", 9.9: "high", 10: "critical", 50: "critical"} {
		if got := th.Level(score); got != want {
			t.Errorf("Level(%v) = %s, want %s", score, got, want)
		}
	}
	if _, err := newAnalyzer(Options{Thresholds: Thresholds{Low: 3, Medium: 2, High: 6, Critical: 10}}, os.DirFS("testdata"), "lexicons", nil); err == nil {
		t.Error("thresholds out of order were accepted")
	}
	a, err := newAnalyzer(Options{Thresholds: Thresholds{Low: 0.5, Medium: 1, High: 2, Critical: 2.5}}, os.DirFS("testdata"), "lexicons", nil)
	if err != nil {
		t.Fatal(err)
	}
	if as := a.Analyze(Input{Text: "小区发生火灾"}); as.Level != LevelCritical {
		t.Errorf("level = %s with lowered thresholds, want critical", as.Level)
	}
}

// TestAnalyzeOffsets checks evidence offsets on inputs whose normalised
// form differs from the original in length.
func TestAnalyzeOffsets(t *testing.T) {
	a := testAnalyzer(t)
	tests := []struct {
		in         string
		start, end int
		text       string
	}{
		{"樓道裡發生火災", 5, 7, "火災"},
		{"ＡＢＣ，发生火灾", 6, 8, "火灾"},
		{"\u200b\u200b\u200b火灾", 3, 5, "火灾"},
		{"诈*骗电话", 0, 3, "诈*骗"},
		{"㈱㈱火灾", 2, 4, "火灾"},
		{"😀😀火灾", 2, 4, "火灾"},
		{"\xff\xfe火灾", 2, 4, "火灾"},
	}
	for _, tt := range tests {
		as := checkAssessment(t, a, Input{Text: tt.in})
		if len(as.Evidence) == 0 {
			t.Errorf("%q: no evidence", tt.in)
			continue
		}
		e := as.Evidence[0]
		if e.Start != tt.start || e.End != tt.end || e.Text != tt.text {
			t.Errorf("%q: evidence %d-%d %q, want %d-%d %q", tt.in, e.Start, e.End, e.Text, tt.start, tt.end, tt.text)
		}
	}
}

func TestAnalyzeDeterministic(t *testing.T) {
	a := testAnalyzer(t)
	in := Input{ID: "x", Title: "仓库失火", Text: strings.Repeat("小区火锅店发生火灾，消防员赶到扑救，没有人死亡。电话诈骗转账到安全账户。浓烟从窗户冒出。", 20)}
	first, _ := json.Marshal(a.Analyze(in))
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				got, _ := json.Marshal(a.Analyze(in))
				if string(got) != string(first) {
					errs <- string(got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("assessment differs between runs:\n%s\n%s", first, e)
	}
}

func TestAnalyzeBadInput(t *testing.T) {
	a := testAnalyzer(t)
	big := strings.Repeat("今天小区里发生火灾，消防员赶到。", 10<<20/48) // ~10 MB
	tests := map[string]Input{
		"empty":        {},
		"empty text":   {Title: "火灾"},
		"invalid utf8": {Text: "\xff火\xfe灾\xc3火灾"},
		"binary":       {Text: string([]byte{0, 1, 2, 0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F'})},
		"nul between":  {Text: "火\x00灾"},
		"only spaces":  {Text: "   \n\t  "},
		"10 MB":        {Text: big},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			as := checkAssessment(t, a, in)
			if as.Categories == nil || as.Evidence == nil {
				t.Error("nil categories or evidence: JSON would print null")
			}
			if name == "10 MB" && (as.Level != LevelHigh || len(as.Evidence) > 2*maxEvidence) {
				t.Errorf("10 MB post: level %s, %d evidence items", as.Level, len(as.Evidence))
			}
		})
	}
}

func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{"小区发生火灾", "没有发生火灾", "消防演练火灾", "诈 骗", "樓道火災", "\xff\xfe", "浓烟。窗户", "消防车赶到"} {
		f.Add("", s)
	}
	a := testAnalyzer(f)
	f.Fuzz(func(t *testing.T, title, text string) {
		checkAssessment(t, a, Input{Title: title, Text: text})
	})
}

func TestNegationStopsAtDroppedSpace(t *testing.T) {
	a := testAnalyzer(t)
	// "不是 火灾" keeps its negation (the space follows the cue); in
	// "不是真的吗 火灾" the space ends the clause the cue is in.
	if as := a.Analyze(Input{Text: "不是 火灾"}); as.Level != LevelNone {
		t.Errorf("不是 火灾: level %s, want none", as.Level)
	}
	if as := a.Analyze(Input{Text: "不是吧 火灾"}); as.Level != LevelMedium {
		t.Errorf("不是吧 火灾: level %s, want medium; %v", as.Level, reasons(as))
	}
	// An exclusion is not read across dropped white space (火灾 险情 is
	// no 火灾险), while a dodged hazard word still is (火 灾).
	if as := a.Analyze(Input{Text: "发生火灾 险情严重"}); as.Level != LevelMedium {
		t.Errorf("火灾 险情: level %s, want medium; %v", as.Level, reasons(as))
	}
	if as := a.Analyze(Input{Text: "发生火 灾"}); as.Level != LevelMedium {
		t.Errorf("火 灾: level %s, want medium", as.Level)
	}
}

// TestAnalyzePathological feeds inputs whose hits and cues repeat without
// punctuation: every look-up around a hit must stay local (a quadratic scan
// would take minutes here).
func TestAnalyzePathological(t *testing.T) {
	a := testAnalyzer(t)
	for name, text := range map[string]string{
		"hits and intensifiers": strings.Repeat("火灾死亡", 50000),
		"word exclusions":       strings.Repeat("火灾险火灾", 40000),
		"negations":             strings.Repeat("没有火灾", 50000),
		"rule words":            strings.Repeat("浓烟窗户消防车", 30000),
	} {
		t.Run(name, func(t *testing.T) {
			checkAssessment(t, a, Input{Text: text})
		})
	}
}
