package nlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tinyExamples are posts written for this test: fires of several kinds
// beside everyday posts that share none of their words.
func tinyExamples() []TrainExample {
	fires := []string{"小区%d号楼起火，浓烟滚滚，消防车已经赶到", "工业园一处仓库%d点左右着火，火势很大", "今天下午%d点，老街一家饭店厨房失火，明火窜出窗外",
		"村里柴草堆着火了，烧了%d分钟才扑灭", "高速上一辆货车自燃起火，%d公里外都能看到黑烟"}
	calm := []string{"周末去公园跑了%d公里，天气很好", "这家店的面条很好吃，排队%d分钟也值得", "孩子期末考了%d分，全家都很开心",
		"新买的手机用了%d天，电池很耐用", "小区门口新开了一家花店，%d元一束"}
	var out []TrainExample
	for i := range 40 {
		out = append(out, TrainExample{ID: fmt.Sprintf("f%d", i), Set: "t", Text: fmt.Sprintf(fires[i%len(fires)], i+2), Labels: []string{"fire"}})
		out = append(out, TrainExample{ID: fmt.Sprintf("n%d", i), Set: "neg", Text: fmt.Sprintf(calm[i%len(calm)], i+2)})
	}
	return out
}

func trainTiny(t *testing.T) (*Analyzer, *Model) {
	t.Helper()
	lex, err := NewAnalyzer(Options{NoFingerprint: true, LexiconOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := lex.TrainModel(tinyExamples(), TrainOptions{Epochs: 4, Categories: []string{"fire", "explosion"}, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return lex, m
}

func TestModelTrainDetectsAndExplains(t *testing.T) {
	lex, m := trainTiny(t)
	if m.Size() == 0 || len(m.Info.Thresholds) != 2 || !strings.HasPrefix(m.Info.Version, "riskmine-") {
		t.Fatalf("model: %d rows, thresholds %v, version %q", m.Size(), m.Info.Thresholds, m.Info.Version)
	}
	an := lex.WithModel(m)
	text := "学校旁边的一栋居民楼起火了，火势很大"
	as := an.Analyze(Input{ID: "x", Text: text})
	if as.Level == LevelNone || len(as.Categories) == 0 || as.Categories[0].Code != "fire" {
		t.Fatalf("fire post: level %s, categories %+v", as.Level, as.Categories)
	}
	if p := as.Categories[0].Probability; p < m.Threshold("fire") {
		t.Fatalf("probability %v below the threshold %v", p, m.Threshold("fire"))
	}
	found := false
	runes := []rune(text)
	for _, e := range as.Evidence {
		if e.Rule != "model/fire" {
			continue
		}
		found = true
		if e.Field != "text" || string(runes[e.Start:e.End]) != e.Text || e.Weight <= 0 {
			t.Errorf("model evidence %+v does not point at its text", e)
		}
	}
	if !found {
		t.Errorf("no model/fire evidence in %+v", as.Evidence)
	}
	if e := an.Analyze(Input{ID: "e"}); e.Level != LevelNone || len(e.Categories) != 0 {
		t.Errorf("empty post: level %s, categories %+v", e.Level, e.Categories)
	}
	calm := an.Analyze(Input{ID: "y", Text: "周末和朋友去公园跑步，天气很好"})
	if calm.Level != LevelNone {
		t.Errorf("everyday post: level %s, categories %+v", calm.Level, calm.Categories)
	}
}

func TestModelFileRoundTripAndBadFiles(t *testing.T) {
	lex, m := trainTiny(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.rmm")
	if err := m.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Text: "厂房起火，消防车赶到"}
	a1, a2 := lex.WithModel(m).Analyze(in), lex.WithModel(back).Analyze(in)
	if fmt.Sprint(a1.Categories) != fmt.Sprint(a2.Categories) || back.Info.Version != m.Info.Version {
		t.Fatalf("read back differs: %+v vs %+v", a1.Categories, a2.Categories)
	}
	raw, _ := os.ReadFile(path)
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	regzip := func(b []byte) []byte {
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		zw.Write(b)
		zw.Close()
		return out.Bytes()
	}
	flipped := bytes.Clone(plain)
	flipped[len(flipped)-10] ^= 0x40
	cases := map[string]struct {
		b    []byte
		want string
	}{
		"truncated":      {raw[:len(raw)/2], "truncated"},
		"foreign":        {[]byte("PK\x03\x04 a zip file, not a model"), "not a riskmine model"},
		"empty":          {nil, "not a riskmine model"},
		"flipped":        {regzip(flipped), "checksum mismatch"},
		"trailing":       {regzip(append(bytes.Clone(plain), 0, 0, 0, 0)), "length"},
		"cut before sum": {regzip(plain[:len(plain)-2]), "no checksum"},
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	for name, c := range cases {
		p := filepath.Join(dir, name)
		os.WriteFile(p, c.b, 0o644)
		_, err := ReadModel(p)
		if err == nil {
			t.Errorf("%s file read without error", name)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, p) || strings.Contains(msg, "\n") || !strings.Contains(msg, c.want) {
			t.Errorf("%s: error %q should name the file and say %q on one line", name, msg, c.want)
		}
	}
	if _, err := ReadModel(filepath.Join(dir, "missing.rmm")); err == nil {
		t.Error("missing file read without error")
	}
}

func TestChooseThresholdKeepsFPR(t *testing.T) {
	p := []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2}
	y := []bool{true, true, false, true, false, true, false, false}
	neg := []bool{false, false, true, false, true, false, true, true}
	th, f := chooseThreshold(p, y, neg, 0.25, 0.6)
	// At 0.6: 3 of 4 positives, one of four negatives (0.25), precision 0.75.
	if th != 0.6 || f.Recall != 0.75 || f.FPR != 0.25 {
		t.Fatalf("threshold %v, figures %+v", th, f)
	}
}

// An interrupted training (SIGTERM on `model train`) stops and says so
// instead of running on and writing a model.
func TestTrainModelStopsWhenCancelled(t *testing.T) {
	lex, err := NewAnalyzer(Options{NoFingerprint: true, LexiconOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m, err := lex.TrainModel(tinyExamples(), TrainOptions{Epochs: 4, Categories: []string{"fire"}, Workers: 2, Context: ctx})
	if !errors.Is(err, context.Canceled) || m != nil {
		t.Fatalf("TrainModel on a cancelled context = %v, %v; expected no model and context.Canceled", m, err)
	}
}

// TestModelPruned checks model pruning: rows of less effect than the bound
// go, the others keep their weights, the result survives its file and
// names the bound, and a bound of 0 changes nothing.
func TestModelPruned(t *testing.T) {
	lex, m := trainTiny(t)
	if m.Pruned(0) != m {
		t.Error("a bound of 0 made a new model")
	}
	nc := len(m.Info.Categories)
	effect := func(m *Model, r int) float64 {
		e := 0.0
		for c, v := range m.recWeights(r) {
			e = max(e, math.Abs(float64(v)*float64(m.scale[c])*m.Info.Platt[c][0]))
		}
		return e
	}
	var effects []float64
	for r := range m.Size() {
		effects = append(effects, effect(m, r))
	}
	slices.Sort(effects)
	bound := effects[len(effects)/2] // about half the rows go
	p := m.Pruned(bound)
	want := 0
	for _, e := range effects {
		if e >= bound {
			want++
		}
	}
	if p.Size() != want || p.Size() >= m.Size() {
		t.Fatalf("%d rows kept of %d, want %d", p.Size(), m.Size(), want)
	}
	for r := range m.Size() {
		k := m.recKey(r)
		pr := p.lookup(k)
		if kept := effect(m, r) >= bound; kept != (pr >= 0) {
			t.Fatalf("key %d (effect %v): kept %v", k, effect(m, r), pr >= 0)
		}
		if pr >= 0 && !slices.Equal(p.recWeights(pr), m.recWeights(r)) {
			t.Fatalf("key %d: weights %v, want %v", k, p.recWeights(pr), m.recWeights(r))
		}
	}
	back := throughFile(t, p)
	if back.Info.Pruned != bound || back.Size() != p.Size() || !strings.HasSuffix(back.Info.Version, fmt.Sprintf("-p%g", bound)) {
		t.Errorf("read back: pruned %v, %d rows, version %s", back.Info.Pruned, back.Size(), back.Info.Version)
	}
	in := Input{Text: "工业园一处仓库今天下午着火，火势很大"}
	full, pruned := lex.WithModel(m).ModelProbabilities(in), lex.WithModel(back).ModelProbabilities(in)
	for c := range nc {
		if math.Abs(full[c]-pruned[c]) > 0.2 {
			t.Errorf("%s: %v unpruned, %v pruned", m.Info.Categories[c], full[c], pruned[c])
		}
	}
}

// throughFile writes m and reads it back.
func throughFile(t *testing.T, m *Model) *Model {
	t.Helper()
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := DecodeModel(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// checkScoresAsTrained checks that an's scoring of in with m (runModel)
// gives the raw scores of the features training computes (x, featurize),
// and returns the run for further checks; the caller releases it.
func checkScoresAsTrained(t *testing.T, an *Analyzer, m *Model, i int, in Input, x sparseVec) *modelRun {
	t.Helper()
	acc, fields := an.lexiconScore(in)
	run := an.runModel(m, fields, acc)
	for c := range m.Info.Categories {
		if want := m.raw(c, &x); math.Abs(run.raw[c]-want) > 1e-6*max(1, math.Abs(want)) {
			t.Errorf("post %d, %s: runModel %v, featurize %v", i, m.Info.Categories[c], run.raw[c], want)
		}
	}
	return run
}

// The same posts and options train the same model; another seed orders the
// passes differently and gives other weights.
func TestTrainModelSeed(t *testing.T) {
	lex, err := NewAnalyzer(Options{NoFingerprint: true, LexiconOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	train := func(seed uint64) *Model {
		m, err := lex.TrainModel(tinyExamples(), TrainOptions{Epochs: 3, Categories: []string{"fire"}, Workers: 2, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b, c := train(0), train(1), train(2)
	if a.Info.Version != b.Info.Version {
		t.Errorf("default seed %s, seed 1 %s: want the same model", a.Info.Version, b.Info.Version)
	}
	if a.Info.Version == c.Info.Version {
		t.Errorf("seed 2 trained the same model as seed 1 (%s)", a.Info.Version)
	}
}

// strongest gives what a full sort's first k would, ties included.
func TestStrongestContribs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 5, 24, 25, 100, 1500} {
		cs := make([]contrib, n)
		for i := range cs {
			// Few distinct weights, so ties are common.
			cs[i] = contrib{w: float64(rng.IntN(20)) / 4, hit: int32(i)}
		}
		want := slices.Clone(cs)
		slices.SortFunc(want, strongerContrib)
		want = want[:min(n, 24)]
		if got := strongest(cs, 24); !slices.Equal(got, want) {
			t.Errorf("%d contributions: strongest %v, want %v", n, got, want)
		}
	}
}
