package nlp

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// pinnedPosts are written for this test; pinnedProbs are the embedded
// model's probabilities for them, per model category, as computed before
// the model's scoring was optimised. Faster scoring must give the same
// numbers.
var pinnedPosts = []Input{
	{Title: "小区突发火情", Text: "今天凌晨三点，我们小区七号楼十二层突然起火，浓烟从窗户往外冒，有两位老人被困在楼上，消防员正在架云梯救人。"},
	{Text: "朋友圈里有人说投资养老项目每个月返百分之八的利息，还拉人头给提成，我妈已经投了二十万进去了。"},
	{Text: "周末带孩子去湖边散步，天气晴朗，看到很多人在放风筝，晚上吃了一顿烤鱼。"},
	{Title: "工地事故", Text: "我老公在工地上干活，今天下午从脚手架上摔下来了，腿骨折了，包工头说不是他们的责任。"},
	{Text: "楼下那个路灯坏了快一个月了，晚上黑漆漆的，打了好几次电话都没人来修。ABC123 测试 ２０２６年"},
}

var pinnedProbs = [][]float64{
	{0.006783617, 0.000152969, 0.008520081, 0.000236485, 0.009716164, 0.999659310, 0.000000414, 0.000002979, 0.122796295, 0.000036075, 0.000170290, 0.000092482, 0.000018379, 0.000535822, 0.004791369, 0.000897103, 0.000036271, 0.002493543},
	{0.000424644, 0.000112629, 0.000381642, 0.000138816, 0.000062656, 0.000053380, 0.000000245, 0.000952070, 0.000056239, 0.999876561, 0.000764709, 0.000060648, 0.000136575, 0.001829984, 0.000102376, 0.001979625, 0.000326933, 0.000307361},
	{0.058542341, 0.000785295, 0.025713722, 0.004871403, 0.001318512, 0.000706041, 0.000006149, 0.000356970, 0.033562502, 0.002365383, 0.002426144, 0.000664371, 0.026596745, 0.025387952, 0.001622317, 0.003597092, 0.054812104, 0.008231429},
	{0.000245091, 0.005534261, 0.000136904, 0.000563057, 0.001234720, 0.001036883, 0.000001140, 0.000052714, 0.000108749, 0.000060783, 0.000011528, 0.000403387, 0.000053082, 0.000489705, 0.000577005, 0.007845773, 0.000417903, 0.999735831},
	{0.967756592, 0.000596647, 0.000168405, 0.000563931, 0.000054905, 0.000007907, 0.000000083, 0.000020360, 0.001542679, 0.000058954, 0.002918633, 0.000147229, 0.000030376, 0.000121263, 0.000085338, 0.000727445, 0.000090601, 0.016135004},
}

func TestModelProbabilitiesPinned(t *testing.T) {
	m, err := DefaultModel()
	if err != nil || m == nil {
		t.Skip("no embedded model")
	}
	la, err := newAnalyzer(Options{}, embeddedLexicons, "lexicons", nil)
	if err != nil {
		t.Fatal(err)
	}
	a := la.WithModel(m)
	for i, in := range pinnedPosts {
		got := a.ModelProbabilities(in)
		if i >= len(pinnedProbs) {
			t.Errorf("post %d: %s", i, fmtProbs(got))
			continue
		}
		want := pinnedProbs[i]
		if len(got) != len(want) {
			t.Fatalf("post %d: %d probabilities, want %d", i, len(got), len(want))
		}
		for c := range want {
			if math.Abs(got[c]-want[c]) > 1e-6 {
				t.Errorf("post %d, %s: probability %.9f, want %.9f", i, m.Info.Categories[c], got[c], want[c])
			}
		}
	}
}

func fmtProbs(p []float64) string {
	s := "{"
	for i, v := range p {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%.9f", v)
	}
	return s + "},"
}

// TestRunModelMatchesForEachGram checks that runModel's own n-gram loop
// reads the n-grams of forEachGram (shared with training) with the same
// keys, spans and order (and their domain copies after each field's), and
// that its table finds the rows the file's table holds.
func TestRunModelMatchesForEachGram(t *testing.T) {
	m, err := DefaultModel()
	if err != nil || m == nil {
		t.Skip("no embedded model")
	}
	la, err := newAnalyzer(Options{}, embeddedLexicons, "lexicons", nil)
	if err != nil {
		t.Fatal(err)
	}
	a := la.WithModel(m)
	tab := m.table()
	long := strings.Repeat("工地上的塔吊倒了，三人受伤。ABC-12 号楼　着火 ", 300) // past maxModelRunes
	posts := append([]Input{{Title: "ＡＢＣ１２３ 测试", Text: long}, {Text: "a1 b22 c333 中文x 再见。"}}, pinnedPosts...)
	nc := len(m.Info.Categories)
	for i, in := range posts {
		acc, fields := a.lexiconScore(in)
		seen := map[uint32]bool{}
		var hits []gramHit
		sum := make([]int64, nc)
		dom := 0
		if m.flags().domains {
			dom = postDomain(fields)
		}
		add := func(fm *fieldMatches, k uint32, s, e int) {
			r := fileRow(tab, k)
			if r < 0 {
				return
			}
			if e-s >= 2 {
				hits = append(hits, gramHit{field: fm, start: s, end: e, row: r})
			}
			for c := range nc {
				sum[c] += int64(tab.w[r*nc+c])
			}
		}
		for _, fm := range fields {
			type gram struct {
				k    uint32
				s, e int
			}
			var fresh []gram
			forEachGram(fm.nz, func(k uint32, s, e int) {
				if seen[k] {
					return
				}
				seen[k] = true
				fresh = append(fresh, gram{k, s, e})
				add(fm, k, s, e)
			})
			if dom != 0 {
				for _, g := range fresh {
					add(fm, domainKey(g.k, dom), g.s, g.e)
				}
			}
		}
		run := a.runModel(m, fields, acc)
		same := len(run.hits) == len(hits)
		for j := 0; same && j < len(hits); j++ {
			g, w := run.hits[j], hits[j]
			same = g.field == w.field && g.start == w.start && g.end == w.end &&
				slices.Equal(m.recWeights(g.row), tab.w[w.row*nc:w.row*nc+nc])
		}
		if run.seen.n != len(seen) || !slices.Equal(run.sum, sum) || !same {
			t.Errorf("post %d: %d distinct n-grams, %d hits, sums %v; forEachGram gives %d, %d, %v",
				i, run.seen.n, len(run.hits), run.sum, len(seen), len(hits), sum)
		}
		run.release()
	}
}

// TestSecondaryCategoriesDropped checks the neighbour rule on the team's
// hand-written posts with the embedded model: no category the model alone
// detects lies under secondaryMinShare of the post's strongest detected
// probability, and the rule does drop some (a post that reads as two
// neighbouring categories keeps the stronger).
func TestSecondaryCategoriesDropped(t *testing.T) {
	m, err := DefaultModel()
	if err != nil || m == nil {
		t.Skip("no embedded model")
	}
	la, err := newAnalyzer(Options{NoFingerprint: true}, embeddedLexicons, "lexicons", nil)
	if err != nil {
		t.Fatal(err)
	}
	a := la.WithModel(m)
	exs, err := FrozenCases()
	if err != nil {
		t.Fatal(err)
	}
	dropped := 0
	for _, ex := range exs {
		as := a.Analyze(Input{Title: ex.Title, Text: ex.Text})
		top := 0.0
		for _, c := range as.Categories {
			if c.Level != LevelNone {
				top = max(top, c.Probability)
			}
		}
		for _, c := range as.Categories {
			atThreshold := c.Probability >= m.Threshold(c.Code)
			switch {
			case c.Level != LevelNone && atThreshold && c.Probability < secondaryMinShare*top-1e-4:
				t.Errorf("%s: %s detected at %.4f beside %.4f", ex.ID, c.Code, c.Probability, top)
			case c.Level == LevelNone && atThreshold && c.Probability < secondaryMinShare*top:
				dropped++
			}
		}
	}
	if dropped == 0 {
		t.Errorf("no category of the %d frozen posts was dropped as a neighbour", len(exs))
	}
	t.Logf("%d categories of %d frozen posts dropped as neighbours", dropped, len(exs))
}

// fileRow returns the row of feature key k in the file's table t, or -1.
func fileRow(t fileTable, k uint32) int {
	mask := uint32(len(t.slots) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		switch t.slots[i] {
		case k + 1:
			return int(t.rows[i])
		case 0:
			return -1
		}
	}
}
