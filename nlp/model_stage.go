package nlp

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// StageOptions tune a verdict stage (Analyzer.TrainStage). The zero value
// gives the defaults.
type StageOptions struct {
	// Epochs over the verdicts (default 8).
	Epochs int
	// Alpha, L1, L2 are the FTRL-Proximal parameters of the correction
	// (defaults 0.2, 0.05, 2): the L2 keeps the stage near the base model
	// when the verdicts are few.
	Alpha, L1, L2 float64
	// Seed orders the epochs (default 1).
	Seed uint64
	// Log, when set, receives progress lines.
	Log func(format string, args ...any)
}

func (o *StageOptions) defaults() {
	if o.Epochs <= 0 {
		o.Epochs = 8
	}
	if o.Alpha <= 0 {
		o.Alpha = 0.5
	}
	if o.L1 <= 0 {
		o.L1 = 0.05
	}
	if o.L2 <= 0 {
		o.L2 = 1
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
}

// TrainStage trains a verdict stage over base and returns the new model.
// For each category it learns a correction d of the base model's calibrated
// log-odds from exs (logit p' = logit p + d·x + d₀) with FTRL-Proximal,
// starting from no correction, so few verdicts move the model little. The
// correction is then folded into a copy of base's weights (w' = w + d/a,
// with a the category's Platt slope), so the result is an ordinary model
// of the same size and speed; base's calibration and thresholds are kept.
//
// An example speaks for the categories in Known (every category when Known
// is empty): it is a positive of those in Labels and a negative of the
// others. Categories no example speaks for are left as they are.
func (a *Analyzer) TrainStage(base *Model, exs []TrainExample, opts StageOptions) (*Model, error) {
	opts.defaults()
	if base == nil {
		return nil, errors.New("nlp: verdict stage: no base model")
	}
	if !knownFeatureSet(base.Info.Features) {
		return nil, fmt.Errorf("nlp: verdict stage: base model %s has features %q, expected one of %q, %q, %q or %q, or one with %q or %q", base.Info.Version, base.Info.Features, featureSetChars, featureSetWords, featureSetCharsReg, featureSetWordsReg, domainSuffix, cueSuffix)
	}
	if len(exs) == 0 {
		return nil, errors.New("nlp: verdict stage: no verdicts")
	}
	codes := base.Info.Categories
	nc := len(codes)
	ys, known, err := stageLabels(base, exs)
	if err != nil {
		return nil, err
	}
	xs := make([]sparseVec, len(exs))
	// The corrections are learnt on the features every post shares: a
	// domain's copy (court records, short posts) keeps the base's weight,
	// so a site's verdicts, mostly short forum posts, do not move short
	// posts twice as far as the others.
	cf := base.flags()
	cf.domains = false
	xc := xs
	if cf != base.flags() {
		xc = make([]sparseVec, len(exs))
	}
	start := time.Now()
	for i, ex := range exs {
		in := Input{ID: ex.ID, Title: ex.Title, Text: ex.Text}
		xs[i] = a.featurize(in, base.flags())
		if cf != base.flags() {
			xc[i] = a.featurize(in, cf)
		}
	}
	opts.Log("featurized %d verdicts in %s", len(exs), time.Since(start).Round(time.Millisecond))
	// The corrections live on the features the verdicts have, numbered
	// densely: a stage needs memory for its verdicts, not the key space.
	dense := map[uint32]uint32{}
	var keyOf []uint32
	local := make([]sparseVec, len(exs))
	for i := range xc {
		local[i] = sparseVec{keys: make([]uint32, len(xc[i].keys)), vals: xc[i].vals}
		for j, k := range xc[i].keys {
			d, ok := dense[k]
			if !ok {
				d = uint32(len(keyOf))
				dense[k] = d
				keyOf = append(keyOf, k)
			}
			local[i].keys[j] = d
		}
	}

	tr := TrainOptions{Alpha: opts.Alpha, Beta: 1, L1: opts.L1, L2: opts.L2}
	corr := make([]*ftrl, nc)
	for c := range nc {
		var idx []int
		for i := range exs {
			if known[i][c] {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 || base.Info.Platt[c][0] <= 1e-9 {
			continue // nothing to learn, or no slope to fold into
		}
		f := newFTRLSize(&tr, len(keyOf))
		// No bias: a stage learns what the verdicts' words say, not a
		// shift of every post, which a few dismissals of one kind would
		// otherwise push onto the whole category.
		f.fixedBias = true
		off := make([]float64, len(exs))
		teaches := false
		for _, i := range idx {
			off[i] = base.logit(c, &xs[i])
			// A verdict teaches category c when it is a positive of c
			// or a negative the base model flags as c. Negatives the
			// base already leaves alone teach nothing but a drift of
			// the words all posts share, which lowers every post of
			// the category a little.
			teaches = teaches || ys[i][c] || sigmoid(off[i]) >= base.Info.Thresholds[c]
		}
		if !teaches {
			continue
		}
		// Analysts confirm far more leads than they dismiss, and a
		// confirmation of what the model already finds teaches little;
		// the rarer side is weighed up (at most 10×) so a stage does not
		// learn to raise every score.
		np, nn := 0.0, 0.0
		for _, i := range idx {
			if ys[i][c] {
				np++
			} else {
				nn++
			}
		}
		posW, negW := 1.0, 1.0
		if np > 0 && nn > 0 {
			if np > nn {
				negW = math.Min(10, np/nn)
			} else {
				posW = math.Min(10, nn/np)
			}
		}
		rng := rand.New(rand.NewPCG(opts.Seed, uint64(c)*131+7))
		for range opts.Epochs {
			rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			for _, i := range idx {
				w := exs[i].Weight
				if w <= 0 {
					w = 1
				}
				if ys[i][c] {
					w *= posW
				} else {
					w *= negW
				}
				if ys[i][c] && f.score(&local[i]) >= 0 {
					// A confirmed lead is an anchor, not a push: the
					// base already filed it, and leads are the posts the
					// model flagged, so raising them would raise their
					// unflagged look-alikes that no analyst saw. It only
					// holds the correction from lowering it.
					continue
				}
				f.updateOffset(&local[i], ys[i][c], w, off[i])
			}
		}
		corr[c] = f
	}
	m := base.foldCorrection(corr, keyOf)
	m.Info.Base = base.Info.Version
	if base.Info.Base != "" {
		m.Info.Base = base.Info.Base + " > " + base.Info.Version
	}
	m.Info.Verdicts = len(exs)
	m.Info.Examples = base.Info.Examples + len(exs)
	m.Info.TrainedAt = time.Now().UTC().Truncate(time.Second)
	m.Info.Sources = append(slices.Clone(base.Info.Sources), ModelSource{Name: "analyst verdicts", Posts: len(exs)})
	sum := sha256.New()
	fmt.Fprint(sum, base.Info.Version, m.bias)
	hashInt16s(sum, m.recs)
	m.Info.Version = "riskmine-" + m.Info.TrainedAt.Format("20060102") + "-v" + hex.EncodeToString(sum.Sum(nil))[:8]
	opts.Log("verdict stage %s over %s: %d verdicts, %d feature rows", m.Info.Version, base.Info.Version, len(exs), m.Size())
	return m, nil
}

// stageLabels returns per example and category whether it is a positive
// and whether the example speaks for the category.
func stageLabels(m *Model, exs []TrainExample) (ys, known [][]bool, err error) {
	nc := len(m.Info.Categories)
	ys, known = make([][]bool, len(exs)), make([][]bool, len(exs))
	for i, ex := range exs {
		ys[i], known[i] = make([]bool, nc), make([]bool, nc)
		for _, l := range ex.Labels {
			c, ok := m.catIndex[l]
			if !ok {
				return nil, nil, fmt.Errorf("nlp: verdict %s: category %q is not in the model", ex.ID, l)
			}
			ys[i][c] = true
		}
		if len(ex.Known) == 0 {
			for c := range nc {
				known[i][c] = true
			}
			continue
		}
		for _, l := range ex.Known {
			c, ok := m.catIndex[l]
			if !ok {
				return nil, nil, fmt.Errorf("nlp: verdict %s: category %q is not in the model", ex.ID, l)
			}
			known[i][c] = true
		}
	}
	return ys, known, nil
}

// raw returns the model's uncalibrated score of category c for x.
func (m *Model) raw(c int, x *sparseVec) float64 {
	s := float64(m.bias[c])
	for j, k := range x.keys {
		if r := m.lookup(k); r >= 0 {
			s += float64(m.recWeights(r)[c]) * float64(m.scale[c]) * float64(x.vals[j])
		}
	}
	return s
}

// logit returns the calibrated log-odds of category c for x.
func (m *Model) logit(c int, x *sparseVec) float64 {
	p := m.Info.Platt[c]
	return p[0]*m.raw(c, x) + p[1]
}

// updateOffset is one FTRL step on a model whose log-odds are off + f·x.
func (f *ftrl) updateOffset(x *sparseVec, y bool, w, off float64) {
	p := sigmoid(off + f.score(x))
	g := p
	if y {
		g = p - 1
	}
	f.step(x, g*w)
}

// foldCorrection returns a copy of m with the per-category corrections of
// the calibrated log-odds (nil: none) folded into its raw weights; the
// corrections' feature i is key keyOf[i].
func (m *Model) foldCorrection(corr []*ftrl, keyOf []uint32) *Model {
	nc := len(m.Info.Categories)
	// The corrections, by key, and the keys the base does not have.
	delta := make([]map[uint32]float64, len(corr)) // per category
	var fresh []uint32
	for c, f := range corr {
		if f == nil {
			continue
		}
		delta[c] = map[uint32]float64{}
		for i, k := range keyOf {
			if v := f.weight(uint32(i)); v != 0 {
				delta[c][k] = v / m.Info.Platt[c][0]
				if m.lookup(k) < 0 {
					fresh = append(fresh, k)
				}
			}
		}
	}
	slices.Sort(fresh)
	fresh = slices.Compact(fresh)
	// Every key of the base (with its record) and the fresh ones (-1),
	// sorted by key.
	ents := m.recordsByKey(fresh)
	weight := func(e keyRec, c int) float64 {
		v := 0.0
		if e.rec >= 0 {
			v = float64(m.recWeights(int(e.rec))[c]) * float64(m.scale[c])
		}
		if d := delta[c]; d != nil {
			v += d[e.key]
		}
		return v
	}
	// The scale of a corrected category follows its largest weight; the
	// others keep theirs, and their weights are copied as they are.
	scale := slices.Clone(m.scale)
	for c := range nc {
		if delta[c] == nil {
			continue
		}
		mx := 0.0
		for _, e := range ents {
			mx = max(mx, math.Abs(weight(e, c)))
		}
		if mx == 0 {
			mx = 1
		}
		scale[c] = float32(mx / 32767)
	}
	keys := make([]uint32, len(ents))
	q := make([]int16, len(ents)*nc)
	for i, e := range ents {
		keys[i] = e.key
		for c := range nc {
			if delta[c] == nil {
				if e.rec >= 0 {
					q[i*nc+c] = m.recWeights(int(e.rec))[c]
				}
				continue
			}
			q[i*nc+c] = int16(math.Round(weight(e, c) / float64(scale[c])))
		}
	}
	out := m.derived(scale)
	out.placeTable(keys, q, nc)
	return out
}

// Decisions are a model's decisions on labelled posts at its thresholds.
type Decisions struct {
	// Positives counts (post, category) pairs the labels name, among the
	// categories the posts speak for; Found those at or above threshold.
	Positives, Found int
	// Negatives counts posts with no label; Flagged those where a category
	// they speak for is at or above its threshold.
	Negatives, Flagged int
}

// Recall is Found/Positives (1 with no positives).
func (d Decisions) Recall() float64 {
	if d.Positives == 0 {
		return 1
	}
	return float64(d.Found) / float64(d.Positives)
}

// FPR is Flagged/Negatives (0 with no negatives).
func (d Decisions) FPR() float64 {
	if d.Negatives == 0 {
		return 0
	}
	return float64(d.Flagged) / float64(d.Negatives)
}

// Correct counts the right decisions: positives found and negatives left.
func (d Decisions) Correct() int { return d.Found + d.Negatives - d.Flagged }

// Decide runs m over exs and counts its decisions (see Decisions).
func (a *Analyzer) Decide(m *Model, exs []TrainExample) (Decisions, error) {
	var d Decisions
	ys, known, err := stageLabels(m, exs)
	if err != nil {
		return d, err
	}
	nc := len(m.Info.Categories)
	for i, ex := range exs {
		x := a.featurize(Input{ID: ex.ID, Title: ex.Title, Text: ex.Text}, m.flags())
		flagged := false
		for c := range nc {
			if !known[i][c] {
				continue
			}
			hit := sigmoid(m.logit(c, &x)) >= m.Info.Thresholds[c]
			if ys[i][c] {
				d.Positives++
				if hit {
					d.Found++
				}
			}
			flagged = flagged || hit
		}
		if len(ex.Labels) == 0 {
			d.Negatives++
			if flagged {
				d.Flagged++
			}
		}
	}
	return d, nil
}
