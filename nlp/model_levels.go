package nlp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Learned levels. The rubric's cues (severity.go) set a level from the
// phrases they know; posts that tell of a life in danger or of serious
// harm in everyday words carry no such phrase and stay at the base level.
// A LevelModel reads the same posts the way the category model does and
// says how serious they are: three logistic heads over the post's
// character n-grams, lexicon features and severity cues, trained on posts
// that carry an expected level (the team's hand-written posts, written to
// the rubric), each answering "is the level at least medium / high /
// critical?". The level of a detected category is then
//
//	max(the category's base level, the learned level, the rubric's level)
//
// so the learned level only raises: a cue the rubric reads (people
// trapped, casualties, a time set for self-harm) keeps its word, text
// unlike the training posts (court records, news) keeps at least the
// rubric's level, and the base level, the category's lead level, keeps
// every detection. Detection itself is untouched. Letting the learned
// level lower the rubric's by one step was tried and dropped: it gave
// more exact levels on the hand-written posts and fewer on the frozen
// severity cases, where it put a set time for a jump and a child fallen
// into a manhole at high (docs/DETECTION.md, "Learned levels").

// levelHeads are the levels the heads answer for, in order: head k is
// "the level is at least levelHeads[k]".
var levelHeads = [...]string{LevelMedium, LevelHigh, LevelCritical}

// levelFeatureSet names the features a LevelModel reads; a model file
// whose level model names another set is refused (DecodeModel).
const levelFeatureSet = "char1-3-distinct/hash22/len/lex2/sev1:l1"

// LevelModel is the learned part of the levels, stored in a model file's
// header (ModelInfo.Levels). It is read-only once loaded.
type LevelModel struct {
	// Features names the feature set (levelFeatureSet).
	Features string `json:"features"`
	// TrainedAt is when the heads were trained.
	TrainedAt time.Time `json:"trained_at"`
	// Posts is the number of training posts (those with a level).
	Posts int `json:"posts"`
	// Bias holds each head's bias.
	Bias [len(levelHeads)]float64 `json:"bias"`
	// Keys are the feature keys with a weight, ascending; Weights holds
	// per key the heads' weights, len(levelHeads) each.
	Keys    []uint32  `json:"keys"`
	Weights []float32 `json:"weights"`
	// Figures are the out-of-fold figures of the training posts, with the
	// rubric's levels beside them.
	Figures *LevelFigures `json:"figures,omitempty"`

	once  sync.Once
	slots []uint32 // key+1 by open addressing, 0 empty
	rows  []int32  // index in Keys of each slot
}

// LevelFigures compare learned and rubric levels on the same posts.
type LevelFigures struct {
	Posts         int     `json:"posts"`
	Exact         float64 `json:"exact"`
	WithinOne     float64 `json:"within_one"`
	RubricExact   float64 `json:"rubric_exact"`
	RubricWithin1 float64 `json:"rubric_within_one"`
}

// valid reports whether the level model can be used by this code.
func (lm *LevelModel) valid() error {
	if lm.Features != levelFeatureSet {
		return fmt.Errorf("level features %q, expected %q (made by another riskmine version)", lm.Features, levelFeatureSet)
	}
	if len(lm.Weights) != len(lm.Keys)*len(levelHeads) {
		return errors.New("damaged level model: keys and weights disagree")
	}
	if !slices.IsSorted(lm.Keys) {
		return errors.New("damaged level model: keys out of order")
	}
	return nil
}

// lookup returns the index of key k in Keys. The keys sit in an
// open-addressing table built on first use (a Go map cost about a third
// more in BenchmarkAnalyzeModelFile).
func (lm *LevelModel) lookup(k uint32) (int, bool) {
	lm.once.Do(lm.buildTable)
	mask := uint32(len(lm.slots) - 1)
	for i := (k * 0x9E3779B1) & mask; ; i = (i + 1) & mask {
		switch lm.slots[i] {
		case 0:
			return 0, false
		case k + 1:
			return int(lm.rows[i]), true
		}
	}
}

func (lm *LevelModel) buildTable() {
	size := 64
	for size < 2*len(lm.Keys) {
		size *= 2
	}
	lm.slots, lm.rows = make([]uint32, size), make([]int32, size)
	mask := uint32(size - 1)
	for r, k := range lm.Keys {
		i := (k * 0x9E3779B1) & mask
		for lm.slots[i] != 0 {
			i = (i + 1) & mask
		}
		lm.slots[i], lm.rows[i] = k+1, int32(r)
	}
}

// rank returns the learned level's rank (LevelRank) of the features x:
// the highest level whose head is above one half, low when none is.
func (lm *LevelModel) rank(x *sparseVec) int { return rankOf(lm.scores(x)) }

// scores returns the heads' raw scores of the features x.
func (lm *LevelModel) scores(x *sparseVec) [len(levelHeads)]float64 {
	s := lm.Bias
	for j, k := range x.keys {
		lm.add(&s, k, float64(x.vals[j]))
	}
	return s
}

// add adds the heads' weights of key k at value v to s.
func (lm *LevelModel) add(s *[len(levelHeads)]float64, k uint32, v float64) {
	i, ok := lm.lookup(k)
	if !ok {
		return
	}
	for h := range s {
		s[h] += float64(lm.Weights[i*len(levelHeads)+h]) * v
	}
}

// rankOf is the rank of the heads' raw scores s.
func rankOf(s [len(levelHeads)]float64) int {
	r := LevelRank(LevelLow)
	for h, v := range s {
		if v > 0 {
			r = LevelRank(levelHeads[h])
		}
	}
	return r
}

// rankRun is rank for a post the category model has just read: its
// distinct n-grams are those of the run's set (the same as levelFeatures
// counts), and the dense features are added one by one (the heads are
// linear, so summing by key first changes nothing).
func (a *Analyzer) rankRun(lm *LevelModel, run *modelRun, fields []*fieldMatches, acc []catScore, cues []SeverityCue) int {
	return rankOf(a.scoresRun(lm, run, fields, acc, cues))
}

// scoresRun returns the heads' raw scores for rankRun.
func (a *Analyzer) scoresRun(lm *LevelModel, run *modelRun, fields []*fieldMatches, acc []catScore, cues []SeverityCue) [len(levelHeads)]float64 {
	var grams [len(levelHeads)]float64
	seen := &run.seen
	for _, i := range seen.used {
		lm.add(&grams, seen.slots[i]-1, 1)
	}
	s := lm.Bias
	if seen.n > 0 {
		norm := 1 / math.Sqrt(float64(seen.n))
		for h := range s {
			s[h] += grams[h] * norm
		}
	}
	for _, d := range run.dense[:run.nlex] {
		lm.add(&s, d.key, d.val)
	}
	for _, d := range cueFeatures(cues, nil) {
		lm.add(&s, d.key, d.val)
	}
	return s
}

// levelFeatures are a LevelModel's input: each distinct n-gram at
// 1/sqrt(distinct n-grams), the lexicon features and the severity cues'
// features, summed by key.
func (a *Analyzer) levelFeatures(fields []*fieldMatches, acc []catScore, cues []SeverityCue) sparseVec {
	m := map[uint32]float64{}
	runes := 0
	for _, fm := range fields {
		runes += fm.nz.RuneLen()
		forEachGram(fm.nz, func(k uint32, _, _ int) { m[k] = 1 })
	}
	if len(m) > 0 {
		f := 1 / math.Sqrt(float64(len(m)))
		for k := range m {
			m[k] = f
		}
	}
	return sparseOf(m, cueFeatures(cues, a.lexiconFeatures(acc, runes, nil)))
}

// combineLevel is the level of a detected category: the highest of its
// base level (low for city_management, else medium), the learned rank and
// the rubric's level.
func combineLevel(code, rubric string, learned int) string {
	base := LevelRank(LevelMedium)
	if code == "city_management" {
		base = LevelRank(LevelLow)
	}
	return levelName(max(base, learned, LevelRank(rubric)))
}

// LevelExample is a post with its expected level (none for a post of no
// hazard) and its categories (the first sets the base and rubric level
// the out-of-fold figures combine with).
type LevelExample struct {
	ID, Title, Text string
	Level           string
	Labels          []string
}

// TrainLevels trains a LevelModel on exs. Options used: Epochs, Alpha,
// Beta, L1, L2, Folds, Seed, Workers, Log, Context. The out-of-fold
// figures (folds by a hash of the id) compare the learned levels, combined
// as in scoring with each post's first category, with the rubric's.
func (a *Analyzer) TrainLevels(exs []LevelExample, minWeight float64, opts TrainOptions) (*LevelModel, error) {
	opts.defaults()
	if len(exs) == 0 {
		return nil, errors.New("nlp: train levels: no posts with a level")
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	xs := make([]sparseVec, len(exs))
	ys := make([]int, len(exs))
	rubric := make([]string, len(exs))
	for i, ex := range exs {
		r := LevelRank(ex.Level)
		if r < 0 {
			return nil, fmt.Errorf("nlp: train levels: post %s: level %q, expected none, low, medium, high or critical", ex.ID, ex.Level)
		}
		ys[i] = r
	}
	err := forEachParallel(ctx, len(exs), opts.Workers, func(i int) {
		ex := exs[i]
		acc, fields := a.lexiconScoreCues(Input{ID: ex.ID, Title: ex.Title, Text: ex.Text}, true)
		cues := fieldCues(fields)
		xs[i] = a.levelFeatures(fields, acc, cues)
		if len(ex.Labels) > 0 {
			rubric[i] = SeverityLevel(ex.Labels[0], cues)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("nlp: train levels: %w", err)
	}
	folds := make([]int, len(exs))
	for i, ex := range exs {
		folds[i] = int(fnv64a("fold:"+ex.ID) % uint64(opts.Folds))
	}
	fit := func(skip int) []*ftrl {
		heads := make([]*ftrl, len(levelHeads))
		for h, l := range levelHeads {
			f := newFTRL(&opts)
			var idx []int
			for i := range xs {
				if skip < 0 || folds[i] != skip {
					idx = append(idx, i)
				}
			}
			rng := rand.New(rand.NewPCG(opts.Seed, uint64(h*131+skip+7)))
			for range opts.Epochs {
				rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
				for _, i := range idx {
					f.update(&xs[i], ys[i] >= LevelRank(l), 1)
				}
			}
			heads[h] = f
		}
		return heads
	}
	start := time.Now()
	var fig LevelFigures
	for k := range opts.Folds {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("nlp: train levels: %w", ctx.Err())
		}
		lm := levelModelOf(fit(k), minWeight)
		for i := range xs {
			if folds[i] != k || len(exs[i].Labels) == 0 {
				continue
			}
			got := combineLevel(exs[i].Labels[0], rubric[i], lm.rank(&xs[i]))
			fig.add(ys[i], LevelRank(got), LevelRank(rubric[i]))
		}
		opts.Log("levels: fold %d/%d after %s", k+1, opts.Folds, time.Since(start).Round(time.Second))
	}
	fig.finish()
	lm := levelModelOf(fit(-1), minWeight)
	lm.Features = levelFeatureSet
	lm.TrainedAt = time.Now().UTC().Truncate(time.Second)
	lm.Posts = len(exs)
	lm.Figures = &fig
	opts.Log("levels: %d posts, %d feature keys; out of fold on %d posts with a category: exact %.3f (rubric %.3f), within one step %.3f (rubric %.3f)",
		len(exs), len(lm.Keys), fig.Posts, fig.Exact, fig.RubricExact, fig.WithinOne, fig.RubricWithin1)
	return lm, nil
}

// levelModelOf collects the heads' weights of at least minWeight.
func levelModelOf(heads []*ftrl, minWeight float64) *LevelModel {
	lm := &LevelModel{}
	for h, f := range heads {
		lm.Bias[h] = f.bias()
	}
	for k := uint32(0); k < 1<<keyBits; k++ {
		var w [len(levelHeads)]float32
		any := false
		for h, f := range heads {
			if f.z[k] != 0 {
				if v := f.weight(k); math.Abs(v) >= minWeight {
					w[h] = float32(v)
					any = true
				}
			}
		}
		if any {
			lm.Keys = append(lm.Keys, k)
			lm.Weights = append(lm.Weights, w[:]...)
		}
	}
	return lm
}

// add counts one post: its expected, learned and rubric ranks.
func (f *LevelFigures) add(want, got, rubric int) {
	f.Posts++
	if got == want {
		f.Exact++
	}
	if abs(got-want) <= 1 {
		f.WithinOne++
	}
	if rubric == want {
		f.RubricExact++
	}
	if abs(rubric-want) <= 1 {
		f.RubricWithin1++
	}
}

func (f *LevelFigures) finish() {
	if f.Posts == 0 {
		return
	}
	n := float64(f.Posts)
	f.Exact, f.WithinOne = round4(f.Exact/n), round4(f.WithinOne/n)
	f.RubricExact, f.RubricWithin1 = round4(f.RubricExact/n), round4(f.RubricWithin1/n)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// WithLevels returns a copy of m whose levels are learned by lm (nil: the
// rubric's alone). The copy's version is m's, without an earlier level
// suffix, with "-l" and a hash of lm's weights.
func (m *Model) WithLevels(lm *LevelModel) *Model {
	c := *m
	c.Info.Levels = lm
	v := m.Info.Version
	if i := strings.LastIndex(v, "-l"); i >= 0 && len(v)-i == 10 {
		v = v[:i]
	}
	if lm != nil {
		sum := sha256.New()
		fmt.Fprint(sum, lm.Bias, lm.Keys, lm.Weights)
		v += "-l" + hex.EncodeToString(sum.Sum(nil))[:8]
	}
	c.Info.Version = v
	return &c
}

// levelCues returns the phrases that pushed the head of the learned rank
// up most, as severity cues of kind "learned" at that level: the strongest
// n-grams of two runes or more, merged as the category model's evidence
// is. A post whose level the learned part raised so says why.
func (a *Analyzer) levelCues(lm *LevelModel, fields []*fieldMatches, rank int) []SeverityCue {
	head := slices.Index(levelHeads[:], levelName(rank))
	if head < 0 {
		return nil
	}
	seen := map[uint32]bool{}
	var hits []gramHit
	var ws []float64
	for _, fm := range fields {
		forEachGram(fm.nz, func(k uint32, start, end int) {
			if seen[k] {
				return
			}
			seen[k] = true
			if end-start < 2 {
				return
			}
			if i, ok := lm.lookup(k); ok {
				if w := lm.Weights[i*len(levelHeads)+head]; w > 0 {
					hits = append(hits, gramHit{field: fm, start: start, end: end})
					ws = append(ws, float64(w))
				}
			}
		})
	}
	if len(hits) == 0 {
		return nil
	}
	norm := 1 / math.Sqrt(float64(len(seen)))
	cs := make([]contrib, len(hits))
	for i, w := range ws {
		cs[i] = contrib{w * norm, int32(i)}
	}
	var out []SeverityCue
	for _, e := range evidencePhrases(hits, cs, "", "") {
		out = append(out, SeverityCue{Kind: "learned", Level: levelHeads[head], Field: e.Field, Text: e.Text, Start: e.Start, End: e.End})
	}
	return out
}
