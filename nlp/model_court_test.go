package nlp

import (
	"bytes"
	"strings"
	"testing"
)

// courtSet is a training set of probabilities made up for the threshold
// tests: everyday posts whose positives score 0.3–0.9 and whose negatives
// score at most 0.2, beside court records whose positives score 0.6–0.95
// and ten of whose 40 negatives score 0.5 (records of another charge that
// tell of the same kind of event).
func courtSet(courtPositives int) ([][]float64, *trainSet) {
	ts := &trainSet{nCats: 1}
	var p []float64
	add := func(prob float64, dom int, pos bool, set string) {
		ts.x = append(ts.x, sparseVec{dom: dom})
		ts.y = append(ts.y, []bool{pos})
		ts.neg = append(ts.neg, !pos)
		ts.sets = append(ts.sets, set)
		p = append(p, prob)
	}
	for i := range 30 {
		add(0.3+0.02*float64(i), 0, true, "posts")
	}
	for i := range 40 {
		add(0.2-0.004*float64(i), 0, false, "news")
	}
	for i := range courtPositives {
		add(0.6+0.35*float64(i)/float64(courtPositives), domainCourt, true, "court")
	}
	for i := range 40 {
		prob := 0.05
		if i < 10 {
			prob = 0.5
		}
		add(prob, domainCourt, false, "court_neg")
	}
	return [][]float64{p}, ts
}

func courtIndex(ts *trainSet, court bool) []int {
	var idx []int
	for i := range ts.x {
		if (ts.x[i].dom == domainCourt) == court {
			idx = append(idx, i)
		}
	}
	return idx
}

// Chosen on all posts, the court negatives at 0.5 lift the threshold above
// the everyday positives at 0.3–0.5; chosen per register, only the court
// records' threshold goes above them.
func TestCourtThresholdsPerRegister(t *testing.T) {
	opts := TrainOptions{}
	opts.defaults()
	probs, ts := courtSet(25)
	all := pickThresholds(probs, ts, nil, &opts, nil)
	other := pickThresholds(probs, ts, courtIndex(ts, false), &opts, nil)
	court := pickThresholds(probs, ts, courtIndex(ts, true), &opts, other)
	if all[0] <= 0.5 {
		t.Errorf("one threshold for all posts %v, want above the court negatives' 0.5", all[0])
	}
	if other[0] != 0.3 {
		t.Errorf("everyday posts' threshold %v, want 0.3 (their lowest positive, above every negative)", other[0])
	}
	if court[0] <= 0.5 || court[0] > 0.6 {
		t.Errorf("court threshold %v, want just above 0.5", court[0])
	}
	// Too few court positives for a threshold of their own: the court
	// records start from the others' threshold, and their negatives'
	// share is still capped.
	probs, ts = courtSet(5)
	other = pickThresholds(probs, ts, courtIndex(ts, false), &opts, nil)
	court = pickThresholds(probs, ts, courtIndex(ts, true), &opts, other)
	if court[0] <= 0.5 {
		t.Errorf("court threshold from 5 positives %v: the court negatives at 0.5 are over the set cap", court[0])
	}
	opts.MaxSetFPR = 0.5
	if court = pickThresholds(probs, ts, courtIndex(ts, true), &opts, other); court[0] != other[0] {
		t.Errorf("court threshold from 5 positives, no cap: %v, want the others' %v", court[0], other[0])
	}
}

// A model with court thresholds keeps them through its file, scores a
// court record against them and every other post against the others, and a
// header whose court thresholds do not fit is refused.
func TestCourtThresholdsScoreAndFile(t *testing.T) {
	lex, err := NewAnalyzer(Options{NoFingerprint: true, LexiconOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := lex.TrainModel(tinyExamples(), TrainOptions{Epochs: 4, Categories: []string{"fire"}, Workers: 2, Domains: true, CourtThresholds: true})
	if err != nil {
		t.Fatal(err)
	}
	// The tiny set has no court record: the court threshold is the others'.
	if len(m.Info.CourtThresholds) != 1 || m.Info.CourtThresholds[0] != m.Info.Thresholds[0] {
		t.Fatalf("thresholds %v, court %v", m.Info.Thresholds, m.Info.CourtThresholds)
	}
	// Everyday posts from 0.5, court records never.
	m.Info.Thresholds[0], m.Info.CourtThresholds[0] = 0.5, 1.5
	back := throughFile(t, m)
	if len(back.Info.CourtThresholds) != 1 || back.Info.CourtThresholds[0] != 1.5 {
		t.Fatalf("court thresholds after the file: %v", back.Info.CourtThresholds)
	}
	an := lex.WithModel(back)
	fact := "工业园一处仓库着火，烟很大"
	plain := an.Analyze(Input{ID: "p", Text: fact})
	court := an.Analyze(Input{ID: "c", Text: "公诉机关指控，" + fact})
	if !detects(plain, "fire") {
		t.Fatalf("everyday post not detected at threshold %v: %+v", back.Info.Thresholds, plain.Categories)
	}
	if detects(court, "fire") {
		t.Errorf("court record detected above its threshold 1.5: %+v", court.Categories)
	}
	if !CourtRecord(Input{Text: "公诉机关指控，" + fact}) || !CourtRecord(Input{Title: "被告人张某放火案", Text: fact}) || CourtRecord(Input{Text: fact}) {
		t.Error("CourtRecord does not tell the court records from the everyday post")
	}
	same := *back
	same.Info.CourtThresholds = []float64{0.5}
	if c := lex.WithModel(&same).Analyze(Input{ID: "c", Text: "公诉机关指控，" + fact}); !detects(c, "fire") {
		t.Errorf("court record not detected at the everyday threshold either: %+v", c.Categories)
	}
	if w := back.WithMinThreshold(0.2); w.Info.CourtThresholds[0] != 1.5 || len(w.Info.CourtThresholds) != 1 {
		t.Errorf("WithMinThreshold court thresholds %v", w.Info.CourtThresholds)
	}

	for name, bad := range map[string]func(*Model){
		"one per category": func(m *Model) { m.Info.CourtThresholds = []float64{0.5, 0.5} },
		"no domains":       func(m *Model) { m.Info.Features = featureSetChars },
	} {
		c := *m
		c.Info.CourtThresholds = []float64{0.5}
		bad(&c)
		var buf bytes.Buffer
		if _, err := c.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeModel(&buf); err == nil || !strings.Contains(err.Error(), "court thresholds") {
			t.Errorf("%s: error %v, want one about court thresholds", name, err)
		}
	}
}

func detects(as *Assessment, code string) bool {
	for _, c := range as.Categories {
		if c.Code == code && c.Level != LevelNone {
			return true
		}
	}
	return false
}
