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
	"sort"
	"sync"
	"time"
)

// TrainExample is one labelled post for training.
type TrainExample struct {
	ID     string
	Set    string
	Title  string
	Text   string
	Labels []string
	// Known, when set, limits the categories the example speaks for (an
	// analyst's verdict on a lead of one category says nothing of the
	// others); empty means every category. Only verdict stages read it.
	Known []string
	// Weight scales the example's loss; 0 means 1.
	Weight float64
}

// TrainOptions tune training. The zero value gives the defaults.
type TrainOptions struct {
	// Epochs over the data (default 6).
	Epochs int
	// Alpha, Beta, L1, L2 are the FTRL-Proximal parameters (defaults 0.2,
	// 1, 0.5, 1).
	Alpha, Beta, L1, L2 float64
	// Folds for the out-of-fold scores that calibration and thresholds
	// are fitted on (default 4).
	Folds int
	// MaxFPR is the most share of negative posts (no label) a category may
	// flag at its threshold (default 0.003).
	MaxFPR float64
	// MinPrecision is the least out-of-fold precision at the threshold
	// (default 0.9).
	MinPrecision float64
	// MaxSetFPR is the most share of the negatives of any one set that
	// may be flagged by any category (default 0.012); thresholds are
	// raised until every set with at least 30 negatives keeps to it.
	MaxSetFPR float64
	// MinThreshold is the least probability at which a category is
	// detected (default 0.1): out-of-fold negatives are cleaner than the
	// posts a deployment meets, so a threshold they allow near zero does
	// not carry over.
	MinThreshold float64
	// MaxRecallLoss is the most out-of-fold recall a category gives up to
	// MaxSetFPR (default 0.03).
	MaxRecallLoss float64
	// Workers train categories in parallel (default 2).
	Workers int
	// Seed orders the epochs (default 1).
	Seed uint64
	// Log, when set, receives progress lines.
	Log func(format string, args ...any)
	// Sources are recorded in the model's info.
	Sources []ModelSource
	// Categories to train (default: the analyzer's).
	Categories []string
	// Words adds gse words and word pairs to the features
	// (featureSetWords); scoring with such a model loads the segmenter.
	Words bool
	// BalanceSets are sets whose positives are up-weighted in each
	// category's regression by √(the category's other positives / the
	// set's positives), between 1 and 10: a register that is a small part
	// of a category's positives (short first-person posts beside court
	// records and news) is not drowned by the rest.
	BalanceSets []string
	// Registers adds the register features (register.go): each register
	// cue's register, alone and with each category the lexicons scored.
	Registers bool
	// Domains adds the domain copies of the n-gram and lexicon features
	// of court records and short posts (postDomain).
	Domains bool
	// Cues adds the severity cues' features (cueFeatures): the kinds of
	// the rubric's cues found in a post, alone and at their level.
	Cues bool
	// Context, when set, stops training early: TrainModel then returns its
	// error (an interrupted command leaves no half-trained model).
	Context context.Context
}

func (o *TrainOptions) defaults() {
	if o.Epochs <= 0 {
		o.Epochs = 6
	}
	if o.Alpha <= 0 {
		o.Alpha = 0.2
	}
	if o.Beta <= 0 {
		o.Beta = 1
	}
	if o.L1 < 0 {
		o.L1 = 0
	} else if o.L1 == 0 {
		o.L1 = 0.5
	}
	if o.L2 <= 0 {
		o.L2 = 1
	}
	if o.Folds < 2 {
		o.Folds = 4
	}
	if o.MaxFPR <= 0 {
		o.MaxFPR = 0.003
	}
	if o.MinPrecision <= 0 {
		o.MinPrecision = 0.9
	}
	if o.MinThreshold <= 0 {
		o.MinThreshold = 0.1
	}
	if o.MaxRecallLoss <= 0 {
		o.MaxRecallLoss = 0.03
	}
	if o.MaxSetFPR <= 0 {
		o.MaxSetFPR = 0.012
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
}

// sparseVec is a post's features, keys ascending and unique.
type sparseVec struct {
	keys []uint32
	vals []float32
}

// featurize returns the model's input for one post: each distinct n-gram
// at 1/sqrt(distinct n-grams), so a text repeated is the same text; with
// words, each distinct word or word pair at 1/sqrt(distinct words and
// pairs); then the lexicon features, summed by key.
func (a *Analyzer) featurize(in Input, ff featureFlags) sparseVec {
	acc, fields := a.lexiconScoreCues(in, ff.cues || a.model != nil)
	m := map[uint32]float64{}
	runes := 0
	for _, fm := range fields {
		runes += fm.nz.RuneLen()
		forEachGram(fm.nz, func(k uint32, _, _ int) {
			m[k] = 1
		})
	}
	if len(m) > 0 {
		f := 1 / math.Sqrt(float64(len(m)))
		for k := range m {
			m[k] *= f
		}
	}
	dom := 0
	if ff.domains {
		dom = postDomain(fields)
	}
	if dom != 0 && len(m) > 0 {
		f := 1 / math.Sqrt(float64(len(m)))
		grams := make([]uint32, 0, len(m))
		for k := range m {
			grams = append(grams, k)
		}
		for _, k := range grams {
			m[domainKey(k, dom)] += f
		}
	}
	if ff.words {
		wm := map[uint32]bool{}
		for _, fm := range fields {
			forEachWord(fm.nz.Text, fm.modelSegments(), func(k uint32, _, _ int) {
				wm[k] = true
			})
		}
		if len(wm) > 0 {
			f := 1 / math.Sqrt(float64(len(wm)))
			for k := range wm {
				m[k] += f
			}
		}
	}
	dense := a.lexiconFeatures(acc, runes, nil)
	if ff.registers {
		dense = a.registerFeatures(acc, fieldRegisters(fields), dense)
	}
	if ff.cues {
		dense = cueFeatures(fieldCues(fields), dense)
	}
	if dom != 0 {
		dense = withDomainCopies(dense, dom)
	}
	return sparseOf(m, dense)
}

// sparseOf returns the features m with the dense features added, summed
// by key, as a sparseVec.
func sparseOf(m map[uint32]float64, dense []denseFeature) sparseVec {
	for _, d := range dense {
		m[d.key] += d.val
	}
	v := sparseVec{keys: make([]uint32, 0, len(m)), vals: make([]float32, 0, len(m))}
	for k := range m {
		v.keys = append(v.keys, k)
	}
	slices.Sort(v.keys)
	for _, k := range v.keys {
		v.vals = append(v.vals, float32(m[k]))
	}
	return v
}

// lexiconScore normalises, matches and scores the fields of in with the
// lexicons only; the fields keep their severity matches when a model reads
// them.
func (a *Analyzer) lexiconScore(in Input) ([]catScore, []*fieldMatches) {
	return a.lexiconScoreCues(in, a.model != nil)
}

// lexiconScoreCues is lexiconScore, with the fields' severity matches kept
// when cues is set.
func (a *Analyzer) lexiconScoreCues(in Input, cues bool) ([]catScore, []*fieldMatches) {
	acc := make([]catScore, len(a.cats))
	var fields []*fieldMatches
	for _, f := range [...]struct{ name, text string }{{"title", in.Title}, {"text", in.Text}} {
		if f.text == "" {
			continue
		}
		nz := Normalize(f.text)
		fm := a.match(f.name, f.text, &nz, cues)
		a.scoreField(fm, acc)
		fields = append(fields, fm)
	}
	return acc, fields
}

// trainSet is featurized training data.
type trainSet struct {
	x      []sparseVec
	y      [][]bool // [example][category]
	w      []float64
	neg    []bool // no label at all
	sets   []string
	nCats  int
	codes  []string
	folds  []int
	nFolds int
}

func (a *Analyzer) newTrainSet(ctx context.Context, exs []TrainExample, codes []string, workers int, ff featureFlags, log func(string, ...any)) (*trainSet, error) {
	ci := map[string]int{}
	for i, c := range codes {
		ci[c] = i
	}
	ts := &trainSet{x: make([]sparseVec, len(exs)), y: make([][]bool, len(exs)), w: make([]float64, len(exs)),
		neg: make([]bool, len(exs)), sets: make([]string, len(exs)), nCats: len(codes), codes: codes}
	for i, ex := range exs {
		ts.y[i] = make([]bool, len(codes))
		for _, l := range ex.Labels {
			c, ok := ci[l]
			if !ok {
				return nil, fmt.Errorf("nlp: train: post %s: unknown category %q", ex.ID, l)
			}
			ts.y[i][c] = true
		}
		ts.neg[i] = len(ex.Labels) == 0
		ts.w[i] = ex.Weight
		if ts.w[i] <= 0 {
			ts.w[i] = 1
		}
		ts.sets[i] = ex.Set
	}
	start := time.Now()
	err := forEachParallel(ctx, len(exs), workers, func(i int) {
		ts.x[i] = a.featurize(Input{ID: exs[i].ID, Title: exs[i].Title, Text: exs[i].Text}, ff)
	})
	if err != nil {
		return nil, fmt.Errorf("nlp: train: %w", err)
	}
	log("featurized %d posts in %s", len(exs), time.Since(start).Round(time.Millisecond))
	return ts, nil
}

// forEachParallel calls fn(i) for i in [0, n) on workers goroutines and
// returns ctx's error if it was cancelled before every call was made.
func forEachParallel(ctx context.Context, n, workers int, fn func(i int)) error {
	var wg sync.WaitGroup
	next := make(chan int, 256)
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		if i%256 == 0 && ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return ctx.Err()
}

// ftrl is one category's FTRL-Proximal state over the key space.
type ftrl struct {
	z, n                []float32
	alpha, beta, l1, l2 float64
	bz, bn              float64 // bias (not regularised)
	fixedBias           bool    // the bias stays 0 (verdict stages)
}

func newFTRL(o *TrainOptions) *ftrl { return newFTRLSize(o, 1<<keyBits) }

// newFTRLSize is an FTRL state over n features (indices 0..n-1).
func newFTRLSize(o *TrainOptions, n int) *ftrl {
	return &ftrl{z: make([]float32, n), n: make([]float32, n), alpha: o.Alpha, beta: o.Beta, l1: o.L1, l2: o.L2}
}

func (f *ftrl) weight(i uint32) float64 {
	z := float64(f.z[i])
	if math.Abs(z) <= f.l1 {
		return 0
	}
	s := 1.0
	if z < 0 {
		s = -1
	}
	return -(z - s*f.l1) / ((f.beta+math.Sqrt(float64(f.n[i])))/f.alpha + f.l2)
}

func (f *ftrl) bias() float64 {
	return -f.bz / ((f.beta + math.Sqrt(f.bn)) / f.alpha)
}

func (f *ftrl) score(x *sparseVec) float64 {
	s := f.bias()
	for j, k := range x.keys {
		s += f.weight(k) * float64(x.vals[j])
	}
	return s
}

func (f *ftrl) update(x *sparseVec, y bool, w float64) {
	p := sigmoid(f.score(x))
	g := p
	if y {
		g = p - 1
	}
	f.step(x, g*w)
}

// step applies the loss gradient g (at the current prediction) of x.
func (f *ftrl) step(x *sparseVec, g float64) {
	for j, k := range x.keys {
		gi := g * float64(x.vals[j])
		ni := float64(f.n[k])
		sigma := (math.Sqrt(ni+gi*gi) - math.Sqrt(ni)) / f.alpha
		f.z[k] += float32(gi - sigma*f.weight(k))
		f.n[k] = float32(ni + gi*gi)
	}
	if f.fixedBias {
		return
	}
	sigma := (math.Sqrt(f.bn+g*g) - math.Sqrt(f.bn)) / f.alpha
	f.bz += g - sigma*f.bias()
	f.bn += g * g
}

// fitCategory trains category c on the examples whose fold differs from
// skip (skip -1: all), and returns the state.
func fitCategory(ts *trainSet, c, skip int, o *TrainOptions) *ftrl {
	f := newFTRL(o)
	var idx []int
	pos := 0
	for i := range ts.x {
		if skip >= 0 && ts.folds[i] == skip {
			continue
		}
		idx = append(idx, i)
		if ts.y[i][c] {
			pos++
		}
	}
	posW := 1.0
	if pos > 0 {
		posW = math.Min(10, math.Max(1, math.Sqrt(float64(len(idx)-pos)/float64(pos))))
	}
	setW := balanceWeights(ts, c, idx, pos, o.BalanceSets)
	rng := rand.New(rand.NewPCG(o.Seed, uint64(c*131+skip+7)))
	for range o.Epochs {
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx {
			w := ts.w[i]
			if ts.y[i][c] {
				w *= posW
				if sw, ok := setW[ts.sets[i]]; ok {
					w *= sw
				}
			}
			f.update(&ts.x[i], ts.y[i][c], w)
		}
	}
	return f
}

// balanceWeights returns, for each of sets with positives of category c
// among the examples idx (pos positives in all), the factor its positives
// are weighted by: √(other positives / its positives), between 1 and 10.
func balanceWeights(ts *trainSet, c int, idx []int, pos int, sets []string) map[string]float64 {
	if len(sets) == 0 {
		return nil
	}
	n := map[string]int{}
	for _, s := range sets {
		n[s] = 0
	}
	for _, i := range idx {
		if _, ok := n[ts.sets[i]]; ok && ts.y[i][c] {
			n[ts.sets[i]]++
		}
	}
	out := map[string]float64{}
	for s, k := range n {
		if k > 0 {
			out[s] = math.Min(10, math.Max(1, math.Sqrt(float64(pos-k)/float64(k))))
		}
	}
	return out
}

// TrainModel trains a model on exs: out-of-fold scores (opts.Folds folds,
// by a hash of the id) fit each category's calibration and threshold, then
// every example trains the final weights.
func (a *Analyzer) TrainModel(exs []TrainExample, opts TrainOptions) (*Model, error) {
	opts.defaults()
	codes := opts.Categories
	if len(codes) == 0 {
		codes = a.Categories()
	}
	if len(exs) == 0 {
		return nil, errors.New("nlp: train: no posts")
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	ff := featureFlags{words: opts.Words, registers: opts.Registers, domains: opts.Domains, cues: opts.Cues}
	ts, err := a.newTrainSet(ctx, exs, codes, opts.Workers, ff, opts.Log)
	if err != nil {
		return nil, err
	}
	ts.nFolds = opts.Folds
	ts.folds = make([]int, len(exs))
	for i, ex := range exs {
		ts.folds[i] = int(fnv64a("fold:"+ex.ID) % uint64(opts.Folds))
	}
	nc := len(codes)
	oof := make([][]float64, nc) // [category][example]
	final := make([]*ftrl, nc)
	type job struct{ c, fold int }
	jobs := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := time.Now()
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if ctx.Err() != nil {
					continue // drain: the feeder stops at the next job
				}
				f := fitCategory(ts, j.c, j.fold, &opts)
				if j.fold < 0 {
					mu.Lock()
					final[j.c] = f
					mu.Unlock()
					continue
				}
				for i := range ts.x {
					if ts.folds[i] == j.fold {
						oof[j.c][i] = f.score(&ts.x[i])
					}
				}
			}
		}()
	}
	for c := range nc {
		oof[c] = make([]float64, len(exs))
	}
	for c := range nc {
		if ctx.Err() != nil {
			break
		}
		for k := range opts.Folds {
			jobs <- job{c, k}
		}
		jobs <- job{c, -1}
		opts.Log("trained %s (%d/%d) after %s", codes[c], c+1, nc, time.Since(start).Round(time.Second))
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nlp: train: %w", err)
	}

	fset := ff.featureSetName()
	m := &Model{Info: ModelInfo{Categories: codes, Features: fset, Examples: len(exs), Sources: opts.Sources,
		TrainedAt: time.Now().UTC().Truncate(time.Second)}}
	m.Info.Platt = make([][2]float64, nc)
	m.Info.Thresholds = make([]float64, nc)
	m.bias = make([]float32, nc)
	for c := range nc {
		ys := make([]bool, len(exs))
		for i := range exs {
			ys[i] = ts.y[i][c]
		}
		a0, b0 := fitPlatt(oof[c], ys)
		m.Info.Platt[c] = [2]float64{a0, b0}
		probs := make([]float64, len(exs))
		for i, s := range oof[c] {
			probs[i] = sigmoid(a0*s + b0)
		}
		t, fig := chooseThreshold(probs, ys, ts.neg, opts.MaxFPR, opts.MinPrecision)
		fig.Code = codes[c]
		m.Info.Thresholds[c] = t
		m.Info.Figures = append(m.Info.Figures, fig)
		m.bias[c] = float32(final[c].bias())
	}
	allProbs := make([][]float64, nc)
	for c := range nc {
		allProbs[c] = make([]float64, len(exs))
		pl := m.Info.Platt[c]
		for i, s := range oof[c] {
			allProbs[c][i] = sigmoid(pl[0]*s + pl[1])
		}
	}
	raised := capSetFPR(allProbs, ts, m.Info.Thresholds, opts.MaxSetFPR, opts.MaxRecallLoss)
	for c, t := range m.Info.Thresholds {
		if t < opts.MinThreshold {
			m.Info.Thresholds[c], raised[c] = opts.MinThreshold, true
		}
	}
	for c := range nc {
		if raised[c] {
			ys := make([]bool, len(exs))
			for i := range exs {
				ys[i] = ts.y[i][c]
			}
			m.Info.Figures[c] = figuresAt(allProbs[c], ys, ts.neg, m.Info.Thresholds[c])
			m.Info.Figures[c].Code = codes[c]
		}
	}
	// Keys with any nonzero weight become rows.
	var keys []uint32
	for k := uint32(0); k < 1<<keyBits; k++ {
		for c := range nc {
			if final[c].z[k] != 0 && final[c].weight(k) != 0 {
				keys = append(keys, k)
				break
			}
		}
	}
	w := make([]float64, len(keys)*nc)
	for r, k := range keys {
		for c := range nc {
			w[r*nc+c] = final[c].weight(k)
		}
	}
	qw := m.buildTable(keys, w, nc)
	sum := sha256.New()
	for _, k := range keys {
		fmt.Fprint(sum, k)
	}
	for _, v := range qw {
		fmt.Fprint(sum, v)
	}
	fmt.Fprint(sum, m.Info.Thresholds, m.Info.Platt)
	m.Info.Version = "riskmine-" + m.Info.TrainedAt.Format("20060102") + "-" + hex.EncodeToString(sum.Sum(nil))[:8]
	opts.Log("model %s: %d feature rows, trained in %s", m.Info.Version, len(keys), time.Since(start).Round(time.Second))
	return m, nil
}

// fitPlatt fits p = σ(a·s + b) to the labels by Newton's method on the log
// loss, with Platt's smoothed targets.
func fitPlatt(s []float64, y []bool) (float64, float64) {
	var np, nn float64
	for _, v := range y {
		if v {
			np++
		} else {
			nn++
		}
	}
	if np == 0 || nn == 0 {
		return 1, 0
	}
	hi, lo := (np+1)/(np+2), 1/(nn+2)
	a, b := 1.0, 0.0
	for iter := 0; iter < 100; iter++ {
		var g1, g2, h11, h12, h22 float64
		for i, x := range s {
			t := lo
			if y[i] {
				t = hi
			}
			p := sigmoid(a*x + b)
			d := p - t
			g1 += d * x
			g2 += d
			q := math.Max(p*(1-p), 1e-12)
			h11 += q * x * x
			h12 += q * x
			h22 += q
		}
		h11 += 1e-9
		h22 += 1e-9
		det := h11*h22 - h12*h12
		if det <= 0 {
			break
		}
		da := (h22*g1 - h12*g2) / det
		db := (h11*g2 - h12*g1) / det
		a -= da
		b -= db
		if math.Abs(da) < 1e-9 && math.Abs(db) < 1e-9 {
			break
		}
	}
	return a, b
}

// chooseThreshold picks the lowest probability at which category flags at
// most maxFPR of the negative posts and reaches minPrecision, and returns
// it with the figures there. With no such point it takes the point of best
// F1 among those within maxFPR.
func chooseThreshold(p []float64, y, neg []bool, maxFPR, minPrec float64) (float64, ModelFigure) {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool { return p[idx[i]] > p[idx[j]] })
	var P, N int
	for i := range p {
		if y[i] {
			P++
		}
		if neg[i] {
			N++
		}
	}
	fig := func(tp, fp, fn int) ModelFigure {
		f := ModelFigure{Positives: P}
		if P > 0 {
			f.Recall = float64(tp) / float64(P)
		}
		if tp+fp > 0 {
			f.Precision = float64(tp) / float64(tp+fp)
		}
		if N > 0 {
			f.FPR = float64(fn) / float64(N)
		}
		return f
	}
	best, bestT, bestF := -1.0, 0.99, fig(0, 0, 0)
	okT, okF, ok := 0.0, ModelFigure{}, false
	tp, fp, fneg := 0, 0, 0
	for k := 0; k < len(idx); k++ {
		i := idx[k]
		if y[i] {
			tp++
		} else {
			fp++
		}
		if neg[i] {
			fneg++
		}
		if k+1 < len(idx) && p[idx[k+1]] == p[i] {
			continue
		}
		if N > 0 && float64(fneg)/float64(N) > maxFPR {
			break
		}
		f := fig(tp, fp, fneg)
		if f.Precision >= minPrec {
			okT, okF, ok = p[i], f, true
		}
		if f1 := 2 * f.Precision * f.Recall / math.Max(f.Precision+f.Recall, 1e-9); f1 > best {
			best, bestT, bestF = f1, p[i], f
		}
	}
	if ok {
		return okT, okF
	}
	return bestT, bestF
}

// figuresAt returns recall, precision and the share of negatives flagged at
// threshold t.
func figuresAt(p []float64, y, neg []bool, t float64) ModelFigure {
	var f ModelFigure
	tp, fp, fn, N := 0, 0, 0, 0
	for i := range p {
		if y[i] {
			f.Positives++
		}
		if neg[i] {
			N++
		}
		if p[i] < t {
			continue
		}
		if y[i] {
			tp++
		} else {
			fp++
		}
		if neg[i] {
			fn++
		}
	}
	if f.Positives > 0 {
		f.Recall = float64(tp) / float64(f.Positives)
	}
	if tp+fp > 0 {
		f.Precision = float64(tp) / float64(tp+fp)
	}
	if N > 0 {
		f.FPR = float64(fn) / float64(N)
	}
	return f
}

// capSetFPR raises thresholds until, in every set of at least 30 negative
// posts, at most maxFPR of the negatives reach any category's threshold.
// Each step clears one flagged negative of the worst set still within
// reach by raising the one
// category threshold that costs the fewest out-of-fold positives per
// negative cleared. It reports which thresholds it raised.
func capSetFPR(p [][]float64, ts *trainSet, t []float64, maxFPR, maxRecallLoss float64) []bool {
	raised := make([]bool, len(t))
	spent := make([]float64, len(t))
	stuck := map[string]bool{}
	bySet := map[string][]int{}
	for i := range ts.x {
		if ts.neg[i] {
			bySet[ts.sets[i]] = append(bySet[ts.sets[i]], i)
		}
	}
	pos := make([][]float64, len(t)) // probabilities of each category's positives, ascending
	for c := range t {
		for i := range ts.x {
			if ts.y[i][c] {
				pos[c] = append(pos[c], p[c][i])
			}
		}
		sort.Float64s(pos[c])
	}
	lost := func(c int, nt float64) float64 {
		k0 := sort.SearchFloat64s(pos[c], t[c])
		k1 := sort.SearchFloat64s(pos[c], nt)
		if len(pos[c]) == 0 {
			return 0
		}
		return float64(k1-k0) / float64(len(pos[c]))
	}
	for step := 0; step < 5000; step++ {
		worst, worstRate := "", 0.0
		for s, idx := range bySet {
			if len(idx) < 30 || stuck[s] {
				continue
			}
			n := 0
			for _, i := range idx {
				for c := range t {
					if p[c][i] >= t[c] {
						n++
						break
					}
				}
			}
			if r := float64(n) / float64(len(idx)); r > maxFPR && r > worstRate {
				worst, worstRate = s, r
			}
		}
		if worst == "" {
			break
		}
		// Candidates: for each flagged negative of the worst set, raising
		// every category that flags it just above its probability.
		bestCost, bestC, bestT := math.Inf(1), -1, 0.0
		for _, i := range bySet[worst] {
			var flag []int
			for c := range t {
				if p[c][i] >= t[c] {
					flag = append(flag, c)
				}
			}
			if len(flag) == 0 {
				continue
			}
			cost := 0.0
			for _, c := range flag {
				l := lost(c, math.Nextafter(p[c][i], 2))
				// A category gives up at most maxRecallLoss of its
				// positives to the cap; past that the set stays over.
				if spent[c]+l > maxRecallLoss {
					cost = math.Inf(1)
					break
				}
				cost += l
			}
			if cost < bestCost {
				bestCost, bestC = cost, i
			}
		}
		if bestC < 0 || math.IsInf(bestCost, 1) {
			stuck[worst] = true
			continue
		}
		for c := range t {
			if p[c][bestC] >= t[c] {
				bestT = math.Nextafter(p[c][bestC], 2)
				spent[c] += lost(c, bestT)
				t[c] = bestT
				raised[c] = true
			}
		}
	}
	return raised
}
