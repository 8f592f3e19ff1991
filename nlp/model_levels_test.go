package nlp

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestCombineLevel(t *testing.T) {
	cases := []struct {
		code, rubric string
		learned      string
		want         string
	}{
		{"fire", LevelMedium, LevelCritical, LevelCritical},     // learned raises freely
		{"fire", LevelMedium, LevelLow, LevelMedium},            // never below the base (the lead level)
		{"fire", LevelCritical, LevelLow, LevelCritical},        // the rubric's cues keep their word
		{"fire", LevelCritical, LevelMedium, LevelCritical},     // ditto
		{"fire", LevelHigh, LevelHigh, LevelHigh},               // agreement
		{"city_management", LevelLow, LevelLow, LevelLow},       // its base is low
		{"city_management", LevelLow, LevelMedium, LevelMedium}, // raised
		{"city_management", LevelHigh, LevelLow, LevelHigh},     // the rubric's level
		{"self_harm", LevelMedium, LevelHigh, LevelHigh},
	}
	for _, c := range cases {
		if got := combineLevel(c.code, c.rubric, LevelRank(c.learned)); got != c.want {
			t.Errorf("%s, rubric %s, learned %s: %s, want %s", c.code, c.rubric, c.learned, got, c.want)
		}
	}
}

// levelExamples are the fire posts of tinyExamples at medium, and as many
// again in which someone also waves from a window for help, which no
// rubric cue names, at critical.
func levelExamples() []LevelExample {
	waving := []string{"，%d楼窗口有人一直挥衣服", "，有人在窗户那边挥手，下不来，已经%d分钟", "，阳台上有人拿毛巾使劲挥，%d楼"}
	var exs []LevelExample
	for i, ex := range tinyExamples() {
		if len(ex.Labels) == 0 {
			continue
		}
		exs = append(exs, LevelExample{ID: ex.ID, Text: ex.Text, Level: LevelMedium, Labels: ex.Labels})
		if i%4 == 0 {
			exs = append(exs, LevelExample{ID: ex.ID + "w", Text: ex.Text + fmt.Sprintf(waving[i%3], i+3), Level: LevelCritical, Labels: ex.Labels})
		}
	}
	return exs
}

func TestLevelModelLearnsAndRoundTrips(t *testing.T) {
	lex, m := trainTiny(t)
	exs := levelExamples()
	lm, err := lex.TrainLevels(exs, 0, TrainOptions{Epochs: 20, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if lm.Posts != len(exs) || len(lm.Keys) == 0 || lm.Figures == nil || lm.Figures.Posts != len(exs) {
		t.Fatalf("level model: %d posts, %d keys, figures %+v", lm.Posts, len(lm.Keys), lm.Figures)
	}
	if lm.Figures.Exact <= lm.Figures.RubricExact {
		t.Errorf("out of fold the learned levels should beat the rubric on posts it cannot read: %+v", lm.Figures)
	}
	withLevels := m.WithLevels(lm)
	if withLevels.Info.Version == m.Info.Version || !strings.HasPrefix(withLevels.Info.Version, m.Info.Version+"-l") {
		t.Errorf("version %q should be %q with a level suffix", withLevels.Info.Version, m.Info.Version)
	}
	if again := withLevels.WithLevels(lm); again.Info.Version != withLevels.Info.Version {
		t.Errorf("levels attached twice: version %q, want %q", again.Info.Version, withLevels.Info.Version)
	}
	if off := withLevels.WithLevels(nil); off.Info.Version != m.Info.Version || off.Info.Levels != nil {
		t.Errorf("levels taken off: version %q levels %v, want %q", off.Info.Version, off.Info.Levels, m.Info.Version)
	}
	back := throughFile(t, withLevels)
	if back.Info.Levels == nil || back.Info.Version != withLevels.Info.Version || len(back.Info.Levels.Keys) != len(lm.Keys) {
		t.Fatalf("read back: version %q, levels %v", back.Info.Version, back.Info.Levels != nil)
	}
	in := Input{ID: "x", Text: "小区18号楼起火，浓烟滚滚，消防车已经赶到，五楼窗口有人在挥衣服"}
	rubric := lex.WithModel(m).Analyze(in)
	learned := lex.WithModel(back).Analyze(in)
	if len(rubric.Categories) == 0 || rubric.Categories[0].Code != "fire" || rubric.Level != LevelMedium {
		t.Fatalf("rubric alone: level %s, categories %+v (the test needs a medium fire)", rubric.Level, rubric.Categories)
	}
	if learned.Level != LevelCritical {
		t.Errorf("with learned levels: %s, want critical", learned.Level)
	}
	// The level says why: the phrases the learned level read, as cues.
	var why []string
	for _, c := range learned.Severity {
		if c.Kind != "learned" {
			continue
		}
		if c.Level != LevelCritical || c.Field != "text" || string([]rune(in.Text)[c.Start:c.End]) != c.Text {
			t.Errorf("learned cue %+v: want level critical, field text and its offsets", c)
		}
		why = append(why, c.Text)
	}
	if !strings.Contains(strings.Join(why, " "), "挥") {
		t.Errorf("learned cues %q should show the waving", why)
	}
	for _, c := range rubric.Severity {
		if c.Kind == "learned" {
			t.Errorf("rubric alone lists a learned cue: %+v", c)
		}
	}
	// Detection is the category model's alone.
	for i := range rubric.Categories {
		r, l := rubric.Categories[i], learned.Categories[i]
		if r.Code != l.Code || r.Probability != l.Probability {
			t.Errorf("categories differ: %+v vs %+v", rubric.Categories, learned.Categories)
		}
	}
	// Scoring reads the heads as training computed their input.
	for i, ex := range exs[:12] {
		in := Input{ID: ex.ID, Text: ex.Text}
		acc, fields := lex.lexiconScoreCues(in, true)
		cues := fieldCues(fields)
		x := lex.levelFeatures(fields, acc, cues)
		want := back.Info.Levels.scores(&x)
		run := lex.runModel(back, fields, acc)
		got := lex.scoresRun(back.Info.Levels, run, fields, acc, cues)
		run.release()
		for h := range want {
			if math.Abs(got[h]-want[h]) > 1e-6*max(1, math.Abs(want[h])) {
				t.Errorf("post %d, head %s: scoring %v, training %v", i, levelHeads[h], got[h], want[h])
			}
		}
	}
	calm := lex.WithModel(back).Analyze(Input{ID: "y", Text: "小区23号楼起火，浓烟滚滚，消防车已经赶到"})
	if calm.Level != LevelMedium {
		t.Errorf("a fire without anyone waving: %s, want medium", calm.Level)
	}
	for _, c := range calm.Severity {
		if c.Kind == "learned" {
			t.Errorf("a level the learned part did not raise lists a learned cue: %+v", c)
		}
	}
}

func TestTrainLevelsRefusesBadInput(t *testing.T) {
	lex, err := NewAnalyzer(Options{NoFingerprint: true, LexiconOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lex.TrainLevels(nil, 0, TrainOptions{}); err == nil || !strings.Contains(err.Error(), "no posts") {
		t.Errorf("no posts: %v", err)
	}
	bad := []LevelExample{{ID: "a", Text: "着火了", Level: "severe", Labels: []string{"fire"}}}
	if _, err := lex.TrainLevels(bad, 0, TrainOptions{}); err == nil || !strings.Contains(err.Error(), `post a: level "severe"`) {
		t.Errorf("unknown level: %v", err)
	}
}

// A model file whose level model is of another version, or damaged, is
// refused with one line saying so.
func TestModelFileRefusesForeignLevels(t *testing.T) {
	_, m := trainTiny(t)
	for name, c := range map[string]struct {
		lm   *LevelModel
		want string
	}{
		"other features": {&LevelModel{Features: "char1-5:l9"}, `level features "char1-5:l9", expected`},
		"short weights":  {&LevelModel{Features: levelFeatureSet, Keys: []uint32{1, 2}, Weights: []float32{1}}, "keys and weights disagree"},
		"unsorted keys":  {&LevelModel{Features: levelFeatureSet, Keys: []uint32{2, 1}, Weights: make([]float32, 6)}, "out of order"},
	} {
		var buf bytes.Buffer
		if _, err := m.WithLevels(c.lm).WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		_, err := DecodeModel(&buf)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line with %q", name, err, c.want)
		}
	}
}

// pinnedLevelScores are the embedded model's level heads' raw scores for
// pinnedPosts (model_pin_test.go), as computed when the heads were
// embedded. Faster scoring must give the same numbers; new heads pin their
// own.
var pinnedLevelScores = [][3]float64{
	{7.226784380, 8.436729840, 5.145628265},
	{4.996103229, 2.128374157, -4.308055421},
	{-1.714555727, -4.583205615, -4.650501969},
	{4.425348826, 3.198513498, -6.307375835},
	{-0.549629541, -3.470979783, -6.199961858},
}

func TestLevelScoresPinned(t *testing.T) {
	m, err := DefaultModel()
	if err != nil || m == nil || m.Info.Levels == nil {
		t.Skip("no embedded model with learned levels")
	}
	la, err := newAnalyzer(Options{}, embeddedLexicons, "lexicons", nil)
	if err != nil {
		t.Fatal(err)
	}
	a := la.WithModel(m)
	for i, in := range pinnedPosts {
		acc, fields := a.lexiconScore(in)
		run := a.runModel(m, fields, acc)
		got := a.scoresRun(m.Info.Levels, run, fields, acc, fieldCues(fields))
		run.release()
		if i >= len(pinnedLevelScores) {
			t.Errorf("post %d: {%.9f, %.9f, %.9f},", i, got[0], got[1], got[2])
			continue
		}
		for h, want := range pinnedLevelScores[i] {
			if math.Abs(got[h]-want) > 1e-6 {
				t.Errorf("post %d, head %s: %.9f, want %.9f", i, levelHeads[h], got[h], want)
			}
		}
	}
}
