package nlp

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// drills are posts written for this test that read like fires but are
// drills: what analysts of a district would dismiss again and again.
func drills(from, n int) []TrainExample {
	forms := []string{"社区消防演练：%d号楼模拟起火，浓烟由烟饼产生，居民有序疏散", "学校今天上午举行消防演练，模拟教学楼%d层着火，学生十分钟内撤离",
		"物业通知：周六上午%d点消防演练，届时会有烟雾和警报，请勿惊慌"}
	var out []TrainExample
	for i := from; i < from+n; i++ {
		out = append(out, TrainExample{ID: fmt.Sprintf("drill%d", i), Set: "verdicts", Text: fmt.Sprintf(forms[i%len(forms)], i+3)})
	}
	return out
}

func TestTrainStageLearnsFromDismissals(t *testing.T) {
	lex, base := trainTiny(t)
	fire := base.catIndex["fire"]
	meanLogit := func(m *Model, exs []TrainExample) float64 {
		s := 0.0
		for _, ex := range exs {
			x := lex.featurize(Input{Title: ex.Title, Text: ex.Text}, m.flags())
			s += m.logit(fire, &x)
		}
		return s / float64(len(exs))
	}
	var fires []TrainExample
	for _, ex := range tinyExamples() {
		if len(ex.Labels) > 0 {
			fires = append(fires, ex)
		}
	}
	held := drills(100, 12)
	// Analysts dismissed drills and confirmed real fires.
	vs := drills(0, 40)
	for i := range 20 {
		vs = append(vs, TrainExample{ID: fmt.Sprintf("c%d", i), Text: fmt.Sprintf("网友爆料：%d栋居民楼阳台起火，火苗窜得很高，有人被困", i+5), Labels: []string{"fire"}, Known: []string{"fire"}})
	}
	m, err := lex.TrainStage(base, vs, StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Drills not seen in the stage fall; fires fall less: the stage
	// learned what drills say, not that nothing burns.
	dDrill := meanLogit(base, held) - meanLogit(m, held)
	dFire := meanLogit(base, fires) - meanLogit(m, fires)
	if dDrill < 1 || dDrill <= dFire {
		t.Errorf("log-odds of fire fell by %.2f on held-out drills and %.2f on fires; want ≥ 1 and more on drills", dDrill, dFire)
	}
	// Real fires the base model finds are still found.
	d0, err := lex.Decide(base, tinyExamples())
	if err != nil {
		t.Fatal(err)
	}
	d1, err := lex.Decide(m, tinyExamples())
	if err != nil {
		t.Fatal(err)
	}
	if d1.Found < d0.Found-1 || d0.Positives != 40 || d0.Negatives != 40 {
		t.Errorf("fires found: base %d/%d, stage %d/%d", d0.Found, d0.Positives, d1.Found, d1.Positives)
	}
	if m.Info.Base != base.Info.Version || m.Info.Verdicts != 60 || m.Info.Version == base.Info.Version || !strings.Contains(m.Info.Version, "-v") {
		t.Errorf("info: base %q verdicts %d version %q (base version %q)", m.Info.Base, m.Info.Verdicts, m.Info.Version, base.Info.Version)
	}
	for c := range m.Info.Thresholds {
		if m.Info.Thresholds[c] != base.Info.Thresholds[c] || m.Info.Platt[c] != base.Info.Platt[c] {
			t.Errorf("category %d: the stage changed calibration or threshold", c)
		}
	}
	// The stage is an ordinary model file.
	back := throughFile(t, m)
	if a, b := meanLogit(back, held), meanLogit(m, held); back.Info.Base != m.Info.Base || math.Abs(a-b) > 1e-6 {
		t.Errorf("read back: base %q, log-odds %v want %v", back.Info.Base, a, b)
	}
}

func TestTrainStageConfirmationsAnchor(t *testing.T) {
	lex, base := trainTiny(t)
	fire := base.catIndex["fire"]
	var confirmed []TrainExample
	for i := range 30 {
		confirmed = append(confirmed, TrainExample{ID: fmt.Sprintf("v%d", i), Text: fmt.Sprintf("楼下电动车%d辆充电时冒烟着火，烧到了二楼", i+2), Labels: []string{"fire"}, Known: []string{"fire"}})
	}
	// Confirmations alone change nothing: the base filed those leads
	// already, and raising them would raise look-alikes no analyst saw.
	m, err := lex.TrainStage(base, confirmed, StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"楼下电动车充电时冒烟着火", "周末去公园跑了五公里", "化工厂发生爆炸"} {
		x := lex.featurize(Input{Text: text}, base.flags())
		for c := range base.Info.Categories {
			if a, b := base.raw(c, &x), m.raw(c, &x); math.Abs(a-b) > 1e-4 {
				t.Errorf("%s: category %s score %v became %v", text, base.Info.Categories[c], a, b)
			}
		}
	}
	// Beside dismissals they hold the fires' scores up.
	var fires []TrainExample
	for _, ex := range tinyExamples() {
		if len(ex.Labels) > 0 {
			fires = append(fires, ex)
		}
	}
	mean := func(m *Model) float64 {
		s := 0.0
		for _, ex := range fires {
			x := lex.featurize(Input{Text: ex.Text}, m.flags())
			s += m.logit(fire, &x)
		}
		return s / float64(len(fires))
	}
	alone, err := lex.TrainStage(base, drills(0, 40), StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	anchored, err := lex.TrainStage(base, append(drills(0, 40), fires[:20]...), StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if mean(anchored) <= mean(alone) {
		t.Errorf("fire log-odds of fires: %.2f with confirmations, %.2f without (base %.2f)", mean(anchored), mean(alone), mean(base))
	}
}

func TestTrainStageRefusesBadInput(t *testing.T) {
	lex, base := trainTiny(t)
	if _, err := lex.TrainStage(nil, drills(0, 3), StageOptions{}); err == nil {
		t.Error("no base: no error")
	}
	if _, err := lex.TrainStage(base, nil, StageOptions{}); err == nil || !strings.Contains(err.Error(), "no verdicts") {
		t.Errorf("no verdicts: %v", err)
	}
	bad := []TrainExample{{ID: "x", Text: "起火", Labels: []string{"weapons"}}}
	if _, err := lex.TrainStage(base, bad, StageOptions{}); err == nil || !strings.Contains(err.Error(), `"weapons"`) {
		t.Errorf("category outside the model: %v", err)
	}
}

func TestFrozenCasesAreTheValidationPart(t *testing.T) {
	exs, err := FrozenCases()
	if err != nil {
		t.Fatal(err)
	}
	pos, neg := 0, 0
	for _, ex := range exs {
		if !InValidation(ex.ID) {
			t.Fatalf("%s is not in the validation part", ex.ID)
		}
		if len(ex.Labels) > 0 {
			pos++
		} else {
			neg++
		}
	}
	if pos < 100 || neg < 30 {
		t.Errorf("frozen posts: %d positives, %d negatives", pos, neg)
	}
}
