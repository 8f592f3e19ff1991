package nlp

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// TestRegistersFound checks that the lexicons' automaton marks the
// registers of a field, and that a post without their cues has none.
func TestRegistersFound(t *testing.T) {
	an, err := NewAnalyzer(Options{NoFingerprint: true, LexiconOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	idx := map[string]int{}
	for i, r := range registers {
		idx[r.name] = i
	}
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"学校今天上午组织了一次消防疏散演练，同学们有序撤离", []string{"drill"}},
		{"这部电影里的爆炸特效做得太假了", []string{"fiction"}},
		{"网传化工厂爆炸的视频是旧视频，经核实不属实", []string{"rebuttal"}},
		{"上周说的井盖问题已修复，感谢", []string{"resolved"}},
		{"小区三号楼冒黑烟，看着像是着火", nil},
	} {
		_, fields := an.lexiconScore(Input{Text: tc.text})
		var want uint32
		for _, n := range tc.want {
			want |= regBit(idx[n])
		}
		if got := fieldRegisters(fields); got != want {
			t.Errorf("%s: registers %b, want %b", tc.text, got, want)
		}
	}
}

// TestRegisterModelScoresAsTrained trains a small model with the register
// features and checks that scoring (runModel) gives the log-odds training
// computed (featurize), that the file keeps its feature set, and that a
// model without them scores as before.
func TestRegisterModelScoresAsTrained(t *testing.T) {
	lex, err := NewAnalyzer(Options{NoFingerprint: true, LexiconOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	exs := tinyExamples()
	exs = append(exs,
		TrainExample{ID: "d1", Text: "消防演练：模拟仓库起火，员工用灭火器扑救"},
		TrainExample{ID: "d2", Text: "社区开展应急演练，模拟燃气爆炸后疏散居民"},
	)
	m, err := lex.TrainModel(exs, TrainOptions{Epochs: 4, Categories: []string{"fire", "explosion"}, Workers: 2, Registers: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.Info.Features != featureSetCharsReg {
		t.Fatalf("features %q, want %q", m.Info.Features, featureSetCharsReg)
	}
	m2 := throughFile(t, m)
	if !m2.flags().registers || m2.UsesWords() {
		t.Fatalf("feature flags %+v after the file", m2.flags())
	}
	an := lex.WithModel(m2)
	for i, in := range []Input{
		{Text: "消防演练现场，模拟起火点冒出浓烟"},
		{Title: "仓库失火", Text: "工业园一处仓库今天下午着火，火势很大"},
		{Text: "周末去公园跑了五公里"},
	} {
		x := lex.featurize(in, m2.flags())
		plain := lex.featurize(in, featureFlags{})
		if i == 0 && len(x.keys) <= len(plain.keys) {
			t.Errorf("post %d: %d features with registers, %d without", i, len(x.keys), len(plain.keys))
		}
		checkScoresAsTrained(t, an, m2, i, in, x).release()
	}
}

// TestBalanceWeights checks the factor a balanced set's positives get: √ of
// the category's other positives over the set's, between 1 and 10, and
// nothing for a set without positives of the category.
func TestBalanceWeights(t *testing.T) {
	ts := &trainSet{}
	add := func(set string, n int, pos bool) {
		for range n {
			ts.sets = append(ts.sets, set)
			ts.y = append(ts.y, []bool{pos})
		}
	}
	add("news", 400, true)
	add("hw", 25, true)
	add("rare", 1, true)
	add("neg", 1000, false)
	add("hwneg", 50, false)
	idx := make([]int, len(ts.sets))
	for i := range idx {
		idx[i] = i
	}
	w := balanceWeights(ts, 0, idx, 426, []string{"hw", "rare", "hwneg", "news"})
	if got, want := w["hw"], math.Sqrt(401.0/25); math.Abs(got-want) > 1e-9 {
		t.Errorf("hw: %v, want %v", got, want)
	}
	if w["rare"] != 10 {
		t.Errorf("rare: %v, want the cap 10", w["rare"])
	}
	if w["news"] != 1 {
		t.Errorf("news: %v, want 1 (a set that is most of the positives is not down-weighted)", w["news"])
	}
	if _, ok := w["hwneg"]; ok {
		t.Error("a set without positives got a factor")
	}
	if balanceWeights(ts, 0, idx, 426, nil) != nil {
		t.Error("no sets to balance gave factors")
	}
}

// TestDomainModelScoresAsTrained checks the domain features: a model
// trained with them names its feature set, survives its file, scores a post
// as training saw it, and gives a short post and a court record their
// domain's copies of its features while another long post has none.
func TestDomainModelScoresAsTrained(t *testing.T) {
	lex, err := NewAnalyzer(Options{NoFingerprint: true, LexiconOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := lex.TrainModel(tinyExamples(), TrainOptions{Epochs: 4, Categories: []string{"fire"}, Workers: 2, Domains: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := "char1-3-distinct/hash22/len/lex2/dom-court-short120:v5"; m.Info.Features != want {
		t.Fatalf("features %q, want %q", m.Info.Features, want)
	}
	m2 := throughFile(t, m)
	if ff := m2.flags(); !ff.domains || ff.registers || ff.words {
		t.Fatalf("feature flags %+v after the file", ff)
	}
	long := strings.Repeat("工业园一处仓库今天下午着火，火势很大，消防车赶到现场扑救。", 6)
	an := lex.WithModel(m2)
	for i, c := range []struct {
		in  Input
		dom int
	}{
		{Input{Title: "仓库失火", Text: "工业园一处仓库今天下午着火，火势很大"}, domainShort},
		{Input{Text: "周末去公园跑了五公里"}, domainShort},
		{Input{Text: long}, 0},
		{Input{Text: "公诉机关指控，被告人在仓库内吸烟引发火灾。" + long}, domainCourt},
	} {
		in := c.in
		_, fields := lex.lexiconScore(in)
		if got := postDomain(fields); got != c.dom {
			t.Errorf("post %d: domain %d, want %d", i, got, c.dom)
		}
		x := lex.featurize(in, m2.flags())
		plain := lex.featurize(in, featureFlags{})
		if (c.dom != 0) != (len(x.keys) > len(plain.keys)) {
			t.Errorf("post %d (domain %d): %d features with domains, %d without", i, c.dom, len(x.keys), len(plain.keys))
		}
		checkScoresAsTrained(t, an, m2, i, in, x).release()
	}
	for _, fs := range []string{featureSetChars, featureSetWordsReg} {
		ff, ok := featureSetFlags(fs)
		if !ok || ff.domains {
			t.Errorf("%s: flags %+v, %v", fs, ff, ok)
		}
		ff.domains = true
		back, ok := featureSetFlags(ff.featureSetName())
		if !ok || back != ff {
			t.Errorf("%s with domains: %q reads back as %+v, %v", fs, ff.featureSetName(), back, ok)
		}
	}
	if _, ok := featureSetFlags("char1-3-distinct/hash22/len/lex9/dom-court-short120:v5"); ok {
		t.Error("an unknown set with the domain suffix was accepted")
	}
}

// A model trained with the severity cues' features names its feature set
// (with and without the domain copies), survives its file, scores a post
// as training saw it, gives a post with cues their features (a negated cue
// gives none), and finds the cues once for both its features and the level.
func TestCueModelScoresAsTrained(t *testing.T) {
	lex, err := NewAnalyzer(Options{NoFingerprint: true, LexiconOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	exs := tinyExamples()
	for i := range 10 {
		exs = append(exs, TrainExample{ID: fmt.Sprintf("c%d", i), Set: "t", Labels: []string{"fire"},
			Text: fmt.Sprintf("我家楼下%d楼冒黑烟了，有人被困在里面喊救命", i+2)})
	}
	for _, c := range []struct {
		domains bool
		want    string
	}{
		{false, "char1-3-distinct/hash22/len/lex2/sev1:v6"},
		{true, "char1-3-distinct/hash22/len/lex2/sev1/dom-court-short120:v6"},
	} {
		m, err := lex.TrainModel(exs, TrainOptions{Epochs: 4, Categories: []string{"fire"}, Workers: 2, Cues: true, Domains: c.domains})
		if err != nil {
			t.Fatal(err)
		}
		if m.Info.Features != c.want {
			t.Fatalf("features %q, want %q", m.Info.Features, c.want)
		}
		m2 := throughFile(t, m)
		if ff := m2.flags(); !ff.cues || ff.domains != c.domains || ff.registers || ff.words {
			t.Fatalf("feature flags %+v after the file", ff)
		}
		an := lex.WithModel(m2)
		for i, tc := range []struct {
			text string
			cues int // features the cues add
		}{
			{"楼下冒黑烟了，有人被困在里面", 2},      // trapped, trapped@critical
			{"有人被困在里面。楼上也有人被困", 2},     // each feature once
			{"楼下冒黑烟了，没有人被困，也无人员伤亡", 0}, // negated
			{"周末去公园跑了五公里", 0},
		} {
			in := Input{Text: tc.text}
			flags := m2.flags()
			x := lex.featurize(in, flags)
			flags.cues = false
			plain := lex.featurize(in, flags)
			if got := len(x.keys) - len(plain.keys); got != tc.cues*(1+btoi(c.domains)) {
				t.Errorf("%q (domains %v): the cues add %d features, want %d", tc.text, c.domains, got, tc.cues*(1+btoi(c.domains)))
			}
			run := checkScoresAsTrained(t, an, m2, i, in, x)
			leveled := slices.ContainsFunc(run.cues, func(c SeverityCue) bool { return c.Kind != "negated" })
			if !run.cuesDone || leveled != (tc.cues > 0) {
				t.Errorf("%q: the run found cues %+v (done %v)", tc.text, run.cues, run.cuesDone)
			}
			run.release()
		}
		as := an.Analyze(Input{Text: "小区3号楼起火，浓烟滚滚，有人被困在里面"})
		if len(as.Severity) == 0 || as.Severity[0].Field != "text" {
			t.Errorf("cues of an assessment with a cue model: %+v", as.Severity)
		}
	}
	for i := range 16 {
		ff := featureFlags{words: i&1 != 0, registers: i&2 != 0, domains: i&4 != 0, cues: i&8 != 0}
		if back, ok := featureSetFlags(ff.featureSetName()); !ok || back != ff {
			t.Errorf("%+v: %q reads back as %+v, %v", ff, ff.featureSetName(), back, ok)
		}
	}
	if _, ok := featureSetFlags("char1-3-distinct/hash22/len/lex9/sev1:v6"); ok {
		t.Error("an unknown set with the cues' suffix was accepted")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
