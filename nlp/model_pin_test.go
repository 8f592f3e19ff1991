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
	{0.000216697, 0.000450481, 0.000056439, 0.000247153, 0.050148493, 0.999997055, 0.000000013, 0.000002746, 0.000197240, 0.000019412, 0.000210391, 0.000894276, 0.000000127, 0.000036346, 0.001373343, 0.000008857, 0.000137341, 0.005715398},
	{0.000010881, 0.000062085, 0.000009736, 0.000010155, 0.000025678, 0.000044393, 0.000004506, 0.025422665, 0.000000834, 0.999992694, 0.001129342, 0.000171774, 0.000009815, 0.004369489, 0.000038362, 0.004892955, 0.000005912, 0.000070825},
	{0.052795338, 0.001920023, 0.004271165, 0.010117843, 0.009811739, 0.006488499, 0.009530203, 0.000739919, 0.004064229, 0.000208263, 0.009630514, 0.004077247, 0.001943274, 0.009717966, 0.002163084, 0.002825314, 0.005042435, 0.000129043},
	{0.000003000, 0.157896243, 0.000001493, 0.000026309, 0.000610208, 0.000210214, 0.000001525, 0.000017265, 0.000039039, 0.000000473, 0.002627894, 0.000033880, 0.000001886, 0.002223586, 0.000262731, 0.000161681, 0.000003389, 0.999655319},
	{0.996356718, 0.006720434, 0.000645585, 0.000236256, 0.000095254, 0.006288747, 0.000000042, 0.000149006, 0.000151574, 0.000110056, 0.000453399, 0.000984821, 0.000003524, 0.000071009, 0.005426020, 0.004991011, 0.000009356, 0.011931982},
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
