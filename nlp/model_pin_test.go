package nlp

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// pinnedPosts are written for this test; pinnedProbs are the embedded
// model's probabilities for them, per model category, as computed when the
// model was embedded. Faster scoring must give the same numbers; a new
// embedded model pins its own.
var pinnedPosts = []Input{
	{Title: "小区突发火情", Text: "今天凌晨三点，我们小区七号楼十二层突然起火，浓烟从窗户往外冒，有两位老人被困在楼上，消防员正在架云梯救人。"},
	{Text: "朋友圈里有人说投资养老项目每个月返百分之八的利息，还拉人头给提成，我妈已经投了二十万进去了。"},
	{Text: "周末带孩子去湖边散步，天气晴朗，看到很多人在放风筝，晚上吃了一顿烤鱼。"},
	{Title: "工地事故", Text: "我老公在工地上干活，今天下午从脚手架上摔下来了，腿骨折了，包工头说不是他们的责任。"},
	{Text: "楼下那个路灯坏了快一个月了，晚上黑漆漆的，打了好几次电话都没人来修。ABC123 测试 ２０２６年"},
}

var pinnedProbs = [][]float64{
	{0.000164192, 0.000477973, 0.000048795, 0.000207094, 0.051687365, 0.999997080, 0.000000007, 0.000003032, 0.000120099, 0.000017386, 0.000203697, 0.000927648, 0.000000154, 0.000020358, 0.001285765, 0.000007214, 0.000101390, 0.001983198},
	{0.000002428, 0.000025668, 0.000003535, 0.000002569, 0.000006595, 0.000012998, 0.000000433, 0.021448827, 0.000001064, 0.999998729, 0.000520573, 0.000028533, 0.000001208, 0.001190786, 0.000016460, 0.003607258, 0.000001434, 0.000005319},
	{0.095156945, 0.001646264, 0.004481153, 0.008723164, 0.009885714, 0.004088457, 0.010308978, 0.000554719, 0.002923452, 0.000194138, 0.008002979, 0.004174451, 0.000921151, 0.005252567, 0.001809380, 0.002254386, 0.003320278, 0.000137471},
	{0.000001060, 0.101690972, 0.000001075, 0.000014574, 0.000131749, 0.000098624, 0.000000100, 0.000006292, 0.000039080, 0.000000082, 0.002007395, 0.000025265, 0.000000416, 0.000763513, 0.000150109, 0.000075503, 0.000005135, 0.997994901},
	{0.997214296, 0.002158164, 0.000167939, 0.000171801, 0.000029024, 0.002978727, 0.000000007, 0.000071757, 0.000058134, 0.000011167, 0.000233195, 0.000302887, 0.000001411, 0.000021492, 0.001690606, 0.001607664, 0.000006058, 0.010984347},
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
