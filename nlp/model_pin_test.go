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
	{0.000497945, 0.000361173, 0.000579510, 0.000077816, 0.089767285, 0.999988917, 0.000000821, 0.000011377, 0.001208696, 0.000002184, 0.001233084, 0.003959396, 0.000000756, 0.000024313, 0.001970485, 0.000027053, 0.000322987, 0.000819248},
	{0.000054623, 0.000204590, 0.000061961, 0.000036878, 0.000088267, 0.000151976, 0.000026410, 0.047713123, 0.000008285, 0.999925420, 0.004500457, 0.000181288, 0.000051162, 0.000590570, 0.000068297, 0.004774808, 0.000039131, 0.000239984},
	{0.069468857, 0.003924695, 0.013145412, 0.011872124, 0.017514257, 0.006384009, 0.024277383, 0.001156745, 0.007232796, 0.000524687, 0.009724454, 0.008403488, 0.006304674, 0.017661789, 0.004204899, 0.003920344, 0.012303538, 0.000945575},
	{0.000009005, 0.132678177, 0.000025126, 0.000034006, 0.002611595, 0.000802131, 0.000002868, 0.000035513, 0.000004365, 0.000006800, 0.002253882, 0.000217860, 0.000004416, 0.000120808, 0.000387068, 0.000435994, 0.000014398, 0.998044907},
	{0.990008777, 0.006891215, 0.000018820, 0.000494131, 0.000022302, 0.003750704, 0.000000464, 0.000100168, 0.000213070, 0.000013283, 0.000915155, 0.002020599, 0.000004002, 0.000099630, 0.002541227, 0.001225307, 0.000003006, 0.015254464},
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
